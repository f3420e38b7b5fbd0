"""Encoders handed over as Python objects and run in this process (row kind ``python``).

``repro.evaluate(obj)`` accepts any object with ``encode(list[str]) -> np.ndarray (n, d)``. Such an object is
never pickled or written to disk: :func:`register` keeps it in this process under its model id, and
:func:`repro.encoders.build.build_encoder` finds it there for a row of kind ``python`` (the same tasks, the same
metric code as every other row).

Identity (what a record's ``model`` says): ``python:<module>.<class>`` plus ``/<name>`` when the caller names the
encoder. Only a *named* encoder is trusted to be the same across runs: its records are resumed and its embeddings
cached under that name. An unnamed one is evaluated afresh on every run (its records rewritten, no embedding
cache), since two objects of one class may encode differently.
"""

from __future__ import annotations

import numpy as np

from repro.errors import ConfigError

KIND = "python"
_REGISTERED: dict[str, "ObjectEncoder"] = {}


def model_id(obj, name: str | None = None) -> str:
    cls = type(obj)
    return f"python:{cls.__module__}.{cls.__qualname__}" + (f"/{name}" if name else "")


class ObjectEncoder:
    """An object with ``encode(list[str]) -> array`` as an encoder of the suite (``name``, ``encode(sentences,
    batch_size)``, ``describe``); each call's output is checked: one finite row per sentence."""

    def __init__(self, obj, name: str | None = None):
        if not callable(getattr(obj, "encode", None)):
            raise ConfigError(f"{type(obj).__name__}: an encoder object needs a method encode(list[str]) -> "
                              "np.ndarray of shape (n, d)")
        if name is not None and (not str(name).strip() or "/" in str(name)):
            raise ConfigError(f"encoder name {name!r}: give a non-empty name without '/'")
        self.obj = obj
        self.user_name = name
        self.cls = f"{type(obj).__module__}.{type(obj).__qualname__}"
        self.name = model_id(obj, name)
        self.cacheable = name is not None  # repro.encoders.cache.cached: no embedding cache for unnamed objects

    def describe(self) -> dict:
        return {"model": self.name, "kind": KIND, "class": self.cls, "name": self.user_name}

    def fingerprint(self) -> None:
        return None  # no weights to hash: a named object's name stands for them

    def encode(self, sentences, batch_size: int = 32, **_) -> np.ndarray:
        sentences = list(sentences)
        out = np.asarray(self.obj.encode(sentences))
        if out.ndim != 2 or out.shape[0] != len(sentences):
            raise ConfigError(f"{self.cls}.encode returned shape {out.shape} for {len(sentences)} sentences; it must "
                              "return one row per sentence, shape (n, d)")
        if not np.issubdtype(out.dtype, np.number) or np.issubdtype(out.dtype, np.complexfloating):
            raise ConfigError(f"{self.cls}.encode returned {out.dtype} values; it must return real numbers")
        if not np.isfinite(out).all():
            raise ConfigError(f"{self.cls}.encode returned NaN or infinite values (e.g. for {sentences[0]!r}...); "
                              "every vector must be finite")
        return out


def register(obj, name: str | None = None) -> ObjectEncoder:
    """Keep ``obj`` in this process under its model id (the row's ``model``); returns the wrapped encoder."""
    enc = obj if isinstance(obj, ObjectEncoder) else ObjectEncoder(obj, name)
    _REGISTERED[enc.name] = enc
    return enc


def unregister(model: str) -> None:
    _REGISTERED.pop(model, None)


def lookup(model: str) -> ObjectEncoder:
    """The object registered as ``model``; a ConfigError when this process has none (a ``python`` row runs only
    inside the ``repro.evaluate`` call that registered it)."""
    try:
        return _REGISTERED[model]
    except KeyError:
        raise ConfigError(f"{model}: an in-process Python encoder, not registered in this process; evaluate it with "
                          "repro.evaluate(your_object, name=...) in the process that holds it") from None
