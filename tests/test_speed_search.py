"""Most-similar-pair search (repro/speed/search.py) and the cross-encoder side of the claim (repro/speed/cross.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repro.errors import ConfigError
from repro.speed import cross, search

SENTENCES = [
    "A man is playing a guitar.", "A man plays the guitar.", "A woman is slicing an onion.",
    "Two dogs run across a snowy field.", "The stock market fell sharply on Tuesday.", "A plane is taking off.",
    "An air plane is taking off.", "Kids play in the park.", "The cat sits on the mat.", "Stocks dropped on Tuesday.",
]


@pytest.mark.parametrize("n,block", [(2, 4096), (37, 5), (100, 64), (257, 256)])
def test_most_similar_pair_matches_brute_force(n, block):
    rng = np.random.default_rng(n)
    emb = rng.standard_normal((n, 8)).astype(np.float32)
    got = search.most_similar_pair(emb, block=block)
    ref = search.most_similar_pair_bruteforce(emb)
    assert (got.i, got.j) == (ref.i, ref.j)
    assert got.i < got.j
    assert got.cosine == pytest.approx(ref.cosine, abs=1e-5)


@pytest.mark.parametrize("block", [7, 4096])
def test_top_pairs_are_the_k_best(block):
    rng = np.random.default_rng(5)
    emb = rng.standard_normal((60, 5))
    e = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    allp = sorted(((float(e[i] @ e[j]), i, j) for i in range(60) for j in range(i + 1, 60)), reverse=True)
    got = search.top_pairs(emb, 10, block=block)
    assert [(p.i, p.j) for p in got] == [(i, j) for _, i, j in allp[:10]]
    assert [p.cosine for p in got] == pytest.approx([c for c, _, _ in allp[:10]], abs=1e-5)
    assert len(search.top_pairs(emb[:3], 50)) == 3  # only 3 pairs exist


def test_most_similar_pair_ignores_the_diagonal_and_accepts_tensors():
    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]])
    got = search.most_similar_pair(emb, block=1)
    assert (got.i, got.j) == (0, 2)
    with pytest.raises(ValueError, match="n >= 2"):
        search.most_similar_pair(np.ones((1, 3)))


def test_n_pairs_is_the_papers_number():
    assert search.n_pairs(10_000) == 49_995_000


def test_end_to_end_reports_times_and_the_pair():
    rng = np.random.default_rng(0)
    table = {s: rng.standard_normal(6) for s in SENTENCES}
    table[SENTENCES[6]] = table[SENTENCES[5]] + 0.01
    out = search.end_to_end(lambda ss: np.stack([table[s] for s in ss]), SENTENCES)
    assert out["pair"] == [5, 6]
    assert out["total_s"] >= out["encode_s"] >= 0 and out["search_s"] >= 0
    assert out["n"] == len(SENTENCES)


# ------------------------------------------------------------------------------------------------ cross-encoder
def test_hours_for_all_pairs():
    # 36.7 pairs/s (a BERT-base cross-encoder on 2 CPU cores) -> 49,995,000 / 36.7 / 3600 = 378.4 h
    assert cross.hours_for_all_pairs(36.7) == pytest.approx(378.4, abs=0.1)
    assert cross.hours_for_all_pairs(213.7, n=10_000) == pytest.approx(65.0, abs=0.1)  # the paper's ~65 h


def test_sample_pairs_are_distinct_ordered_and_reproducible():
    pairs = cross.sample_pairs(SENTENCES, 50, seed=3)
    assert len(pairs) == 50
    idx = {s: i for i, s in enumerate(SENTENCES)}
    assert all(idx[a] < idx[b] for a, b in pairs)
    assert pairs == cross.sample_pairs(SENTENCES, 50, seed=3)
    with pytest.raises(ConfigError):
        cross.sample_pairs(SENTENCES[:1], 5)


@pytest.fixture(scope="module")
def tiny_cross(minilm_path):
    from transformers import AutoTokenizer, BertConfig, BertModel

    tok = AutoTokenizer.from_pretrained(str(minilm_path))
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                 intermediate_size=64), add_pooling_layer=False).eval()
    return cross.CrossEncoder(model, tok, max_seq_length=24)


def test_fast_cross_encoder_fp32_equals_the_plain_one(tiny_cross):
    pairs = cross.sample_pairs(SENTENCES, 40, seed=1)
    ref = tiny_cross.predict(pairs, batch_size=7)
    assert ref.shape == (40,)
    np.testing.assert_allclose(tiny_cross.predict_fast(pairs, precision="fp32", token_budget=50), ref, atol=1e-5)


def test_fast_cross_encoder_bf16_keeps_the_ranking(tiny_cross):
    from scipy.stats import spearmanr

    pairs = cross.sample_pairs(SENTENCES, 45, seed=2)
    ref = tiny_cross.predict(pairs)
    got = tiny_cross.predict_fast(pairs, precision="bf16")
    assert spearmanr(ref, got).statistic > 0.99
    assert np.abs(got - ref).max() < 0.05 * ref.std() + 1e-3


def test_cross_encoder_bad_batch_size(tiny_cross):
    with pytest.raises(ConfigError, match="batch_size"):
        tiny_cross.predict([("a", "b")], batch_size=0)


@pytest.mark.slow
@pytest.mark.needs_weights
@pytest.mark.needs_data
def test_fast_end_to_end_finds_the_fp32_answer_on_minilm(minilm_path, stsb_test):
    """The fast path's most similar pair has the fp32 best cosine (to 1e-3) on real weights and data."""
    from repro.encoders.transformer import SentenceEncoder
    from repro.encoders.fast import fast_encode

    enc = SentenceEncoder(minilm_path, device="cpu")
    sents = sorted(set(stsb_test.sentences1) | set(stsb_test.sentences2))[:600]
    ref = enc.encode(sents)
    best = search.most_similar_pair(ref)
    out = search.end_to_end(lambda s: fast_encode(enc, s, precision="bf16", output="tensor"), sents)
    i, j = out["pair"]
    found = float(ref[i] @ ref[j] / (np.linalg.norm(ref[i]) * np.linalg.norm(ref[j])))
    assert found >= best.cosine - 1e-3
