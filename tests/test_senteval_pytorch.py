"""SentEval's PyTorch logistic regression (usepytorch=True): settings, training loop, early stopping, the three
classifier paths and their interchangeability with the scikit-learn ones."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from torch import nn

from repro.errors import ConfigError
from repro.evaluation import senteval as sk
from repro.evaluation import senteval_pytorch as sp
from repro.evaluation.senteval_pytorch import GRID_TORCH, TorchLogReg, TorchLogRegConfig


def _blobs(n=200, d=5, classes=2, sep=3.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.standard_normal((n, d)) + sep * np.eye(classes, d)[y]
    return X, y


def _weights(clf: TorchLogReg) -> list[np.ndarray]:
    return [t.detach().numpy().copy() for t in clf.model.state_dict().values()]


# ------------------------------------------------------------------------------------------------ settings
def test_grid_and_settings_are_senteval_s():
    # tools/validation.py, usepytorch=True: regs = [10**t for t in range(-5, -1)] in all three classifiers
    assert GRID_TORCH == (1e-5, 1e-4, 1e-3, 1e-2) == tuple(10 ** t for t in range(-5, -1))
    assert GRID_TORCH != sk.GRID_INNER and GRID_TORCH != sk.GRID_KFOLD
    # the paper's config (issues #687, #749) = tools/classifier.py:MLP defaults; max_epoch 200 (MLP default)
    cfg = TorchLogRegConfig()
    assert (cfg.nhid, cfg.optim, cfg.batch_size, cfg.tenacity, cfg.epoch_size, cfg.max_epoch) == (
        0, "adam", 64, 5, 4, 200)
    assert (cfg.kfold, cfg.seed, cfg.validation_split) == (10, 1111, 0.05)
    assert sp.FOLD_SEED_INNER == 1111
    assert cfg.name == "pytorch-MLP-nhid0-adam-bs64"  # validation.py:get_classif_name


def test_model_and_optimiser_are_senteval_s():
    X, y = _blobs(n=60, classes=3)
    clf = TorchLogReg(1e-3, 3, TorchLogRegConfig(max_epoch=0)).fit(X, y, validation_split=0.2)
    assert isinstance(clf.model, nn.Linear) and (clf.model.in_features, clf.model.out_features) == (5, 3)


def test_training_equals_a_plain_loop_over_senteval_s_recipe():
    """The documented recipe written as the plainest loop (global seeds, nn.Linear, Adam with weight_decay,
    mean cross-entropy, a numpy permutation per epoch, a 5% dev split first) gives bit-identical weights."""
    X, y = _blobs(n=130, d=4, classes=3, sep=1.0, seed=2)
    X = X.astype(np.float32)
    reg, seed, epochs = 1e-2, 5, 8
    np.random.seed(seed)
    torch.manual_seed(seed)
    model = nn.Linear(4, 3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=reg)
    perm = np.random.permutation(130)
    tr = perm[int(0.05 * 130):]
    Xtr, ytr = torch.from_numpy(X[tr]), torch.from_numpy(y[tr])
    for _ in range(epochs):
        p = np.random.permutation(len(tr))
        for i in range(0, len(tr), 64):
            idx = torch.from_numpy(p[i:i + 64])
            loss = nn.functional.cross_entropy(model(Xtr[idx]), ytr[idx], reduction="mean")
            opt.zero_grad()
            loss.backward()
            opt.step()
    # one check after 8 epochs (while nepoch <= 0: train epoch_size epochs), so that model is kept
    clf = TorchLogReg(reg, 3, TorchLogRegConfig(seed=seed, epoch_size=epochs, max_epoch=0)).fit(
        X, y, validation_split=0.05)
    assert clf.n_epochs_ == epochs and len(clf.dev_history_) == 1
    for ours, plain in zip(_weights(clf), [model.weight, model.bias]):
        np.testing.assert_array_equal(ours, plain.detach().numpy())


def test_l2_is_adam_weight_decay_on_weight_and_bias():
    X = np.zeros((40, 3))  # all-zero features: the data gives the weights no gradient, only the decay moves them
    y = np.arange(40) % 2
    clf = TorchLogReg(1e-2, 2, TorchLogRegConfig(max_epoch=0)).fit(X, y, validation_split=0.5)
    (group,) = clf.optimizer_.param_groups
    assert isinstance(clf.optimizer_, torch.optim.Adam) and len(group["params"]) == 2  # weight and bias
    assert (group["lr"], group["betas"], group["eps"], group["weight_decay"]) == (1e-3, (0.9, 0.999), 1e-8, 1e-2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1111)
        init = nn.Linear(3, 2)
    no_l2 = TorchLogReg(0.0, 2, TorchLogRegConfig(max_epoch=0)).fit(X, y, validation_split=0.5)
    np.testing.assert_array_equal(_weights(no_l2)[0], init.weight.detach().numpy())
    assert np.abs(_weights(clf)[0]).sum() < np.abs(init.weight.detach().numpy()).sum()


# ------------------------------------------------------------------------------------------------ behaviour
def _separable(n, d=50, seed=0):
    """Two classes 2 * sqrt(d) apart: separable with a wide margin that a few Adam steps find from any start."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    return rng.standard_normal((n, d)) + (2 * y - 1)[:, None], y


