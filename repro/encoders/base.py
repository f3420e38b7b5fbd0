from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    """What an evaluator needs of a model: a name and ``encode``."""

    name: str

    def encode(self, sentences: Sequence[str], batch_size: int = 32) -> np.ndarray:  # pragma: no cover
        ...


def check_sentences(sentences) -> list[str]:
    """Accept a list/tuple of str; reject a bare string (a classic bug: it would be encoded char by char)."""
    if isinstance(sentences, str):
        raise TypeError("encode() takes a list of sentences, not a single string; wrap it: encode([text])")
    out = list(sentences)
    for i, s in enumerate(out):
        if not isinstance(s, str):
            raise TypeError(f"sentence {i} is {type(s).__name__}, not str")
    return out
