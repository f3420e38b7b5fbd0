"""Executors: run the units of a plan in N worker processes on this machine, or as Slurm job arrays.

A *unit* is one independently runnable piece of a plan (one training stage, one table row x seed), named by a
stable id, with the ids it depends on. Whatever the executor, a unit is executed by the same command line
(``sbert-repro run ID ...``, given by the caller as an argv), so a unit that runs alone behaves exactly as it does
inside a grid. Units never need the executor to be correct: each one resumes from its own checkpoint and writes
its own record under a lock, so a unit started twice (a requeue, a second worker) does its work once.

- ``processes``: N worker processes on this machine, one per GPU with ``gpus=[...]`` (``CUDA_VISIBLE_DEVICES``).
- ``slurm``: job arrays through submitit, one array per dependency level, each depending on the previous one;
  requeued on preemption or time-out (the unit resumes from its checkpoint); logs in one folder; a last job
  builds the tables.

Every executor follows :class:`repro.executors.base.Executor` and is listed in :data:`EXECUTORS`; the command line
builds ``--executor`` and each executor's flags from that registry, so a new executor is one module plus one line
here. ``--executor local`` (the default, :data:`IN_PROCESS`) is no executor: ``reproduce`` then runs table after
table in its own process (each table's data loaded once), which :func:`from_args` says by returning None.

No torch here: planning and submitting must stay light.
"""

from __future__ import annotations

import argparse
from typing import Callable

from repro.errors import ConfigError
from repro.executors.base import FINAL, CommandFor, Executor, Outcome, Unit, levels
from repro.executors.processes import ProcessExecutor
from repro.executors.slurm import SlurmExecutor

__all__ = ["EXECUTORS", "FINAL", "IN_PROCESS", "CommandFor", "Executor", "Outcome", "Unit", "add_arguments",
           "from_args", "get_executor", "levels"]

EXECUTORS: dict[str, type[Executor]] = {cls.name: cls for cls in (ProcessExecutor, SlurmExecutor)}

IN_PROCESS = "local"
IN_PROCESS_HELP = "one table after another in this process (default)"


def get_executor(name: str, **options) -> Executor:
    """The executor called ``name`` (a key of :data:`EXECUTORS`) with its options (its constructor's keywords)."""
    if name not in EXECUTORS:
        raise ConfigError(f"unknown --executor {name!r}; allowed: {', '.join(EXECUTORS)}")
    return EXECUTORS[name](**options)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--executor`` (its choices from the registry), the ``--log-dir`` they share, and each executor's own flags
    in a group of its own."""
    g = parser.add_argument_group("executors (every unit of the plan runs as `sbert-repro run ID`)")
    what = [f"{IN_PROCESS}: {IN_PROCESS_HELP}"] + [f"{name}: {cls.help}" for name, cls in EXECUTORS.items()]
    logs = [f"{name}: {cls.log_dir_help}" for name, cls in EXECUTORS.items()]
    g.add_argument("--executor", default=IN_PROCESS, choices=[IN_PROCESS, *EXECUTORS], help="; ".join(what))
    g.add_argument("--log-dir", help=f"per-unit logs ({'; '.join(logs)})")
    for name, cls in EXECUTORS.items():
        cls.add_arguments(parser.add_argument_group(f"--executor {name}"))


def from_args(args: argparse.Namespace, echo: Callable[[str], None] = print) -> Executor | None:
    """The executor ``--executor`` names, made from its flags; None for :data:`IN_PROCESS` (no executor)."""
    if args.executor == IN_PROCESS:
        return None
    if args.executor not in EXECUTORS:
        raise ConfigError(f"unknown --executor {args.executor!r}; allowed: {', '.join([IN_PROCESS, *EXECUTORS])}")
    return EXECUTORS[args.executor].from_args(args, echo)
