"""Submit the units of a plan to Slurm as job arrays, through submitit (``--executor slurm``).

One job array per dependency level; each array starts after the previous one has ended (``afterany``: a unit
whose own dependency did not finish fails fast with a clear message, and its record says so, instead of the
whole grid hanging on one failure). Every task runs ``command_for(unit)`` in a subprocess. A task that is
preempted or reaches its time limit is requeued by submitit and reruns the same command, which resumes from the
run's own checkpoint. Logs: ``log_dir/<job id>_<task>_log.{out,err}``. A last job (``final``) can run after
everything, e.g. to build the tables.

Many short units (evaluations of a few seconds, the paper profile's rehearsal: 722 units) would spend most of their
time waiting for the scheduler and importing torch. ``units_per_task`` (``--units-per-task N``) bundles up to N units
of one level into one array task (:class:`BundleTask`): it runs them one after another, each as its own process
forked from one warm interpreter that imported torch once (:class:`repro.executors.processes.WarmStarter`), and
reports each unit's exit status, so a failed unit is named alone and the others of its bundle still count as done.
A requeued bundle runs all its commands again; those that finished find their record and return at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from repro.errors import ConfigError, ReproError
from repro.executors.base import FINAL, CommandFor, Outcome, Unit, default_of, levels


class UnitTask:
    """The callable a Slurm task runs: one unit's command line. Requeued on preemption / time-out (submitit's
    ``checkpoint`` protocol) with the same command, which resumes from its checkpoint."""

    def __init__(self, argv: list, env: dict | None = None):
        self.argv, self.env = list(argv), dict(env or {})

    #: how long a task whose command was killed by a signal waits to be killed too (Slurm preempting or
    #: requeueing the job signals the whole job, then kills it after KillWait) before it counts as a failure
    signal_grace_s = 120.0

    def __call__(self) -> int:
        env = {**os.environ, **self.env}
        rc = subprocess.call(self.argv, env=env)
        if rc < 0:
            # Killed by a signal: Slurm is preempting / requeueing / cancelling this job, and the requeued task runs
            # the command again (it resumes from its checkpoint). Writing a failure now would be read as the
            # task's final result, so wait to be killed with the job; only if that does not happen is it a failure.
            time.sleep(self.signal_grace_s)
        if rc != 0:
            raise RuntimeError(f"{' '.join(map(str, self.argv))} exited {rc}")
        return rc

    def checkpoint(self, *args, **kwargs):
        import submitit

        return submitit.helpers.DelayedSubmission(UnitTask(self.argv, self.env))


class BundleTask:
    """The callable a Slurm task runs for a bundle of units: each command in turn, forked from a warm server where it
    is a ``python -m`` command (else a plain subprocess); returns the exit status of each, in order. Requeued as a
    whole on preemption / time-out (finished units then return at once from their records)."""

    signal_grace_s = UnitTask.signal_grace_s

    def __init__(self, argvs: list, env: dict | None = None, labels: list | None = None):
        self.argvs, self.env = [list(a) for a in argvs], dict(env or {})
        self.labels = list(labels or [" ".join(map(str, a)) for a in self.argvs])

    def __call__(self) -> list:
        from repro.executors.processes import THREAD_VARS, WarmStarter

        env = {**os.environ, **self.env}
        for var in THREAD_VARS:  # one unit at a time: all of the task's CPUs
            env.setdefault(var, os.environ.get("SLURM_CPUS_PER_TASK", "1"))
        starter = WarmStarter(lambda m: print(m, flush=True)) if any(map(WarmStarter.serves, self.argvs)) else None
        codes: list[int] = []
        try:
            for i, (argv, label) in enumerate(zip(self.argvs, self.labels)):
                print(f"== [{i + 1}/{len(self.argvs)}] {label}", flush=True)
                proc = starter.start(argv, env, None) if starter is not None and starter.serves(argv) else None
                rc = proc.wait() if proc is not None else subprocess.call(argv, env=env)
                if rc < 0:  # a signal: Slurm preempting / requeueing this job (see UnitTask)
                    time.sleep(self.signal_grace_s)
                print(f"== [{i + 1}/{len(self.argvs)}] {label}: exit {rc}", flush=True)
                codes.append(rc)
        finally:
            if starter is not None:
                starter.close()
        return codes

    def checkpoint(self, *args, **kwargs):
        import submitit

        return submitit.helpers.DelayedSubmission(BundleTask(self.argvs, self.env, self.labels))


class _NoAccountingNoise(logging.Filter):
    """Clusters without accounting (slurmdbd) make every ``sacct`` call of submitit's status watcher fail; it
    then falls back to the result files, which is all we need. Keep that one warning out of the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Bypassing sacct error" not in record.getMessage()


