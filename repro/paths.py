"""Where things live: the data root, the cache, results and tables.

Resolution order for the data root: explicit argument (``--data-root``), the environment variable
``SBERT_REPRO_DATA``, then a per-user cache folder (``platformdirs.user_cache_dir('sbert-repro')/data``),
which is where ``data_scripts/fetch_data.py`` puts downloads by default.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

DATA_ENV = "SBERT_REPRO_DATA"
CACHE_ENV = "SBERT_REPRO_CACHE"


def user_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    try:
        from platformdirs import user_cache_dir as _ucd

        return Path(_ucd("sbert-repro"))
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        return Path.home() / ".cache" / "sbert-repro"


def default_data_root() -> Path:
    return user_cache_dir() / "data"


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """The data root in force: ``explicit`` > $SBERT_REPRO_DATA > the per-user cache."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return default_data_root()


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cache_dir(*parts: str) -> Path:
    """A sub-folder of the per-user cache (created on demand)."""
    p = user_cache_dir().joinpath(*parts)
    p.mkdir(parents=True, exist_ok=True)
    return p


def portable_path(path) -> str:
    """``path`` with the user cache written as ``$SBERT_REPRO_CACHE`` (result records carry no machine paths)."""
    try:
        return f"${CACHE_ENV}/{Path(path).resolve().relative_to(user_cache_dir().resolve()).as_posix()}"
    except ValueError:
        return str(path)


def cached_build(prefix: str, recipe: str, build, ready: tuple[str, ...] = ("model.safetensors",)) -> Path:
    """A folder ``<cache>/models/<prefix>-<sha256(recipe)[:12]>`` made once by ``build(tmp_folder)``.

    The folder is built under a temporary name and renamed into place, so a crash never leaves a half-built
    folder that looks finished; ``recipe.json`` records what it was built from; ``ready`` are the files whose
    presence means a finished build. Two processes never build one folder at once: the second waits for the
    first (:mod:`repro.locks`) and then uses its folder.
    """
    from repro.locks import locked

    key = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    final = cache_dir("models") / f"{prefix}-{key}"
    if all((final / f).is_file() for f in ready):
        return final
    with locked(final, what=f"cached build {final.name}"):
        return _build_locked(final, prefix, recipe, build, ready)


def _build_locked(final: Path, prefix: str, recipe: str, build, ready: tuple[str, ...]) -> Path:
    import shutil

    if all((final / f).is_file() for f in ready):
        return final
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=final.parent))
    try:
        build(tmp)
        (tmp / "recipe.json").write_text(recipe)
        os.chmod(tmp, dir_mode())  # mkdtemp makes 0700: the cache may be shared by a group
        os.replace(tmp, final)
    except OSError:
        if not all((final / f).is_file() for f in ready):
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def current_umask() -> int:
    """The process's umask, read without changing it where Linux says it (``/proc/self/status``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but only read once per write)
    os.umask(old)
    return old


def file_mode() -> int:
    """The mode a new file gets under the user's umask (0644 under 022, 0664 under 002: a results folder shared by
    a group on a cluster is readable by the group). ``tempfile`` makes 0600 files; every write here re-modes."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    return 0o777 & ~current_umask()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder (fsync + rename): readers see the old
    file or the whole new one, never a partial write. The file gets the user's umask, as an ``open()`` would."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """A temporary path beside ``path`` for a writer that wants a file name (``savefig``, ``to_csv``); on success
    it is renamed over ``path`` with the user's umask, on any error or interrupt (Ctrl-C) removed, so ``path`` is
    always the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
