"""AFS (Table 3): loader, folds (no pair in train and test; cross-topic isolation), metrics, the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from repro.data.afs import AFS_TOPICS, AFSCorpus, AFSTopic, load_afs, load_afs_topic
from repro.data.records import PairSet, SentencePair
from repro.errors import DataError
from repro.evaluation.afs import (correlations, cross_topic_folds, evaluate_folds, evaluate_unsupervised,
                                  kfold_indices, untrained, within_topic_folds)


# ------------------------------------------------------------------------------------------------ metrics
def test_correlations_by_hand():
    # ranks differ by one swap: rho = 1 - 6 * 2 / (4 * 15) = 0.8; Pearson: cov 4 / var 5 = 0.8
    m = correlations([1, 2, 3, 4], [1, 3, 2, 4])
    assert m["spearman"] == pytest.approx(80.0)
    assert m["pearson"] == pytest.approx(80.0)
    # monotone but not linear: rho = 1; r = 14 / sqrt(50 * 5)
    m = correlations([1, 2, 3, 10], [1, 2, 3, 4])
    assert m["spearman"] == pytest.approx(100.0)
    assert m["pearson"] == pytest.approx(100 * 14 / np.sqrt(250))
    assert correlations([3, 2, 1], [1, 2, 3])["spearman"] == pytest.approx(-100.0)


def test_correlations_reject_bad_input():
    with pytest.raises(ValueError):
        correlations([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        correlations([1], [1])


# ------------------------------------------------------------------------------------------------ toy corpus
def toy_corpus(n_per_topic=25) -> AFSCorpus:
    rng = np.random.default_rng(0)
    topics = {}
    for t in AFS_TOPICS:
        pairs = [SentencePair(f"{t} a{i}", f"{t} b{i}", float(rng.uniform(0, 5))) for i in range(n_per_topic)]
        topics[t] = AFSTopic(t, PairSet(f"AFS/{t}", pairs), [f"{t}-{i}" for i in range(n_per_topic)])
    return AFSCorpus(topics)


def test_kfold_partitions_and_is_seeded():
    folds = kfold_indices(23, 10, seed=0)
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(23))  # every pair tested exactly once
    for tr, te in folds:
        assert not set(tr) & set(te)
        assert len(tr) + len(te) == 23
    again = kfold_indices(23, 10, seed=0)
    assert all((a[1] == b[1]).all() for a, b in zip(folds, again))
    other = kfold_indices(23, 10, seed=1)
    assert any(not np.array_equal(a[1], b[1]) for a, b in zip(folds, other))


def test_within_topic_folds_never_share_a_pair_and_stay_in_their_topic():
    corpus = toy_corpus()
    ids = np.asarray(corpus.ids)
    topic_of = corpus.topic_of
    folds = within_topic_folds(corpus, 10, seed=0)
    assert len(folds) == 30
    for f in folds:
        assert not set(ids[f.train]) & set(ids[f.test]), f.name
        assert set(topic_of[f.train]) == {f.test_topic} and set(topic_of[f.test]) == {f.test_topic}
    for t in AFS_TOPICS:
        tested = np.concatenate([f.test for f in folds if f.test_topic == t])
        assert sorted(ids[tested]) == sorted(i for i in ids if i.startswith(t))


def test_cross_topic_folds_hold_no_pair_of_the_test_topic():
    corpus = toy_corpus()
    topic_of = corpus.topic_of
    folds = cross_topic_folds(corpus)
    assert [f.test_topic for f in folds] == list(AFS_TOPICS)
    for f in folds:
        assert f.test_topic not in set(topic_of[f.train])
        assert set(topic_of[f.test]) == {f.test_topic}
        assert len(f.train) + len(f.test) == len(corpus)


def test_evaluate_folds_never_trains_on_a_test_pair():
    corpus = toy_corpus()
    gold = {(p.s1, p.s2): p.score for p in corpus.pairs}
    seen = []

    def fit(train: PairSet, fold):
        train_keys = {(p.s1, p.s2) for p in train.pairs}
        seen.append((fold, train_keys))
        # a "model" that knows the gold score of the training pairs only and guesses 0 elsewhere
        return lambda s1, s2: np.asarray([gold[(a, b)] if (a, b) in train_keys else 0.0 for a, b in zip(s1, s2)])

    for folds in (within_topic_folds(corpus, 5, 0), cross_topic_folds(corpus)):
        seen.clear()
        res = evaluate_folds(corpus, folds, _safe(fit))
        assert len(seen) == len(folds)
        for fold, keys in seen:
            test_keys = {(corpus.pairs[i].s1, corpus.pairs[i].s2) for i in fold.test}
            assert keys and not keys & test_keys
        assert res["n_folds"] == len(folds)
        # the leak detector works: had the test pairs been in training, the "model" would score them perfectly
        assert res["pearson"] < 50


def _safe(fit):
    """Wrap the leak-detecting fit so a constant prediction still gives a defined correlation."""

    def wrapped(train, fold):
        inner = fit(train, fold)
        return lambda s1, s2: inner(s1, s2) + np.arange(len(s1)) * 1e-9

    return wrapped


def test_evaluate_folds_and_unsupervised_averages():
    corpus = toy_corpus()
    gold = {(p.s1, p.s2): p.score for p in corpus.pairs}
    oracle = lambda s1, s2: np.asarray([gold[(a, b)] for a, b in zip(s1, s2)])  # noqa: E731
    res = evaluate_folds(corpus, within_topic_folds(corpus, 5, 0), untrained(oracle))
    assert res["pearson"] == pytest.approx(100.0) and res["spearman"] == pytest.approx(100.0)
    assert set(res["per_topic"]) == set(AFS_TOPICS) and res["per_topic"]["DP"]["n_folds"] == 5
    res = evaluate_unsupervised(lambda s1, s2: -oracle(s1, s2), corpus)
    assert res["spearman"] == pytest.approx(-100.0) and res["spearman_pooled"] == pytest.approx(-100.0)
    # the table's number is the mean of the per-topic correlations
    noisy = lambda s1, s2: oracle(s1, s2) + np.sin(np.arange(len(s1)))  # noqa: E731
    res = evaluate_unsupervised(noisy, corpus)
    assert res["pearson"] == pytest.approx(np.mean([m["pearson"] for m in res["per_topic"].values()]))


def test_fold_limit_keeps_the_first_folds_of_each_topic():
    from repro.training.afs import limit_folds

    folds = within_topic_folds(toy_corpus(), 10, 0)
    kept = limit_folds(folds, 1)
    assert [f.name for f in kept] == ["DP/fold0", "GC/fold0", "GM/fold0"]
    assert limit_folds(folds, None) == folds and len(limit_folds(folds, 2)) == 6


def test_overlapping_fold_is_refused():
    from repro.evaluation.afs import Fold

    corpus = toy_corpus()
    bad = Fold("bad", "DP", np.arange(0, 10), np.arange(5, 15))
    with pytest.raises(ValueError, match="both train and test"):
        evaluate_folds(corpus, [bad], untrained(lambda a, b: np.zeros(len(a))))


# ------------------------------------------------------------------------------------------------ real data
def test_real_afs_corpus(data_root):
    corpus = load_afs(root=data_root)
    assert {t: len(v) for t, v in corpus.topics.items()} == {"DP": 2000, "GC": 2000, "GM": 2000}
    scores = corpus.scores
    assert scores.min() >= 0 and scores.max() == 5.0
    assert len(set(corpus.ids)) == 6000
    first = corpus.topics["DP"].pairs.pairs[0]
    assert first.score == pytest.approx(4.333333333)
    assert first.s1.startswith("Yes there should be a death penalty")  # sentence_1 (last column) first
    # real folds: no pair id, and no (s1, s2) combination, in both train and test
    ids = np.asarray(corpus.ids)
    keys = np.asarray([f"{p.s1}\x00{p.s2}" for p in corpus.pairs])
    for f in within_topic_folds(corpus, 10, 0) + cross_topic_folds(corpus):
        assert not set(ids[f.train]) & set(ids[f.test])
        assert not set(keys[f.train]) & set(keys[f.test])


def test_afs_errors_name_the_file(tmp_path, data_root):
    with pytest.raises(DataError, match="ArgPairs_DP.csv.*fetch_data.py afs"):
        load_afs_topic("DP", root=tmp_path)
    (tmp_path / "afs").mkdir()
    src = (data_root / "afs" / "ArgPairs_GC.csv").read_bytes()
    cut = src[: len(src) // 2]
    cut = cut[: cut.rfind(b"\r")]
    (tmp_path / "afs" / "ArgPairs_GC.csv").write_bytes(cut)
    with pytest.raises(DataError, match="pairs, the AFS release has 2000"):
        load_afs_topic("GC", root=tmp_path)
    assert len(load_afs_topic("GC", root=tmp_path, strict=False)) < 2000
    (tmp_path / "afs" / "ArgPairs_GM.csv").write_bytes(b"a,b\r1,2\r")
    with pytest.raises(DataError, match="unexpected header"):
        load_afs_topic("GM", root=tmp_path)
    bad = src.replace(b"\r1,9059,7651", b"\r7.5,9059,7651", 1)
    (tmp_path / "afs" / "ArgPairs_GC.csv").write_bytes(bad)
    with pytest.raises(DataError, match=r"CSV record 2: regression_label '7.5'"):
        load_afs_topic("GC", root=tmp_path)


def test_table3_smoke_pipeline(tmp_path, data_root, smoke_bert):
    """Every setting and row kind end to end on a slice: tf-idf, word vectors, untuned, SBERT-AFS, BERT-AFS."""
    from repro.runner import run_table
    from repro.profiles import get_profile
    from repro.specs import get_spec
    from repro.results import ResultStore
    from repro.tables.builder import build_frame

    profile = get_profile("smoke")
    store = ResultStore(tmp_path / "results")
    recs = run_table(get_spec("3"), profile, store, data_root=data_root, echo=lambda m: None, progress=False)
    by = {(r.spec.param_dict["setting"], r.label): r for r in recs}
    assert all(r.status in ("ok", "not_run") for r in recs), [(r.label, r.reason) for r in recs]
    assert by[("unsupervised", "InferSent - GloVe")].status == "not_run"
    trained = [r for r in recs if r.spec.param_dict["kind"] in ("sbert", "cross")]
    assert trained and all(r.status == "ok" for r in trained)
    for r in trained:
        assert -100 <= r.metrics["r"]["x100"] <= 100
        assert r.details["n_folds"] == (3 * get_spec("3").knobs(profile)["kfold"]
                                        if r.spec.param_dict["setting"] == "10-fold" else 3)
    frame = build_frame(get_spec("3"), recs)
    assert {"unsupervised", "10-fold cross-validation", "cross-topic"} <= set(frame["group"])
    # a rerun reuses every record (and every fold's predictions)
    again = run_table(get_spec("3"), profile, store, data_root=data_root, echo=lambda m: None, progress=False)
    assert [r.finished_at for r in again if r.status == "ok"] == [r.finished_at for r in recs if r.status == "ok"]
