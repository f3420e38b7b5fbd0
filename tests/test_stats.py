"""repro/stats: bootstrap intervals against independent computations, seeds, paired tests."""

import math

import numpy as np
import pytest
from scipy.stats import norm, pearsonr, spearmanr

from repro.stats.bootstrap import (Items, _draw_counts, _stat_counts, bootstrap_cells, bootstrap_interval,
                                   item_statistic, paired_bootstrap, paired_bootstrap_cells, paired_permutation,
                                   paired_seed_test, seed_summary)


def _bivariate(n, r, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = r * x + math.sqrt(1 - r * r) * rng.standard_normal(n)
    return x, y


def test_pearson_interval_matches_fisher_z():
    x, y = _bivariate(4000, 0.5)
    iv = bootstrap_interval(Items("pearson", x, y), n_resamples=2000)
    r = pearsonr(x, y).statistic
    z, se = math.atanh(r), 1 / math.sqrt(len(x) - 3)
    lo, hi = 100 * math.tanh(z - 1.96 * se), 100 * math.tanh(z + 1.96 * se)
    assert iv.point == pytest.approx(100 * r)
    assert iv.low == pytest.approx(lo, abs=0.5) and iv.high == pytest.approx(hi, abs=0.5)
    assert iv.low < 100 * r < iv.high


def test_accuracy_interval_matches_the_normal_approximation():
    rng = np.random.default_rng(1)
    gold = rng.integers(0, 2, 3000)
    pred = np.where(rng.random(3000) < 0.7, gold, 1 - gold)
    iv = bootstrap_interval(Items("accuracy", pred, gold), n_resamples=2000)
    p = float(np.mean(pred == gold))
    half = 100 * norm.ppf(0.975) * math.sqrt(p * (1 - p) / 3000)
    assert iv.low == pytest.approx(100 * p - half, abs=0.4) and iv.high == pytest.approx(100 * p + half, abs=0.4)


def test_same_seed_same_interval_other_seed_other_interval():
    x, y = _bivariate(500, 0.6, seed=3)
    items = Items("spearman", x, np.round(y, 1))
    a, b = bootstrap_interval(items, seed=7), bootstrap_interval(items, seed=7)
    c = bootstrap_interval(items, seed=8)
    assert (a.low, a.high) == (b.low, b.high)
    assert (a.low, a.high) != (c.low, c.high)


@pytest.mark.parametrize("kind", ["spearman", "pearson"])
def test_resample_statistic_equals_the_statistic_of_the_resampled_items(kind):
    """The O(B n) count-based statistic is the plain one on the resampled items, ties included."""
    rng = np.random.default_rng(5)
    pred = np.round(rng.standard_normal(80), 1)
    gold = np.round(pred + rng.standard_normal(80), 0)  # many ties
    counts = _draw_counts(rng, 80, 20)
    got = _stat_counts(kind, pred, gold, counts, 100.0)
    fn = spearmanr if kind == "spearman" else pearsonr
    for b in range(20):
        idx = np.repeat(np.arange(80), counts[b])
        assert got[b] == pytest.approx(100 * fn(pred[idx], gold[idx]).statistic, abs=1e-9)


def test_strata_and_topics_aggregate_like_the_tables():
    rng = np.random.default_rng(2)
    gold = rng.random(60)
    pred = gold + rng.standard_normal(60)
    topics = np.repeat(["a", "b"], 30)
    folds = np.array([f"{t}{i % 3}" for i, t in enumerate(topics)])
    per = {f: 100 * pearsonr(pred[folds == f], gold[folds == f]).statistic for f in set(folds)}
    want = np.mean([np.mean([per[f] for f in per if f.startswith(t)]) for t in "ab"])
    assert item_statistic(Items("pearson", pred, gold, folds, topics)) == pytest.approx(want)
    iv = bootstrap_interval(Items("pearson", pred, gold, folds, topics), n_resamples=200)
    assert iv.low < want < iv.high


def test_seeds_sharing_items_are_resampled_together():
    x, y = _bivariate(400, 0.5, seed=4)
    a = Items("pearson", x, y, key="k")
    b = Items("pearson", x + 0.01, y, key="k")
    iv = bootstrap_interval([a, b], n_resamples=300)
    assert iv.point == pytest.approx(np.mean([item_statistic(a), item_statistic(b)]))
    single = bootstrap_interval(a, n_resamples=300)
    assert iv.high - iv.low == pytest.approx(single.high - single.low, rel=0.05)


def test_paired_bootstrap_sees_a_real_difference_and_not_a_fake_one():
    x, y = _bivariate(1000, 0.6, seed=6)
    rng = np.random.default_rng(0)
    good = Items("pearson", x, y, key="k")
    worse = Items("pearson", x + 0.8 * rng.standard_normal(1000), y, key="k")
    r = paired_bootstrap(good, worse)
    assert r.diff > 0 and r.low > 0 and r.p_value < 0.01
    same = paired_bootstrap(good, good)
    assert same.diff == 0 and same.p_value == 1.0
    with pytest.raises(ValueError, match="same test items"):
        paired_bootstrap(good, Items("pearson", x, y, key="other"))
    cells = paired_bootstrap_cells([[good], [good]], [[worse], [good]])
    assert cells.diff == pytest.approx(r.diff / 2) and cells.p_value < 0.05


def test_paired_permutation():
    rng = np.random.default_rng(9)
    gold = rng.integers(0, 2, 800)
    a = np.where(rng.random(800) < 0.80, gold, 1 - gold)
    b = np.where(rng.random(800) < 0.70, gold, 1 - gold)
    r = paired_permutation(Items("accuracy", a, gold, key="k"), Items("accuracy", b, gold, key="k"))
    assert r.diff > 0 and r.p_value < 0.01
    c = np.where(rng.random(800) < 0.80, gold, 1 - gold)
    assert paired_permutation(Items("accuracy", a, gold, key="k"), Items("accuracy", c, gold, key="k")).p_value > 0.05


def test_paired_seed_test_is_exact_and_honest_about_few_seeds():
    two = paired_seed_test({0: 85.0, 1: 85.2}, {0: 84.0, 1: 84.1})
    assert two.p_value == 0.5 and two.n_items == 2  # two seeds can never show a difference
    six = paired_seed_test({s: 85 + 0.1 * s for s in range(6)}, {s: 84.0 for s in range(6)})
    assert six.p_value == pytest.approx(2 / 64)
    with pytest.raises(ValueError, match="no seed in common"):
        paired_seed_test({0: 1.0}, {1: 1.0})


def test_seed_summary_and_cells():
    s = seed_summary([1.0, 2.0, 3.0])
    assert (s.mean, s.min, s.max, s.n) == (2.0, 1.0, 3.0, 3) and s.std == pytest.approx(np.std([1, 2, 3]))
    x, y = _bivariate(300, 0.5)
    iv = bootstrap_cells([[Items("pearson", x, y)], [Items("pearson", y, x)]], n_resamples=200)
    assert iv.point == pytest.approx(100 * pearsonr(x, y).statistic)


def test_items_validation():
    with pytest.raises(ValueError, match="unknown statistic"):
        Items("kendall", np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="gold"):
        Items("pearson", np.zeros(3), np.zeros(4))
