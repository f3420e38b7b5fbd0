"""SentenceEncoder: any Hugging Face encoder (BERT, RoBERTa, MPNet, MiniLM) + pooling = an SBERT model.

It reads plain Hugging Face folders and sentence-transformers folders alike (``modules.json``: pooling mode,
``max_seq_length``, normalisation), encodes with smart batching (length-sorted batches, each padded only to its
longest member; results come back in input order), and saves back to a folder that
``sentence_transformers.SentenceTransformer(path)`` loads.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from repro.encoders.base import TRUNCATION_DEFAULT, TRUNCATIONS, check_sentences
from repro.encoders.pooling import Pooling
from repro.errors import ConfigError, choose
from repro.weights import loading, resolve_model

log = logging.getLogger(__name__)

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
DEFAULT_MAX_SEQ_LENGTH = 128  # the paper's training setting (reference code v0.2.3)


def read_st_config(path: Path) -> dict:
    """What a sentence-transformers folder says about itself: transformer subfolder, pooling, normalise, length."""
    out: dict = {"transformer_dir": path}
    modules_file = path / "modules.json"
    if not modules_file.is_file():
        return out
    try:
        modules = json.loads(modules_file.read_text())
    except ValueError as e:
        raise ConfigError(f"{modules_file}: not valid JSON ({e})") from None
    for m in modules:
        kind = m.get("type", "")
        sub = path / m.get("path", "")
        if kind.endswith("models.Transformer"):
            out["transformer_dir"] = sub
            cfg = sub / "sentence_bert_config.json"
            if cfg.is_file():
                st = json.loads(cfg.read_text())
                if st.get("max_seq_length"):
                    out["max_seq_length"] = int(st["max_seq_length"])
                if st.get("do_lower_case"):
                    out["do_lower_case"] = True
        elif kind.endswith("models.Pooling"):
            cfg = json.loads((sub / "config.json").read_text())
            modes = [k for k in ("cls_token", "max_tokens", "mean_tokens") if cfg.get(f"pooling_mode_{k}")]
            name = {"cls_token": "cls", "max_tokens": "max", "mean_tokens": "mean"}
            if cfg.get("pooling_mode") in ("mean", "max", "cls"):
                out["pooling"] = cfg["pooling_mode"]
            elif len(modes) == 1:
                out["pooling"] = name[modes[0]]
            else:
                raise ConfigError(f"{sub}/config.json: pooling {modes or cfg} is not one of mean, max, cls")
        elif kind.endswith("models.Normalize"):
            out["normalize"] = True
    return out


class SentenceEncoder(nn.Module):
    """A siamese sentence encoder: transformer -> pooling (-> optional L2 normalisation).

    Args:
        model: hub id or local folder (see :func:`repro.weights.resolve_model`); or an already built
            ``transformers.PreTrainedModel`` together with ``tokenizer``.
        pooling: ``mean`` (default), ``max`` or ``cls``; ``None`` takes the folder's own setting, else mean.
        layer: which hidden layer to pool (-1 = last; -2 = second-to-last, as bert-as-service did).
        max_seq_length: longer inputs are truncated; ``None`` takes the folder's setting, else 128.
        truncation: what ``max_seq_length`` counts (:data:`repro.encoders.base.TRUNCATIONS`): ``total`` tokens,
            [CLS] and [SEP] included (default), or ``pieces+2``: word pieces, the special tokens added on top
            (sentence-transformers v0.2.3). :attr:`token_limit` is the resulting length in all; :meth:`save` writes
            it as the folder's ``max_seq_length`` (a ``total`` folder: the same tokens when loaded again).
        normalize: L2-normalise the output; ``None`` takes the folder's setting (sentence-transformers'
            ``Normalize`` module), else no.
        device: ``cpu``, ``cuda``, ``cuda:1``...; default CUDA when available.
        dtype: ``fp32`` (default), ``bf16`` or ``fp16`` for inference.
    """

    def __init__(
        self,
        model: str | os.PathLike | nn.Module,
        pooling: str | None = None,
        *,
        tokenizer=None,
        layer: int = -1,
        max_seq_length: int | None = None,
        truncation: str = TRUNCATION_DEFAULT,
        normalize: bool | None = None,
        device: str | None = None,
        dtype: str = "fp32",
        name: str | None = None,
    ):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        st: dict = {}
        if isinstance(model, nn.Module):
            if tokenizer is None:
                raise ConfigError("SentenceEncoder(model=<module>) needs tokenizer=")
            self.transformer = model
            self.tokenizer = tokenizer
            self.source = name or type(model).__name__
        else:
            path = resolve_model(model)
            st = read_st_config(path)
            tdir = st["transformer_dir"]
            self.tokenizer = tokenizer or AutoTokenizer.from_pretrained(str(tdir))
            with _quiet_transformers(), loading(tdir):
                self.transformer = AutoModel.from_pretrained(str(tdir))
            if getattr(self.transformer, "pooler", None) is not None:
                self.transformer.pooler = None  # SBERT pools token vectors; the NSP pooler is unused work
            self.source = str(model)
        self.name = name or self.source
        self.pooling = Pooling(pooling or st.get("pooling", "mean"))
        self.layer = int(layer)
        if max_seq_length is not None and int(max_seq_length) < 1:
            raise ConfigError(f"max_seq_length {max_seq_length}: must be >= 1")
        self.max_seq_length = int(max_seq_length or st.get("max_seq_length") or DEFAULT_MAX_SEQ_LENGTH)
        self.truncation = choose(truncation, TRUNCATIONS, "truncation (what max_seq_length counts)")
        limit = getattr(self.transformer.config, "max_position_embeddings", None)
        if limit and self.token_limit > limit:
            raise ConfigError(f"max_seq_length {self.max_seq_length} ({self.token_limit} tokens in all with "
                              f"truncation {self.truncation!r}) exceeds the model's {limit} positions")
        n_layers = getattr(self.transformer.config, "num_hidden_layers", None)
        if n_layers is not None and not -(n_layers + 1) <= self.layer <= n_layers:
            raise ConfigError(f"layer {self.layer}: the model has {n_layers} layers; "
                              f"allowed -{n_layers + 1}..{n_layers}")
        self.normalize = bool(st.get("normalize", False) if normalize is None else normalize)
        self.dtype_name = choose(dtype, DTYPES, "dtype")
        self.device_name = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.to(self.device_name)
        if self.dtype_name != "fp32":
            self.transformer.to(DTYPES[self.dtype_name])
        self.eval()

    # ------------------------------------------------------------------ description
    @property
    def dim(self) -> int:
        return int(self.transformer.config.hidden_size)

    @property
    def token_limit(self) -> int:
        """The most tokens of one sentence, special tokens included: ``max_seq_length``, plus the ones the
        tokenizer adds to a single sentence ([CLS] and [SEP]: 2) with truncation ``pieces+2``."""
        if self.truncation == "total":
            return self.max_seq_length
        return self.max_seq_length + int(self.tokenizer.num_special_tokens_to_add(pair=False))

    def describe(self) -> dict:
        """The settings that change the numbers (goes into result records; ``truncation`` where not the default)."""
        extra = {} if self.truncation == TRUNCATION_DEFAULT else {"truncation": self.truncation}
        return {
            "model": self.name,
            "pooling": self.pooling.mode,
            "layer": self.layer,
            "max_seq_length": self.max_seq_length,
            "normalize": self.normalize,
            "dtype": self.dtype_name,
            **extra,
        }

    # ------------------------------------------------------------------ tokenisation
    def pretokenize(self, sentences: Sequence[str]) -> int:
        """Tokenise ``sentences`` once, ahead of time (the fast path's Rust tokenizer, all at once); afterwards
        :meth:`tokenize` of a batch of known sentences pads these ids instead of calling the tokenizer again
        (the same tensors, tested). Returns how many sentences are known."""
        from repro.encoders.fast import tokenize_ahead

        key = (self.token_limit, len(self.tokenizer))
        store = self.__dict__.get("_pretokenized")
        if store is None or store[0] != key:
            store = self.__dict__["_pretokenized"] = (key, {})
        known = store[1]
        new = [s for s in dict.fromkeys(sentences) if s not in known]
        if new:
            tok = tokenize_ahead(self.tokenizer, new, self.token_limit)
            for i, s in enumerate(new):
                known[s] = tok.ids[tok.offsets[i] : tok.offsets[i + 1]]
        return len(known)

    def _from_pretokenized(self, sentences: list[str]) -> dict | None:
        store = self.__dict__.get("_pretokenized")
        if (store is None or store[0] != (self.token_limit, len(self.tokenizer)) or not sentences
                or getattr(self.tokenizer, "padding_side", "right") != "right"):
            return None
        known = store[1]
        try:
            rows = [known[s] for s in sentences]
        except KeyError:
            return None
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.tokenizer.pad_token_id or 0, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        out = {"input_ids": torch.from_numpy(ids)}
        names = getattr(self.tokenizer, "model_input_names", ("input_ids", "attention_mask"))
        if "token_type_ids" in names:
            out["token_type_ids"] = torch.zeros_like(out["input_ids"])
        out["attention_mask"] = torch.from_numpy(mask)
        return out

    def tokenize(self, sentences: Sequence[str], padding: bool | str = True) -> dict:
        """Tokenise (truncating to :attr:`token_limit` tokens); with ``padding`` returns padded tensors (from the ids of
        :meth:`pretokenize` when every sentence is known)."""
        if padding is True:
            hit = self._from_pretokenized(list(sentences))
            if hit is not None:
                return hit
        return self.tokenizer(
            list(sentences),
            padding=padding,
            truncation=True,
            max_length=self.token_limit,
            return_tensors="pt" if padding else None,
        )

    # ------------------------------------------------------------------ differentiable forward (training)
    def forward(self, features: dict) -> torch.Tensor:
        """Sentence embeddings (n, dim) for a padded, tokenised batch; differentiable in train mode."""
        feats = {k: v.to(self.device_name) for k, v in features.items() if k in _MODEL_INPUTS}
        want_hidden = self.layer != -1
        out = self.transformer(**feats, output_hidden_states=want_hidden, return_dict=True)
        tokens = out.hidden_states[self.layer] if want_hidden else out.last_hidden_state
        emb = self.pooling(tokens, feats["attention_mask"])
        if emb.dtype != torch.float32:
            emb = emb.float()
        if self.normalize:
            emb = nn.functional.normalize(emb, p=2, dim=1)
        return emb

    # ------------------------------------------------------------------ inference
    @torch.inference_mode()
    def encode(
        self,
        sentences: Sequence[str],
        batch_size: int = 32,
        *,
        smart_batching: bool = True,
        show_progress: bool = False,
        fast: bool = False,
        precision: str | None = None,
        token_budget: int | None = None,
    ) -> np.ndarray:
        """Embeddings as float32 array (n, dim), rows in input order.

        With ``smart_batching`` the sentences are sorted by token count (longest first), cut into batches of
        ``batch_size`` and each batch is padded only to its longest member; without it the batches follow the
        input order (each still padded to its own longest member).

        ``fast=True`` takes the fast path (:mod:`repro.encoders.fast`): batches of up to ``token_budget`` padded
        tokens instead of ``batch_size`` sentences, a fused inference stack, and ``precision`` bf16 products
        where the hardware has them (default; ``precision="fp32"`` for fp32 throughout). Embeddings stay
        faithful (cosine >= 0.999 to this method's fp32 result, tested).
        """
        sentences = check_sentences(sentences)
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        if fast:
            from repro.encoders.fast import fast_encode

            return fast_encode(self, sentences, precision=precision, token_budget=token_budget,
                               show_progress=show_progress)
        if precision is not None or token_budget is not None:
            raise ConfigError("encode(): precision= and token_budget= apply to the fast path; add fast=True")
        n = len(sentences)
        out = np.empty((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        was_training = self.training
        self.eval()
        enc = self.tokenizer(sentences, padding=False, truncation=True, max_length=self.token_limit)
        ids = enc["input_ids"]
        type_ids = enc.get("token_type_ids")
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=n)
        order = np.argsort(-lengths, kind="stable") if smart_batching else np.arange(n)
        pad_id = self.tokenizer.pad_token_id or 0
        batches = range(0, n, batch_size)
        if show_progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc=f"encode {self.name}", unit="batch", leave=False)
        for start in batches:
            idx = order[start : start + batch_size]
            width = int(lengths[idx].max())
            input_ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            tt = torch.zeros((len(idx), width), dtype=torch.long) if type_ids is not None else None
            for row, i in enumerate(idx):
                L = int(lengths[i])
                input_ids[row, :L] = torch.as_tensor(ids[i])
                mask[row, :L] = 1
                if tt is not None:
                    tt[row, :L] = torch.as_tensor(type_ids[i])
            feats = {"input_ids": input_ids, "attention_mask": mask}
            if tt is not None:
                feats["token_type_ids"] = tt
            emb = self.forward(feats)
            out[idx] = emb.cpu().numpy()
        if was_training:
            self.train()
        return out

    # ------------------------------------------------------------------ saving
    def save(self, path: str | os.PathLike) -> Path:
        """Write a folder that both this class and ``sentence_transformers.SentenceTransformer`` load."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.transformer.save_pretrained(str(path), safe_serialization=True)
        self.tokenizer.save_pretrained(str(path))
        modules = [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        ]
        if self.normalize:
            modules.append({"idx": 2, "name": "2", "path": "2_Normalize",
                            "type": "sentence_transformers.models.Normalize"})
            (path / "2_Normalize").mkdir(exist_ok=True)
        (path / "modules.json").write_text(json.dumps(modules, indent=2))
        (path / "sentence_bert_config.json").write_text(
            json.dumps({"max_seq_length": self.token_limit, "do_lower_case": False}, indent=2)
        )
        (path / "1_Pooling").mkdir(exist_ok=True)
        mode = self.pooling.mode
        (path / "1_Pooling" / "config.json").write_text(
            json.dumps(
                {
                    "word_embedding_dimension": self.dim,
                    "pooling_mode_cls_token": mode == "cls",
                    "pooling_mode_mean_tokens": mode == "mean",
                    "pooling_mode_max_tokens": mode == "max",
                    "pooling_mode_mean_sqrt_len_tokens": False,
                },
                indent=2,
            )
        )
        if self.layer != -1:
            log.warning("saved model pools layer %d; sentence-transformers will pool the last layer", self.layer)
        return path


_MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class _quiet_transformers:
    """Silence transformers' load report and progress bar (unused pooler weights are expected here)."""

    def __enter__(self):
        from transformers.utils import logging as tlog

        self._level = tlog.get_verbosity()
        tlog.set_verbosity_error()
        tlog.disable_progress_bar()
        return self

    def __exit__(self, *exc):
        from transformers.utils import logging as tlog

        tlog.set_verbosity(self._level)
        tlog.enable_progress_bar()
        return False
