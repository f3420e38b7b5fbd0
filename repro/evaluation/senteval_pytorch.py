"""SentEval's PyTorch logistic regression (``usepytorch=True``), the classifier the paper's Table 5 used.

The paper's author ran SentEval with ``usepytorch=True``, ``kfold=10`` and ``classifier = {'nhid': 0, 'optim':
'adam', 'batch_size': 64, 'tenacity': 5, 'epoch_size': 4}`` (sentence-transformers issues #687 and #749). This
module is that classifier path written here in PyTorch; :mod:`repro.evaluation.senteval` is the scikit-learn path
(``usepytorch=False``). The functions :func:`inner_kfold`, :func:`kfold_then_test` and :func:`split_classifier`
take and return what their scikit-learn namesakes do (``C`` / ``fold_C`` hold SentEval's ``l2reg`` here), so a
task can call either.

Each fact below is taken from facebookresearch/SentEval (master 5d6dc11; ``tools/classifier.py`` and
``tools/validation.py`` last changed 2018-10-04, before the paper):

* **Model** (``tools/classifier.py:MLP.__init__``): ``nhid=0`` is one ``nn.Linear(inputdim, nclasses)``, no
  hidden layer, no dropout; loss ``nn.CrossEntropyLoss()``. SentEval then sets ``loss_fn.size_average = False``,
  an attribute that no PyTorch since 0.4.1 reads (the loss uses ``reduction``, fixed at construction): the loss of
  a batch is the *mean* over its examples, with the PyTorch of 2019 as with today's. Default settings when the
  config omits them: ``optim='adam'``, ``tenacity=5``, ``epoch_size=4``, ``max_epoch=200``, ``dropout=0``,
  ``batch_size=64``.
* **Optimiser** (``MLP.__init__``, ``utils.get_optimizer('adam')``): ``torch.optim.Adam`` with its defaults
  (lr 1e-3, betas (0.9, 0.999), eps 1e-8); the L2 penalty is ``param_groups[0]['weight_decay'] = l2reg``,
  Adam's coupled weight decay (``grad += l2reg * w``), on the weight *and* the bias.
* **Seeding** (``PyTorchClassifier.__init__``): every classifier object calls ``np.random.seed(seed)`` and
  ``torch.manual_seed(seed)`` before its layer is built, so each fit starts from the same initial weights
  (``nn.Linear``'s own initialisation drawn from the seeded torch generator) and the same numpy stream, whatever
  ran before. Here each fit owns a ``np.random.RandomState(seed)`` (the same stream as the seeded global one) and
  builds its layer under a forked, seeded torch generator: the same draws, without touching global state.
  ``seed`` is the task's seed (``engine.py``: ``params.seed`` default 1111).
* **Training** (``PyTorchClassifier.trainepoch``): one epoch = one ``np.random.permutation`` of the training
  set, cut into consecutive batches of ``batch_size`` (the last one shorter), one Adam step per batch.
  ``fit`` trains ``epoch_size`` epochs, then scores the dev set (accuracy of the arg-max logit).
* **Early stopping** (``PyTorchClassifier.fit``): a dev accuracy strictly above the best so far keeps a copy of
  the model; any other check increments a counter that is *never reset*, and the check that finds it already at
  ``tenacity`` stops training. So training stops at the (tenacity + 1)-th non-improving check (counted over the
  whole run, not in a row), or once the loop ``while nepoch <= max_epoch`` ends: at most 51 checks = 204 epochs
  with the defaults. The model kept is the best dev model; the first of equal dev accuracies wins.
* **Validation data** (``PyTorchClassifier.prepare_split``): either ``validation_data`` as given, or
  ``validation_split``: the first ``int(validation_split * n)`` indices of a ``np.random.permutation(n)`` (the
  first draw of the seeded stream) are the dev set, the rest is trained on (the dev part is never trained on).
* **InnerKFoldClassifier** (``tools/validation.py``; MR, CR, SUBJ, MPQA via ``binary.py``): outer and inner folds
  ``StratifiedKFold(k, shuffle=True, random_state=1111)``: 1111 written out, not the task's seed. For each
  ``l2reg`` of ``[10**t for t in range(-5, -1)]`` a model is trained on each inner training part with the inner
  *test* part as its ``validation_data`` (early stopping on the very fold it is then scored on) and scored there;
  per-reg mean x100 rounded to 2 decimals, ``np.argmax`` (first best; the grid ascends, so ties go to the
  *weaker* penalty, unlike scikit-learn's ``C`` grid). The chosen reg is refitted on the whole outer training
  fold with ``validation_split=0.05`` and scored on the held-out fold; fold accuracies x100 rounded to 2
  decimals, their mean rounded to 2 (dev: the mean of the rounded best inner scores).
* **KFoldClassifier** (TREC via ``trec.py``, MRPC via ``mrpc.py``): the same grid ``10**-5 .. 10**-2`` (the
  scikit-learn grid differs: ``2**-1 .. 2**5``), ``StratifiedKFold(k, shuffle=True, random_state=seed)`` on
  train, each fold's model early-stopped on its own test part; the chosen reg is refitted on all of train with
  ``validation_split=0.05`` and scored on test. MRPC's F1 uses ``clf.predict`` of that model.
* **SplitClassifier** (SST via ``sst.py``): the same grid, each model trained on train and early-stopped on dev,
  dev accuracy x100 rounded to 2 decimals per reg; the chosen reg is trained again exactly as in the search
  (same seed, same dev) and scored on test. That model is deterministic here, so the search's model is reused.
* **Features** (``binary.py``, ``sst.py``, ``trec.py``, ``mrpc.py``, ``validation.py``): the batcher's
  embeddings go to the classifier as they are: no standardisation, no normalisation (MRPC: ``[|u-v|, u*v]``),
  cast to float32 (``prepare_split``). Examples are sorted by (token count, label) first, as on the
  scikit-learn path (:func:`repro.evaluation.senteval.senteval_order`).
* **Defaults** (``engine.py:SE.__init__``): ``usepytorch=True``, ``seed=1111``, ``kfold=5`` (the paper: 10),
  ``classifier={'nhid': 0}``.

Not carried over: SentEval runs the classifier on CUDA; here the device is a setting (default CPU, one thread,
where a seed gives the same numbers on every run). GPU and CPU numbers differ in the last float bits, which can
move an early-stopping decision, so a cell may differ slightly between devices.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from repro.errors import ConfigError
from repro.evaluation.senteval import KFOLD, SENTEVAL_SEED, _select_C, _stratified, outer_folds

log = logging.getLogger(__name__)

GRID_TORCH = tuple(10.0 ** t for t in range(-5, -1))  # validation.py, usepytorch=True: all three classifiers
FOLD_SEED_INNER = 1111  # InnerKFoldClassifier: StratifiedKFold(..., random_state=1111), not the task's seed
VALIDATION_SPLIT = 0.05  # InnerKFold / KFold: the refit's early-stopping share of the training data
# MLP defaults (tools/classifier.py) = the paper's classifier config (issues #687, #749)
NHID, OPTIM, BATCH_SIZE, TENACITY, EPOCH_SIZE, MAX_EPOCH = 0, "adam", 64, 5, 4, 200


@dataclass(frozen=True)
class TorchLogRegConfig:
    """SentEval's ``usepytorch=True`` settings: the classifier config plus kfold, seed and where to run."""

    kfold: int = KFOLD
    seed: int = SENTEVAL_SEED
    nhid: int = NHID
    optim: str = OPTIM
    batch_size: int = BATCH_SIZE
    tenacity: int = TENACITY
    epoch_size: int = EPOCH_SIZE
    max_epoch: int = MAX_EPOCH
    validation_split: float = VALIDATION_SPLIT
    device: str = "cpu"
    threads: int = 1  # torch intra-op threads during the fits (one: fastest for these small steps, reproducible)

    def __post_init__(self):
        if self.nhid != 0:
            raise ConfigError(f"SentEval classifier nhid={self.nhid}: only nhid=0 (logistic regression, the "
                              "paper's setting) is implemented")
        if self.optim != "adam":
            raise ConfigError(f"SentEval classifier optim={self.optim!r}: only 'adam' (the paper's setting) is "
                              "implemented")
        if self.kfold < 2:
            raise ConfigError(f"SentEval kfold must be >= 2, got {self.kfold}")
        for name in ("batch_size", "epoch_size", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"SentEval classifier {name} must be >= 1, got {getattr(self, name)}")
        if self.tenacity < 0 or self.max_epoch < 0:
            raise ConfigError(f"SentEval classifier tenacity and max_epoch must be >= 0, got {self.tenacity} "
                              f"and {self.max_epoch}")
        if not 0 < self.validation_split < 1:
            raise ConfigError(f"SentEval validation_split must be in (0, 1), got {self.validation_split}")

    @property
    def name(self) -> str:
        """SentEval's name for this classifier (``validation.py:get_classif_name``)."""
        return f"pytorch-MLP-nhid{self.nhid}-{self.optim}-bs{self.batch_size}"


