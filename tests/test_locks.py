"""repro.locks: one process at a time per target, taken over after a kill -9, re-entrant; and two `reproduce`
processes on one results folder and one empty cache coordinate instead of crashing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from repro.locks import is_locked, lock_path, locked, owner

REPO = Path(__file__).resolve().parents[1]

HOLDER = textwrap.dedent("""
    import sys, time
    from repro.locks import locked
    with locked(sys.argv[1]):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    print("released", flush=True)
""")


def _holder(target: Path, seconds: float) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(target), str(seconds)], stdout=subprocess.PIPE,
                         text=True, cwd=REPO)
    assert p.stdout.readline().strip() == "held"
    return p


def test_second_process_waits_and_names_the_owner(tmp_path):
    target = tmp_path / "run"
    p = _holder(target, 2.0)
    try:
        assert is_locked(target)
        info = owner(target)
        assert info["pid"] == p.pid and info["host"] and info["since"]
        told = []
        t0 = time.monotonic()
        with locked(target, echo=told.append, poll_s=0.05):
            waited = time.monotonic() - t0
            assert owner(target)["pid"] == os.getpid()
        assert waited > 0.5  # it did wait for the holder
        assert len(told) == 1 and f"pid {p.pid}" in told[0]
    finally:
        p.wait(timeout=10)
    assert not lock_path(target).exists()  # removed on release


def test_lock_of_a_killed_process_is_taken_over(tmp_path):
    target = tmp_path / "record.json"
    p = _holder(target, 60)
    os.kill(p.pid, signal.SIGKILL)  # the lock file stays behind, its flock dies with the process
    p.wait(timeout=10)
    assert lock_path(target).exists()
    with locked(target, timeout_s=5):
        assert owner(target)["pid"] == os.getpid()


def test_timeout_and_reentry(tmp_path):
    target = tmp_path / "x"
    p = _holder(target, 3)
    try:
        with pytest.raises(TimeoutError, match="still locked by pid"):
            with locked(target, timeout_s=0.3, poll_s=0.05):
                pass
    finally:
        p.wait(timeout=10)
    with locked(target):
        with locked(target, timeout_s=2):  # the same process again: no self-deadlock, no TimeoutError
            assert owner(target)["pid"] == os.getpid()
        assert lock_path(target).exists() and is_locked(target)  # still held by the outer block
    assert not lock_path(target).exists()


def _reproduce(results: Path, tables: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "repro", "reproduce", "--profile", "smoke", "--tables", "2",
                             "--results-dir", str(results), "--tables-dir", str(tables)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO)


def test_two_reproduce_runs_on_one_folder_and_one_empty_cache(tmp_path, data_root):
    """Started together: both exit 0, same records, every training run trained exactly once."""
    env = {**os.environ, "SBERT_REPRO_CACHE": str(tmp_path / "cache"), "SBERT_REPRO_DATA": str(data_root),
           "TOKENIZERS_PARALLELISM": "false"}
    procs = [_reproduce(tmp_path / "res", tmp_path / f"tab{i}", env) for i in range(2)]
    outs = [p.communicate(timeout=900)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-3000:]
    trained = re.findall(r"training on \d+ examples -> (\S+)", "".join(outs))
    assert trained, outs[0][-2000:]
    assert len(trained) == len(set(trained)), f"a run was trained twice: {sorted(trained)}"
    run_dirs = {p.parent for p in (tmp_path / "cache" / "runs" / "smoke").rglob("done.json")}
    assert len(run_dirs) == len(trained)  # every finished run was trained by exactly one of them
    recs = sorted((tmp_path / "res").rglob("*.json"))
    assert recs and not list((tmp_path / "res").rglob("*.lock"))
    assert (tmp_path / "tab0" / "smoke" / "table2_stsb_supervised.csv").read_text() == \
        (tmp_path / "tab1" / "smoke" / "table2_stsb_supervised.csv").read_text()


def test_built_on_filelock_reentrant_across_threads(tmp_path):
    """One filelock.FileLock per lock file, shared by the threads of a process (as the hand-written lock was)."""
    import threading

    import filelock

    from repro import locks

    target = tmp_path / "shared"
    with locked(target):
        assert isinstance(locks._lock_for(lock_path(target)), filelock.FileLock)
        inner = []
        t = threading.Thread(target=lambda: inner.append(_enter(target)))
        t.start()
        t.join(timeout=10)
        assert inner == [os.getpid()]  # no self-deadlock from another thread
        assert lock_path(target).exists()
    assert not lock_path(target).exists() and not is_locked(target)


def _enter(target):
    with locked(target, timeout_s=2):
        return owner(target)["pid"]


def test_a_lock_file_not_ours_is_left_in_place(tmp_path):
    """Release removes the lock file only when its owner line is this process's (never another holder's file)."""
    target = tmp_path / "y"
    with locked(target):
        lock_path(target).write_text('{"host": "elsewhere", "pid": 1, "since": "then"}\n')
    assert lock_path(target).exists() and owner(target)["host"] == "elsewhere"
    with locked(target, timeout_s=2):  # the file stays usable: flock, not its contents, is the lock
        assert owner(target)["pid"] == os.getpid()
    assert not lock_path(target).exists()
