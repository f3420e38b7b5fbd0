"""Per-item predictions beside each record (.preds.npz): written by results.run, read back, checked."""

import json

import numpy as np
import pytest

from repro.results import ResultStore, RunSpec, run
from repro.stats.predictions import PredictionsError, cell_items, items_key, load_items, predictions_path


def _spec(**kw):
    return RunSpec.make(table="2", row="r", model="m", profile="synthetic", task="t", **kw)


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
