"""AFS evaluation (Table 3): folds, correlations, and the three settings of the paper.

* **unsupervised**: cosine similarity of two embeddings (or of tf-idf vectors) against the gold 0-5 score.
* **10-fold cross-validation** (Misra et al. 2016's setup): within each topic, the 2,000 pairs are cut into 10
  folds by ``sklearn.model_selection.KFold(10, shuffle=True, random_state=seed)``; a model is trained on 9 folds
  and scored on the 10th. Sentences recur across pairs, so a test pair's sentences may have been seen in training
  (only the combination is new): the weakness the paper's cross-topic setting avoids.
* **cross-topic**: train on two topics, test on the third; repeated for each topic.

Every setting reports Pearson r and Spearman rho x 100. The number in the table is the mean over the three topics
(for 10-fold: of the mean over each topic's 10 folds); the correlation over all test pairs pooled is kept too.
A :class:`Fold` holds indices into :class:`repro.data.afs.AFSCorpus`'s flat pair list, so tests can check that
no pair is in both train and test of any fold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy.stats import pearsonr, spearmanr

from repro.data.afs import AFSCorpus
from repro.data.records import PairSet
from repro.evaluation.sts import cosine_rows
from repro.stats.predictions import cell_items, items_key

SETTINGS = ("unsupervised", "10-fold", "cross-topic")


@dataclass(frozen=True)
class Fold:
    """One train/test split of the corpus (indices into ``corpus.pairs``)."""

    name: str
    test_topic: str
    train: np.ndarray
    test: np.ndarray


# ------------------------------------------------------------------------------------------------ metrics
def correlations(pred: Sequence[float], gold: Sequence[float]) -> dict:
    """Pearson r and Spearman rho, both x 100."""
    pred = np.asarray(pred, dtype=np.float64)
    gold = np.asarray(gold, dtype=np.float64)
    if pred.shape != gold.shape:
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold scores")
    if len(pred) < 2:
        raise ValueError("a correlation needs at least two pairs")
    return {"pearson": float(pearsonr(pred, gold).statistic * 100.0),
            "spearman": float(spearmanr(pred, gold).statistic * 100.0)}


# ------------------------------------------------------------------------------------------------ folds
def kfold_indices(n: int, k: int = 10, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays of a shuffled k-fold split of ``range(n)``."""
    from sklearn.model_selection import KFold

    if n < k:
        raise ValueError(f"{n} pairs cannot be split into {k} folds")
    return [(tr, te) for tr, te in KFold(n_splits=k, shuffle=True, random_state=seed).split(np.arange(n))]


def within_topic_folds(corpus: AFSCorpus, k: int = 10, seed: int = 0) -> list[Fold]:
    """10-fold CV inside each topic: 3 x k folds, each training and testing on pairs of one topic only."""
    folds, offset = [], 0
    for topic, data in corpus.topics.items():
        for f, (tr, te) in enumerate(kfold_indices(len(data), k, seed)):
            folds.append(Fold(f"{topic}/fold{f}", topic, tr + offset, te + offset))
        offset += len(data)
    return folds


def cross_topic_folds(corpus: AFSCorpus) -> list[Fold]:
    """One fold per topic: test on it, train on the other topics."""
    topic_of = corpus.topic_of
    folds = []
    for topic in corpus.topics:
        folds.append(Fold(f"test={topic}", topic, np.flatnonzero(topic_of != topic), np.flatnonzero(topic_of == topic)))
    return folds


def folds_for(setting: str, corpus: AFSCorpus, k: int = 10, seed: int = 0) -> list[Fold]:
    if setting == "10-fold":
        return within_topic_folds(corpus, k, seed)
    if setting == "cross-topic":
        return cross_topic_folds(corpus)
    raise ValueError(f"setting {setting!r} has no folds; choose 10-fold or cross-topic")


# ------------------------------------------------------------------------------------------------ scoring
Scorer = Callable[[list[str], list[str]], np.ndarray]
"""Predicts a similarity for each pair (s1[i], s2[i])."""


def cosine_scorer(encoder, batch_size: int = 32, show_progress: bool = False) -> Scorer:
    """Scores pairs by the cosine of ``encoder``'s embeddings (each distinct sentence encoded once per call)."""

    def score(s1: list[str], s2: list[str]) -> np.ndarray:
        unique = list(dict.fromkeys([*s1, *s2]))
        kwargs = {"show_progress": True} if show_progress else {}
        try:
            vecs = encoder.encode(unique, batch_size=batch_size, **kwargs)
        except TypeError:
            vecs = encoder.encode(unique, batch_size=batch_size)
        index = {s: i for i, s in enumerate(unique)}
        vecs = np.asarray(vecs)
        return cosine_rows(vecs[[index[s] for s in s1]], vecs[[index[s] for s in s2]])

    return score


