"""SentEval's transfer protocol (Table 5): logistic regression on frozen sentence embeddings.

This follows facebookresearch/SentEval's code path with ``usepytorch=False`` (scikit-learn's
``LogisticRegression(C=..., random_state=seed)``), ``kfold=10`` and SentEval's default seed 1111:

* **MR, CR, SUBJ, MPQA** (``senteval/binary.py`` -> ``tools/validation.py:InnerKFoldClassifier``):
  ``StratifiedKFold(10, shuffle=True, random_state=1111)`` outer folds; inside each outer training fold the
  penalty ``C`` is chosen from ``2**-2 .. 2**3`` by another ``StratifiedKFold(10, shuffle=True,
  random_state=1111)``; the fold's model is refitted on the whole outer training fold and scored on the held-out
  fold; accuracy = mean over the 10 held-out folds.
* **SST binary** (``senteval/sst.py`` -> ``SplitClassifier``): ``C`` from ``2**-2 .. 2**3`` by dev accuracy; the
  model trained on train with that ``C`` is scored on test.
* **TREC** (``senteval/trec.py``) and **MRPC** (``senteval/mrpc.py``) (-> ``KFoldClassifier``): ``C`` from
  ``2**-1 .. 2**5`` by 10-fold stratified CV on train (``random_state=seed``); refit on all of train, scored on
  test. MRPC features are ``[|u - v|, u * v]``; MRPC also reports F1 of the paraphrase class.

Details kept from SentEval because they change the numbers: examples are sorted by (token count, label) (MRPC:
(len A, len B, label)) before the folds are drawn, since SentEval draws its folds on that order; the mean
accuracy of each ``C`` is rounded to 2 decimals before the arg-max (ties go to the smaller ``C``); each fold's
test accuracy is rounded to 2 decimals before averaging.

Solver: SentEval calls ``LogisticRegression(C=reg, random_state=seed)`` with scikit-learn's defaults, which changed
under it: in the scikit-learn releases of SentEval's and the paper's time (0.18-0.21) the default was ``liblinear``
with one-vs-rest for more than two classes; since 0.22 it is ``lbfgs`` (multinomial, ``max_iter=100``, which
often stops before converging on these features). The default here is ``liblinear`` (one-vs-rest for TREC): the
setup SentEval was written and published with, and one that converges; ``solver="lbfgs"`` gives today's default.
BLAS is limited to one thread during the fits (several threads made them ~10x slower on 2 busy cores).

Classifier: a :class:`LogRegConfig` selects this scikit-learn path (SentEval's ``usepytorch=False``); a
:class:`repro.evaluation.senteval_pytorch.TorchLogRegConfig` selects SentEval's PyTorch logistic regression
(``usepytorch=True``, the paper's), whose functions take and return the same as the ones here.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from repro.data.senteval import LabeledPairs, LabeledSentences, SentEvalTask
from repro.encoders.base import encode_unique
from repro.errors import ConfigError, choose
from repro.stats.predictions import cell_items, items_key

log = logging.getLogger(__name__)

SENTEVAL_SEED = 1111
KFOLD = 10
GRID_INNER = tuple(2.0 ** t for t in range(-2, 4))  # InnerKFoldClassifier, SplitClassifier (usepytorch=False)
GRID_KFOLD = tuple(2.0 ** t for t in range(-1, 6))  # KFoldClassifier (usepytorch=False)
SOLVERS = ("lbfgs", "liblinear")
CLASSIFIERS = {"sklearn": "sklearn-LogReg", "pytorch": "pytorch-MLP-nhid0-adam-bs64"}
"""Which classifier: ``sklearn`` (:class:`LogRegConfig`, SentEval's ``usepytorch=False``) or ``pytorch``
(:class:`repro.evaluation.senteval_pytorch.TorchLogRegConfig`, ``usepytorch=True``: the paper's), each with SentEval's
name for it (the configs' ``name``; a record param)."""


@dataclass(frozen=True)
class LogRegConfig:
    """How the logistic regression is trained and its penalty chosen."""

    kfold: int = KFOLD
    seed: int = SENTEVAL_SEED
    solver: str = "liblinear"
    max_iter: int = 100
    n_jobs: int = 1  # parallel fits over the penalty grid (joblib); 1 = sequential

    def __post_init__(self):
        choose(self.solver, SOLVERS, "SentEval solver")
        if self.kfold < 2:
            raise ConfigError(f"SentEval kfold must be >= 2, got {self.kfold}")

    @property
    def name(self) -> str:
        """SentEval's name for this classifier (``validation.py:get_classif_name``)."""
        return "sklearn-LogReg"


def make_classifier(C: float, cfg: LogRegConfig, n_classes: int):
    from sklearn.linear_model import LogisticRegression

    if cfg.solver == "liblinear":
        clf = LogisticRegression(C=C, solver="liblinear", random_state=cfg.seed, max_iter=cfg.max_iter)
        if n_classes > 2:
            from sklearn.multiclass import OneVsRestClassifier

            clf = OneVsRestClassifier(clf)
        return clf
    return LogisticRegression(C=C, solver="lbfgs", random_state=cfg.seed, max_iter=cfg.max_iter)


def _fit(C, cfg, n_classes, Xtr, ytr):
    clf = make_classifier(C, cfg, n_classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs ConvergenceWarning at max_iter=100, as in SentEval
        clf.fit(Xtr, ytr)
    return clf


def _fit_score(C, cfg, n_classes, Xtr, ytr, Xte, yte, return_pred=False):
    pred = _fit(C, cfg, n_classes, Xtr, ytr).predict(Xte)
    acc = float(np.mean(pred == yte))
    return (acc, pred) if return_pred else acc


def _parallel(jobs: list[Callable[[], float]], n_jobs: int) -> list:
    if n_jobs == 1 or len(jobs) < 2:
        return [j() for j in jobs]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs, prefer="threads")(delayed(j)() for j in jobs)  # liblinear releases the GIL


def _stratified(k: int, seed: int):
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)


def _select_C(grid, scores_pct) -> tuple[float, float]:
    """SentEval: per-C scores rounded to 2 decimals, first arg-max wins."""
    rounded = [round(s, 2) for s in scores_pct]
    best = int(np.argmax(rounded))
    return grid[best], rounded[best]


# ------------------------------------------------------------------------------------------------ classifiers
def inner_kfold(X: np.ndarray, y: np.ndarray, cfg: LogRegConfig = LogRegConfig(), grid=GRID_INNER,
                n_classes: int = 2, progress: Callable[[str], None] | None = None) -> dict:
    """SentEval's InnerKFoldClassifier: outer k-fold test accuracy with C chosen by an inner k-fold CV."""
    inner = _stratified(cfg.kfold, cfg.seed)

    def fold_model(Xtr, ytr):
        inner_splits = list(inner.split(Xtr, ytr))
        jobs = [(lambda C=C, a=a, b=b: _fit_score(C, cfg, n_classes, Xtr[a], ytr[a], Xtr[b], ytr[b]))
                for C in grid for a, b in inner_splits]
        res = np.asarray(_parallel(jobs, cfg.n_jobs)).reshape(len(grid), len(inner_splits))
        C, dev = _select_C(grid, 100 * res.mean(axis=1))
        return C, dev, _fit(C, cfg, n_classes, Xtr, ytr).predict

    return outer_folds(X, y, _stratified(cfg.kfold, cfg.seed), fold_model, progress=progress, what="C")


def outer_folds(X: np.ndarray, y: np.ndarray, outer, fold_model, progress=None, what: str = "C") -> dict:
    """The outer loop of SentEval's InnerKFoldClassifier, shared by both classifier paths: for each fold of
    ``outer``, ``fold_model(Xtr, ytr) -> (penalty, dev accuracy, predict)`` picks and fits the fold's model; each
    fold's test accuracy is rounded to 2 decimals before averaging, as SentEval does."""
    fold_acc, fold_dev, fold_C, folds, preds = [], [], [], [], []
    k = outer.get_n_splits()
    for f, (tr, te) in enumerate(outer.split(X, y)):
        reg, dev, predict = fold_model(X[tr], y[tr])
        pred = predict(X[te])
        acc = float(np.mean(pred == y[te]))
        preds.append(pred)
        fold_acc.append(round(100 * acc, 2))
        fold_dev.append(dev)
        fold_C.append(reg)
        folds.append(te)
        if progress:
            progress(f"fold {f + 1}/{k}: {what}={reg:g} dev {dev:.2f} test {100 * acc:.2f}")
    return {"acc": round(float(np.mean(fold_acc)), 2), "devacc": round(float(np.mean(fold_dev)), 2),
            "fold_acc": fold_acc, "fold_C": fold_C, "folds": folds, "fold_pred": preds}


def kfold_then_test(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray,
                    cfg: LogRegConfig = LogRegConfig(), grid=GRID_KFOLD, n_classes: int = 2) -> dict:
    """SentEval's KFoldClassifier: C by k-fold CV on train, refit on train, scored on test."""
    splits = list(_stratified(cfg.kfold, cfg.seed).split(Xtr, ytr))
    jobs = [(lambda C=C, a=a, b=b: _fit_score(C, cfg, n_classes, Xtr[a], ytr[a], Xtr[b], ytr[b]))
            for C in grid for a, b in splits]
    res = np.asarray(_parallel(jobs, cfg.n_jobs)).reshape(len(grid), len(splits))
    C, dev = _select_C(grid, 100 * res.mean(axis=1))
    acc, pred = _fit_score(C, cfg, n_classes, Xtr, ytr, Xte, yte, return_pred=True)
    return {"acc": round(100 * acc, 2), "devacc": dev, "C": C, "pred": pred,
            "grid_dev": [round(s, 2) for s in 100 * res.mean(axis=1)]}


def split_classifier(Xtr, ytr, Xdev, ydev, Xte, yte, cfg: LogRegConfig = LogRegConfig(), grid=GRID_INNER,
                     n_classes: int = 2) -> dict:
    """SentEval's SplitClassifier: C by dev accuracy, the model trained on train scored on test."""
    jobs = [(lambda C=C: _fit_score(C, cfg, n_classes, Xtr, ytr, Xdev, ydev)) for C in grid]
    dev_scores = 100 * np.asarray(_parallel(jobs, cfg.n_jobs))
    C, dev = _select_C(grid, dev_scores)
    acc, pred = _fit_score(C, cfg, n_classes, Xtr, ytr, Xte, yte, return_pred=True)
    return {"acc": round(100 * acc, 2), "devacc": dev, "C": C, "grid_dev": [round(s, 2) for s in dev_scores],
            "pred": pred}


# ------------------------------------------------------------------------------------------------ ordering
def senteval_order(split: LabeledSentences | LabeledPairs) -> np.ndarray:
    """The order SentEval puts examples in before drawing folds: by token count, then label (stable sort)."""
    if isinstance(split, LabeledPairs):
        keys = [(len(a.split()), len(b.split()), int(y)) for a, b, y in
                zip(split.sentences1, split.sentences2, split.labels)]
    else:
        keys = [(len(s.split()), int(y)) for s, y in zip(split.sentences, split.labels)]
    return np.asarray(sorted(range(len(keys)), key=keys.__getitem__), dtype=int)


def pair_features(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SentEval's MRPC features: ``np.c_[|u - v|, u * v]``."""
    return np.c_[np.abs(a - b), a * b]


# ------------------------------------------------------------------------------------------------ tasks
def _embed(vectors: dict, sentences: Sequence[str]) -> np.ndarray:
    return np.stack([vectors[s] for s in sentences]).astype(np.float64)


def encode_task(encoder, task: SentEvalTask, batch_size: int = 32, show_progress: bool = False) -> dict:
    """{sentence: vector} for every distinct sentence of ``task`` (one ``encode`` call)."""
    unique, vecs = encode_unique(encoder, task.sentences(), batch_size, show_progress)
    return dict(zip(unique, vecs))


def evaluate_task(vectors: dict, task: SentEvalTask, cfg: LogRegConfig = LogRegConfig(),
                  progress: Callable[[str], None] | None = None) -> dict:
    """Score one task from precomputed vectors; returns ``acc`` (x100) and protocol details (MRPC: ``f1``)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _evaluate_task(vectors, task, cfg, progress)


def _classifier_functions(cfg) -> tuple[Callable, Callable, Callable]:
    """(inner_kfold, kfold_then_test, split_classifier) of ``cfg``'s path; each defaults to its own L2 grids."""
    if isinstance(cfg, LogRegConfig):
        return inner_kfold, kfold_then_test, split_classifier
    from repro.evaluation import senteval_pytorch  # torch, only when asked for

    return senteval_pytorch.inner_kfold, senteval_pytorch.kfold_then_test, senteval_pytorch.split_classifier


def _evaluate_task(vectors: dict, task: SentEvalTask, cfg, progress) -> dict:
    t0 = time.perf_counter()
    inner, kfold, split_clf = _classifier_functions(cfg)
    proto = task.protocol
    n_classes = task.n_classes
    if proto == "cv":
        split = task.splits["all"]
        order = senteval_order(split)
        X = _embed(vectors, [split.sentences[i] for i in order])
        y = split.labels[order]
        res = inner(X, y, cfg, n_classes=n_classes, progress=progress)
        out = {"acc": res["acc"], "devacc": res["devacc"], "n": int(len(y)), "fold_acc": res["fold_acc"],
               "fold_C": res["fold_C"]}
        test_idx = np.concatenate(res["folds"])
        fold_id = np.concatenate([np.full(len(te), f) for f, te in enumerate(res["folds"])])
        out["items"] = cell_items("accuracy", np.concatenate(res["fold_pred"]), y[test_idx], strata=fold_id,
                                  key=items_key([split.sentences[order[i]] for i in test_idx], y[test_idx],
                                                fold_id))
    elif proto == "dev":
        data = {}
        for name in ("train", "dev", "test"):
            s = task.splits[name]
            order = senteval_order(s)
            data[name] = (_embed(vectors, [s.sentences[i] for i in order]), s.labels[order])
        res = split_clf(*data["train"], *data["dev"], *data["test"], cfg=cfg, n_classes=n_classes)
        out = {"acc": res["acc"], "devacc": res["devacc"], "C": res["C"], "grid_dev": res["grid_dev"],
               "n_train": len(data["train"][1]), "n_dev": len(data["dev"][1]), "n_test": len(data["test"][1])}
        out["items"] = _test_items(task.splits["test"], data["test"][1], res["pred"])
    else:
        data = {}
        for name in ("train", "test"):
            s = task.splits[name]
            order = senteval_order(s)
            if isinstance(s, LabeledPairs):
                a = _embed(vectors, [s.sentences1[i] for i in order])
                b = _embed(vectors, [s.sentences2[i] for i in order])
                X = pair_features(a, b)
            else:
                X = _embed(vectors, [s.sentences[i] for i in order])
            data[name] = (X, s.labels[order])
        res = kfold(*data["train"], *data["test"], cfg=cfg, n_classes=n_classes)
        out = {"acc": res["acc"], "devacc": res["devacc"], "C": res["C"], "grid_dev": res["grid_dev"],
               "n_train": len(data["train"][1]), "n_test": len(data["test"][1])}
        out["items"] = _test_items(task.splits["test"], data["test"][1], res["pred"])
        if task.is_pairs:
            from sklearn.metrics import f1_score

            out["f1"] = round(100 * float(f1_score(data["test"][1], res["pred"])), 2)
    out["classifier"] = cfg.name
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def _test_items(split, labels: np.ndarray, pred: np.ndarray) -> dict:
    """Per-example predictions on a test split (in SentEval's order) for intervals."""
    order = senteval_order(split)
    if isinstance(split, LabeledPairs):
        key = items_key([split.sentences1[i] for i in order], [split.sentences2[i] for i in order], labels)
    else:
        key = items_key([split.sentences[i] for i in order], labels)
    return cell_items("accuracy", np.asarray(pred), labels, key=key)


def evaluate_senteval(encoder, tasks: Sequence[SentEvalTask], cfg: LogRegConfig = LogRegConfig(),
                      batch_size: int = 32, show_progress: bool = False,
                      progress: Callable[[str], None] | None = None) -> dict:
    """Encode and score each task; returns {task name: metrics}."""
    out = {}
    for task in tasks:
        vectors = encode_task(encoder, task, batch_size=batch_size, show_progress=show_progress)
        out[task.name] = evaluate_task(vectors, task, cfg, progress)
    return out
