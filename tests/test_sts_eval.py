"""STS evaluation: cosine, Spearman, pooled vs weighted-mean aggregation, and agreement with sentence-transformers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from repro.data.records import PairSet, SentencePair, STSTask
from repro.evaluation.sts import cosine_rows, evaluate_sts, spearman_x100


def test_cosine_rows_hand_computed():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    b = np.array([[0.0, 2.0], [2.0, 2.0], [1.0, 0.0]])
    np.testing.assert_allclose(cosine_rows(a, b), [0.0, 1.0, 0.0])


def test_spearman_x100_hand_computed():
    assert spearman_x100([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(100.0)
    assert spearman_x100([1, 2, 3, 4], [40, 30, 20, 10]) == pytest.approx(-100.0)
    # one swapped pair of four: rho = 1 - 6*2/(4*15) = 0.8
    assert spearman_x100([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(80.0)


class LookupEncoder:
    """Vectors from a table: lets the aggregation be checked by hand."""

    name = "lookup"

    def __init__(self, table):
        self.table = table

    def encode(self, sentences, batch_size=32):
        return np.array([self.table[s] for s in sentences], dtype=np.float32)


def _angle(deg):
    return [np.cos(np.radians(deg)), np.sin(np.radians(deg))]


def test_pooled_and_weighted_mean_aggregation():
    # Sub-dataset A: 4 pairs ranked perfectly; B: 2 pairs ranked backwards.
    table = {"x": _angle(0)}
    pairs_a, pairs_b = [], []
    for i, deg in enumerate([10, 30, 50, 70]):
        table[f"a{i}"] = _angle(deg)
        pairs_a.append(SentencePair("x", f"a{i}", 5.0 - i))
    for i, deg in enumerate([20, 80]):
        table[f"b{i}"] = _angle(deg)
        pairs_b.append(SentencePair("x", f"b{i}", 1.0 + 3 * i))
    task = STSTask("T", {"A": PairSet("T/A", pairs_a), "B": PairSet("T/B", pairs_b)})
    res = evaluate_sts(LookupEncoder(table), [task])["T"]
    assert res["subsets"]["A"]["spearman"] == pytest.approx(100.0)
    assert res["subsets"]["B"]["spearman"] == pytest.approx(-100.0)
    assert res["spearman_wmean"] == pytest.approx((4 * 100 - 2 * 100) / 6)
    cos = [np.cos(np.radians(d)) for d in [10, 30, 50, 70, 20, 80]]
    gold = [5, 4, 3, 2, 1, 4]
    assert res["spearman_all"] == pytest.approx(spearmanr(cos, gold).statistic * 100)
    assert res["n_pairs"] == 6


@pytest.mark.slow
@pytest.mark.needs_weights
def test_pipeline_spearman_equals_sentence_transformers_on_stsb_test(minilm_path, stsb_test):
    """Our whole pipeline vs sentence-transformers' own encode(), all-MiniLM-L6-v2, STSb test: equal to 0.01."""
    st = pytest.importorskip("sentence_transformers")
    from repro.encoders.transformer import SentenceEncoder

    ours = evaluate_sts(SentenceEncoder(minilm_path, device="cpu"), [STSTask("STSb", {"test": stsb_test})])
    peer = st.SentenceTransformer(str(minilm_path), device="cpu")
    e1 = peer.encode(stsb_test.sentences1, batch_size=32, convert_to_numpy=True)
    e2 = peer.encode(stsb_test.sentences2, batch_size=32, convert_to_numpy=True)
    theirs = spearmanr(cosine_rows(e1, e2), stsb_test.scores).statistic * 100
    assert ours["STSb"]["spearman_all"] == pytest.approx(theirs, abs=0.01)
    assert 75 < theirs < 90  # all-MiniLM-L6-v2 is a strong STS model: a sanity bound, not the tested claim


def test_one_cosine_and_its_zero_vector_rule():
    """Against a zero vector the cosine is 0 (never NaN); two zero vectors: 0 when scoring, 1 when checking that
    two computations of one embedding agree (the speed suite)."""
    from repro.encoders.base import cosine_rows as base_cos
    from repro.speed.bench import cosine_rows as bench_cos

    a = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [3.0, 4.0]])
    b = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [6.0, 8.0]])
    np.testing.assert_allclose(cosine_rows(a, b), [0.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(bench_cos(a, b), [1.0, 0.0, 0.0, 1.0])
    assert cosine_rows is base_cos


def test_one_encode_unique():
    """STS encodes each distinct sentence once, in sorted order, through the one encode_unique."""
    from repro.evaluation.sts import encode_unique

    seen = []

    class Enc:
        name = "e"

        def encode(self, sentences, batch_size=32):
            seen.append(list(sentences))
            return np.arange(len(sentences) * 2, dtype=float).reshape(-1, 2)

    out = encode_unique(Enc(), ["b", "a", "b"])
    assert seen == [["a", "b"]] and list(out) == ["a", "b"]
