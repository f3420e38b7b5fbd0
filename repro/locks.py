"""Locks between processes that share a results folder or a cache (two ``reproduce`` at once, workers of one run).

    from repro.locks import locked

    with locked(run_dir):            # lock file <run_dir>.lock beside the target
        if not finished(run_dir):    # check again under the lock: another process may have finished it
            train(run_dir)

Built on :class:`filelock.FileLock` (an OS ``flock`` on a lock file beside the target); what this module adds is
what the suite's messages need:

- the lock dies with its process (``flock``): a lock left by a ``kill -9`` (or a crashed node) is simply taken
  over. The lock file is removed on release, by this module (filelock's Unix lock keeps it: only its Windows lock
  unlinks), while still locked; a waiter that then locks the removed file locks again (filelock checks that the
  inode it locked is still linked);
- the lock file holds its owner (host, pid, time), written through filelock's ``on_acquired`` descriptor, which
  :func:`locked` names once while it waits (filelock's ``cancel_check`` hook) and in its ``TimeoutError``;
- re-entrant within a process, from any thread: one :class:`~filelock.FileLock` per lock file, shared by the
  process (``thread_local=False``), whose hold counter filelock keeps;
- an unwritable folder is one line (a :class:`~repro.errors.ReproError`) naming the folder and the fix;
- usable for any target path (a run folder, a result record, a cached model): the lock only coordinates processes
  that use this module for the same path; it never touches the target.

On a file system without ``flock`` (some network mounts) filelock falls back to its soft lock (an exclusive-create
marker file): still exclusive, but a marker left by a killed process is no longer taken over by itself.

Version: ``filelock>=4.3`` (pyproject), measured with 4.3.2. Earlier releases do not serve these semantics: 3.x
opens the lock file with ``O_TRUNC`` on every attempt (a waiter would erase the owner line the holder wrote, so
"waiting for pid N" could not be said), keeps the file after release on Unix, and has neither ``on_acquired`` nor
``cancel_check``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Callable, Iterator

import filelock

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"
_locks: dict[str, filelock.FileLock] = {}  # lock-file path -> its lock, shared by every thread of this process
_guard = threading.Lock()


def lock_path(target: str | os.PathLike) -> Path:
    """The lock file of ``target``: ``<target>.lock`` in the same folder."""
    t = Path(target)
    return t.with_name(t.name + LOCK_SUFFIX)


def owner(target: str | os.PathLike) -> dict | None:
    """Who holds (or last held) the lock of ``target``: ``{"host", "pid", "since"}``, or None."""
    return owner_of_lock(lock_path(target))


def owner_of_lock(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text() or "null")
    except (OSError, ValueError):
        return None


def _describe(info: dict | None) -> str:
    if not info:
        return "another process"
    return f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')}"


def _write_owner(fd: int) -> None:
    """filelock's ``on_acquired``: the owner line, into the lock file it has just locked (same descriptor)."""
    info = {"host": socket.gethostname(), "pid": os.getpid(),
            "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)


def _lock_for(path: Path) -> filelock.FileLock:
    key = str(path.absolute())
    with _guard:
        if key not in _locks:
            _locks[key] = filelock.FileLock(key, thread_local=False, on_acquired=_write_owner)
        return _locks[key]


@contextlib.contextmanager
def locked(target: str | os.PathLike, *, what: str | None = None, echo: Callable[[str], None] | None = None,
           poll_s: float = 0.5, timeout_s: float | None = None) -> Iterator[Path]:
    """Hold the lock of ``target`` for the ``with`` block, waiting while another process holds it.

    ``echo`` (e.g. ``print``) is told once that we wait and for whom; ``what`` names the target in that line.
    ``timeout_s``: give up with ``TimeoutError`` after that many seconds (default: wait as long as it takes).
    Yields the lock file's path.
    """
    path = lock_path(target)
    lock = _lock_for(path)
    if lock.is_locked:  # this process holds it already (an outer block): re-enter, no wait
        with lock.acquire(timeout=0):
            yield path
        return
    _acquire(lock, path, what or str(target), echo, poll_s, timeout_s)
    try:
        yield path
    finally:
        try:
            _unlink_if_ours(path)  # while still locked: a waiter that then locks the old inode sees it unlinked
        finally:
            lock.release()


def _unlink_if_ours(path: Path) -> None:
    """Remove the lock file this process holds (filelock keeps it on Unix: only its Windows lock unlinks). Ours:
    its owner line is this process's (the path was not replaced under us)."""
    info = owner_of_lock(path) or {}
    if info.get("pid") == os.getpid() and info.get("host") == socket.gethostname():
        path.unlink(missing_ok=True)


def _acquire(lock: filelock.FileLock, path: Path, what: str, echo, poll_s: float, timeout_s: float | None) -> None:
    told = []

    def tell_once() -> bool:  # filelock calls it between attempts while another process holds the lock
        if echo is not None and not told:
            echo(f"  waiting for {what}: locked by {_describe(owner_of_lock(path))}")
            told.append(True)
        return False  # never cancel

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=-1 if timeout_s is None else timeout_s, poll_interval=poll_s, cancel_check=tell_once)
    except filelock.Timeout:
        raise TimeoutError(f"{what}: still locked by {_describe(owner_of_lock(path))} after {timeout_s:.0f} s") \
            from None
    except PermissionError as e:
        from repro.errors import ReproError

        raise ReproError(f"{path.parent}: cannot write here ({e.strerror or e}), and {what} needs a lock file "
                         "beside it; make the folder writable or point --results-dir / $SBERT_REPRO_CACHE at a "
                         "writable one") from None


def is_locked(target: str | os.PathLike) -> bool:
    """Whether some process holds the lock of ``target`` right now (for status displays; racy by nature)."""
    path = lock_path(target)
    if not path.exists():
        return False
    if _lock_for(path).is_locked:
        return True
    probe = filelock.FileLock(str(path.absolute()), thread_local=False, preserve_lock_file=True)
    try:
        probe.acquire(blocking=False)
    except filelock.Timeout:
        return True
    except OSError:
        return False
    probe.release()
    return False
