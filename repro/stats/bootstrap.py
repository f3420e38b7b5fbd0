"""Seeded bootstrap intervals over test items, paired tests for two systems, summaries over seeds.

A cell's number is a statistic of per-item predictions: a correlation (Spearman or Pearson, x100) between
predicted similarities and gold scores, or an accuracy (x100) of predicted labels. :class:`Items` holds one
run's items; ``strata`` (e.g. the test fold of each item) and ``topics`` say how the table aggregates:

- no strata: one statistic over all items (STS: all pairs pooled; a test split);
- strata: the statistic per stratum, averaged over strata (SentEval's 10 folds; AFS cross-topic: per topic);
- strata and topics: per stratum, averaged over the strata of each topic, then over topics (AFS 10-fold).

The bootstrap resamples items with replacement *within* each stratum (so every fold keeps its size), pairs
resampled jointly (a pair's prediction and gold score stay together). Several runs of one cell (seeds) that
share their test items are resampled with the same indices and their statistics averaged, as the table averages
seeds. Intervals are percentile intervals; everything is driven by ``numpy.random.default_rng(seed)``, so the
same seed gives the same interval.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy.stats import rankdata

KINDS = ("spearman", "pearson", "accuracy")
DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 12345
_CHUNK_CELLS = 2_000_000  # resamples x items evaluated at once (bounds memory to a few 10 MB)


@dataclass(frozen=True)
class Items:
    """One run's per-item predictions for one cell."""

    kind: str
    pred: np.ndarray
    gold: np.ndarray
    strata: np.ndarray | None = None
    topics: np.ndarray | None = None
    key: str = ""  # identifies the test items (same key: the same items in the same order)
    scale: float = 100.0  # the table's unit: x100 (most tables) or 1 (fractions, Table 4)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown statistic {self.kind!r}; choose from {', '.join(KINDS)}")
        pred, gold = np.asarray(self.pred), np.asarray(self.gold)
        if pred.shape != gold.shape or pred.ndim != 1:
            raise ValueError(f"{pred.shape} predictions for {gold.shape} gold values (need two 1-d arrays)")
        for name in ("strata", "topics"):
            v = getattr(self, name)
            if v is not None and np.asarray(v).shape != gold.shape:
                raise ValueError(f"{name}: {np.asarray(v).shape} for {gold.shape} items")
        if self.topics is not None and self.strata is None:
            raise ValueError("topics need strata (the folds within each topic)")

    @property
    def n(self) -> int:
        return int(len(self.gold))


@dataclass(frozen=True)
class Interval:
    point: float
    low: float
    high: float
    level: float
    n_items: int
    n_resamples: int
    seed: int
    method: str = "percentile bootstrap over test items"

    def contains(self, x: float, widen: float = 0.0) -> bool:
        return self.low - widen <= x <= self.high + widen


# ---------------------------------------------------------------------------------------------- statistics
def _rowwise_corr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    den = np.sqrt((x * x).sum(axis=-1) * (y * y).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (x * y).sum(axis=-1) / np.where(den > 0, den, 1.0), np.nan)


def _stat_rows(kind: str, pred: np.ndarray, gold: np.ndarray, scale: float = 100.0) -> np.ndarray:
    """The statistic (x ``scale``) of each row of (B, n) arrays."""
    if kind == "accuracy":
        return scale * (pred == gold).mean(axis=-1)
    if kind == "spearman":
        pred, gold = rankdata(pred, axis=-1), rankdata(gold, axis=-1)  # average ranks for ties, as scipy
    return scale * _rowwise_corr(pred.astype(np.float64), gold.astype(np.float64))


def _structure(items: Items):
    """(list of index arrays per stratum, weight per stratum) so that statistic = sum_w * stat(stratum)."""
    if items.strata is None:
        return [np.arange(items.n)], np.ones(1)
    strata = np.asarray(items.strata)
    names = list(dict.fromkeys(strata.tolist()))
    idx = [np.flatnonzero(strata == s) for s in names]
    if items.topics is None:
        return idx, np.full(len(idx), 1.0 / len(idx))
    topics = np.asarray(items.topics)
    topic_of = []
    for ix in idx:
        t = set(topics[ix].tolist())
        if len(t) != 1:
            raise ValueError("each stratum (fold) must lie in one topic")
        topic_of.append(t.pop())
    n_topics = len(set(topic_of))
    per_topic = {t: topic_of.count(t) for t in set(topic_of)}
    return idx, np.array([1.0 / (n_topics * per_topic[t]) for t in topic_of])


def item_statistic(items: Items) -> float:
    """The cell's statistic from its items (no resampling)."""
    idx, w = _structure(items)
    vals = [_stat_rows(items.kind, np.asarray(items.pred)[ix][None], np.asarray(items.gold)[ix][None],
                       items.scale)[0]
            for ix in idx]
    return float(np.dot(w, vals))


