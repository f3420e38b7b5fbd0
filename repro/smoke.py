"""The smoke profile's model: a tiny randomly initialised BERT with a WordPiece vocabulary built from the data.

It has the code path of a real BERT (tokenizer, BertModel, pooling, saving) at a size that runs every pipeline
in a few minutes on a CPU. Built once, deterministically (fixed seed; a vocabulary made from the STSb training
sentences of the data root by :func:`wordpiece_vocab`, identical on every machine), and cached under the user
cache keyed by its recipe.
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


SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def wordpiece_vocab(sentences: Iterable[str], vocab_size: int = SMOKE_VOCAB_SIZE) -> list[str]:
    """A WordPiece vocabulary that depends on nothing but ``sentences`` (same list on every machine and run).

    The special tokens, every character seen (alone and as a ``##`` continuation, so any word of the data can be
    spelled), then whole words by frequency (ties alphabetically) up to ``vocab_size``. The tokenizers library's
    trainer is not used: its merges break ties in hash-map order, which differs in every process.
    """
    from collections import Counter

    from tokenizers.normalizers import BertNormalizer
    from tokenizers.pre_tokenizers import BertPreTokenizer

    norm, pre = BertNormalizer(lowercase=True), BertPreTokenizer()
    words: Counter = Counter()
    for sent in sentences:
        words.update(w for w, _ in pre.pre_tokenize_str(norm.normalize_str(sent)))
    chars = sorted({c for w in words for c in w})
    cont = sorted({c for w in words for c in w[1:]})
    vocab = list(SPECIAL_TOKENS) + chars + ["##" + c for c in cont]
    seen = set(vocab)
    for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= vocab_size:
            break
        if w not in seen:
            vocab.append(w)
            seen.add(w)
    return vocab


def build_tiny_bert(sentences: Iterable[str], out_dir: str | os.PathLike, vocab_size: int = SMOKE_VOCAB_SIZE,
                    seed: int = SMOKE_SEED, **config) -> Path:
    """Build a lower-casing WordPiece vocabulary from ``sentences`` and save a random BertModel beside it."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vocab_file = out / "vocab.txt"
    vocab_file.write_text("".join(t + "\n" for t in wordpiece_vocab(sentences, vocab_size)), encoding="utf-8")
    wp = BertWordPieceTokenizer(str(vocab_file), lowercase=True)
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
    recipe = json.dumps({"config": SMOKE_CONFIG, "vocab": SMOKE_VOCAB_SIZE, "seed": SMOKE_SEED, "tokenizer": 3,
                         "corpus": hashlib.sha256("\n".join(sentences).encode()).hexdigest()}, sort_keys=True)
    return cached_build("smoke-bert", recipe, lambda tmp: build_tiny_bert(sentences, tmp))