def test_separable_problem_is_learned():
    X, y = _separable(300)
    Xt, yt = _separable(200, seed=1)
    clf = TorchLogReg(1e-5, 2).fit(X, y, validation_split=0.05)
    assert clf.score(Xt, yt) >= 0.98
    assert clf.predict(Xt).dtype == np.int64 and clf.predict(Xt).shape == (200,)
    res = sp.inner_kfold(X, y, TorchLogRegConfig(kfold=3), grid=(1e-5, 1e-2))
    assert res["acc"] >= 98 and set(res["fold_C"]) <= {1e-5, 1e-2}
    assert sorted(np.concatenate(res["folds"]).tolist()) == list(range(300))  # every example tested once


def test_no_signal_no_accuracy():
    X, y = _blobs(n=300, sep=0.0, seed=1)
    Xt, yt = _blobs(n=300, sep=0.0, seed=2)
    assert sp.kfold_then_test(X, y, Xt, yt, TorchLogRegConfig(kfold=3))["acc"] < 62


def test_deterministic_for_a_seed_and_leaves_global_rngs_alone():
    X, y = _blobs(n=150, d=6, classes=3, sep=0.8, seed=4)
    cfg = TorchLogRegConfig(max_epoch=8)
    np.random.seed(0)
    torch.manual_seed(0)
    np_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    a = TorchLogReg(1e-4, 3, cfg).fit(X, y, validation_split=0.1)
    np.random.rand(3)  # disturbing the global generators changes nothing
    torch.rand(3)
    b = TorchLogReg(1e-4, 3, cfg).fit(X, y, validation_split=0.1)
    for wa, wb in zip(_weights(a), _weights(b)):
        np.testing.assert_array_equal(wa, wb)
    assert a.dev_history_ == b.dev_history_
    c = TorchLogReg(1e-4, 3, TorchLogRegConfig(seed=7, max_epoch=8)).fit(X, y, validation_split=0.1)
    assert not np.array_equal(_weights(a)[0], _weights(c)[0])
    np.random.seed(0)
    torch.manual_seed(0)
    TorchLogReg(1e-4, 3, cfg).fit(X, y, validation_split=0.1)
    assert (np.random.get_state()[1] == np_state).all() and torch.equal(torch.get_rng_state(), torch_state)


