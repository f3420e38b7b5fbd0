"""Unsupervised STS evaluation as in the paper (§4.1): cosine similarity, Spearman rank correlation x 100.

For STS12-16 the sub-datasets are pooled into one list of pairs and one correlation is computed (the paper's
protocol, confirmed by its author and by SimCSE's re-run: ``spearman_all``); SentEval's mean over
sub-datasets weighted by their size is reported as a second metric (``spearman_wmean``). STSb and SICK-R are
scored on their test splits.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from scipy.stats import pearsonr, spearmanr

from repro.data.records import PairSet, STSTask


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (n, d) arrays (zero vectors give 0, not NaN)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    num = (a * b).sum(axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def spearman_x100(pred: Sequence[float], gold: Sequence[float]) -> float:
    if len(pred) != len(gold):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold scores")
    if len(pred) < 2:
        raise ValueError("a correlation needs at least two pairs")
    return float(spearmanr(pred, gold).statistic * 100.0)


def pearson_x100(pred: Sequence[float], gold: Sequence[float]) -> float:
    return float(pearsonr(pred, gold).statistic * 100.0)


def encode_unique(encoder, sentences: Iterable[str], batch_size: int = 32, show_progress: bool = False) -> dict:
    """Encode each distinct sentence once; returns {sentence: vector}."""
    unique = sorted(set(sentences))
    kwargs = {"show_progress": show_progress} if show_progress else {}
    try:
        vecs = encoder.encode(unique, batch_size=batch_size, **kwargs)
    except TypeError:  # encoders without a progress option
        vecs = encoder.encode(unique, batch_size=batch_size)
    return dict(zip(unique, vecs))


def score_pairs(vectors: dict, pairs: PairSet) -> np.ndarray:
    a = np.stack([vectors[s] for s in pairs.sentences1]) if len(pairs) else np.zeros((0, 1))
    b = np.stack([vectors[s] for s in pairs.sentences2]) if len(pairs) else np.zeros((0, 1))
    return cosine_rows(a, b)


def evaluate_task(vectors: dict, task: STSTask) -> dict:
    """Metrics of one task given precomputed vectors."""
    preds, golds, per_subset = [], [], {}
    for name, subset in task.subsets.items():
        p = score_pairs(vectors, subset)
        g = subset.scores
        preds.append(p)
        golds.append(g)
        per_subset[name] = {"n_pairs": len(subset), "spearman": spearman_x100(p, g) if len(subset) > 1 else None}
    pred, gold = np.concatenate(preds), np.concatenate(golds)
    sizes = np.array([v["n_pairs"] for v in per_subset.values()], dtype=float)
    rhos = np.array([v["spearman"] for v in per_subset.values()], dtype=float)
    return {
        "spearman_all": spearman_x100(pred, gold),
        "spearman_wmean": float((rhos * sizes).sum() / sizes.sum()),
        "pearson_all": pearson_x100(pred, gold),
        "n_pairs": int(len(gold)),
        "subsets": per_subset,
    }


def evaluate_sts(encoder, tasks: Sequence[STSTask], batch_size: int = 32, show_progress: bool = False) -> dict:
    """Evaluate ``encoder`` on each task; all distinct sentences are encoded in one call."""
    sentences = [s for t in tasks for sub in t.subsets.values() for s in (*sub.sentences1, *sub.sentences2)]
    vectors = encode_unique(encoder, sentences, batch_size=batch_size, show_progress=show_progress)
    return {t.name: evaluate_task(vectors, t) for t in tasks}
