"""Run units in worker processes on this machine, in dependency order (``--executor processes``).

A unit's command is ``python -m repro run ID ...``. Started as a fresh interpreter, each one would spend seconds
importing torch and transformers before doing any work (about 2-4 s on a 2-core CPU: the 733 units of the paper
profile's rehearsal on 2 workers would spend up to half an hour on imports alone). So ``python -m MODULE ...``
commands start *warm* (:class:`WarmStarter`): a fork server (:func:`serve`, one per run) imports the heavy modules
once (:data:`PRELOAD`) and forks one fresh child per unit, which runs the module as ``python -m`` would
(:func:`runpy.run_module`). Isolation is kept: every unit is still a process of its own (its own exit code, its
own log file, its own environment and ``CUDA_VISIBLE_DEVICES``; a crash or a kill of one takes no other down;
``kill`` reaches it by its pid), and the server itself only imports (no torch op, no CUDA, no thread pool before a
fork) and never runs a unit. Should the server die, its running units are reported failed (exit -1) and the rest
start cold. Any other command runs as a plain subprocess, as does every command with ``warm=False``
(``--cold-start``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Callable, Sequence

from repro.errors import ConfigError
from repro.executors.base import FINAL, CommandFor, Outcome, Unit, levels


THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Set for every unit (unless set already): the CPU threads of one unit, this machine's cores over the workers (two
workers on two cores each with two threads lose most of their time to each other)."""


