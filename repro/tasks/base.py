"""The one interface every evaluation protocol (a *task*) implements, and what the runner hands it.

A table spec names its task (``TableSpec.evaluator = "sts"``; the names: :data:`repro.tasks.TASKS`). The runner
(:mod:`repro.runner`) calls, for one table and one profile:

- ``load(spec, profile, ctx) -> data``: once per table; a data problem stops the table before any model loads;
- ``build(row, data, ctx) -> built``: once per row, only when one of its units has to run (an encoder, a scorer);
  a ``ReproError`` there is remembered, so the row's other units do not retry it;
- ``evaluate(built, data, unit, ctx) -> (metrics, details)``: one record; ``metrics`` is ``{column: {metric:
  value}}``, the shape every table builder reads; ``details["predictions"] = {column: cell_items(...)}`` keeps the
  per-item predictions beside the record (intervals);
- ``summary(record) -> str | None``: the line echoed when a unit finished (None: nothing);
- or ``run_table(spec, profile, store, ctx) -> [records]`` instead, for a table measured all at once (speed).

Tasks never import the declarations (``repro.specs``): what a table decides (its knobs, the training a row or a
unit needs, its columns) reaches them at run time, through ``ctx.knobs``, ``ctx.spec``, the row and the unit
(``unit.stage``, ``unit.column``, ``unit.run`` = the record's identity).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

from repro.results import ResultStore


@dataclass
class Context:
    """What every task may use: where data and runs are, the device, the echo function, the profile, the spec."""

    profile: Any
    spec: Any
    store: ResultStore
    data_root: Any = None
    device: str | None = None
    force: bool = False
    echo: Callable = print
    progress: bool = True
    extra: dict = field(default_factory=dict)  # a task's own run options (speed: threads, report_dir, ...)
    units: list | None = None  # the evaluation units this run covers (None: all of the table's); `load` reads theirs

    def columns(self, default) -> list:
        """The columns ``default`` lists that this run's units score (all of them without ``units``), in order: a
        unit run alone loads its own column's data only."""
        if self.units is None:
            return list(default)
        wanted = {u.column for u in self.units}
        return [c for c in default if c in wanted]

    @property
    def knobs(self) -> dict:
        return self.spec.knobs(self.profile)

    @property
    def runs_root(self):
        from repro.paths import cache_dir

        return cache_dir("runs", self.profile.name)


class Task(ABC):
    """One evaluation protocol (see the module docstring). Subclasses implement :meth:`evaluate`; the other steps
    are optional (the defaults load nothing, build nothing and echo nothing)."""

    name: str = ""

    def load(self, spec, profile, ctx: Context) -> Any:
        return None

    def build(self, row, data, ctx: Context) -> Any:
        return None

    @abstractmethod
    def evaluate(self, built, data, unit, ctx: Context) -> tuple[dict, dict]:
        """``({column: {metric: value}}, details)`` of one unit (one record)."""

    def summary(self, record) -> str | None:
        return None


def row_encoder(row, ctx: Context, dtype: str = "fp32"):
    """The encoder a row is scored with: built from its model (repro.encoders.build), or, where the row's model
    comes from a training run (``ctx.spec.row_stage``: an ``nli-trained`` row's NLI stage), that run's model,
    trained here first unless finished (the run folder is shared with the tables that train it)."""
    stage = ctx.spec.row_stage(row, ctx.profile)
    if stage is not None:
        return trained_model(stage, ctx)[0]
    from repro.encoders.build import build_encoder

    return build_encoder(row, data_root=ctx.data_root, device=ctx.device, dtype=dtype)


def trained_model(stage, ctx: Context):
    """``(model, result)`` of a unit's training stage, trained here unless finished (resumable, shared)."""
    from repro.training.recipes import load_trained, run_stage

    result = run_stage(stage, ctx.runs_root, data_root=ctx.data_root, device=ctx.device, echo=ctx.echo,
                       progress=ctx.progress)
    return load_trained(stage, result.model_dir, device=ctx.device), result