def _rank_structure(v: np.ndarray):
    """What average ranks under resampling need: the sort order, where each tie group starts, each item's group."""
    order = np.argsort(v, kind="stable")
    sv = v[order]
    new_group = np.r_[True, sv[1:] != sv[:-1]]
    starts = np.flatnonzero(new_group)
    gid = np.empty(len(v), dtype=np.int64)
    gid[order] = np.cumsum(new_group) - 1
    return order, starts, gid


def _avg_ranks(struct, counts: np.ndarray) -> np.ndarray:
    """(B, m) average ranks of each item in each resample given how often each item was drawn (ties averaged,
    as scipy's rankdata on the resampled values)."""
    order, starts, gid = struct
    gc = np.add.reduceat(counts[:, order], starts, axis=1)
    below = np.cumsum(gc, axis=1) - gc
    return (below + (gc + 1) / 2.0)[:, gid]


def _weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    n = w.sum(axis=1, keepdims=True)
    mx = (w * x).sum(axis=1, keepdims=True) / n
    my = (w * y).sum(axis=1, keepdims=True) / n
    dx, dy = x - mx, y - my
    sxy, sxx, syy = (w * dx * dy).sum(axis=1), (w * dx * dx).sum(axis=1), (w * dy * dy).sum(axis=1)
    den = np.sqrt(sxx * syy)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, sxy / np.where(den > 0, den, 1.0), np.nan)


def _stat_counts(kind: str, pred: np.ndarray, gold: np.ndarray, counts: np.ndarray, scale: float) -> np.ndarray:
    """The statistic of each resample, a resample given as (B, m) counts of how often each item was drawn:
    the same value as computing it on the resampled items, in O(B m) without sorting."""
    w = counts.astype(np.float64)
    if kind == "accuracy":
        return scale * (w * (pred == gold)).sum(axis=1) / w.sum(axis=1)
    if kind == "spearman":
        x = _avg_ranks(_rank_structure(np.asarray(pred, dtype=np.float64)), counts)
        y = _avg_ranks(_rank_structure(np.asarray(gold, dtype=np.float64)), counts)
    else:
        x, y = np.asarray(pred, dtype=np.float64)[None], np.asarray(gold, dtype=np.float64)[None]
    return scale * _weighted_corr(x, y, w)


def _draw_counts(rng: np.random.Generator, m: int, b: int) -> np.ndarray:
    """(b, m) counts of a bootstrap resample of m items, b times (m draws with replacement each)."""
    draws = rng.integers(0, m, size=(b, m)) + (np.arange(b) * m)[:, None]
    return np.bincount(draws.ravel(), minlength=b * m).reshape(b, m)


