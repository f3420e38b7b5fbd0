"""The rehearsal's tiny random models (repro/rehearsal/models.py, issue 20): each loads through repro/weights.py's
real resolution path (``--model-path ID=DIR``) and repro/encoders/transformer.py, with the real checkpoints'
classes and tokenizer kinds; large differs from base; the SBERT checkpoints have the hub's layout; deterministic."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from repro import weights
from repro.encoders.transformer import SentenceEncoder, read_st_config
from repro.rehearsal.models import (
    BERT_BASE,
    BERT_LARGE,
    ROBERTA_BASE,
    ROBERTA_LARGE,
    SBERT,
    USE_LARGE_3,
    build_models,
    model_ids,
    tensorflow_available,
)

pytestmark = pytest.mark.slow  # builds eight models (imports transformers: seconds)

TEXT = ["A man is playing a guitar.", "A woman is slicing an onion.", "Two dogs run on the beach.",
        "The stock market fell sharply today.", "Kids play football in the park.", "A man plays the guitar.",
        "Kids are playing in the park.", "The market fell.", "Dogs run."]
# The paper profile's model ids (repro/weights.py ALIASES give the short SBERT names).
PAPER_IDS = [BERT_BASE, BERT_LARGE, ROBERTA_BASE, ROBERTA_LARGE, "bert-base-nli-mean-tokens",
             "bert-large-nli-mean-tokens", "roberta-base-nli-mean-tokens", "roberta-large-nli-mean-tokens"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    return build_models(tmp_path_factory.mktemp("models"), seed=0, vocab_text=TEXT)


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _tokenizer_json(folder: Path) -> dict:
    return json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))


def test_every_paper_model_id_resolves_and_encodes_through_the_real_path(built):
    assert set(built) == set(model_ids())
    for model_id, folder in built.items():
        if model_id != USE_LARGE_3:
            weights.set_model_path(model_id, folder)
    for name in PAPER_IDS:
        hub_id = weights.canonical_id(name)
        assert weights.resolve_model(name) == built[hub_id].resolve()
        enc = SentenceEncoder(name, device="cpu")
        kind = "Roberta" if "roberta" in name else "Bert"
        assert type(enc.transformer).__name__ == f"{kind}Model"
        assert type(enc.tokenizer).__name__.startswith(f"{kind}Tokenizer")
        emb = enc.encode(TEXT[:3])
        assert emb.shape == (3, enc.transformer.config.hidden_size) and np.isfinite(emb).all()


def test_tokenizers_are_uncased_wordpiece_and_byte_level_bpe(built):
    for model_id in (BERT_BASE, BERT_LARGE, "sentence-transformers/bert-base-nli-mean-tokens"):
        tj = _tokenizer_json(built[model_id])
        assert tj["model"]["type"] == "WordPiece" and tj["normalizer"]["lowercase"] is True
        vocab = (built[model_id] / "vocab.txt").read_text(encoding="utf-8").splitlines()
        assert [vocab.index(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")] == [0, 100, 101, 102, 103]
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(built[model_id]))
        assert tok.tokenize("A MAN plays") == tok.tokenize("a man plays")
        assert "[UNK]" not in tok.tokenize("a man is playing a guitar")
    for model_id in (ROBERTA_BASE, ROBERTA_LARGE, "sentence-transformers/roberta-large-nli-mean-tokens"):
        tj = _tokenizer_json(built[model_id])
        assert tj["model"]["type"] == "BPE" and tj["pre_tokenizer"]["type"] == "ByteLevel"
        vocab = json.loads((built[model_id] / "vocab.json").read_text(encoding="utf-8"))
        assert [vocab[t] for t in ("<s>", "<pad>", "</s>", "<unk>")] == [0, 1, 2, 3]
        assert (built[model_id] / "merges.txt").is_file()


def test_large_differs_from_base_in_depth_and_width(built):
    for base, large in ((BERT_BASE, BERT_LARGE), (ROBERTA_BASE, ROBERTA_LARGE)):
        cb = weights.transformer_config(built[base])
        cl = weights.transformer_config(built[large])
        assert cl["num_hidden_layers"] > cb["num_hidden_layers"] and cl["hidden_size"] > cb["hidden_size"]
        assert cb["model_type"] == cl["model_type"] == ("roberta" if "roberta" in base else "bert")
    assert weights.transformer_config(built[ROBERTA_BASE])["max_position_embeddings"] == 514


def test_sbert_checkpoints_have_the_hub_layout_and_load_in_sentence_transformers(built):
    for hub_id, base in SBERT.items():
        folder = built[hub_id]
        modules = json.loads((folder / "modules.json").read_text())
        assert [(m["path"], m["type"].rsplit(".", 1)[1]) for m in modules] == [("", "Transformer"),
                                                                               ("1_Pooling", "Pooling")]
        pool = json.loads((folder / "1_Pooling" / "config.json").read_text())
        assert pool["pooling_mode_mean_tokens"] and not pool["pooling_mode_cls_token"]
        assert pool["word_embedding_dimension"] == weights.transformer_config(folder)["hidden_size"]
        st = read_st_config(folder)
        assert st["transformer_dir"] == folder and st["pooling"] == "mean" and st["max_seq_length"] == 128
        assert weights.transformer_config(folder)["hidden_size"] == weights.transformer_config(built[base])[
            "hidden_size"]
    sentence_transformers = pytest.importorskip("sentence_transformers")
    folder = built["sentence-transformers/bert-base-nli-mean-tokens"]
    theirs = sentence_transformers.SentenceTransformer(str(folder), device="cpu").encode(TEXT[:3])
    ours = SentenceEncoder(str(folder), device="cpu").encode(TEXT[:3])
    assert np.allclose(theirs, ours, atol=1e-5)


def test_the_build_is_deterministic_for_a_seed(built, tmp_path):
    again = build_models(tmp_path / "again", seed=0, vocab_text=list(reversed(TEXT)))  # order does not matter
    for model_id, folder in built.items():
        assert _files(again[model_id]) == _files(folder), model_id
    other = build_models(tmp_path / "other", seed=1, vocab_text=TEXT)
    a, b = _files(other[BERT_BASE]), _files(built[BERT_BASE])
    assert a["model.safetensors"] != b["model.safetensors"] and a["vocab.txt"] == b["vocab.txt"]


def test_use_is_built_only_with_tensorflow(built):
    assert (USE_LARGE_3 in built) == tensorflow_available()
    if not tensorflow_available():
        pytest.skip("tensorflow not installed: the USE SavedModel is built in `tox -e use`")
    from repro.encoders.use import check_saved_model

    check_saved_model(built[USE_LARGE_3], USE_LARGE_3)
