"""An embedding cache: each (model, sentence list) is encoded once and kept on disk.

:class:`CachedEncoder` wraps any encoder (``name`` + ``encode(list[str], batch_size)``) and is itself one. The key
of a cache entry is

* the model description: ``encoder.describe()`` when it has one (model, pooling, layer, max length, dtype ...),
  else its ``name``;
* a fingerprint of the weights: ``encoder.fingerprint()`` when defined, else a sha256 over the tensors of a
  ``torch.nn.Module`` encoder (so a model that was trained further, or a different in-memory model under the
  same name, never reads stale vectors), else nothing;
* the sha256 of the list of distinct sentences (in first-occurrence order, each length-prefixed).

Entries live under ``repro.paths.cache_dir('embeddings')/<model>/<key>.npy`` with a ``<key>.json`` beside it
that says what they are. Writes go to a temporary file in the same folder that is fsynced and then renamed
(``os.replace``), so a crash or a concurrent writer never leaves a half-written entry under the final name; an
entry that cannot be read back (damaged, wrong shape) is recomputed and replaced.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from repro.encoders.base import check_sentences
from repro.paths import atomic_write_bytes

log = logging.getLogger(__name__)

CACHE_VERSION = 1


def describe_encoder(encoder) -> dict:
    """What identifies an encoder's output: its ``describe()``, else its name (and class)."""
    if hasattr(encoder, "describe"):
        desc = dict(encoder.describe())
    else:
        desc = {"name": getattr(encoder, "name", type(encoder).__name__)}
    desc.setdefault("class", type(encoder).__name__)
    return desc