def _resampled(runs: Sequence[Items], n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(n_resamples,) bootstrap values of the mean over ``runs`` of their statistic."""
    shared = len({(r.key, r.n) for r in runs}) == 1 and runs[0].key != ""
    if shared:  # one set of indices for all runs (they share their test items)
        structs = [_structure(runs[0])] * len(runs)
    else:
        structs = [_structure(r) for r in runs]
    total = np.zeros(n_resamples)
    draws_cache: dict = {}
    for r_i, (run, (idx, w)) in enumerate(zip(runs, structs)):
        pred, gold = np.asarray(run.pred), np.asarray(run.gold)
        for s_i, (ix, ws) in enumerate(zip(idx, w)):
            m = len(ix)
            step = max(1, _CHUNK_CELLS // max(m, 1))
            vals = np.empty(n_resamples)
            for start in range(0, n_resamples, step):
                stop = min(n_resamples, start + step)
                cache_key = (s_i, start) if shared else (r_i, s_i, start)
                counts = draws_cache.get(cache_key)
                if counts is None:
                    counts = _draw_counts(rng, m, stop - start)
                    if shared:
                        draws_cache[cache_key] = counts
                vals[start:stop] = _stat_counts(run.kind, pred[ix], gold[ix], counts, run.scale)
            total += ws * vals
    return total / len(runs)


def _percentile(vals: np.ndarray, level: float) -> tuple[float, float]:
    vals = vals[~np.isnan(vals)]
    if not len(vals):
        return math.nan, math.nan
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(vals, [a, 1.0 - a])
    return float(lo), float(hi)


def bootstrap_interval(runs: Items | Sequence[Items], *, n_resamples: int = DEFAULT_RESAMPLES,
                       level: float = 0.95, seed: int = DEFAULT_SEED) -> Interval:
    """Percentile bootstrap interval of a cell's statistic (the mean over ``runs``, e.g. seeds)."""
    runs = [runs] if isinstance(runs, Items) else list(runs)
    if not runs:
        raise ValueError("no runs to bootstrap")
    if len({r.kind for r in runs}) != 1:
        raise ValueError("the runs of one cell must have one statistic")
    point = float(np.mean([item_statistic(r) for r in runs]))
    vals = _resampled(runs, n_resamples, np.random.default_rng(seed))
    lo, hi = _percentile(vals, level)
    return Interval(point, lo, hi, level, max(r.n for r in runs), n_resamples, seed)


# ---------------------------------------------------------------------------------------------- paired tests
@dataclass(frozen=True)
class PairedResult:
    diff: float  # statistic(a) - statistic(b)
    low: float
    high: float
    p_value: float  # two-sided
    n_items: int
    method: str
    n_resamples: int = 0
    extra: dict = field(default_factory=dict)

    def describe(self, decimals: int = 2) -> str:
        d = decimals
        ci = "" if math.isnan(self.low) else f", 95% CI [{self.low:+.{d}f}, {self.high:+.{d}f}]"
        return f"difference {self.diff:+.{d}f}{ci}, p = {self.p_value:.3g} ({self.method}, n = {self.n_items})"


def _check_shared(a: Sequence[Items], b: Sequence[Items]) -> None:
    keys = {(r.key, r.n) for r in (*a, *b)}
    if len(keys) != 1 or next(iter(keys))[0] == "":
        raise ValueError("a paired test needs both systems scored on the same test items (same item key)")


def paired_bootstrap(a: Items | Sequence[Items], b: Items | Sequence[Items], *,
                     n_resamples: int = DEFAULT_RESAMPLES, level: float = 0.95,
                     seed: int = DEFAULT_SEED) -> PairedResult:
    """Paired bootstrap of statistic(a) - statistic(b): both systems resampled with the same item indices.

    p-value: twice the smaller share of resampled differences on either side of zero ((count + 1)/(B + 1)).
    """
    a = [a] if isinstance(a, Items) else list(a)
    b = [b] if isinstance(b, Items) else list(b)
    _check_shared(a, b)
    diff = float(np.mean([item_statistic(r) for r in a]) - np.mean([item_statistic(r) for r in b]))
    va = _resampled(a, n_resamples, np.random.default_rng(seed))
    vb = _resampled(b, n_resamples, np.random.default_rng(seed))  # same seed, same structure: same indices
    d = va - vb
    d = d[~np.isnan(d)]
    lo, hi = _percentile(d, level)
    p = min(1.0, 2.0 * min((np.sum(d <= 0) + 1) / (len(d) + 1), (np.sum(d >= 0) + 1) / (len(d) + 1)))
    return PairedResult(diff, lo, hi, float(p), a[0].n, "paired bootstrap over items", n_resamples)


def paired_permutation(a: Items, b: Items, *, n_permutations: int = DEFAULT_RESAMPLES,
                       seed: int = DEFAULT_SEED) -> PairedResult:
    """Paired permutation (swap) test: each item's two predictions are swapped between the systems at random.

    For Spearman both systems' predictions are first replaced by their ranks within the system, so swapping
    is between comparable values; accuracies swap correct/incorrect per item. Two-sided, (count + 1)/(N + 1).
    """
    _check_shared([a], [b])
    if a.kind != b.kind:
        raise ValueError("both systems need the same statistic")
    pa, pb = np.asarray(a.pred, dtype=np.float64), np.asarray(b.pred, dtype=np.float64)
    if a.kind == "spearman":
        pa, pb = rankdata(pa), rankdata(pb)
    gold = np.asarray(a.gold)
    obs = item_statistic(Items(a.kind, pa, gold, a.strata, a.topics, scale=a.scale)) - \
        item_statistic(Items(a.kind, pb, gold, a.strata, a.topics, scale=a.scale))
    rng = np.random.default_rng(seed)
    idx, w = _structure(a)
    count = 0
    step = max(1, _CHUNK_CELLS // max(a.n, 1))
    for start in range(0, n_permutations, step):
        k = min(step, n_permutations - start)
        swap = rng.random((k, a.n)) < 0.5
        xa, xb = np.where(swap, pb, pa), np.where(swap, pa, pb)
        g = np.broadcast_to(gold, xa.shape)
        da = sum(ws * _stat_rows(a.kind, xa[:, ix], g[:, ix], a.scale) for ix, ws in zip(idx, w))
        db = sum(ws * _stat_rows(a.kind, xb[:, ix], g[:, ix], a.scale) for ix, ws in zip(idx, w))
        count += int(np.sum(np.abs(da - db) >= abs(obs) - 1e-12))
    p = (count + 1) / (n_permutations + 1)
    diff = item_statistic(a) - item_statistic(b)
    return PairedResult(float(diff), math.nan, math.nan, float(p), a.n, "paired permutation over items",
                        n_permutations)


# ---------------------------------------------------------------------------------------------- seeds
@dataclass(frozen=True)
class SeedSummary:
    mean: float
    std: float  # population std (ddof 0), as the tables' ± column
    min: float
    max: float
    n: int

    def describe(self, decimals: int = 2) -> str:
        d = decimals
        if self.n < 2:
            return f"{self.mean:.{d}f} (n = 1)"
        return f"{self.mean:.{d}f} ± {self.std:.{d}f} (min {self.min:.{d}f}, max {self.max:.{d}f}, n = {self.n})"


def seed_summary(values: Sequence[float]) -> SeedSummary:
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=np.float64)
    if not len(v):
        raise ValueError("no values to summarise")
    return SeedSummary(float(v.mean()), float(v.std()) if len(v) > 1 else math.nan, float(v.min()),
                       float(v.max()), int(len(v)))


def paired_seed_test(a: dict, b: dict) -> PairedResult:
    """Paired test over seeds: ``a`` and ``b`` map seed -> value; only seeds both have are used.

    p-value: exact two-sided sign-flip permutation test of the mean difference (all 2^n sign patterns for
    n <= 16). With n seeds the smallest possible p is 2 / 2^n (0.5 for two seeds): few seeds cannot show a
    difference, and the test says so rather than pretending otherwise.
    """
    seeds = sorted(set(a) & set(b), key=str)
    if not seeds:
        raise ValueError("no seed in common: a paired test over seeds needs runs with the same seeds")
    d = np.asarray([a[s] - b[s] for s in seeds], dtype=np.float64)
    obs = abs(d.mean())
    n = len(d)
    if n <= 16:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
    else:
        signs = np.random.default_rng(DEFAULT_SEED).choice((1.0, -1.0), size=(65536, n))
    means = np.abs((signs * d).mean(axis=1))
    p = float(np.mean(means >= obs - 1e-12))
    return PairedResult(float(d.mean()), float(d.min()), float(d.max()), p, n,
                        "exact sign-flip test over seeds (interval: min-max of the per-seed differences)",
                        extra={"seeds": seeds, "differences": d.tolist()})


# ---------------------------------------------------------------------------------------------- several cells
def resampled_cells(cells: Sequence[Sequence[Items]], *, n_resamples: int = DEFAULT_RESAMPLES,
                    seed: int = DEFAULT_SEED) -> np.ndarray:
    """(n_resamples,) bootstrap values of the mean over ``cells`` (each a list of runs) of their statistic; each
    cell resampled independently (cells have their own test items, e.g. the seven STS datasets), cell ``i`` from
    ``default_rng([seed, i])``, so a second system's cells in the same order get the same item indices."""
    total = np.zeros(n_resamples)
    for i, runs in enumerate(cells):
        total += _resampled(list(runs), n_resamples, np.random.default_rng([seed, i]))
    return total / len(cells)


def bootstrap_cells(cells: Sequence[Sequence[Items]], *, n_resamples: int = DEFAULT_RESAMPLES,
                    level: float = 0.95, seed: int = DEFAULT_SEED) -> Interval:
    """Interval of the mean over several cells (e.g. a table's Avg column)."""
    point = float(np.mean([np.mean([item_statistic(r) for r in runs]) for runs in cells]))
    lo, hi = _percentile(resampled_cells(cells, n_resamples=n_resamples, seed=seed), level)
    return Interval(point, lo, hi, level, sum(max(r.n for r in runs) for runs in cells), n_resamples, seed)


def paired_bootstrap_cells(a: Sequence[Sequence[Items]], b: Sequence[Sequence[Items]], *,
                           n_resamples: int = DEFAULT_RESAMPLES, level: float = 0.95,
                           seed: int = DEFAULT_SEED) -> PairedResult:
    """Paired bootstrap of mean-over-cells(a) - mean-over-cells(b); cell i of a and of b share their items."""
    if len(a) != len(b) or not a:
        raise ValueError("both systems need the same cells")
    for ca, cb in zip(a, b):
        _check_shared(list(ca), list(cb))
    mean = lambda cells: float(np.mean([np.mean([item_statistic(r) for r in runs]) for runs in cells]))  # noqa
    diff = mean(a) - mean(b)
    d = resampled_cells(a, n_resamples=n_resamples, seed=seed) - resampled_cells(b, n_resamples=n_resamples, seed=seed)
    d = d[~np.isnan(d)]
    lo, hi = _percentile(d, level)
    p = min(1.0, 2.0 * min((np.sum(d <= 0) + 1) / (len(d) + 1), (np.sum(d >= 0) + 1) / (len(d) + 1)))
    return PairedResult(diff, lo, hi, float(p), sum(ca[0].n for ca in a), "paired bootstrap over items",
                        n_resamples)