def _summarise(per_group: dict[str, dict], pooled: dict) -> dict:
    out = {
        "pearson": float(np.mean([m["pearson"] for m in per_group.values()])),
        "spearman": float(np.mean([m["spearman"] for m in per_group.values()])),
        "pearson_pooled": pooled["pearson"],
        "spearman_pooled": pooled["spearman"],
    }
    return out


def evaluate_unsupervised(score: Scorer, corpus: AFSCorpus) -> dict:
    """Correlations of ``score`` on every pair: mean over topics (the table's number) and pooled."""
    pairs = corpus.pairs
    pred = score([p.s1 for p in pairs], [p.s2 for p in pairs])
    gold = corpus.scores
    topic_of = corpus.topic_of
    per_topic = {t: correlations(pred[topic_of == t], gold[topic_of == t]) for t in corpus.topics}
    out = _summarise(per_topic, correlations(pred, gold))
    out["per_topic"] = per_topic
    out["n_pairs"] = int(len(gold))
    out["items"] = _items(pairs, pred, gold, strata=topic_of, topics=None)
    return out


def _items(pairs, pred, gold, strata, topics) -> dict:
    """Per-pair predictions for intervals: {"r": ..., "rho": ...}; the statistic is the mean over topics (of the
    mean over each topic's folds), so the strata are the topics (unsupervised) or the test folds."""
    key = items_key([p.s1 for p in pairs], [p.s2 for p in pairs], strata)
    return {col: cell_items(kind, pred, gold, strata=strata, topics=topics, key=key)
            for col, kind in (("r", "pearson"), ("rho", "spearman"))}


def evaluate_folds(corpus: AFSCorpus, folds: Sequence[Fold],
                   fit: Callable[[PairSet, Fold], Scorer],
                   progress: Callable[[str], None] | None = None) -> dict:
    """Train with ``fit(train_pairs, fold)`` on each fold's training pairs and score its test pairs.

    Returns the mean over topics (10-fold: of each topic's mean over its folds), pooled correlations of all
    out-of-fold predictions, and per-fold / per-topic details.
    """
    gold = corpus.scores
    pairs = corpus.pairs
    oof = np.full(len(gold), np.nan)
    per_fold = {}
    for i, fold in enumerate(folds):
        overlap = np.intersect1d(fold.train, fold.test)
        if len(overlap):
            raise ValueError(f"fold {fold.name}: {len(overlap)} pairs in both train and test")
        scorer = fit(corpus.subset(fold.train), fold)
        test = [pairs[j] for j in fold.test]
        pred = np.asarray(scorer([p.s1 for p in test], [p.s2 for p in test]), dtype=np.float64)
        oof[fold.test] = pred
        per_fold[fold.name] = {**correlations(pred, gold[fold.test]), "topic": fold.test_topic,
                               "n_train": int(len(fold.train)), "n_test": int(len(fold.test))}
        if progress:
            m = per_fold[fold.name]
            progress(f"{fold.name} ({i + 1}/{len(folds)}): r {m['pearson']:.2f} rho {m['spearman']:.2f}")
    tested = ~np.isnan(oof)
    per_topic = {}
    for topic in dict.fromkeys(f.test_topic for f in folds):
        ms = [m for m in per_fold.values() if m["topic"] == topic]
        per_topic[topic] = {"pearson": float(np.mean([m["pearson"] for m in ms])),
                            "spearman": float(np.mean([m["spearman"] for m in ms])), "n_folds": len(ms)}
    out = _summarise(per_topic, correlations(oof[tested], gold[tested]))
    out.update(per_topic=per_topic, per_fold=per_fold, n_folds=len(folds))
    fold_of = np.full(len(gold), "", dtype=object)
    topic_of = np.full(len(gold), "", dtype=object)
    for fold in folds:
        fold_of[fold.test] = fold.name
        topic_of[fold.test] = fold.test_topic
    where = np.flatnonzero(tested)
    out["items"] = _items([pairs[j] for j in where], oof[where], gold[where], fold_of[where].astype(str),
                          topic_of[where].astype(str))
    return out


def untrained(scorer: Scorer) -> Callable[[PairSet, Fold], Scorer]:
    """A ``fit`` for :func:`evaluate_folds` that ignores the training pairs (an untuned baseline)."""
    return lambda _train, _fold: scorer