class Scripted(TorchLogReg):
    """Dev accuracies from a script; keeps a copy of the weights at each check."""

    def __init__(self, script, **kw):
        super().__init__(1e-3, 2, TorchLogRegConfig(**kw))
        self.script, self.snapshots = list(script), []

    def _accuracy(self, Xt, yt):
        self.snapshots.append([t.detach().clone() for t in self.model.state_dict().values()])
        return self.script[len(self.snapshots) - 1]


def test_early_stopping_counts_every_miss_and_keeps_the_best_dev_model():
    X, y = _blobs(n=80, sep=0.5)
    # misses at checks 2, 4 and 6: SentEval's counter is never reset, so tenacity=2 stops at the third miss
    script = [0.5, 0.4, 0.6, 0.5, 0.7, 0.6, 0.9, 0.95, 0.99]
    clf = Scripted(script, tenacity=2).fit(X, y, validation_split=0.25)
    assert clf.dev_history_ == script[:6] and clf.n_epochs_ == 6 * 4
    assert clf.best_dev_ == 0.7 and clf.best_epoch_ == 5 * 4
    for kept, snap in zip(clf.model.state_dict().values(), clf.snapshots[4]):
        assert torch.equal(kept, snap)
    assert not torch.equal(clf.model.weight, clf.snapshots[5][0])  # the last model was trained further
    # equal dev accuracy is no improvement: the first of the ties is kept
    tie = Scripted([0.5, 0.5, 0.5], tenacity=1).fit(X, y, validation_split=0.25)
    assert tie.dev_history_ == [0.5, 0.5, 0.5] and tie.best_epoch_ == 4


def test_training_stops_at_max_epoch():
    X, y = _blobs(n=40, sep=0.5)
    rising = [i / 100 for i in range(60)]
    clf = Scripted(rising, tenacity=5).fit(X, y, validation_split=0.25)
    assert len(clf.dev_history_) == 51 and clf.n_epochs_ == 204  # while nepoch <= 200, 4 epochs per check
    short = Scripted(rising, tenacity=5, max_epoch=10, epoch_size=3).fit(X, y, validation_split=0.25)
    assert short.n_epochs_ == 12  # checks at 3, 6, 9, 12


def test_tenacity_stops_real_training_early():
    X, y = _separable(60)
    clf = TorchLogReg(1e-5, 2).fit(X, y, validation_split=0.1)  # a 6-example dev set soon reaches 100%
    h = clf.dev_history_
    misses = [i for i in range(1, len(h)) if h[i] <= max(h[:i])]
    assert len(misses) == TorchLogRegConfig().tenacity + 1 and misses[-1] == len(h) - 1
    assert clf.n_epochs_ == 4 * len(h) < 200 and clf.best_dev_ == max(h) == 1.0


def test_validation_split_is_the_head_of_the_seeded_permutation():
    X = np.arange(100, dtype=float)[:, None]
    y = np.arange(100) % 2
    Xtr, ytr, Xdev, ydev = TorchLogReg(1e-3, 2)._split(X, y, None, 0.05, np.random.RandomState(1111))
    perm = np.random.RandomState(1111).permutation(100)
    assert Xdev[:, 0].tolist() == perm[:5].tolist() and Xtr[:, 0].tolist() == perm[5:].tolist()
    assert (ydev == perm[:5] % 2).all()


def test_bad_settings():
    X, y = _blobs(n=30)
    with pytest.raises(ConfigError, match="validation_data or validation_split"):
        TorchLogReg(1e-3, 2).fit(X, y)
    with pytest.raises(ConfigError, match="leaves no dev example"):
        TorchLogReg(1e-3, 2).fit(X[:10], y[:10], validation_split=0.05)
    with pytest.raises(ConfigError, match="labels must be 0..1"):
        TorchLogReg(1e-3, 2).fit(X, y + 1, validation_split=0.2)
    with pytest.raises(ConfigError, match="nhid=1"):
        TorchLogRegConfig(nhid=1)
    with pytest.raises(ConfigError, match="optim='sgd'"):
        TorchLogRegConfig(optim="sgd")
    with pytest.raises(ConfigError, match="kfold"):
        TorchLogRegConfig(kfold=1)
    with pytest.raises(ConfigError, match="before fit"):
        TorchLogReg(1e-3, 2).predict(X)


