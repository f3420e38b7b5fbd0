"""Per-item predictions beside each record (.preds.npz): written by results.run, read back, checked."""

import json

import numpy as np
import pytest

from repro.results import ResultStore, RunSpec, run
from repro.stats.predictions import PredictionsError, cell_items, items_key, load_items, predictions_path


def _spec(**kw):
    return RunSpec.make(table="2", model="m", profile="synthetic", task="t", **kw)


def test_run_writes_predictions_beside_the_record_and_reads_them_back(tmp_path):
    store = ResultStore(tmp_path)
    pred, gold = np.linspace(0, 1, 50), np.linspace(0, 5, 50) ** 2
    items = cell_items("spearman", pred, gold, key=items_key(["a"] * 50, [str(i) for i in range(50)]))
    rec = run(_spec(), lambda s: ({"STSb": {"spearman": 100.0}}, {"predictions": {"STSb": items}}), store, log=str)
    path = store.path_for(rec.spec)
    npz = predictions_path(path)
    assert npz.name.endswith(".preds.npz") and npz.is_file()
    summary = json.loads(path.read_text())["details"]["predictions"]
    assert summary["file"] == npz.name and summary["columns"] == {"STSb": 50} and len(summary["sha256"]) == 64
    back = load_items(store.load()[0])["STSb"]
    assert back.kind == "spearman" and back.key == items["key"]
    np.testing.assert_array_equal(back.pred, pred)
    np.testing.assert_array_equal(back.gold, gold)


def test_a_changed_file_is_an_error_naming_it_and_a_missing_summary_means_none(tmp_path):
    store = ResultStore(tmp_path)
    items = cell_items("accuracy", np.array([1, 0, 1]), np.array([1, 1, 1]), strata=np.array([0, 0, 1]), key="k")
    rec = run(_spec(), lambda s: ({"MR": {"acc": 66.7}}, {"predictions": {"MR": items}}), store, log=str)
    npz = predictions_path(store.path_for(rec.spec))
    npz.write_bytes(npz.read_bytes()[:-3] + b"xyz")
    with pytest.raises(PredictionsError, match=npz.name):
        load_items(store.load()[0])
    # rerun without predictions: no summary in the JSON, the stale file removed
    run(_spec(), lambda s: ({"MR": {"acc": 66.7}}, {}), store, force=True, log=str)
    assert not npz.exists()
    assert load_items(store.load()[0]) is None


def test_sts_evaluator_returns_items_that_reproduce_its_number():
    from repro.data.records import PairSet, SentencePair, STSTask
    from repro.evaluation.sts import evaluate_task
    from repro.stats.bootstrap import Items, item_statistic

    rng = np.random.default_rng(0)
    s1 = [f"a{i}" for i in range(30)]
    s2 = [f"b{i}" for i in range(30)]
    vecs = {s: rng.standard_normal(4) for s in s1 + s2}
    pairs = [SentencePair(a, b, float(g)) for a, b, g in zip(s1, s2, rng.random(30) * 5)]
    task = STSTask("X", {"one": PairSet("X/one", pairs[:20]), "two": PairSet("X/two", pairs[20:])})
    res = evaluate_task(vecs, task)
    it = res["items"]
    assert item_statistic(Items(it["kind"], it["pred"], it["gold"])) == pytest.approx(res["spearman_all"])


@pytest.mark.parametrize("setting", ["unsupervised", "10-fold", "10-fold-limited", "cross-topic"])
def test_afs_items_reproduce_the_table_number(setting):
    """The per-pair items (strata = folds, topics) give back the AFS number: mean over topics of fold means."""
    from test_afs import toy_corpus

    from repro.evaluation.afs import (cross_topic_folds, evaluate_folds, evaluate_unsupervised, untrained,
                                      within_topic_folds)
    from repro.training.afs import limit_folds
    from repro.stats.bootstrap import Items, item_statistic

    corpus = toy_corpus(40)
    gold = {(p.s1, p.s2): p.score for p in corpus.pairs}
    noisy = lambda s1, s2: np.asarray([gold[(a, b)] for a, b in zip(s1, s2)]) + np.cos(np.arange(len(s1)) * 7.0)  # noqa
    if setting == "unsupervised":
        res = evaluate_unsupervised(noisy, corpus)
    elif setting == "cross-topic":
        res = evaluate_folds(corpus, cross_topic_folds(corpus), untrained(noisy))
    else:
        folds = within_topic_folds(corpus, 5, 0)
        res = evaluate_folds(corpus, limit_folds(folds, 2) if setting.endswith("limited") else folds, untrained(noisy))
    for col, metric in (("r", "pearson"), ("rho", "spearman")):
        it = res["items"][col]
        items = Items(it["kind"], it["pred"], it["gold"], it.get("strata"), it.get("topics"), it["key"])
        assert item_statistic(items) == pytest.approx(res[metric])


def test_senteval_items_reproduce_the_accuracy():
    from repro.evaluation.senteval import LogRegConfig, inner_kfold, kfold_then_test

    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 5))
    y = (X[:, 0] + 0.8 * rng.standard_normal(120) > 0).astype(int)
    res = inner_kfold(X, y, LogRegConfig(kfold=3))
    pred = np.concatenate(res["fold_pred"])
    truth = y[np.concatenate(res["folds"])]
    fold_acc = [100 * np.mean(p == y[te]) for p, te in zip(res["fold_pred"], res["folds"])]
    assert np.mean(fold_acc) == pytest.approx(res["acc"], abs=0.01) and len(pred) == len(truth) == 120
    res = kfold_then_test(X[:80], y[:80], X[80:], y[80:], LogRegConfig(kfold=3))
    assert 100 * np.mean(res["pred"] == y[80:]) == pytest.approx(res["acc"], abs=0.01)