def _submitit():
    try:
        import submitit
    except ImportError:
        raise ReproError("--executor slurm needs submitit: pip install -e '.[slurm]' in the clone (or pip install "
                         "submitit)") from None
    logging.getLogger("submitit").addFilter(_NoAccountingNoise())
    return submitit


class SlurmExecutor:
    """Options map to Slurm's: ``partition``, ``time_min`` (per task), ``gpus_per_task``, ``cpus_per_task``,
    ``mem_gb``, ``array_parallelism`` (tasks of one array running at once), ``additional`` (any other sbatch
    option, e.g. {"account": "nlp"}). ``wait``: block until every job has ended and report the outcome."""

    name = "slurm"
    help = ("job arrays through submitit, in dependency order, requeued on preemption / time-out, then a job that "
            "builds the tables")
    log_dir_help = "default ./slurm-logs"
    #: environment variables every task gets from the submitting shell (data root, cache, Hugging Face settings)
    env_prefixes = ("SBERT_REPRO_", "HF_", "TOKENIZERS_")

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        group.add_argument("--partition", help="partition (default: the cluster's)")
        for flag, option, what in (("--time-min", "time_min", "time limit per task in minutes"),
                                   ("--gpus-per-task", "gpus_per_task", "GPUs per task"),
                                   ("--cpus-per-task", "cpus_per_task", "CPUs per task"),
                                   ("--mem-gb", "mem_gb", "memory per task in GB"),
                                   ("--units-per-task", "units_per_task", "units of one level run one after another "
                                    "in one array task, from one warm interpreter: for many short units, e.g. the "
                                    "rehearsal or evaluation units")):
            default = default_of(cls, option)
            group.add_argument(flag, type=int, default=default, help=f"{what} (default {default})")
        group.add_argument("--slurm-option", action="append", metavar="KEY=VALUE",
                           help="any other sbatch option, e.g. account=nlp or qos=high (repeatable)")

    @classmethod
    def from_args(cls, args: argparse.Namespace, echo: Callable[[str], None] = print) -> "SlurmExecutor":
        extra = {}
        for kv in args.slurm_option or []:
            if "=" not in kv:
                raise ConfigError(f"--slurm-option {kv!r}: expected KEY=VALUE, e.g. account=nlp")
            k, v = kv.split("=", 1)
            extra[k] = v
        env = {k: v for k, v in os.environ.items() if k.startswith(cls.env_prefixes)}
        return cls(log_dir=args.log_dir or default_of(cls, "log_dir"), partition=args.partition,
                   time_min=args.time_min, gpus_per_task=args.gpus_per_task, cpus_per_task=args.cpus_per_task,
                   mem_gb=args.mem_gb, units_per_task=args.units_per_task, additional=extra, env=env, echo=echo)

    def __init__(self, log_dir="slurm-logs", partition: str | None = None, time_min: int = 240,
                 gpus_per_task: int = 0, cpus_per_task: int = 2, mem_gb: int = 16, array_parallelism: int = 64,
                 additional: dict | None = None, wait: bool = True, env: dict | None = None,
                 echo: Callable[[str], None] = print, max_requeues: int = 3, units_per_task: int = 1):
        for name, value in (("time_min", time_min), ("cpus_per_task", cpus_per_task), ("mem_gb", mem_gb),
                            ("array_parallelism", array_parallelism), ("units_per_task", units_per_task)):
            if value < 1:
                raise ConfigError(f"slurm {name}={value}: must be 1 or more")
        if gpus_per_task < 0:
            raise ConfigError(f"slurm gpus_per_task={gpus_per_task}: must be 0 or more")
        self.log_dir = Path(log_dir)
        self.params = {"timeout_min": time_min, "cpus_per_task": cpus_per_task, "mem_gb": mem_gb,
                       "slurm_array_parallelism": array_parallelism, "tasks_per_node": 1, "nodes": 1}
        if partition:
            self.params["slurm_partition"] = partition
        if gpus_per_task:
            self.params["gpus_per_node"] = gpus_per_task
        self.additional = dict(additional or {})
        self.wait, self.env, self.echo, self.max_requeues = wait, dict(env or {}), echo, max_requeues
        self.units_per_task = units_per_task
        self.jobs: dict[str, object] = {}
        self.bundles: dict[str, tuple[object, int]] = {}  # unit id -> (its bundle's job, its place in the bundle)

    def _executor(self, dependency: str | None):
        submitit = _submitit()
        ex = submitit.AutoExecutor(folder=str(self.log_dir / "%j"), cluster="slurm",
                                   slurm_max_num_timeout=self.max_requeues)
        params = dict(self.params)
        if dependency:
            params["slurm_dependency"] = dependency
        ex.update_parameters(**params, slurm_additional_parameters=dict(self.additional))
        return ex

    def submit(self, units: Sequence[Unit], command_for: CommandFor, final: list | None = None) -> list:
        """Submit every level as one array; returns the submitit jobs (in unit order, then ``final``)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        prev: list = []
        all_jobs: list = []
        for i, level in enumerate(levels(units)):
            dep = ("afterany:" + ":".join(sorted({j.job_id.split("_")[0] for j in prev}))) if prev else None
            ex = self._executor(dep)
            n = self.units_per_task
            groups = [level[k:k + n] for k in range(0, len(level), n)]
            with ex.batch():
                if n == 1:
                    jobs = [ex.submit(UnitTask(command_for(u), self.env)) for u in level]
                else:
                    jobs = [ex.submit(BundleTask([command_for(u) for u in g], self.env,
                                                 [f"{u.id} ({u.label})" if u.label else u.id for u in g]))
                            for g in groups]
            for g, j in zip(groups, jobs):
                for k, u in enumerate(g):
                    if n == 1:
                        self.jobs[u.id] = j
                    else:
                        self.bundles[u.id] = (j, k)
            array = jobs[0].job_id.split("_")[0] if jobs else "-"
            self.echo(f"[slurm] level {i}: {len(level)} unit(s) as array {array}"
                      + (f" ({len(jobs)} task(s) of up to {n} units)" if n > 1 else "")
                      + (f" after {dep.split(':', 1)[1]}" if dep else ""))
            prev, all_jobs = jobs, all_jobs + jobs
        if final is not None:
            dep = ("afterany:" + ":".join(sorted({j.job_id.split("_")[0] for j in all_jobs}))) if all_jobs else None
            job = self._executor(dep).submit(UnitTask(final, self.env))
            self.jobs[FINAL] = job
            self.echo(f"[slurm] final step as job {job.job_id}")
            all_jobs.append(job)
        self.echo(f"[slurm] logs: {self.log_dir}/")
        return all_jobs

    def run(self, units: Sequence[Unit], command_for: CommandFor, final: list | None = None) -> Outcome:
        from shutil import which

        if which("sbatch") is None:
            raise ConfigError("--executor slurm: no sbatch on PATH (this machine is not a Slurm login node); run the "
                              "command where sbatch is, or use --executor processes here")
        self.submit(units, command_for, final=final)
        out = Outcome()
        if not self.wait:
            return out
        codes_of: dict[int, object] = {}  # each bundle's exit statuses, or why its whole task failed (read once)
        for uid, (job, k) in self.bundles.items():
            if id(job) not in codes_of:
                try:
                    codes_of[id(job)] = job.result()
                except Exception as e:
                    codes_of[id(job)] = e
            codes = codes_of[id(job)]
            if not isinstance(codes, Exception) and codes[k] == 0:
                out.done.append(uid)
                continue
            out.failed[uid] = _failure_line(codes) if isinstance(codes, Exception) else f"exit {codes[k]}"
            log = getattr(getattr(job, "paths", None), "stdout", None)
            self.echo(f"[slurm] {uid} failed: {out.failed[uid]}" + (f" (log: {log})" if log else ""))
        for uid, job in self.jobs.items():
            try:
                job.result()
                out.done.append(uid)
            except Exception as e:
                out.failed[uid] = _failure_line(e)
                log = getattr(getattr(job, "paths", None), "stderr", None)
                self.echo(f"[slurm] {uid} failed: {out.failed[uid]}" + (f" (log: {log})" if log else ""))
        return out


def _failure_line(e: Exception) -> str:
    """The telling line of a failed task's error (submitit wraps it with the remote traceback and log paths)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    telling = [ln for ln in lines if "exited" in ln or "Error" in ln]
    return (telling[-1] if telling else lines[0] if lines else type(e).__name__)[:300]


def slurm_available() -> str | None:
    """None when ``sbatch`` and a responding controller are here; else why not (for skips and errors)."""
    from shutil import which

    if which("sbatch") is None:
        return "no sbatch on PATH (Slurm is not installed)"
    try:
        r = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"sinfo did not answer: {e}"
    if r.returncode != 0:
        return f"sinfo failed: {r.stderr.strip() or r.returncode}"
    if not any(s.startswith(("idle", "mixed", "alloc")) for s in r.stdout.split()):
        return f"no Slurm node is up (sinfo: {r.stdout.strip() or 'nothing'})"
    return None


if __name__ == "__main__":  # pragma: no cover
    print(slurm_available() or "slurm: available")
    sys.exit(0)
