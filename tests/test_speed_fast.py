"""The fast encode path (repro/encoders/fast.py): same ids, same batching guarantees, and faithful embeddings.

Faithfulness targets for every fast path: cosine >= 0.999 to the fp32 reference (``encode()``) for every
sentence, and the STSb Spearman within 0.1 of the reference (on the smoke BERT and on all-MiniLM-L6-v2).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repro.errors import ConfigError
from repro.encoders import fast

SENTENCES = [
    "A man is playing a guitar.",
    "A woman is slicing an onion.",
    "Two dogs run across a snowy field, chasing a red ball.",
    "The stock market fell sharply on Tuesday after the announcement.",
    "Hi.",
    "A plane is taking off.",
    "An air plane is taking off.",
    "Nobody knows exactly how many people live in the old city, but estimates range from two to three million.",
    "Kids play.",
    "The cat sits on the mat and looks out of the window at the birds in the garden.",
]


def _cos(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def tokenizer(minilm_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(minilm_path))


def _tiny(kind: str = "bert", seed: int = 0, act: str = "gelu"):
    from transformers import BertConfig, BertModel, RobertaConfig, RobertaModel

    torch.manual_seed(seed)
    kw = dict(vocab_size=30522, hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=64,
              max_position_embeddings=130, hidden_act=act)
    if kind == "roberta":
        return RobertaModel(RobertaConfig(pad_token_id=0, **kw), add_pooling_layer=False).eval()
    return BertModel(BertConfig(**kw), add_pooling_layer=False).eval()


@pytest.fixture(scope="module")
def tiny_encoder(tokenizer):
    from repro.encoders.transformer import SentenceEncoder

    return SentenceEncoder(_tiny(), tokenizer=tokenizer, device="cpu", name="tiny")


# ------------------------------------------------------------------------------------------------ tokenising
@pytest.mark.parametrize("workers", [1, 3])
def test_tokenize_ahead_gives_the_tokenizers_ids(tokenizer, workers):
    many = SENTENCES * 20
    tok = fast.tokenize_ahead(tokenizer, many, max_length=128, workers=workers)
    ref = tokenizer(many, truncation=True, max_length=128)["input_ids"]
    assert len(tok) == len(many)
    assert [tok.row(i) for i in range(len(many))] == ref
    assert tok.type_ids is None


def test_tokenize_ahead_truncates_like_the_tokenizer(tokenizer):
    tok = fast.tokenize_ahead(tokenizer, SENTENCES, max_length=8)
    ref = tokenizer(SENTENCES, truncation=True, max_length=8)["input_ids"]
    assert [tok.row(i) for i in range(len(SENTENCES))] == ref
    assert tok.lengths.max() == 8


def test_tokenize_ahead_pairs_with_segment_ids(tokenizer):
    pairs = list(zip(SENTENCES, SENTENCES[::-1]))
    tok = fast.tokenize_ahead(tokenizer, pairs, max_length=20, workers=2)
    ref = tokenizer([a for a, _ in pairs], [b for _, b in pairs], truncation=True, max_length=20)
    for i in range(len(pairs)):
        assert tok.row(i) == ref["input_ids"][i]
        assert tok.type_ids[tok.offsets[i] : tok.offsets[i + 1]].tolist() == ref["token_type_ids"][i]


def test_tokenize_ahead_empty(tokenizer):
    tok = fast.tokenize_ahead(tokenizer, [], max_length=16)
    assert len(tok) == 0 and tok.ids.size == 0


# ------------------------------------------------------------------------------------------------ batching
def test_plan_batches_cover_every_sentence_once_within_the_budget():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 60, size=500)
    for budget in (1, 50, 256, 4096):
        plan = fast.plan_batches(lengths, budget)
        flat = np.concatenate(plan)
        assert sorted(flat.tolist()) == list(range(500))
        for b in plan:
            assert len(b) == 1 or len(b) * lengths[b].max() <= budget
        widths = [lengths[b].max() for b in plan]
        assert widths == sorted(widths, reverse=True)  # longest first


def test_plan_batches_max_rows_and_bad_budget():
    plan = fast.plan_batches(np.full(100, 5), 10_000, max_rows=7)
    assert max(len(b) for b in plan) == 7
    with pytest.raises(ConfigError, match="token_budget"):
        fast.plan_batches(np.array([3]), 0)


def test_sorted_batching_pads_far_less_than_corpus_order():
    lengths = np.random.default_rng(1).integers(5, 70, size=2000)
    corpus = [np.arange(s, min(s + 32, 2000)) for s in range(0, 2000, 32)]
    assert fast.padded_fraction(lengths, fast.plan_batches(lengths, 32 * 70)) < 0.1
    assert fast.padded_fraction(lengths, corpus) > 0.3


def test_pad_rows(tokenizer):
    tok = fast.tokenize_ahead(tokenizer, SENTENCES, 128)
    idx = np.array([4, 0, 8])
    ids, lens = fast.pad_rows(tok, idx, pad_id=0)
    assert ids.shape == (3, lens.max())
    for r, i in enumerate(idx):
        assert ids[r, : lens[r]].tolist() == tok.row(i)
        assert (ids[r, lens[r]:] == 0).all()


# ------------------------------------------------------------------------------------------------ the stack
@pytest.mark.parametrize("kind,act", [("bert", "gelu"), ("roberta", "gelu"), ("bert", "gelu_new"), ("bert", "relu")])
def test_fast_stack_fp32_equals_the_hf_forward(tokenizer, kind, act):
    model = _tiny(kind, act=act)
    enc = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    mask = enc["attention_mask"].bool()
    with torch.inference_mode():
        ref = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], output_hidden_states=True)
        stack = fast.FastStack(model, "fp32")
        got = stack(enc["input_ids"], mask)
        diff = (got - ref.last_hidden_state)[mask].abs().max().item()
        assert diff < 1e-5
        two = fast.FastStack(model, "fp32", n_layers=2)(enc["input_ids"], mask)
        assert (two - ref.hidden_states[2])[mask].abs().max().item() < 1e-5


def test_fast_stack_segment_ids(tokenizer):
    model = _tiny()
    enc = tokenizer(SENTENCES[:4], SENTENCES[4:8], padding=True, return_tensors="pt")
    with torch.inference_mode():
        ref = model(**enc).last_hidden_state
        got = fast.FastStack(model, "fp32")(enc["input_ids"], enc["attention_mask"].bool(), enc["token_type_ids"])
    m = enc["attention_mask"].bool()
    assert (got - ref)[m].abs().max().item() < 1e-5


def test_unsupported_models_are_named():
    from transformers import DistilBertConfig, DistilBertModel

    m = DistilBertModel(DistilBertConfig(vocab_size=100, dim=16, n_layers=1, n_heads=2, hidden_dim=32))
    assert "not BERT-family" in fast.unsupported_reason(m)
    with pytest.raises(ConfigError, match="FastStack"):
        fast.FastStack(m)
    assert fast.unsupported_reason(_tiny()) is None


# ------------------------------------------------------------------------------------------------ fast_encode
@pytest.mark.parametrize("pooling", ["mean", "max", "cls"])
def test_fast_fp32_equals_encode(tokenizer, pooling):
    from repro.encoders.transformer import SentenceEncoder

    enc = SentenceEncoder(_tiny(), tokenizer=tokenizer, pooling=pooling, device="cpu", name="tiny")
    ref = enc.encode(SENTENCES)
    for budget in (16, 64, 10_000):
        got = enc.encode(SENTENCES, fast=True, precision="fp32", token_budget=budget)
        assert got.shape == ref.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, ref, atol=1e-5)


def test_fast_keeps_input_order_and_options(tokenizer):
    from repro.encoders.transformer import SentenceEncoder

    enc = SentenceEncoder(_tiny(), tokenizer=tokenizer, layer=-2, normalize=True, max_seq_length=12,
                          device="cpu", name="tiny")
    ref = enc.encode(SENTENCES)
    got = enc.encode(SENTENCES[::-1], fast=True, precision="fp32", token_budget=40)[::-1]
    np.testing.assert_allclose(got, ref, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_fast_low_precision_is_faithful_on_a_random_bert(tiny_encoder, precision):
    ref = tiny_encoder.encode(SENTENCES * 3)
    got = tiny_encoder.encode(SENTENCES * 3, fast=True, precision=precision, token_budget=64)
    assert _cos(got, ref).min() >= 0.999


def test_hf_module_path_and_non_bert_models(tokenizer):
    from transformers import DistilBertConfig, DistilBertModel

    from repro.encoders.transformer import SentenceEncoder

    torch.manual_seed(0)
    m = DistilBertModel(DistilBertConfig(vocab_size=30522, dim=32, n_layers=2, n_heads=4, hidden_dim=64)).eval()
    enc = SentenceEncoder(m, tokenizer=tokenizer, device="cpu", name="distil")
    ref = enc.encode(SENTENCES)
    np.testing.assert_allclose(enc.encode(SENTENCES, fast=True, precision="fp32", token_budget=48), ref, atol=1e-5)
    assert _cos(enc.encode(SENTENCES, fast=True, precision="bf16"), ref).min() >= 0.999
    tiny = SentenceEncoder(_tiny(), tokenizer=tokenizer, device="cpu", name="tiny")
    np.testing.assert_allclose(fast.fast_encode(tiny, SENTENCES, precision="fp32", use_stack=False),
                               tiny.encode(SENTENCES), atol=1e-5)


def test_stack_cache_follows_weight_updates(tokenizer):
    from repro.encoders.transformer import SentenceEncoder

    enc = SentenceEncoder(_tiny(), tokenizer=tokenizer, device="cpu", name="tiny")
    before = enc.encode(SENTENCES, fast=True, precision="fp32")
    with torch.no_grad():
        enc.transformer.encoder.layer[0].output.dense.weight.mul_(3.0)  # as an optimiser step would (in place)
    after = enc.encode(SENTENCES, fast=True, precision="fp32")
    np.testing.assert_allclose(after, enc.encode(SENTENCES), atol=1e-5)
    assert np.abs(after - before).max() > 1e-3


def test_fast_options_need_fast_and_valid_values(tiny_encoder):
    with pytest.raises(ConfigError, match="fast=True"):
        tiny_encoder.encode(SENTENCES, precision="bf16")
    with pytest.raises(ConfigError, match="precision"):
        tiny_encoder.encode(SENTENCES, fast=True, precision="int3")
    with pytest.raises(ConfigError, match="token_budget"):
        tiny_encoder.encode(SENTENCES, fast=True, token_budget=-5)
    assert tiny_encoder.encode([], fast=True).shape == (0, tiny_encoder.dim)
    with pytest.raises(TypeError):
        tiny_encoder.encode("a bare string", fast=True)


def test_default_precision_follows_the_cpu(monkeypatch, tmp_path):
    """No bf16 flag: fp32. A bf16 flag: whatever the calibration measures (tests/test_speed_calibrate.py)."""
    from repro.encoders import calibrate

    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path))
    fast.cpu_flags.cache_clear()
    monkeypatch.setattr(fast, "cpu_flags", lambda: frozenset({"avx2"}))
    assert fast.default_precision("cpu") == "fp32"
    monkeypatch.setattr(fast, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    monkeypatch.setattr(calibrate, "time_products", lambda h, f: {"fp32_s": 1.0, "bf16_s": 0.4, "min_cosine": 1.0})
    assert fast.default_precision("cpu") == ("bf16" if torch.backends.mkldnn.is_available() else "fp32")
    assert fast.default_token_budget("cpu") == fast.DEFAULT_TOKEN_BUDGET["cpu"]


# ------------------------------------------------------------------------------------------------ real weights
def _faithfulness(encoder, stsb, precision: str) -> tuple[float, float, float]:
    """(min cosine to the fp32 reference, reference Spearman x100, fast Spearman x100) on STSb test."""
    from scipy.stats import spearmanr

    sents = sorted(set(stsb.sentences1) | set(stsb.sentences2))
    ref = encoder.encode(sents)
    got = encoder.encode(sents, fast=True, precision=precision)
    row = {s: i for i, s in enumerate(sents)}
    i1 = [row[s] for s in stsb.sentences1]
    i2 = [row[s] for s in stsb.sentences2]

    def rho(e):
        return 100 * spearmanr(_cos(e[i1], e[i2]), stsb.scores).statistic

    return float(_cos(got, ref).min()), rho(ref), rho(got)


@pytest.mark.slow
@pytest.mark.needs_data
@pytest.mark.parametrize("precision", ["bf16", "fp32"])
@pytest.mark.parametrize("model", [pytest.param("minilm_path", marks=pytest.mark.needs_weights), "smoke_bert"])
def test_fast_path_faithful_on_stsb(request, model, stsb_test, precision):
    """all-MiniLM-L6-v2 (real weights) and the smoke BERT (random weights, its own WordPiece vocabulary): the fast
    path's embeddings have cosine >= 0.999 to the fp32 reference and the same STSb Spearman to 0.1."""
    from repro.encoders.transformer import SentenceEncoder

    enc = SentenceEncoder(request.getfixturevalue(model), device="cpu")
    assert enc.tokenizer.vocab_size > 1000  # a real vocabulary (transformers 5 once gave the smoke BERT 5 entries)
    cos_min, rho_ref, rho_fast = _faithfulness(enc, stsb_test, precision)
    assert cos_min >= 0.999
    assert abs(rho_fast - rho_ref) <= 0.1
    if model == "minilm_path":
        assert rho_ref > 75  # the real model, really loaded (all-MiniLM-L6-v2 scores ~82 on STSb test)