class ProcessExecutor:
    """``workers`` child processes at a time, each running ``command_for(unit)``.

    With ``gpus=["0", "1"]`` there is one worker per GPU and each child sees only its own
    (``CUDA_VISIBLE_DEVICES``). Each unit gets the cores over the workers as its CPU threads (:data:`THREAD_VARS`,
    unless the environment sets them). A unit starts once all its dependencies have finished; a unit whose dependency
    failed is skipped (and said so), the rest go on. Output of each unit goes to ``log_dir/<id>.log`` when given,
    else to this process's output. ``final`` runs last, in one more child whose output is this process's.
    """

    name = "processes"
    warm = True  # start `python -m repro ...` commands from a warm fork server (WarmStarter)
    help = ("--workers N worker processes (or one per GPU with --gpus), in dependency order, then a process that "
            "builds the tables")
    log_dir_help = "LOG_DIR/<unit>.log, default: this console"

    @classmethod
    def add_arguments(cls, group: argparse._ArgumentGroup) -> None:
        group.add_argument("--workers", type=int, help="worker processes at a time (default 1)")
        group.add_argument("--gpus", help="GPU ids, one worker per GPU (e.g. 0,1,2,3)")
        group.add_argument("--cold-start", action="store_true", help="start every unit as a fresh interpreter "
                                                                     "(default: forked from a server that has "
                                                                     "imported torch once)")

    @classmethod
    def from_args(cls, args: argparse.Namespace, echo: Callable[[str], None] = print) -> "ProcessExecutor":
        gpus = [g.strip() for g in args.gpus.split(",") if g.strip()] if args.gpus else None
        return cls(workers=args.workers, gpus=gpus, log_dir=args.log_dir, echo=echo,
                   warm=not getattr(args, "cold_start", False))

    def __init__(self, workers: int | None = None, gpus: Sequence[str] | None = None, log_dir=None,
                 echo: Callable[[str], None] = print, poll_s: float = 0.2, warm: bool = True):
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
        self.warm = warm
        self.threads = max(1, (os.cpu_count() or 1) // workers)

    def unit_log(self, uid: str):
        """Where the output of unit ``uid`` goes (None: this console)."""
        return None if self.log_dir is None else os.path.join(self.log_dir, f"{uid}.log")

    def run(self, units: Sequence[Unit], command_for: CommandFor, final: list | None = None) -> Outcome:
        levels(units)  # validates ids and cycles before anything starts
        ids = {u.id for u in units}
        pending = list(units)
        running: dict[str, tuple[object, str | None, object]] = {}
        starter = WarmStarter(self.echo) if self.warm else None
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
                    for var in THREAD_VARS:  # the cores shared out: N workers on C cores, C / N threads each
                        env.setdefault(var, str(self.threads))
                    if gpu is not None:
                        env["CUDA_VISIBLE_DEVICES"] = gpu
                    fh = None
                    if self.log_dir is not None:
                        os.makedirs(self.log_dir, exist_ok=True)
                        fh = open(self.unit_log(u.id), "ab")
                    n = len(out.done) + len(out.failed) + len(out.skipped) + len(running) + 1
                    self.echo(f"[executor] {n}/{total} start {u.id}" + (f" on GPU {gpu}" if gpu else "")
                              + (f" ({u.label})" if u.label else ""))
                    argv = command_for(u)
                    proc = starter.start(argv, env, fh) if starter is not None and starter.serves(argv) else None
                    if proc is None:
                        proc = subprocess.Popen(argv, env=env, stdout=fh, stderr=subprocess.STDOUT if fh else None)
                    running[u.id] = (proc, gpu, fh)
            if not running and pending:
                # every pending unit waits on something that will never finish (cannot happen after levels())
                for u in pending:
                    out.skipped[u.id] = ",".join(u.deps)
                break
            if running:
                time.sleep(self.poll_s)
        if starter is not None:
            starter.close()
        if final is not None:
            self.echo(f"[executor] final step: {' '.join(map(str, final[1:]))}")
            rc = subprocess.call(final)
            if rc == 0:
                out.done.append(FINAL)
            else:
                out.failed[FINAL] = f"exit {rc}"
                self.echo(f"[executor] {FINAL} failed (exit {rc})")
        return out


PRELOAD = ("torch", "transformers", "transformers.models.bert.modeling_bert",
           "transformers.models.roberta.modeling_roberta", "scipy.stats", "sklearn.linear_model", "pandas",
           "repro.cli", "repro.runner", "repro.tasks.sts", "repro.tasks.pairs", "repro.tasks.senteval",
           "repro.tasks.afs", "repro.tasks.triplets", "repro.encoders.transformer", "repro.training.trainer")
"""What the fork server imports once (a module that cannot be imported is skipped): a unit's start-up."""


class WarmStarter:
    """Starts ``python -m MODULE ...`` commands (``-m repro``: a unit) as forks of a warm server (see the module's
    docstring).

    :meth:`start` returns an object with ``poll()`` (None while running, else the exit code; negative: the signal
    that ended it), ``wait()``, ``kill()`` and ``pid``, as :class:`subprocess.Popen` has; or None when the server is
    gone (the caller then starts the command cold)."""

    def __init__(self, echo: Callable[[str], None] = print, preload: Sequence[str] | None = None):
        import json
        import threading

        self.echo, self._json = echo, json
        self.state: dict[int, dict] = {}
        self.cond = threading.Condition()
        self.next_key = 0
        r, w = os.pipe()
        preload = PRELOAD if preload is None else preload
        code = f"from repro.executors.processes import serve; serve({w}, {list(preload)!r})"
        self.server = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, pass_fds=(w,))
        os.close(w)
        self.alive = True
        self.reader = threading.Thread(target=self._read, args=(os.fdopen(r, "r"),), daemon=True)
        self.reader.start()

    @staticmethod
    def serves(argv) -> bool:
        """Whether ``argv`` runs a module with this interpreter (``python -m MODULE ...``, e.g. ``-m repro``)."""
        argv = [str(a) for a in argv]
        return len(argv) >= 3 and argv[1] == "-m" and os.path.realpath(argv[0]) == os.path.realpath(sys.executable)

    def _read(self, fh) -> None:
        for line in fh:
            msg = self._json.loads(line)
            with self.cond:
                self.state.setdefault(msg["key"], {}).update(msg)
                self.cond.notify_all()
        with self.cond:  # the server is gone: what still runs can no longer be reported
            self.alive = False
            for st in self.state.values():
                st.setdefault("rc", -1)
            self.cond.notify_all()

    def start(self, argv, env: dict, log) -> "_WarmChild | None":
        with self.cond:
            if not self.alive:
                return None
            key, self.next_key = self.next_key, self.next_key + 1
            self.state[key] = {}
        msg = {"key": key, "module": str(argv[2]), "args": [str(a) for a in argv[3:]], "env": dict(env),
               "cwd": os.getcwd(), "log": getattr(log, "name", None)}
        try:
            self.server.stdin.write((self._json.dumps(msg) + "\n").encode())
            self.server.stdin.flush()
        except OSError:
            with self.cond:
                self.alive = False
                self.state.pop(key, None)
            return None
        with self.cond:
            self.cond.wait_for(lambda: "pid" in self.state[key] or "rc" in self.state[key])
            if "pid" not in self.state[key]:  # the server ended before forking it: the caller starts it cold
                self.state.pop(key)
                return None
        return _WarmChild(self, key)

    def close(self) -> None:
        """No more units: the server exits once its children have ended."""
        try:
            self.server.stdin.close()
        except OSError:
            pass
        self.server.wait()


