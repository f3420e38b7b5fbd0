"""Rehearse a profile end to end on miniatures (``--rehearse`` of ``reproduce`` / ``plan`` / ``run`` / ``tables``).

``sbert-repro reproduce --profile paper --rehearse`` runs every unit of the paper profile (its own declarations,
plan, dependency graph, seeds and code paths) with each input swapped for a miniature of the same released format
and every amount capped, so that a profile's whole path is exercised in minutes before anyone spends GPU-hours on
it. Three parts:

- :func:`prepare` builds the miniatures once (:func:`repro.rehearsal.datasets.build_data`: a data root in the real
  formats, :func:`repro.rehearsal.models.build_models`: tiny random models in the layouts the real ones have) into
  ``$SBERT_REPRO_CACHE/rehearsal/<key>/``, atomically and under a lock, stamped ``READY.json`` (the key: the
  building code, the seed and the size);
- :mod:`repro.rehearsal.profile` derives the rehearsal profile mechanically (``paper`` -> ``paper-rehearsal``);
- :func:`activate` puts the two together in this process: the derived profile registered under its name, every
  model id the miniatures stand in for given as ``--model-path ID=DIR``, the miniature data root returned.

Records go under the rehearsal's own profile name and its tables to ``tables/<profile>-rehearsal/``, every one
marked :data:`repro.rehearsal.profile.MARK`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from repro.rehearsal.profile import ITEMS, MARK, SUFFIX, base_name, derive, is_rehearsal, rehearsal_name

__all__ = ["ITEMS", "MARK", "SUFFIX", "Rehearsal", "activate", "base_name", "is_rehearsal", "mark_tables", "prepare",
           "register", "rehearsal_name", "wanted"]

READY = "READY.json"
SEED = 0
_BUILDERS = ("datasets.py", "models.py")  # the code whose output the cache holds (its key)


def wanted(profile: str, rehearse: bool) -> bool:
    """Whether a command runs a rehearsal: ``--rehearse``, or a profile named ``<profile>-rehearsal``."""
    return bool(rehearse) or is_rehearsal(profile)


def cache_key(seed: int = SEED, items: int = ITEMS) -> str:
    """What the prepared miniatures depend on: the code that builds them, the seed, the size and whether TensorFlow is
    here (the Universal Sentence Encoder's SavedModel is built only then)."""
    import importlib.util

    from repro import __version__

    tf = all(importlib.util.find_spec(m) is not None for m in ("tensorflow", "tensorflow_hub"))  # USE built or not
    h = hashlib.sha256(f"{__version__}|{seed}|{items}|tf={tf}".encode())
    here = Path(__file__).parent
    for name in _BUILDERS:
        p = here / name
        h.update(p.read_bytes() if p.is_file() else b"-")
    return h.hexdigest()[:12]


def prepare(cache_dir=None, *, real_root=None, seed: int = SEED, items: int = ITEMS,
            echo: Callable[[str], None] = print) -> Path:
    """The folder of the prepared miniatures (``data/``, ``models/``, ``READY.json``), built when missing: once per
    key, atomically (built aside, renamed into place), a second process waiting for the first."""
    from repro.locks import locked
    from repro.paths import data_root, user_cache_dir

    root = Path(cache_dir) if cache_dir is not None else user_cache_dir() / "rehearsal"
    key = cache_key(seed, items)
    final = root / key
    if _ready(final, key):
        return final
    root.mkdir(parents=True, exist_ok=True)
    with locked(final, what="rehearsal miniatures", echo=echo):
        if _ready(final, key):
            return final
        tmp = root / f".{key}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        if final.exists():  # a torn folder from an older build without its stamp
            shutil.rmtree(final)
        echo(f"rehearsal: building the miniatures into {final} (once) ...")
        from repro.rehearsal.datasets import build_data, miniature_vocabulary
        from repro.rehearsal.models import build_models

        real = data_root(real_root)
        tmp.mkdir(parents=True)
        try:  # a DataError names the real file the miniatures could not be cut from
            data = Path(build_data(real, tmp / "data", items=items, seed=seed))
            models = build_models(tmp / "models", seed=seed, vocab_text=miniature_vocabulary(data))
            stamp = {"key": key, "seed": seed, "items": items, "data": os.path.relpath(data, tmp),
                     "models": {mid: os.path.relpath(Path(p), tmp) for mid, p in sorted(models.items())}}
            (tmp / READY).write_text(json.dumps(stamp, indent=1))
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _ready(folder: Path, key: str) -> bool:
    try:
        return json.loads((folder / READY).read_text()).get("key") == key
    except (OSError, ValueError):
        return False


@dataclass(frozen=True)
class Rehearsal:
    """An activated rehearsal: the derived profile (registered in :data:`repro.profiles.PROFILES`), the miniature
    data root and the ``ID=DIR`` model paths in force."""

    profile: object
    data_root: Path
    model_paths: tuple[str, ...]
    folder: Path


def activate(profile: str, *, data_root=None, cache_dir=None, echo: Callable[[str], None] = print) -> Rehearsal:
    """Rehearse ``profile`` (``paper`` or ``paper-rehearsal``) in this process: prepare the miniatures (``data_root``:
    the real data they are cut from, where present), register the derived profile, point every model id they
    stand in for at its tiny model. Returns what the commands need."""
    from repro.data.manifest import accept_miniatures
    from repro.weights import set_model_path

    derived = register(profile)
    folder = prepare(cache_dir, real_root=None if _is_miniature(data_root) else data_root, echo=echo)
    stamp = json.loads((folder / READY).read_text())
    data = (folder / stamp["data"]).resolve()
    accept_miniatures(data)  # checked against its own MINIATURES.json (this process and its children)
    paths = []
    for mid, rel in stamp["models"].items():
        set_model_path(mid, folder / rel)
        paths.append(f"{mid}={folder / rel}")
    return Rehearsal(profile=derived, data_root=data, model_paths=tuple(paths), folder=folder)


def _is_miniature(root) -> bool:
    return root is not None and (Path(root) / "MINIATURES.json").is_file()


def register(profile: str):
    """The rehearsal of ``profile`` (``paper`` or ``paper-rehearsal``) registered in :data:`repro.profiles.PROFILES`
    under its own name, without building anything (``tables`` reads records only)."""
    from repro.profiles import PROFILES, get_profile
    from repro.specs import load_specs

    derived = derive(get_profile(base_name(profile)), load_specs())
    PROFILES[derived.name] = derived
    return derived


def mark_tables(written: dict) -> None:
    """Mark every table and report ``written`` (:func:`repro.tables.publish.build_tables`' answer) as a rehearsal:
    the Markdown files open with :data:`MARK`, the CSV files get a first column ``rehearsal`` saying it."""
    from repro.paths import atomic_path, atomic_write_text

    for paths in written.values():
        for kind, path in paths.items():
            path = Path(path)
            if path.suffix == ".md":
                text = path.read_text(encoding="utf-8")
                if not text.startswith(f"> **{MARK}**"):
                    atomic_write_text(path, f"> **{MARK}**\n\n{text}")
            elif path.suffix == ".csv":
                import pandas as pd

                df = pd.read_csv(path, keep_default_na=False, dtype=str)
                if "rehearsal" not in df.columns:
                    df.insert(0, "rehearsal", MARK)
                    with atomic_path(path) as tmp:
                        df.to_csv(tmp, index=False)
