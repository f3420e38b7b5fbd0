"""SentEval protocol (Table 5): task sizes, SentEval's ordering/grids/features, the classifiers, the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from repro.data.senteval import (SENTEVAL_SIZES, SENTEVAL_TASKS, LabeledPairs, LabeledSentences, SentEvalTask,
                                 load_senteval_task, senteval_text)
from repro.errors import ConfigError, DataError
from repro.evaluation.senteval import (GRID_INNER, GRID_KFOLD, LogRegConfig, _select_C, evaluate_task,
                                       inner_kfold, kfold_then_test, pair_features, senteval_order,
                                       split_classifier)


# ------------------------------------------------------------------------------------------------ data
@pytest.mark.parametrize("name", SENTEVAL_TASKS)
def test_task_sizes_are_senteval_s(data_root, name):
    task = load_senteval_task(name, root=data_root)
    assert task.sizes() == SENTEVAL_SIZES[name]
    assert set(np.unique(np.concatenate([s.labels for s in task.splits.values()]))) == set(range(task.n_classes))


def test_the_issue_s_numbers():
    assert SENTEVAL_SIZES == {
        "MR": {"all": 10662}, "CR": {"all": 3775}, "SUBJ": {"all": 10000}, "MPQA": {"all": 10606},
        "SST": {"train": 67349, "dev": 872, "test": 1821}, "TREC": {"train": 5452, "test": 500},
        "MRPC": {"train": 4076, "test": 1725},
    }


def test_loaders_read_what_senteval_reads(data_root):
    mr = load_senteval_task("MR", root=data_root).splits["all"]
    assert mr.labels[0] == 1 and mr.labels[-1] == 0  # pos file first
    assert mr.sentences[0].startswith("the rock is destined to be the 21st century 's new `` conan ``")
    assert not mr.sentences[0].endswith(" ")  # split() + join drops the trailing space
    cr = load_senteval_task("CR", root=data_root).splits["all"]
    assert cr.sentences.count("") == 4  # SentEval keeps CR's blank lines
    subj = load_senteval_task("SUBJ", root=data_root).splits["all"]
    assert (subj.labels[:5000] == 1).all()  # SentEval passes the objective file as "pos"
    trec = load_senteval_task("TREC", root=data_root)
    assert trec.splits["train"].sentences[0] == "How did serfdom develop in and then leave Russia ?"
    assert trec.splits["train"].labels[0] == 1  # DESC
    mrpc = load_senteval_task("MRPC", root=data_root).splits["train"]
    assert mrpc.labels[0] == 1 and mrpc.sentences1[0].startswith("Amrozi accused his brother")
    sst = load_senteval_task("SST", root=data_root).splits["train"]
    assert sst.sentences[0] == "hide new secretions from the parental units" and sst.labels[0] == 0


def test_truncated_file_is_reported(tmp_path, data_root):
    (tmp_path / "trec").mkdir()
    lines = (data_root / "trec" / "train_5500.label").read_bytes().split(b"\n")
    (tmp_path / "trec" / "train_5500.label").write_bytes(b"\n".join(lines[:100]) + b"\n")
    (tmp_path / "trec" / "TREC_10.label").write_bytes((data_root / "trec" / "TREC_10.label").read_bytes())
    with pytest.raises(DataError, match="TREC train: 100 examples, SentEval's version has 5452"):
        load_senteval_task("TREC", root=tmp_path)
    assert load_senteval_task("TREC", root=tmp_path, strict=False).sizes()["train"] == 100
    (tmp_path / "trec" / "TREC_10.label").write_bytes(b"WHAT:x Is this a label ?\n")
    with pytest.raises(DataError, match="TREC_10.label, line 1: expected 'COARSE:fine question'"):
        load_senteval_task("TREC", root=tmp_path, strict=False)
    with pytest.raises(DataError, match="fetch_data.py mr"):
        load_senteval_task("MR", root=tmp_path)
    with pytest.raises(ConfigError, match="unknown SentEval task"):
        load_senteval_task("SICK", root=tmp_path)


def test_senteval_text_and_head():
    assert senteval_text("  a  b\tc \n") == "a b c"
    split = LabeledSentences("x", [f"s{i}" for i in range(10)], np.array([1] * 6 + [0] * 4))
    small = SentEvalTask("MR", {"all": split}).head(3)
    assert small.splits["all"].labels.tolist() == [1, 1, 1, 0, 0, 0]  # both classes kept


# ------------------------------------------------------------------------------------------------ protocol
def test_grids_are_senteval_s_sklearn_grids():
    # tools/validation.py, usepytorch=False: [2**t for t in range(-2, 4, 1)] and range(-1, 6, 1)
    assert GRID_INNER == (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    assert GRID_KFOLD == (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    assert LogRegConfig().kfold == 10 and LogRegConfig().seed == 1111


def test_order_is_senteval_s_sort():
    split = LabeledSentences("x", ["b b b", "a", "c c", "d", ""], np.array([0, 1, 0, 0, 1]))
    expected = sorted(zip([s.split() for s in split.sentences], split.labels.tolist(), range(5)),
                      key=lambda z: (len(z[0]), z[1]))
    assert senteval_order(split).tolist() == [i for *_, i in expected] == [4, 3, 1, 2, 0]
    pairs = LabeledPairs("p", ["a b", "a", "a"], ["c", "c d", "c"], np.array([1, 0, 0]))
    assert senteval_order(pairs).tolist() == [2, 1, 0]  # (len A, len B, label)


def test_pair_features_by_hand():
    u = np.array([[1.0, -2.0]])
    v = np.array([[3.0, 4.0]])
    np.testing.assert_array_equal(pair_features(u, v), [[2.0, 6.0, 3.0, -8.0]])


def test_select_C_rounds_then_takes_the_first_best():
    assert _select_C(GRID_INNER, [80.001, 80.004, 79.0, 80.0, 70, 1]) == (0.25, 80.0)
    assert _select_C(GRID_INNER, [80.0, 80.006, 79.0, 80.0, 70, 1]) == (0.5, 80.01)


def _blobs(n=200, d=5, classes=2, sep=3.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.standard_normal((n, d)) + sep * np.eye(classes, d)[y]
    return X, y


def test_inner_kfold_on_separable_data():
    X, y = _blobs()
    res = inner_kfold(X, y, LogRegConfig(kfold=5))
    assert res["acc"] > 90
    assert all(c in GRID_INNER for c in res["fold_C"])
    tested = np.concatenate(res["folds"])
    assert sorted(tested.tolist()) == list(range(len(y)))  # every example tested once
    Xn, yn = _blobs(sep=0.0, seed=1)
    assert inner_kfold(Xn, yn, LogRegConfig(kfold=5))["acc"] < 70  # no signal, no accuracy


def test_inner_kfold_draws_senteval_s_folds():
    """Outer folds = StratifiedKFold(k, shuffle=True, random_state=seed) on the data as given."""
    from sklearn.model_selection import StratifiedKFold

    X, y = _blobs(n=60)
    res = inner_kfold(X, y, LogRegConfig(kfold=3, seed=7))
    expected = [te for _, te in StratifiedKFold(3, shuffle=True, random_state=7).split(X, y)]
    assert all((a == b).all() for a, b in zip(res["folds"], expected))


def test_inner_kfold_equals_a_plain_loop_over_the_protocol():
    """The documented protocol written as the plainest possible loop gives exactly the same numbers."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    X, y = _blobs(n=80, sep=0.8, seed=3)
    k, seed = 4, 1111
    fold_scores = []
    for tr, te in StratifiedKFold(k, shuffle=True, random_state=seed).split(X, y):
        best_C, best = None, -1.0
        for C in [0.25, 0.5, 1, 2, 4, 8]:
            accs = []
            for a, b in StratifiedKFold(k, shuffle=True, random_state=seed).split(X[tr], y[tr]):
                m = LogisticRegression(C=C, solver="liblinear", random_state=seed).fit(X[tr][a], y[tr][a])
                accs.append(m.score(X[tr][b], y[tr][b]))
            score = round(100 * float(np.mean(accs)), 2)
            if score > best:
                best_C, best = C, score
        m = LogisticRegression(C=best_C, solver="liblinear", random_state=seed).fit(X[tr], y[tr])
        fold_scores.append(round(100 * m.score(X[te], y[te]), 2))
    res = inner_kfold(X, y, LogRegConfig(kfold=k, seed=seed))
    assert res["fold_acc"] == fold_scores
    assert res["acc"] == round(float(np.mean(fold_scores)), 2)
    assert inner_kfold(X, y, LogRegConfig(kfold=k, seed=seed, n_jobs=2))["fold_acc"] == fold_scores


