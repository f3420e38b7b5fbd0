from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    """What an evaluator needs of a model: a name and ``encode``."""

    name: str

    def encode(self, sentences: Sequence[str], batch_size: int = 32) -> np.ndarray:  # pragma: no cover
        ...


def encode_unique(encoder, sentences: Sequence[str], batch_size: int = 32,
                  show_progress: bool = False) -> tuple[list[str], np.ndarray]:
    """Encode each distinct sentence of ``sentences`` once (first-seen order); returns (unique, vectors).

    ``show_progress`` is passed on only to encoders whose ``encode`` accepts it.
    """
    unique = list(dict.fromkeys(sentences))
    kwargs = {"show_progress": True} if show_progress else {}
    try:
        vecs = encoder.encode(unique, batch_size=batch_size, **kwargs)
    except TypeError:
        if not kwargs:
            raise
        vecs = encoder.encode(unique, batch_size=batch_size)
    vecs = np.asarray(vecs)
    if vecs.shape[0] != len(unique):
        raise ValueError(f"{getattr(encoder, 'name', type(encoder).__name__)} returned {vecs.shape[0]} vectors "
                         f"for {len(unique)} sentences")
    return unique, vecs


def check_sentences(sentences) -> list[str]:
    """Accept a list/tuple of str; reject a bare string (a classic bug: it would be encoded char by char)."""
    if isinstance(sentences, str):
        raise TypeError("encode() takes a list of sentences, not a single string; wrap it: encode([text])")
    out = list(sentences)
    for i, s in enumerate(out):
        if not isinstance(s, str):
            raise TypeError(f"sentence {i} is {type(s).__name__}, not str")
    return out
