"""Run units in worker processes on this machine, in dependency order (``--executor processes``)."""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from typing import Callable, Sequence

from repro.errors import ConfigError
from repro.executors.base import FINAL, CommandFor, Outcome, Unit, levels


class ProcessExecutor:
    """``workers`` child processes at a time, each running ``command_for(unit)``.

    With ``gpus=["0", "1"]`` there is one worker per GPU and each child sees only its own
    (``CUDA_VISIBLE_DEVICES``). A unit starts once all its dependencies have finished; a unit whose dependency
    failed is skipped (and said so), the rest go on. Output of each unit goes to ``log_dir/<id>.log`` when given,
    else to this process's output. ``final`` runs last, in one more child whose output is this process's.
    """

    name = "processes"
    help = ("--workers N worker processes (or one per GPU with --gpus), in dependency order, then a process that "
            "builds the tables")
    log_dir_help = "LOG_DIR/<unit>.log, default: this console"

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        group.add_argument("--workers", type=int, help="worker processes at a time (default 1)")
        group.add_argument("--gpus", help="GPU ids, one worker per GPU (e.g. 0,1,2,3)")

    @classmethod
    def from_args(cls, args: argparse.Namespace, echo: Callable[[str], None] = print) -> "ProcessExecutor":
        gpus = [g.strip() for g in args.gpus.split(",") if g.strip()] if args.gpus else None
        return cls(workers=args.workers, gpus=gpus, log_dir=args.log_dir, echo=echo)

    def __init__(self, workers: int | None = None, gpus: Sequence[str] | None = None, log_dir=None,
                 echo: Callable[[str], None] = print, poll_s: float = 0.2):
        if gpus:
            gpus = [str(g) for g in gpus]
            if workers not in (None, len(gpus)):
                raise ConfigError(f"--workers {workers} with --gpus {','.join(gpus)}: one worker per GPU; "
                                  "leave --workers out or give as many GPUs")
            workers = len(gpus)
        workers = 1 if workers is None else workers
        if workers < 1:
            raise ConfigError(f"--workers {workers}: must be 1 or more")
        self.workers, self.gpus, self.echo, self.poll_s = workers, list(gpus or []), echo, poll_s
        self.log_dir = log_dir

    def run(self, units: Sequence[Unit], command_for: CommandFor, final: list | None = None) -> Outcome:
        levels(units)  # validates ids and cycles before anything starts
        ids = {u.id for u in units}
        pending = list(units)
        running: dict[str, tuple[subprocess.Popen, str | None, object]] = {}
        free_gpus = list(self.gpus)
        out = Outcome()
        total = len(units)
        while pending or running:
            for uid, (proc, gpu, fh) in list(running.items()):
                rc = proc.poll()
                if rc is None:
                    continue
                if fh is not None:
                    fh.close()
                del running[uid]
                if gpu is not None:
                    free_gpus.append(gpu)
                if rc == 0:
                    out.done.append(uid)
                else:
                    out.failed[uid] = f"exit {rc}"
                    self.echo(f"[executor] {uid} failed (exit {rc})")
            finished = set(out.done)
            blocked = set(out.failed) | set(out.skipped)
            for u in list(pending):
                bad = next((d for d in u.deps if d in blocked), None)
                if bad is not None:
                    out.skipped[u.id] = bad
                    pending.remove(u)
                    self.echo(f"[executor] {u.id} skipped: its dependency {bad} did not finish")
            for u in list(pending):
                if len(running) >= self.workers:
                    break
                if all(d in finished or d not in ids for d in u.deps):
                    pending.remove(u)
                    gpu = free_gpus.pop(0) if self.gpus else None
                    env = dict(os.environ)
                    if gpu is not None:
                        env["CUDA_VISIBLE_DEVICES"] = gpu
                    fh = None
                    if self.log_dir is not None:
                        os.makedirs(self.log_dir, exist_ok=True)
                        fh = open(os.path.join(self.log_dir, f"{u.id}.log"), "ab")
                    n = len(out.done) + len(out.failed) + len(out.skipped) + len(running) + 1
                    self.echo(f"[executor] {n}/{total} start {u.id}" + (f" on GPU {gpu}" if gpu else "")
                              + (f" ({u.label})" if u.label else ""))
                    proc = subprocess.Popen(command_for(u), env=env, stdout=fh, stderr=subprocess.STDOUT if fh
                                            else None)
                    running[u.id] = (proc, gpu, fh)
            if not running and pending:
                # every pending unit waits on something that will never finish (cannot happen after levels())
                for u in pending:
                    out.skipped[u.id] = ",".join(u.deps)
                break
            if running:
                time.sleep(self.poll_s)
        if final is not None:
            self.echo(f"[executor] final step: {' '.join(map(str, final[1:]))}")
            rc = subprocess.call(final)
            if rc == 0:
                out.done.append(FINAL)
            else:
                out.failed[FINAL] = f"exit {rc}"
                self.echo(f"[executor] {FINAL} failed (exit {rc})")
        return out
