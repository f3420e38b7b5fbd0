"""Triplet accuracy (Table 4): is the positive closer to the anchor than the negative?

A triplet counts as correct when ``d(anchor, positive) < d(anchor, negative)`` strictly (a tie is wrong), as
sentence-transformers' ``TripletEvaluator`` counts it. The paper does not say which distance Table 4 uses; its
triplet objective uses Euclidean distance, so Euclidean is the table's main column and cosine distance the
second; Manhattan is kept in the record too. Accuracies are fractions in [0, 1], as the paper prints them.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from repro.encoders.base import encode_unique

DISTANCES = ("euclidean", "cosine", "manhattan")


def row_distance(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Distance between ``a[i]`` and ``b[i]``; cosine distance = 1 - cosine (a zero vector has cosine 0)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if metric == "euclidean":
        return np.sqrt(((a - b) ** 2).sum(axis=1))
    if metric == "manhattan":
        return np.abs(a - b).sum(axis=1)
    if metric == "cosine":
        num = (a * b).sum(axis=1)
        den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        cos = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        return 1.0 - cos
    raise ValueError(f"unknown distance {metric!r}; choose from {', '.join(DISTANCES)}")


def triplet_accuracy(anchor: np.ndarray, positive: np.ndarray, negative: np.ndarray,
                     metric: str = "euclidean") -> float:
    """Fraction of triplets with ``d(anchor, positive) < d(anchor, negative)``."""
    if len(anchor) == 0:
        raise ValueError("no triplets")
    dp = row_distance(anchor, positive, metric)
    dn = row_distance(anchor, negative, metric)
    return float(np.mean(dp < dn))


def evaluate_triplets(encoder, anchors: Sequence[str], positives: Sequence[str], negatives: Sequence[str],
                      batch_size: int = 32, show_progress: bool = False) -> dict:
    """Encode each distinct sentence once; accuracy under every distance in :data:`DISTANCES`."""
    if not (len(anchors) == len(positives) == len(negatives)):
        raise ValueError("anchors, positives and negatives must have the same length")
    unique, vecs = encode_unique(encoder, [*anchors, *positives, *negatives], batch_size, show_progress)
    index = {s: i for i, s in enumerate(unique)}
    a = vecs[[index[s] for s in anchors]]
    p = vecs[[index[s] for s in positives]]
    n = vecs[[index[s] for s in negatives]]
    out = {f"accuracy_{m}": triplet_accuracy(a, p, n, m) for m in DISTANCES}
    out["n_triplets"] = len(anchors)
    # per-triplet correctness (1 = the positive is closer), for intervals; accuracy as a fraction (scale 1)
    from repro.stats.predictions import cell_items, items_key

    key = items_key(anchors, positives, negatives)
    out["items"] = {m: cell_items("accuracy", (row_distance(a, p, m) < row_distance(a, n, m)).astype(np.int8),
                                  np.ones(len(anchors), dtype=np.int8), key=key, scale=1.0) for m in DISTANCES}
    return out