def test_kfold_then_test_and_split_classifier_multiclass():
    X, y = _blobs(n=300, classes=3)
    Xt, yt = _blobs(n=90, classes=3, seed=5)
    for solver in ("liblinear", "lbfgs"):
        res = kfold_then_test(X, y, Xt, yt, LogRegConfig(kfold=3, solver=solver), n_classes=3)
        assert res["acc"] > 85 and res["C"] in GRID_KFOLD and len(res["pred"]) == 90
    res = split_classifier(X, y, Xt, yt, Xt, yt, LogRegConfig(), n_classes=3)
    assert res["acc"] > 85 and res["C"] in GRID_INNER and len(res["grid_dev"]) == len(GRID_INNER)


def test_bad_settings():
    with pytest.raises(ConfigError, match="SentEval solver"):
        LogRegConfig(solver="sgd")
    with pytest.raises(ConfigError, match="kfold"):
        LogRegConfig(kfold=1)


class HashingEncoder:
    """Bag of words hashed into 512 dimensions (crc32): a real, learnable signal with nothing to download."""

    name = "hashing-bow"

    def encode(self, sentences, batch_size=32):
        import zlib

        out = np.zeros((len(sentences), 512), dtype=np.float32)
        for i, s in enumerate(sentences):
            for w in s.lower().split():
                out[i, zlib.crc32(w.encode()) % 512] += 1.0
        return out


