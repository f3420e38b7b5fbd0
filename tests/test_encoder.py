"""SentenceEncoder: pooling, smart batching, sentence-transformers equivalence, saving."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repro.encoders.pooling import Pooling
from repro.encoders.transformer import SentenceEncoder
from repro.errors import ConfigError

TOK = torch.tensor(
    [
        [[1.0, 2.0], [3.0, -4.0], [100.0, 100.0]],  # third position is padding
        [[0.5, 0.5], [-1.0, 6.0], [2.0, 0.0]],
    ]
)
MASK = torch.tensor([[1, 1, 0], [1, 1, 1]])


def test_mean_pooling_ignores_padding():
    out = Pooling("mean")(TOK, MASK)
    assert torch.allclose(out[0], torch.tensor([2.0, -1.0]))
    assert torch.allclose(out[1], torch.tensor([0.5, 6.5 / 3]))


def test_max_pooling_ignores_padding():
    out = Pooling("max")(TOK, MASK)
    assert torch.equal(out[0], torch.tensor([3.0, 2.0]))  # the padded 100s never win
    assert torch.equal(out[1], torch.tensor([2.0, 6.0]))


def test_cls_pooling_takes_first_token():
    assert torch.equal(Pooling("cls")(TOK, MASK), TOK[:, 0])


def test_unknown_pooling_lists_allowed():
    with pytest.raises(ConfigError, match="allowed: mean, max, cls"):
        Pooling("avg")


@pytest.fixture(scope="module")
def smoke_encoder(smoke_bert):
    return SentenceEncoder(smoke_bert, pooling="mean", device="cpu")


SENTS = [
    "A man is playing a guitar.",
    "Hi",
    "The quick brown fox jumps over the lazy dog while the farmer watches from the old wooden porch.",
    "Two dogs run.",
    "",
    "A woman slices an onion into thin rings on a board.",
    "Stocks fell sharply on Monday.",
]


def test_smart_batching_keeps_input_order(smoke_encoder):
    one_by_one = np.vstack([smoke_encoder.encode([s], batch_size=1) for s in SENTS])
    smart = smoke_encoder.encode(SENTS, batch_size=3, smart_batching=True)
    plain = smoke_encoder.encode(SENTS, batch_size=3, smart_batching=False)
    np.testing.assert_allclose(smart, one_by_one, atol=1e-5)
    np.testing.assert_allclose(plain, one_by_one, atol=1e-5)
    assert smart.dtype == np.float32 and smart.shape == (len(SENTS), smoke_encoder.dim)


def test_smoke_tokenizer_has_the_trained_vocabulary(smoke_encoder):
    tok = smoke_encoder.tokenizer
    assert tok.vocab_size > 1000
    ids = tok("a man is playing a guitar")["input_ids"]
    assert tok.unk_token_id not in ids and len(set(ids)) > 4


def test_encode_rejects_a_bare_string(smoke_encoder):
    with pytest.raises(TypeError, match="list of sentences"):
        smoke_encoder.encode("just one string")


def test_encode_empty_list(smoke_encoder):
    assert smoke_encoder.encode([]).shape == (0, smoke_encoder.dim)


def test_truncation_to_max_seq_length(smoke_bert):
    enc = SentenceEncoder(smoke_bert, max_seq_length=8, device="cpu")
    long = " ".join(["word"] * 100)
    assert enc.tokenize([long])["input_ids"].shape[1] == 8
    assert enc.encode([long]).shape == (1, enc.dim)


def test_max_seq_length_over_model_limit_is_refused(smoke_bert):
    with pytest.raises(ConfigError, match="positions"):
        SentenceEncoder(smoke_bert, max_seq_length=4096, device="cpu")


def test_bf16_stays_close_to_fp32(smoke_bert, smoke_encoder):
    bf = SentenceEncoder(smoke_bert, dtype="bf16", device="cpu")
    a, b = smoke_encoder.encode(SENTS), bf.encode(SENTS)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.99


def test_layer_option_pools_another_layer(smoke_bert, smoke_encoder):
    second_last = SentenceEncoder(smoke_bert, layer=-2, device="cpu")
    assert not np.allclose(second_last.encode(SENTS), smoke_encoder.encode(SENTS))


def test_saved_folder_loads_in_sentence_transformers(tmp_path, smoke_bert):
    st = pytest.importorskip("sentence_transformers")
    for pooling in ("mean", "max", "cls"):
        enc = SentenceEncoder(smoke_bert, pooling=pooling, device="cpu")
        path = enc.save(tmp_path / pooling)
        peer = st.SentenceTransformer(str(path), device="cpu")
        np.testing.assert_allclose(peer.encode(SENTS, batch_size=4), enc.encode(SENTS), atol=1e-5)
        again = SentenceEncoder(path, device="cpu")
        assert again.pooling.mode == pooling
        np.testing.assert_allclose(again.encode(SENTS), enc.encode(SENTS), atol=1e-6)


@pytest.mark.needs_weights
@pytest.mark.parametrize("pooling", ["mean", "max", "cls"])
def test_same_embeddings_as_sentence_transformers_minilm(minilm_path, stsb_test, pooling):
    """Same model + pooling -> same vectors as sentence-transformers (max abs diff <= 1e-5, fp32)."""
    st = pytest.importorskip("sentence_transformers")
    sents = sorted(set(stsb_test.sentences1))[:300]
    ours = SentenceEncoder(minilm_path, pooling=pooling, device="cpu")
    if pooling == "mean":
        peer = st.SentenceTransformer(str(minilm_path), device="cpu")
    else:
        word = st.models.Transformer(str(minilm_path), max_seq_length=ours.max_seq_length)
        dim_of = getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension
        pool = st.models.Pooling(dim_of(), pooling_mode=pooling)
        peer = st.SentenceTransformer(modules=[word, pool, st.models.Normalize()], device="cpu")
    theirs = peer.encode(sents, batch_size=32, convert_to_numpy=True)
    mine = ours.encode(sents, batch_size=32)
    assert np.abs(mine - theirs).max() <= 1e-5
