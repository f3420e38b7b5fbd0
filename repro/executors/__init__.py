"""Executors: run the units of a plan here, in N worker processes, or as Slurm job arrays.

A *unit* is one independently runnable piece of a plan (one training stage, one table row x seed), named by a
stable id, with the ids it depends on. Whatever the executor, a unit is executed by the same command line
(``sbert-repro run ID ...``, given by the caller as an argv), so a unit that runs alone behaves exactly as it does
inside a grid. Units never need the executor to be correct: each one resumes from its own checkpoint and writes
its own record under a lock, so a unit started twice (a requeue, a second worker) does its work once.

- ``local``: one after another in this process's child (the default; what ``reproduce`` always did).
- ``processes``: N worker processes on this machine, one per GPU with ``gpus=[...]`` (``CUDA_VISIBLE_DEVICES``).
- ``slurm``: job arrays through submitit, one array per dependency level, each depending on the previous one;
  requeued on preemption or time-out (the unit resumes from its checkpoint); logs in one folder; a last job can
  build the tables.

No torch here: planning and submitting must stay light.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from repro.errors import ConfigError

EXECUTORS = ("local", "processes", "slurm")


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


def get_executor(name: str, **options):
    """The executor called ``name`` (local | processes | slurm) with its options."""
    if name == "local":
        from repro.executors.processes import ProcessExecutor

        return ProcessExecutor(workers=1, **options)
    if name == "processes":
        from repro.executors.processes import ProcessExecutor

        return ProcessExecutor(**options)
    if name == "slurm":
        from repro.executors.slurm import SlurmExecutor

        return SlurmExecutor(**options)
    raise ConfigError(f"unknown --executor {name!r}; allowed: {', '.join(EXECUTORS)}")


CommandFor = Callable[[Unit], list]
