from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

POOLINGS = ("mean", "max", "cls")  # how token vectors become one sentence vector (repro.encoders.pooling)
TRUNCATIONS = ("total", "pieces+2")
"""What a transformer encoder's ``max_seq_length`` counts (:class:`repro.encoders.transformer.SentenceEncoder`):

* ``total`` (default): ``max_seq_length`` tokens in all, [CLS] and [SEP] included (today's sentence-transformers,
  the Hugging Face tokenizer's ``max_length``).
* ``pieces+2``: ``max_seq_length`` word pieces, then [CLS] and [SEP] added (130 tokens in all for 128), as the 2019
  reference code did (sentence-transformers v0.2.3, ``models/BERT.py`` ``get_sentence_features``). The paper
  profile's trained SBERT stages.
"""
TRUNCATION_DEFAULT = "total"


@runtime_checkable
class Encoder(Protocol):
    """What an evaluator needs of a model: a name and ``encode``."""

    name: str

    def encode(self, sentences: Sequence[str], batch_size: int = 32) -> np.ndarray:  # pragma: no cover
        ...


def cosine_rows(a: np.ndarray, b: np.ndarray, both_zero: float = 0.0) -> np.ndarray:
    """Row-wise cosine similarity of two (n, d) arrays, in float64: the one cosine of the suite.

    A zero vector has no direction: against a non-zero vector its cosine is 0 (no evidence of similarity, never
    NaN). Two zero vectors give ``both_zero``: 0 when scoring a pair (the evaluators: a sentence whose words are
    all unknown to averaged word vectors says nothing), 1 when checking that two computations of the *same*
    embedding agree (the speed suite's faithfulness check: zero equals zero).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    num = (a * b).sum(axis=1)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    den = na * nb
    out = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    out[(na == 0) & (nb == 0)] = both_zero
    return out


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