def weights_fingerprint(encoder) -> str | None:
    """sha256 of an encoder's weights: ``encoder.fingerprint()``, or the tensors of an ``nn.Module``, or None."""
    if hasattr(encoder, "fingerprint"):
        fp = encoder.fingerprint()
        return None if fp is None else str(fp)
    torch = sys.modules.get("torch")  # an nn.Module exists only once torch is imported: never import it here
    if torch is None or not isinstance(encoder, torch.nn.Module):  # (word vectors, tf-idf: no torch at all)
        return None
    h = hashlib.sha256()
    for name, tensor in encoder.state_dict().items():
        t = tensor.detach()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(str(t.dtype).encode())
        if t.dtype == torch.bfloat16:  # numpy has no bfloat16: hash its bits
            t = t.view(torch.int16)
        h.update(t.cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def sentences_sha256(sentences: Sequence[str]) -> str:
    """sha256 of a list of sentences; each is length-prefixed, so ``["ab", "c"]`` != ``["a", "bc"]``."""
    h = hashlib.sha256()
    for s in sentences:
        b = s.encode("utf-8", errors="surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "model"


class CachedEncoder:
    """Wrap ``encoder`` so that ``encode`` reads from / writes to the embedding cache.

    Args:
        encoder: anything with ``name`` and ``encode(list[str], batch_size=32)``.
        root: cache folder (default ``repro.paths.cache_dir('embeddings')``).
        enabled: False makes this a plain pass-through (same interface, nothing stored).
        fingerprint: ``"auto"`` (default; see :func:`weights_fingerprint`), ``None`` to leave weights out of the
            key (only for encoders whose description pins the weights), or a string to use as is.

    Only distinct sentences are encoded; the result has one row per input sentence, in input order.
    ``hits`` / ``misses`` count cache look-ups (for tests and logs).
    """

    def __init__(self, encoder, root: str | os.PathLike | None = None, *, enabled: bool = True,
                 fingerprint: str | None = "auto"):
        self.encoder = encoder
        self._root = Path(root) if root is not None else None
        self.enabled = enabled
        self._fingerprint = fingerprint
        self.hits = 0
        self.misses = 0

    # ------------------------------------------------------------------ pass-through
    @property
    def name(self) -> str:
        return getattr(self.encoder, "name", type(self.encoder).__name__)

    def describe(self) -> dict:
        return describe_encoder(self.encoder)

    def __getattr__(self, item):  # dim, tokenize, save ... of the wrapped encoder
        if item == "encoder":  # not set yet (unpickling): avoid infinite recursion
            raise AttributeError(item)
        return getattr(self.encoder, item)

    @property
    def root(self) -> Path:
        if self._root is None:
            from repro.paths import cache_dir

            self._root = cache_dir("embeddings")
        self._root.mkdir(parents=True, exist_ok=True)
        return self._root

    # ------------------------------------------------------------------ keys and paths
    def model_key(self) -> dict:
        desc = describe_encoder(self.encoder)
        fp = weights_fingerprint(self.encoder) if self._fingerprint == "auto" else self._fingerprint
        return {"version": CACHE_VERSION, "model": desc, "weights": fp}

    def key(self, sentences: Sequence[str], model_key: dict | None = None) -> str:
        mk = model_key if model_key is not None else self.model_key()
        canon = json.dumps(mk, sort_keys=True, default=str)
        h = hashlib.sha256(canon.encode())
        h.update(sentences_sha256(sentences).encode())
        return h.hexdigest()[:32]

    def path_for(self, key: str, model_key: dict) -> Path:
        folder = self.root / _slug(str(model_key["model"].get("model") or model_key["model"].get("name")))
        return folder / f"{key}.npy"

    # ------------------------------------------------------------------ encode
    def encode(self, sentences: Sequence[str], batch_size: int = 32, **kwargs) -> np.ndarray:
        sentences = check_sentences(sentences)
        unique = list(dict.fromkeys(sentences))
        if not self.enabled:
            vecs = self._encode(unique, batch_size, kwargs)
        else:
            mk = self.model_key()
            key = self.key(unique, mk)
            path = self.path_for(key, mk)
            vecs = self._load(path, len(unique))
            if vecs is None:
                self.misses += 1
                vecs = self._encode(unique, batch_size, kwargs)
                self._store(path, vecs, mk, len(unique))
            else:
                self.hits += 1
        if len(unique) == len(sentences):
            return vecs
        index = {s: i for i, s in enumerate(unique)}
        return vecs[[index[s] for s in sentences]]

    def _encode(self, sentences: list[str], batch_size: int, kwargs: dict) -> np.ndarray:
        try:
            out = self.encoder.encode(sentences, batch_size=batch_size, **kwargs)
        except TypeError:
            if not kwargs:
                raise
            out = self.encoder.encode(sentences, batch_size=batch_size)  # encoder without e.g. show_progress
        out = np.asarray(out, dtype=np.float32)
        if out.ndim != 2 or out.shape[0] != len(sentences):
            raise ValueError(f"{self.name}: encode() returned shape {out.shape} for {len(sentences)} sentences")
        return out

    @staticmethod
    def _load(path: Path, n: int) -> np.ndarray | None:
        if not path.is_file():
            return None
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as e:
            log.warning("embedding cache entry %s unreadable (%s); recomputing", path, e)
            return None
        if arr.ndim != 2 or arr.shape[0] != n:
            log.warning("embedding cache entry %s has shape %s, expected %d rows; recomputing", path, arr.shape, n)
            return None
        return arr

    @staticmethod
    def _store(path: Path, vecs: np.ndarray, model_key: dict, n: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"model_key": model_key, "n_sentences": n, "dim": int(vecs.shape[1]), "dtype": str(vecs.dtype)}
        atomic_write_bytes(path.with_suffix(".json"), json.dumps(meta, indent=2, default=str).encode())
        buf = io.BytesIO()
        np.save(buf, vecs, allow_pickle=False)
        atomic_write_bytes(path, buf.getvalue())


def cached(encoder, enabled: bool = True, **kwargs) -> CachedEncoder:
    """``encoder`` wrapped in a :class:`CachedEncoder` (an already wrapped one is returned as is); a pass-through
    when the encoder's ``cacheable`` is False."""
    if isinstance(encoder, CachedEncoder):
        return encoder
    # an encoder that says it must not be cached (an unnamed in-process object: repro.encoders.inprocess)
    return CachedEncoder(encoder, enabled=enabled and getattr(encoder, "cacheable", True), **kwargs)
