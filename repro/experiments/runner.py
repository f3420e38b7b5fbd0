"""The one runner: a table spec x a profile -> its evaluation units -> result records.

For each evaluation unit of ``spec.units(profile)`` (in the spec's order) the runner writes one record through
:func:`repro.results.run` (finished units are skipped: a rerun resumes). The table's evaluator
(``spec.evaluator``, ``"module:object"``) supplies:

- ``load(spec, profile, ctx)``: the data, once per table (a data problem stops the table before any model loads);
- ``build(row, data, ctx)``: what a row's units share (an encoder, a scorer), once per row, only when one of its
  units has to run; a ``ReproError`` there is remembered, so the row's other units do not retry it;
- ``evaluate(built, data, unit, ctx) -> (metrics, details)``: ``metrics`` is ``{column: {metric: value}}``, the
  shape every table builder reads;
- ``summary(record) -> str`` (optional): the line echoed when a unit finishes;
- or ``run_table(spec, profile, store, ctx)`` instead, for a table measured all at once (Table 7).

Training units are not run here: the evaluation unit that needs one trains it (resumably, shared between
tables by its run folder), so ``reproduce`` runs everything and ``plan`` lists both.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from repro.errors import ConfigError, ReproError
from repro.results import ResultRecord, ResultStore, run


@dataclass
class Context:
    """What every evaluator may use: where data and runs are, the device, the echo function, the profile."""

    profile: object
    spec: object
    store: ResultStore
    data_root: object = None
    device: str | None = None
    force: bool = False
    echo: Callable = print
    progress: bool = True
    extra: dict = field(default_factory=dict)  # table-specific run options (Table 7: threads, report_dir, ...)

    @property
    def knobs(self) -> dict:
        return self.spec.knobs(self.profile)

    @property
    def runs_root(self):
        from repro.paths import cache_dir

        return cache_dir("runs", self.profile.name)


def load_evaluator(ref: str):
    if not ref or ":" not in ref:
        raise ConfigError(f"a table spec's evaluator must be 'module:object', got {ref!r}")
    module, name = ref.split(":", 1)
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"evaluator {ref!r} cannot be loaded ({e}); fix the table spec") from None


def run_row(spec, work, store, *, device: str | None = None, force: bool = False, echo=print,
            summary: Callable | None = None, label: str = "", row=None):
    """One record: :func:`repro.results.run` with this machine's versions and hardware in the record; echoes one
    line (``summary(record)`` when it finished, else its status and reason)."""
    from repro.env import hardware, versions

    rec = run(spec, work, store, force=force, env=lambda: {"versions": versions(), "hardware": hardware(device)},
              log=echo, label=label or (row or {}).get("label"), row=row)
    prefix = f"  {label}: " if label else "  "
    if rec.status == "ok":
        if summary is not None:
            echo(prefix + summary(rec))
    else:
        echo(f"{prefix}{rec.status.replace('_', ' ')}: {rec.reason}")
    return rec


def run_table(spec, profile, store: ResultStore, *, data_root=None, device: str | None = None, force: bool = False,
              echo=print, progress: bool = True, rows=None, only=None, **extra) -> list[ResultRecord]:
    """Run every evaluation unit of ``spec`` for ``profile`` (``rows``: only these rows; ``only``: only the units
    with these ids, see ``sbert-repro plan``); returns the records."""
    if rows is not None:
        profile = profile.with_table(spec.number, rows=tuple(rows))
    progress = extra.pop("show_progress", progress)
    ev = load_evaluator(spec.evaluator)
    ctx = Context(profile=profile, spec=spec, store=store, data_root=data_root, device=device, force=force,
                  echo=echo, progress=progress, extra=extra)
    if hasattr(ev, "run_table"):
        return ev.run_table(spec, profile, store, ctx)
    units = [u for u in spec.units(profile) if u.what == "evaluate"]  # bad rows / knobs fail here
    if only is not None:
        units = [u for u in units if u.id in set(only)]
    data = ev.load(spec, profile, ctx) if hasattr(ev, "load") else None
    echo(f"[table {spec.number}] {len(units)} runs")
    memo: dict = {}

    def built(row):
        if row not in memo:
            try:
                memo[row] = (True, ev.build(row, data, ctx) if hasattr(ev, "build") else None)
            except ReproError as e:  # remembered: the row's other units do not retry a missing model
                memo[row] = (False, e)
        ok, value = memo[row]
        if not ok:
            raise value
        return value

    def pending(u) -> bool:
        r = store.get(u.run)
        return force or r is None or r.status != "ok"

    records, skipped = [], set()
    summary = getattr(ev, "summary", None)
    for i, u in enumerate(units, 1):
        if u.row in skipped:
            continue
        if spec.row_unavailable is not None and pending(u):
            try:
                built(u.row)
            except ReproError as e:  # one not-run record for the row, not one per column
                skipped.add(u.row)
                records.append(run_row(spec.row_unavailable(spec, u.row, profile), _raise(e), store, device=device,
                                       force=force, echo=echo, row=u.row.describe()))
                continue
        echo(f"[table {spec.number}] {i}/{len(units)} {u.label} ({u.row.model or u.row.kind})")
        records.append(run_row(u.run, lambda s, u=u: ev.evaluate(built(u.row), data, u, ctx), store, device=device,
                               force=force, echo=echo, summary=summary, row=u.row.describe(),
                               label=u.column if spec.row_unavailable is not None else ""))
    return records


def row_encoder(row, ctx, dtype: str = "fp32"):
    """The encoder a row is scored with: built from its model (repro.encoders.build), or for an ``nli-trained``
    row the model of its NLI stage, trained here first unless finished (the run folder Tables 2 and 6 share)."""
    if row.kind == "nli-trained":
        from repro.specs import trained_nli_stage
        from repro.training.recipes import load_trained, run_stage

        stage = trained_nli_stage(row, ctx.profile)
        result = run_stage(stage, ctx.runs_root, data_root=ctx.data_root, device=ctx.device, echo=ctx.echo,
                           progress=ctx.progress)
        return load_trained(stage, result.model_dir, ctx.device)
    from repro.encoders.build import build_encoder

    return build_encoder(row, data_root=ctx.data_root, device=ctx.device, dtype=dtype)


def _raise(err: Exception):
    def fn(spec):
        raise err

    return fn


def find_unit(unit_id: str, profile, tables=None):
    """(spec, unit) of the unit called ``unit_id`` in ``profile``'s plan; ConfigError naming the fix otherwise."""
    from repro.specs import load_specs

    for number, spec in load_specs().items():
        if tables and number not in tables:
            continue
        for u in spec.units(profile):
            if u.id == unit_id:
                return spec, u
    raise ConfigError(f"no unit {unit_id!r} in profile {profile.name!r}; list them with "
                      f"`sbert-repro plan --profile {profile.name} --verbose`")


def run_unit(unit_id: str, profile, store, **kw):
    """Run one unit of the plan alone (what one job of a cluster array executes): an evaluation writes its
    record; a training run trains (or reuses) its folder. Returns the record, or the training result."""
    spec, unit = find_unit(unit_id, profile)
    if unit.what == "evaluate":
        if unit.run is None:  # measured all at once (Table 7)
            return run_table(spec, profile, store, **kw)
        return run_table(spec, profile, store, only={unit_id}, **kw)
    if hasattr(unit.stage, "objective"):
        from repro.paths import cache_dir
        from repro.training.recipes import run_stage

        return run_stage(unit.stage, cache_dir("runs", profile.name), data_root=kw.get("data_root"),
                         device=kw.get("device"), echo=kw.get("echo", print))
    raise ConfigError(f"unit {unit_id}: {unit.label} trains inside its evaluation; run the evaluation that needs "
                      "it (listed with `plan --verbose`)")