class _WarmChild:
    def __init__(self, starter: WarmStarter, key: int):
        self.starter, self.key = starter, key
        self.pid = starter.state[key].get("pid")

    def poll(self):
        with self.starter.cond:
            return self.starter.state[self.key].get("rc")

    def wait(self, timeout=None):
        with self.starter.cond:
            self.starter.cond.wait_for(lambda: "rc" in self.starter.state[self.key], timeout)
            return self.starter.state[self.key].get("rc")

    def kill(self):
        import signal

        if self.pid and self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)


# ------------------------------------------------------------------------------------------ the server
def serve(report_fd: int, preload: Sequence[str]) -> None:
    """The fork server: import ``preload``, then for every request on stdin (one JSON line: key, module, args, env,
    cwd, log) fork a child that runs ``python -m MODULE ARGS``; report ``{"key", "pid"}`` at its start and
    ``{"key", "rc"}`` at its end on ``report_fd``. Ends when stdin closes and every child has ended."""
    import importlib
    import json
    import select
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the units (same process group) and the parent
    os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"  # an import asking is_available() must not initialise CUDA
    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():  # a forked child could not use the GPU: serve nothing,
        return  # the executor then starts every unit cold
    report = os.fdopen(report_fd, "w", buffering=1)
    children: dict[int, int] = {}  # pid -> key
    buf, open_ = b"", True
    while open_ or children:
        if open_:
            ready, _, _ = select.select([0], [], [], 0.05)
            if ready:
                chunk = os.read(0, 1 << 16)
                if not chunk:
                    open_ = False
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    msg = json.loads(line)
                    pid = os.fork()
                    if pid == 0:
                        _child(msg, report_fd)  # never returns
                    children[pid] = msg["key"]
                    report.write(json.dumps({"key": msg["key"], "pid": pid}) + "\n")
        else:
            time.sleep(0.05)
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            key = children.pop(pid, None)
            if key is not None:
                report.write(json.dumps({"key": key, "rc": os.waitstatus_to_exitcode(status)}) + "\n")


def _child(msg: dict, report_fd: int) -> None:
    """In a forked child of the server: the unit's environment, folder and log, then the command; exits with its
    status (1 on an uncaught exception, after its traceback)."""
    import signal
    import traceback

    rc = 1
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.close(report_fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.environ.clear()
        os.environ.update(msg["env"])
        if "torch" in sys.modules and msg["env"].get("OMP_NUM_THREADS", "").isdigit():  # read at import, in the server
            sys.modules["torch"].set_num_threads(int(msg["env"]["OMP_NUM_THREADS"]))
        os.chdir(msg["cwd"])
        if msg.get("log"):
            fd = os.open(msg["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
        import runpy

        sys.argv = [msg["module"], *msg["args"]]
        runpy.run_module(msg["module"], run_name="__main__", alter_sys=True)  # as `python -m MODULE ARGS`
        rc = 0
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(rc)

