"""What every executor shares: the unit of work, the outcome, dependency levels and the :class:`Executor` protocol.

No torch here: planning and submitting must stay light.
"""

from __future__ import annotations

import argparse
import inspect
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Protocol, Sequence, runtime_checkable

from repro.errors import ConfigError


@dataclass(frozen=True)
class Unit:
    """One unit of work: ``id`` (stable), ``deps`` (ids that must finish first), a label for logs."""

    id: str
    deps: tuple[str, ...] = ()
    label: str = ""


@dataclass
class Outcome:
    """What became of each unit: ``done`` (exit 0), ``failed`` (non-zero exit: id -> message), ``skipped``
    (a dependency failed: id -> the failed dependency)."""

    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


CommandFor = Callable[[Unit], list]
"""The argv that runs one unit (``python -m repro run ID ...``): the same command alone, in a worker, in a job."""

FINAL = "final"
"""The id under which an executor reports the ``final`` command (run after every unit, e.g. the tables)."""


@runtime_checkable
class Executor(Protocol):
    """An executor runs units in dependency order, each as its command line, and says what became of each.

    ``name`` is its ``--executor`` value; ``help`` one line for that flag's help; ``log_dir_help`` where its
    ``--log-dir`` default puts the logs. ``add_arguments(group)`` declares its own flags (on the argument group
    the command line gives it), ``from_args(args, echo)`` makes one from the parsed flags. ``run`` starts every
    unit once its dependencies have finished, then ``final`` (an argv, after every unit whatever became of them);
    the final command is reported under the id :data:`FINAL`."""

    name: ClassVar[str]
    help: ClassVar[str]
    log_dir_help: ClassVar[str]

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None: ...

    @classmethod
    def from_args(cls, args: argparse.Namespace, echo: Callable[[str], None]) -> "Executor": ...

    def run(self, units: Sequence[Unit], command_for: CommandFor, final: list | None = None) -> Outcome: ...


def levels(units: Sequence[Unit]) -> list[list[Unit]]:
    """Units grouped by dependency depth (level 0 has no dependency inside ``units``), in input order within a
    level. Dependencies outside ``units`` count as satisfied (e.g. finished earlier). A cycle is a ConfigError."""
    by_id = {u.id: u for u in units}
    if len(by_id) != len(units):
        dup = sorted({u.id for u in units if sum(v.id == u.id for v in units) > 1})
        raise ConfigError(f"plan has duplicate unit ids: {', '.join(dup[:5])}")
    depth: dict[str, int] = {}
    visiting: set[str] = set()

    def d(uid: str) -> int:
        if uid in depth:
            return depth[uid]
        if uid in visiting:
            raise ConfigError(f"plan has a dependency cycle through {uid}")
        visiting.add(uid)
        inner = [d(x) for x in by_id[uid].deps if x in by_id]
        visiting.discard(uid)
        depth[uid] = 1 + max(inner) if inner else 0
        return depth[uid]

    for u in units:
        d(u.id)
    out: list[list[Unit]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for u in units:
        out[depth[u.id]].append(u)
    return out


def default_of(cls, option: str):
    """The default of ``cls(option=...)``: an executor's flags show the defaults its constructor has, written once."""
    return inspect.signature(cls).parameters[option].default