# ------------------------------------------------------------------------------------------------ protocol
def test_inner_kfold_folds_use_1111_and_kfold_uses_the_seed(monkeypatch):
    from sklearn.model_selection import StratifiedKFold

    X, y = _blobs(n=60)
    res = sp.inner_kfold(X, y, TorchLogRegConfig(kfold=3, seed=7, max_epoch=0))
    expected = [te for _, te in StratifiedKFold(3, shuffle=True, random_state=1111).split(X, y)]
    assert all(np.array_equal(a, b) for a, b in zip(res["folds"], expected))
    seen = []
    monkeypatch.setattr(sp, "_stratified", lambda k, seed: seen.append((k, seed)) or sk._stratified(k, seed))
    sp.kfold_then_test(X, y, X, y, TorchLogRegConfig(kfold=3, seed=7, max_epoch=0))
    assert seen == [(3, 7)]


def test_inner_kfold_equals_the_protocol_written_out():
    """Inner folds early-stop on the part they are scored on; the refit holds out 5%; rounding as SentEval."""
    from sklearn.model_selection import StratifiedKFold

    X, y = _blobs(n=80, sep=0.9, seed=3)
    cfg = TorchLogRegConfig(kfold=2, max_epoch=4)
    fold_scores = []
    for tr, te in StratifiedKFold(2, shuffle=True, random_state=1111).split(X, y):
        scores = []
        for reg in GRID_TORCH:
            accs = [TorchLogReg(reg, 2, cfg).fit(X[tr][a], y[tr][a], validation_data=(X[tr][b], y[tr][b]))
                    .score(X[tr][b], y[tr][b])
                    for a, b in StratifiedKFold(2, shuffle=True, random_state=1111).split(X[tr], y[tr])]
            scores.append(round(100 * float(np.mean(accs)), 2))
        reg = GRID_TORCH[int(np.argmax(scores))]
        clf = TorchLogReg(reg, 2, cfg).fit(X[tr], y[tr], validation_split=0.05)
        fold_scores.append(round(100 * clf.score(X[te], y[te]), 2))
    res = sp.inner_kfold(X, y, cfg)
    assert res["fold_acc"] == fold_scores and res["acc"] == round(float(np.mean(fold_scores)), 2)


def test_split_classifier_picks_by_dev_and_scores_that_model():
    X, y = _blobs(n=120, classes=3, sep=1.5)
    Xd, yd = _blobs(n=60, classes=3, sep=1.5, seed=1)
    Xt, yt = _blobs(n=90, classes=3, sep=1.5, seed=2)
    cfg = TorchLogRegConfig(max_epoch=8)
    res = sp.split_classifier(X, y, Xd, yd, Xt, yt, cfg, n_classes=3)
    devs = [round(100 * TorchLogReg(r, 3, cfg).fit(X, y, validation_data=(Xd, yd)).score(Xd, yd), 2)
            for r in GRID_TORCH]
    assert res["grid_dev"] == devs and res["devacc"] == max(devs) and res["C"] == GRID_TORCH[int(np.argmax(devs))]
    again = TorchLogReg(res["C"], 3, cfg).fit(X, y, validation_data=(Xd, yd))  # SentEval trains it once more
    assert res["acc"] == round(100 * again.score(Xt, yt), 2)
    np.testing.assert_array_equal(res["pred"], again.predict(Xt))


