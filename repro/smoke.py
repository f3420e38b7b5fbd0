"""The smoke profile's model: a tiny randomly initialised BERT with a WordPiece vocabulary built from the data.

It has the code path of a real BERT (tokenizer, BertModel, pooling, saving) at a size that runs every pipeline
in seconds. Built once, deterministically (fixed seed, vocabulary trained on the STSb training sentences of the
data root), and cached under the user cache keyed by its recipe.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable

SMOKE_CONFIG = dict(
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=128,
    max_position_embeddings=128,
    type_vocab_size=2,
)
SMOKE_VOCAB_SIZE = 2000
SMOKE_SEED = 0


def build_tiny_bert(sentences: Iterable[str], out_dir: str | os.PathLike, vocab_size: int = SMOKE_VOCAB_SIZE,
                    seed: int = SMOKE_SEED, **config) -> Path:
    """Train a lower-casing WordPiece vocabulary on ``sentences`` and save a random BertModel beside it."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wp = BertWordPieceTokenizer(lowercase=True)
    wp.train_from_iterator(list(sentences), vocab_size=vocab_size, min_frequency=1, show_progress=False)
    wp.save_model(str(out))
    # Built from the trained tokenizer object itself: `BertTokenizerFast(vocab_file=...)` silently yields a
    # 5-token vocabulary under transformers 5 (everything would become [UNK]).
    tok = BertTokenizerFast(tokenizer_object=wp._tokenizer, do_lower_case=True, unk_token="[UNK]",
                            sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]")
    if tok.vocab_size < 100:
        raise RuntimeError(f"smoke tokenizer has only {tok.vocab_size} entries")
    tok.model_max_length = config.get("max_position_embeddings", SMOKE_CONFIG["max_position_embeddings"])
    tok.save_pretrained(str(out))
    cfg = BertConfig(vocab_size=tok.vocab_size, **{**SMOKE_CONFIG, **config})
    torch.manual_seed(seed)
    model = BertModel(cfg, add_pooling_layer=False)
    from transformers.utils import logging as tlog

    tlog.disable_progress_bar()
    try:
        model.save_pretrained(str(out), safe_serialization=True)
    finally:
        tlog.enable_progress_bar()
    return out


def smoke_bert_path(data_root=None) -> Path:
    """The cached smoke BERT for this data root (built on first use)."""
    from repro.data.sts import load_stsb
    from repro.paths import cached_build

    train = load_stsb("train", root=data_root)
    sentences = sorted(set(train.sentences1) | set(train.sentences2))
    recipe = json.dumps({"config": SMOKE_CONFIG, "vocab": SMOKE_VOCAB_SIZE, "seed": SMOKE_SEED, "tokenizer": 2,
                         "corpus": hashlib.sha256("\n".join(sentences).encode()).hexdigest()}, sort_keys=True)
    return cached_build("smoke-bert", recipe, lambda tmp: build_tiny_bert(sentences, tmp))