def test_mr_and_mrpc_slices_end_to_end(data_root):
    mr = load_senteval_task("MR", root=data_root).head(400)
    vecs = dict(zip(mr.sentences(), HashingEncoder().encode(mr.sentences())))
    res = evaluate_task(vecs, mr, LogRegConfig(kfold=3))
    assert 58 < res["acc"] <= 100 and res["n"] == 800  # bag of words learns some sentiment
    mrpc = load_senteval_task("MRPC", root=data_root).head(60)
    vecs = dict(zip(mrpc.sentences(), HashingEncoder().encode(mrpc.sentences())))
    res = evaluate_task(vecs, mrpc, LogRegConfig(kfold=3))
    assert 0 <= res["acc"] <= 100 and 0 <= res["f1"] <= 100 and res["n_train"] == 120


def test_table5_smoke_pipeline(tmp_path, data_root, smoke_bert):
    from repro.runner import run_table
    from repro.specs import get_spec
    from repro.profiles import get_profile
    from repro.results import ResultStore
    from repro.tables.builder import build_frame
    from repro.specs import load_specs

    profile = get_profile("smoke")
    store = ResultStore(tmp_path / "results")
    recs = run_table(get_spec("5"), profile, store, data_root=data_root, echo=lambda m: None, show_progress=False)
    ok = [r for r in recs if r.status == "ok"]
    assert {r.spec.param_dict["task"] for r in ok} == set(SENTEVAL_TASKS)
    assert all(0 <= r.metrics[r.spec.param_dict["task"]]["acc"] <= 100 for r in ok)
    (nr,) = [r for r in recs if r.status == "not_run"]  # fastText: no model here, one record for the row
    assert "fast" in nr.label.lower() and nr.spec.param_dict["task"] == "all"
    frame = build_frame(load_specs()["5"], recs)
    avg = frame[(frame["column"] == "Avg") & (frame["status"] == "ok")]
    assert len(avg) and avg["ours"].notna().all()
    again = run_table(get_spec("5"), profile, store, data_root=data_root, echo=lambda m: None, show_progress=False)
    assert [r.finished_at for r in again if r.status == "ok"] == [r.finished_at for r in ok]


def test_same_numbers_as_senteval_itself(data_root):
    """Runs facebookresearch/SentEval's own TREC evaluation with the same embeddings and compares."""
    senteval = pytest.importorskip("senteval", reason="the senteval package is not installed (not on PyPI)")
    import tempfile
    from pathlib import Path

    task = load_senteval_task("TREC", root=data_root)
    enc = HashingEncoder()
    vecs = dict(zip(task.sentences(), enc.encode(task.sentences())))
    ours = evaluate_task(vecs, task, LogRegConfig())
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "downstream").mkdir()
        (Path(tmp) / "downstream" / "TREC").symlink_to(data_root / "trec")
        params = {"task_path": tmp, "usepytorch": False, "kfold": 10}
        se = senteval.engine.SE(params, lambda p, batch: enc.encode([" ".join(s) for s in batch]))
        theirs = se.eval("TREC")
    assert ours["acc"] == pytest.approx(theirs["acc"], abs=0.01)
