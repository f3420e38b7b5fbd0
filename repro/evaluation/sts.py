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
from repro.encoders.base import cosine_rows
from repro.encoders.base import encode_unique as _encode_unique
from repro.stats.predictions import cell_items, items_key


def spearman_x100(pred: Sequence[float], gold: Sequence[float]) -> float:
    if len(pred) != len(gold):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold scores")
    if len(pred) < 2:
        raise ValueError("a correlation needs at least two pairs")
    return float(spearmanr(pred, gold).statistic * 100.0)


def pearson_x100(pred: Sequence[float], gold: Sequence[float]) -> float:
    return float(pearsonr(pred, gold).statistic * 100.0)


def encode_unique(encoder, sentences: Iterable[str], batch_size: int = 32, show_progress: bool = False) -> dict:
    """Each distinct sentence encoded once, in sorted order (as the STS records were made); {sentence: vector}.
    The one implementation is :func:`repro.encoders.base.encode_unique`."""
    unique, vecs = _encode_unique(encoder, sorted(set(sentences)), batch_size, show_progress)
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
    subsets = list(task.subsets.values())
    sizes = np.array([v["n_pairs"] for v in per_subset.values()], dtype=float)
    rhos = np.array([v["spearman"] for v in per_subset.values()], dtype=float)
    return {
        "spearman_all": spearman_x100(pred, gold),
        "spearman_wmean": float((rhos * sizes).sum() / sizes.sum()),
        "pearson_all": pearson_x100(pred, gold),
        "n_pairs": int(len(gold)),
        "subsets": per_subset,
        # per-pair predictions for intervals (kept beside the record, not in its metrics)
        "items": cell_items("spearman", pred, gold,
                            key=items_key([s for sub in subsets for s in sub.sentences1],
                                          [s for sub in subsets for s in sub.sentences2])),
    }


def evaluate_sts(encoder, tasks: Sequence[STSTask], batch_size: int = 32, show_progress: bool = False) -> dict:
    """Evaluate ``encoder`` on each task; all distinct sentences are encoded in one call."""
    sentences = [s for t in tasks for sub in t.subsets.values() for s in (*sub.sentences1, *sub.sentences2)]
    vectors = encode_unique(encoder, sentences, batch_size=batch_size, show_progress=show_progress)
    return {t.name: evaluate_task(vectors, t) for t in tasks}