@pytest.mark.parametrize("name", ["inner_kfold", "kfold_then_test", "split_classifier"])
def test_same_signatures_and_results_as_the_sklearn_path(name):
    ours, theirs = getattr(sp, name), getattr(sk, name)
    assert list(inspect.signature(ours).parameters) == list(inspect.signature(theirs).parameters)
    X, y = _blobs(n=90, classes=3, sep=2.0)
    Xt, yt = _blobs(n=30, classes=3, sep=2.0, seed=1)
    args = {"inner_kfold": (X, y), "kfold_then_test": (X, y, Xt, yt),
            "split_classifier": (X, y, Xt, yt, Xt, yt)}[name]
    a = ours(*args, TorchLogRegConfig(kfold=2, max_epoch=4), n_classes=3)
    b = theirs(*args, sk.LogRegConfig(kfold=2), n_classes=3)
    assert a.keys() == b.keys()
    for key in a:
        va, vb = a[key], b[key]
        if key == "grid_dev":  # one dev score per value of each path's own grid
            assert len(va) == len(GRID_TORCH) and len(vb) in (len(sk.GRID_INNER), len(sk.GRID_KFOLD))
        elif isinstance(vb, list):
            assert len(va) == len(vb)
            if vb and isinstance(vb[0], np.ndarray):
                assert all(p.shape == q.shape and p.dtype.kind == q.dtype.kind for p, q in zip(va, vb))
        elif isinstance(vb, np.ndarray):
            assert va.shape == vb.shape and va.dtype.kind == vb.dtype.kind
        else:
            assert isinstance(va, (float, np.floating)) and isinstance(vb, (float, np.floating))


def test_same_numbers_as_senteval_itself(monkeypatch):
    """facebookresearch/SentEval's own PyTorch path, run on CPU, gives the same numbers and predictions."""
    senteval = pytest.importorskip("senteval", reason="the senteval package is not installed (not on PyPI)")
    import functools

    from senteval.tools import classifier, validation

    monkeypatch.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self, raising=False)
    monkeypatch.setattr(nn.Module, "cuda", lambda self, *a, **k: self)
    monkeypatch.setattr(validation, "MLP", functools.partial(classifier.MLP, cudaEfficient=True))
    if not hasattr(inspect, "getargspec"):  # senteval/utils.py, removed in Python 3.11
        monkeypatch.setattr(inspect, "getargspec", inspect.getfullargspec, raising=False)
    assert senteval
    X, y = _blobs(n=150, d=8, classes=3, sep=1.2, seed=6)
    X = X.astype(np.float32)
    Xt, yt = _blobs(n=60, d=8, classes=3, sep=1.2, seed=7)
    conf = {"nclasses": 3, "seed": 1111, "usepytorch": True, "kfold": 2, "cudaEfficient": True,
            "classifier": {"nhid": 0, "optim": "adam", "batch_size": 64, "tenacity": 2, "epoch_size": 2,
                           "max_epoch": 20}}
    cfg = TorchLogRegConfig(kfold=2, tenacity=2, epoch_size=2, max_epoch=20)
    torch.set_num_threads(1)
    assert validation.InnerKFoldClassifier(X, y, conf).run() == pytest.approx(
        [sp.inner_kfold(X, y, cfg, n_classes=3)[k] for k in ("devacc", "acc")], abs=1e-9)
    dev, acc, yhat = validation.KFoldClassifier({"X": X, "y": y}, {"X": Xt, "y": yt}, conf).run()
    ours = sp.kfold_then_test(X, y, Xt, yt, cfg, n_classes=3)
    assert (dev, acc) == pytest.approx((ours["devacc"], ours["acc"]), abs=1e-9)
    np.testing.assert_array_equal(yhat.ravel(), ours["pred"])
    split = validation.SplitClassifier({"train": X, "valid": Xt[:30], "test": Xt[30:]},
                                       {"train": y, "valid": yt[:30], "test": yt[30:]}, conf).run()
    ours = sp.split_classifier(X, y, Xt[:30], yt[:30], Xt[30:], yt[30:], cfg, n_classes=3)
    assert split == pytest.approx((ours["devacc"], ours["acc"]), abs=1e-9)
