"""The BERT cross-encoder baseline of Table 2 (BERT-STSb, BERT-NLI-STSb) and Table 3 (BERT-AFS).

Both sentences go through the network together, ``[CLS] a [SEP] b [SEP]`` (segment ids 0/1), and a head on the
[CLS] vector scores the pair. Two heads (``head``, :data:`repro.training.settings.CROSS_HEADS`):

* ``pooler-mse`` (default): ``BertForSequenceClassification``: the pooled [CLS] vector (BERT's tanh pooler, dropout)
  feeds a linear layer: one output trained with mean squared error against the gold score scaled to [0, 1]
  (regression), or ``num_labels`` outputs with cross-entropy (classification, e.g. NLI before STSb).
* ``sigmoid-bce``: the AFS authors' ``SigmoidBERT`` (UKPLab/acl2019-BERT-argument-classification-and-clustering,
  argument-similarity/SigmoidBERT.py): a linear layer (initialised as BERT's: normal, std ``initializer_range``,
  zero bias) on the raw [CLS] vector of the last layer (no pooler, no dropout: SigmoidBERT declares one and never
  applies it), a sigmoid, binary cross-entropy against the score in [0, 1] (their train.py reads score / 5); the
  prediction is the sigmoid output. One output only. The loss is computed from the logit
  (``binary_cross_entropy_with_logits``: the same function as sigmoid then ``BCELoss``, without its overflow).

Either trains with the same loop and optimizer settings as SBERT (:mod:`repro.training.trainer`) and predicts a
score per pair (``similarity``), which is ranked against the gold scores with Spearman like the bi-encoder's
cosine. Saved folders are plain Hugging Face folders
(safetensors) that ``sentence_transformers.CrossEncoder(path)`` loads (``pooler-mse``); a ``sigmoid-bce`` folder is
the body (a plain Hugging Face ``AutoModel`` folder) plus its head in ``sigmoid_head.safetensors``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from repro.encoders.transformer import DEFAULT_MAX_SEQ_LENGTH, _quiet_transformers, read_st_config
from repro.errors import ConfigError, choose
from repro.training.settings import CROSS_HEAD, CROSS_HEADS
from repro.weights import loading, resolve_model

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
SIGMOID_HEAD_FILE = "sigmoid_head.safetensors"


class CrossEncoder(nn.Module):
    """A sequence-pair model with a regression (``num_labels=1``) or classification head."""

    def __init__(self, model: str | os.PathLike, num_labels: int = 1, *, max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
                 device: str | None = None, name: str | None = None, head: str = CROSS_HEAD):
        super().__init__()
        from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

        if num_labels < 1:
            raise ConfigError(f"num_labels must be >= 1, got {num_labels}")
        self.head = choose(head, CROSS_HEADS, "cross-encoder head")
        if self.head == "sigmoid-bce" and num_labels != 1:
            raise ConfigError(f"cross-encoder head 'sigmoid-bce' has one output, not num_labels={num_labels}; use "
                              f"head {CROSS_HEAD!r} for a classification head")
        path = read_st_config(resolve_model(model))["transformer_dir"]
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.linear = None
        if self.head == "sigmoid-bce":
            with _quiet_transformers(), loading(path):
                self.model = AutoModel.from_pretrained(str(path))
            if getattr(self.model, "pooler", None) is not None:
                self.model.pooler = None  # SigmoidBERT reads the raw [CLS] vector; the pooler is unused
            self.linear = nn.Linear(self.model.config.hidden_size, 1)
            nn.init.normal_(self.linear.weight, std=getattr(self.model.config, "initializer_range", 0.02))
            nn.init.zeros_(self.linear.bias)  # BertPreTrainedModel.init_bert_weights, as SigmoidBERT applies it
            if (path / SIGMOID_HEAD_FILE).is_file():  # a trained SigmoidBERT folder (export)
                self._load_head(path)
        else:
            with _quiet_transformers(), loading(path):
                # A head of another size (e.g. the 3-way NLI head before STSb) is replaced by a fresh one.
                self.model = AutoModelForSequenceClassification.from_pretrained(
                    str(path), num_labels=num_labels, ignore_mismatched_sizes=True)
        self.num_labels = int(num_labels)
        self.max_seq_length = int(max_seq_length)
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit and self.max_seq_length > limit:
            raise ConfigError(f"max_seq_length {self.max_seq_length} exceeds the model's {limit} positions")
        self.name = name or str(model)
        self.device_name = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.to(self.device_name)
        self.eval()

    # ----------------------------------------------------------------------------------------- training
    def tokenize(self, s1: list[str], s2: list[str]) -> dict:
        return self.tokenizer(list(s1), list(s2), padding=True, truncation=True, max_length=self.max_seq_length,
                              return_tensors="pt")

    def _load_head(self, path: Path) -> None:
        from safetensors.torch import load_file

        self.linear.load_state_dict(load_file(str(path / SIGMOID_HEAD_FILE), device="cpu"), strict=True)

    def collate(self, examples) -> dict:
        dtype = torch.float32 if self.num_labels == 1 else torch.long
        return {"pair": self.tokenize([e.s1 for e in examples], [e.s2 for e in examples]),
                "labels": torch.as_tensor([e.label for e in examples], dtype=dtype)}

    def logits(self, features: dict) -> torch.Tensor:
        feats = {k: v.to(self.device_name) for k, v in features.items() if k in _INPUTS}
        if self.linear is not None:  # sigmoid-bce: the raw [CLS] vector of the last layer -> linear (pre-sigmoid)
            cls = self.model(**feats, return_dict=True).last_hidden_state[:, 0]
            return self.linear(cls.to(self.linear.weight.dtype)).float()
        return self.model(**feats, return_dict=True).logits.float()

    def forward(self, batch: dict) -> torch.Tensor:
        logits = self.logits(batch["pair"])
        labels = batch["labels"].to(logits.device)
        if self.linear is not None:
            return F.binary_cross_entropy_with_logits(logits.squeeze(-1), labels)
        if self.num_labels == 1:
            return F.mse_loss(logits.squeeze(-1), labels)
        return F.cross_entropy(logits, labels)

    # ---------------------------------------------------------------------------------------- inference
    @torch.inference_mode()
    def similarity(self, s1: list[str], s2: list[str], batch_size: int = 32) -> np.ndarray:
        """The predicted score of each pair (one-output head: the linear output, or with ``sigmoid-bce`` its
        sigmoid), in input order; pairs are length-sorted in batches."""
        if len(s1) != len(s2):
            raise ValueError(f"{len(s1)} first sentences for {len(s2)} second sentences")
        if self.num_labels != 1:
            raise ConfigError("similarity() needs a regression head (num_labels=1)")
        was_training = self.training
        self.eval()
        order = np.argsort([-(len(a) + len(b)) for a, b in zip(s1, s2)], kind="stable")
        out = np.empty(len(s1), dtype=np.float64)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            feats = self.tokenize([s1[i] for i in idx], [s2[i] for i in idx])
            pred = self.logits(feats).squeeze(-1)
            out[idx] = (torch.sigmoid(pred) if self.linear is not None else pred).cpu().numpy()
        if was_training:
            self.train()
        return out

    score = similarity

    # ------------------------------------------------------------------------------------------ saving
    def head_state(self) -> dict:
        return {}  # the head is part of the exported model (sigmoid-bce: its own file in the folder)

    def export(self, path: str | os.PathLike) -> Path:
        """A Hugging Face folder (safetensors) that ``sentence_transformers.CrossEncoder(path)`` loads; with
        ``sigmoid-bce`` the body's folder plus the head in ``sigmoid_head.safetensors``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with _quiet_transformers():
            self.model.save_pretrained(str(path), safe_serialization=True)
            self.tokenizer.save_pretrained(str(path))
        if self.linear is not None:
            from safetensors.torch import save_file

            save_file({k: v.detach().contiguous().cpu() for k, v in self.linear.state_dict().items()},
                      str(path / SIGMOID_HEAD_FILE))
        return path

    def load_exported(self, path: str | os.PathLike) -> None:
        from safetensors.torch import load_file

        state = load_file(str(Path(path) / "model.safetensors"), device=str(self.device_name))
        self.model.load_state_dict(state, strict=True)
        if self.linear is not None:
            self._load_head(Path(path))

    def describe(self) -> dict:
        return {"model": self.name, "kind": "cross-encoder", "num_labels": self.num_labels,
                "max_seq_length": self.max_seq_length, "head": self.head}
