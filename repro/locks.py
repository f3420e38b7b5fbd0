"""Locks between processes that share a results folder or a cache (two ``reproduce`` at once, workers of one run).

    from repro.locks import locked

    with locked(run_dir):            # lock file <run_dir>.lock beside the target
        if not finished(run_dir):    # check again under the lock: another process may have finished it
            train(run_dir)

- An OS lock (``fcntl.flock``) on a lock file beside the target, so the lock dies with its process: a lock left
  by a ``kill -9`` (or a crashed node) is simply taken over; the lock file itself is harmless.
- The lock file holds its owner (host, pid, time), which :func:`locked` names while it waits.
- Re-entrant within a process (a pipeline may lock a folder whose training locks it again).
- The lock file is removed on release; a waiter that locked a file removed meanwhile notices (its inode is no
  longer the path's) and locks again, so two processes never both think they hold one target.
- Usable for any target path (a run folder, a result record, a cached model): the lock only coordinates processes
  that use this module for the same path; it never touches the target.

On a file system without ``flock`` (some network mounts) locking degrades to a no-op with a warning, once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"
_held: dict[str, list] = {}  # lock-file path -> [fd, depth], this process
_guard = threading.Lock()
_warned = False


def lock_path(target: str | os.PathLike) -> Path:
    """The lock file of ``target``: ``<target>.lock`` in the same folder."""
    t = Path(target)
    return t.with_name(t.name + LOCK_SUFFIX)


def owner(target: str | os.PathLike) -> dict | None:
    """Who holds (or last held) the lock of ``target``: ``{"host", "pid", "since"}``, or None."""
    return owner_of_lock(lock_path(target))


def _describe(info: dict | None) -> str:
    if not info:
        return "another process"
    return f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')}"


def _try_flock(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


@contextlib.contextmanager
def locked(target: str | os.PathLike, *, what: str | None = None, echo: Callable[[str], None] | None = None,
           poll_s: float = 0.5, timeout_s: float | None = None) -> Iterator[Path]:
    """Hold the lock of ``target`` for the ``with`` block, waiting while another process holds it.

    ``echo`` (e.g. ``print``) is told once that we wait and for whom; ``what`` names the target in that line.
    ``timeout_s``: give up with ``TimeoutError`` after that many seconds (default: wait as long as it takes).
    Yields the lock file's path.
    """
    path = lock_path(target)
    key = str(path.absolute())
    with _guard:
        if key in _held:
            _held[key][1] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield path
        finally:
            with _guard:
                _held[key][1] -= 1
        return
    fd = _acquire(path, what or str(target), echo, poll_s, timeout_s)
    with _guard:
        _held[key] = [fd, 1]
    try:
        yield path
    finally:
        with _guard:
            _held.pop(key, None)
        _release(path, fd)


def _acquire(path: Path, what: str, echo, poll_s: float, timeout_s: float | None) -> int | None:
    global _warned
    t0, told = time.monotonic(), False
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # the umask applies: group-shared where it allows
        except OSError as e:
            from repro.errors import ReproError

            raise ReproError(f"{path.parent}: cannot write here ({e.strerror or e}), and {what} needs a lock file "
                             "beside it; make the folder writable or point --results-dir / $SBERT_REPRO_CACHE at a "
                             "writable one") from None
        try:
            got = _try_flock(fd)
        except OSError as e:  # no flock on this file system
            os.close(fd)
            if not _warned:
                log.warning("no file locking on %s (%s): concurrent runs are not coordinated", path.parent, e)
                _warned = True
            return None
        if got and _same_file(fd, path):
            info = {"host": socket.gethostname(), "pid": os.getpid(),
                    "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
            os.ftruncate(fd, 0)
            os.write(fd, (json.dumps(info) + "\n").encode())
            return fd
        os.close(fd)  # busy, or we locked a lock file its holder removed meanwhile: try again
        if not got:
            if echo is not None and not told:
                echo(f"  waiting for {what}: locked by {_describe(owner_of_lock(path))}")
                told = True
            if timeout_s is not None and time.monotonic() - t0 > timeout_s:
                raise TimeoutError(f"{what}: still locked by {_describe(owner_of_lock(path))} after {timeout_s:.0f} s")
            time.sleep(poll_s)


def owner_of_lock(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text() or "null")
    except (OSError, ValueError):
        return None


def _release(path: Path, fd: int | None) -> None:
    if fd is None:
        return
    try:
        if _same_file(fd, path):
            path.unlink(missing_ok=True)  # before unlocking: a waiter that then locks the old file retries
    finally:
        os.close(fd)  # releases the flock


def is_locked(target: str | os.PathLike) -> bool:
    """Whether some process holds the lock of ``target`` right now (for status displays; racy by nature)."""
    path = lock_path(target)
    if not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        if _try_flock(fd):
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        return True
    finally:
        os.close(fd)