class TorchLogReg:
    """One SentEval ``MLP(nhid=0)``: a linear layer trained with Adam + L2 and early-stopped on dev accuracy.

    ``fit(X, y, validation_data=(Xd, yd))`` or ``fit(X, y, validation_split=0.05)``; then ``predict`` and
    ``score`` as in scikit-learn. After ``fit``: ``best_dev_`` (the kept model's dev accuracy, a fraction),
    ``dev_history_`` (one dev accuracy per check), ``n_epochs_`` (epochs trained), ``best_epoch_``,
    ``optimizer_``.
    """

    def __init__(self, l2reg: float, n_classes: int, cfg: TorchLogRegConfig = TorchLogRegConfig()):
        if n_classes < 2:
            raise ConfigError(f"SentEval classifier needs >= 2 classes, got {n_classes}")
        self.l2reg = float(l2reg)
        self.n_classes = int(n_classes)
        self.cfg = cfg
        self.model: nn.Module | None = None

    # -------------------------------------------------------------------------------------------- data
    def _tensors(self, X, y=None):
        dev = torch.device(self.cfg.device)
        Xt = torch.as_tensor(np.asarray(X), dtype=torch.float32, device=dev)
        return Xt if y is None else (Xt, torch.as_tensor(np.asarray(y), dtype=torch.int64, device=dev))

    def _split(self, X, y, validation_data, validation_split, rng):
        if validation_data is not None:
            return X, y, validation_data[0], validation_data[1]
        if not validation_split:
            raise ConfigError("TorchLogReg.fit needs validation_data or validation_split (SentEval early-stops "
                              "on a dev set)")
        perm = rng.permutation(len(X))
        n_dev = int(validation_split * len(X))
        if n_dev == 0:
            raise ConfigError(f"validation_split={validation_split} of {len(X)} training examples leaves no dev "
                              "example to early-stop on; use more data (limit) or the scikit-learn classifier")
        return X[perm[n_dev:]], y[perm[n_dev:]], X[perm[:n_dev]], y[perm[:n_dev]]

    # -------------------------------------------------------------------------------------------- fit
    def fit(self, X, y, validation_data=None, validation_split=None) -> "TorchLogReg":
        cfg = self.cfg
        X, y = np.asarray(X), np.asarray(y)
        if y.size and (y.min() < 0 or y.max() >= self.n_classes):
            raise ConfigError(f"labels must be 0..{self.n_classes - 1}, got {y.min()}..{y.max()}")
        rng = np.random.RandomState(cfg.seed)  # = SentEval's np.random.seed(seed) before the fit
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)  # = SentEval's torch.manual_seed(seed) before nn.Linear is built
            model = nn.Linear(X.shape[1], self.n_classes)
        model.to(cfg.device)
        Xtr, ytr, Xdev, ydev = self._split(X, y, validation_data, validation_split, rng)
        Xtr, ytr = self._tensors(Xtr, ytr)
        Xdev, ydev = self._tensors(Xdev, ydev)
        opt = torch.optim.Adam(model.parameters(), weight_decay=self.l2reg)
        loss_fn = nn.CrossEntropyLoss()  # mean over the batch (see the module docstring)

        self.model = model
        best, best_state, misses, nepoch = -1.0, None, 0, 0
        history = []
        while nepoch <= cfg.max_epoch:
            model.train()
            for _ in range(cfg.epoch_size):
                perm = torch.from_numpy(rng.permutation(len(Xtr))).to(Xtr.device)
                for i in range(0, len(Xtr), cfg.batch_size):
                    idx = perm[i:i + cfg.batch_size]
                    loss = loss_fn(model(Xtr[idx]), ytr[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            nepoch += cfg.epoch_size
            acc = self._accuracy(Xdev, ydev)
            history.append(acc)
            if acc > best:
                best, best_state, self.best_epoch_ = acc, copy.deepcopy(model.state_dict()), nepoch
            else:
                if misses >= cfg.tenacity:
                    break
                misses += 1  # SentEval never resets this count
        model.load_state_dict(best_state)
        self.best_dev_, self.dev_history_, self.n_epochs_, self.optimizer_ = best, history, nepoch, opt
        return self

    # -------------------------------------------------------------------------------------------- use
    def _logits(self, Xt: torch.Tensor) -> torch.Tensor:
        if self.model is None:
            raise ConfigError("TorchLogReg used before fit()")
        self.model.eval()
        with torch.no_grad():
            return self.model(Xt)

    def _accuracy(self, Xt: torch.Tensor, yt: torch.Tensor) -> float:
        return float((self._logits(Xt).argmax(1) == yt).sum().item()) / len(yt)

    def predict(self, X) -> np.ndarray:
        """Class ids (int64, shape (n,)); SentEval's ``predict`` returns the same ids as floats of shape (n, 1)."""
        return self._logits(self._tensors(X)).argmax(1).cpu().numpy()

    def score(self, X, y) -> float:
        """Accuracy as a fraction, as scikit-learn's and SentEval's ``score``."""
        Xt, yt = self._tensors(X, y)
        return self._accuracy(Xt, yt)


# ------------------------------------------------------------------------------------------------ helpers
@contextlib.contextmanager
def _threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _fit(l2reg, cfg, n_classes, Xtr, ytr, validation_data=None, validation_split=None) -> TorchLogReg:
    return TorchLogReg(l2reg, n_classes, cfg).fit(Xtr, ytr, validation_data=validation_data,
                                                  validation_split=validation_split)


def _grid_scores(grid, cfg, n_classes, X, y, splits) -> np.ndarray:
    """Mean accuracy x100 per reg over ``splits``, each model early-stopped on the part it is scored on."""
    res = [[_fit(reg, cfg, n_classes, X[a], y[a], validation_data=(X[b], y[b])).score(X[b], y[b])
            for a, b in splits] for reg in grid]
    return 100 * np.asarray(res).mean(axis=1)


# ------------------------------------------------------------------------------------------------ classifiers
def inner_kfold(X: np.ndarray, y: np.ndarray, cfg: TorchLogRegConfig = TorchLogRegConfig(), grid=GRID_TORCH,
                n_classes: int = 2, progress: Callable[[str], None] | None = None) -> dict:
    """SentEval's InnerKFoldClassifier, ``usepytorch=True``: outer k-fold test accuracy, l2reg by inner k-fold.

    Returns what :func:`repro.evaluation.senteval.inner_kfold` returns (``fold_C`` = the chosen l2reg values).
    """
    inner = _stratified(cfg.kfold, FOLD_SEED_INNER)

    def fold_model(Xtr, ytr):
        reg, dev = _select_C(grid, _grid_scores(grid, cfg, n_classes, Xtr, ytr, list(inner.split(Xtr, ytr))))
        return reg, dev, _fit(reg, cfg, n_classes, Xtr, ytr, validation_split=cfg.validation_split).predict

    with _threads(cfg.threads):
        return outer_folds(X, y, _stratified(cfg.kfold, FOLD_SEED_INNER), fold_model, progress=progress,
                           what="l2reg")


def kfold_then_test(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray,
                    cfg: TorchLogRegConfig = TorchLogRegConfig(), grid=GRID_TORCH, n_classes: int = 2) -> dict:
    """SentEval's KFoldClassifier, ``usepytorch=True``: l2reg by k-fold CV on train, refit (5% held out for
    early stopping), scored on test. Returns what :func:`repro.evaluation.senteval.kfold_then_test` returns."""
    splits = list(_stratified(cfg.kfold, cfg.seed).split(Xtr, ytr))
    with _threads(cfg.threads):
        scores = _grid_scores(grid, cfg, n_classes, Xtr, ytr, splits)
        reg, dev = _select_C(grid, scores)
        pred = _fit(reg, cfg, n_classes, Xtr, ytr, validation_split=cfg.validation_split).predict(Xte)
    return {"acc": round(100 * float(np.mean(pred == yte)), 2), "devacc": dev, "C": reg, "pred": pred,
            "grid_dev": [round(s, 2) for s in scores]}


def split_classifier(Xtr, ytr, Xdev, ydev, Xte, yte, cfg: TorchLogRegConfig = TorchLogRegConfig(),
                     grid=GRID_TORCH, n_classes: int = 2) -> dict:
    """SentEval's SplitClassifier, ``usepytorch=True``: each reg early-stopped and scored on dev, the best one's
    model scored on test. Returns what :func:`repro.evaluation.senteval.split_classifier` returns."""
    with _threads(cfg.threads):
        models = [_fit(reg, cfg, n_classes, Xtr, ytr, validation_data=(Xdev, ydev)) for reg in grid]
        dev_scores = 100 * np.asarray([m.score(Xdev, ydev) for m in models])
        reg, dev = _select_C(grid, dev_scores)
        pred = models[list(grid).index(reg)].predict(Xte)
    return {"acc": round(100 * float(np.mean(pred == yte)), 2), "devacc": dev, "C": reg,
            "grid_dev": [round(s, 2) for s in dev_scores], "pred": pred}
