"""The three SBERT objectives (paper §3), each a small module around one shared (siamese) sentence encoder.

Every objective has the same two verbs the trainer needs: ``collate(examples) -> batch`` (tokenise) and
``forward(batch) -> loss``. Both sentences of a pair (all three of a triplet) go through the *same* encoder
module, so the weights are tied by construction.

* :class:`SoftmaxLoss` (classification): ``softmax(W_t · concat(...))`` with cross-entropy; ``concat`` is any of
  the seven combinations of ``u``, ``v``, ``|u-v|``, ``u*v`` in Table 6 (:data:`CONCATENATIONS`).
* :class:`CosineSimilarityLoss` (regression): mean squared error between ``cos(u, v)`` and the gold score scaled to
  [0, 1] (the scaling is done when examples are built, :func:`repro.training.data.sts_examples`).
* :class:`TripletLoss`: ``max(d(a, p) - d(a, n) + eps, 0)``; Euclidean distance and ``eps = 1`` as in the paper
  (sentence-transformers has defaulted to 5 since v0.3.5); ``cosine`` and ``manhattan`` distances selectable.

Each is the module of an objective declared in :mod:`repro.training.objectives` (the registry says which data it
accepts and builds it for a stage); a new objective subclasses :class:`SiameseLoss`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from repro.errors import ConfigError, choose

from repro.training.objectives import (CONCATENATIONS, DEFAULT_CONCAT, DISTANCES, OBJECTIVES,  # noqa: F401
                                       PAPER_TRIPLET_MARGIN, concat_name, concat_parts, get_objective)


def concat_features(u: torch.Tensor, v: torch.Tensor, parts: Sequence[str]) -> torch.Tensor:
    """Concatenate the requested features of two (n, d) embedding batches along the last axis."""
    feats = {"u": lambda: u, "v": lambda: v, "|u-v|": lambda: torch.abs(u - v), "u*v": lambda: u * v}
    return torch.cat([feats[p]() for p in parts], dim=-1)


def _pair_collate(encoder, examples) -> dict:
    return {
        "a": encoder.tokenize([e.s1 for e in examples]),
        "b": encoder.tokenize([e.s2 for e in examples]),
        "labels": [e.label for e in examples],
    }


class SiameseLoss(nn.Module):
    """Shared plumbing of an objective's module: the encoder, saving the trainable extras, the similarity used for
    dev scores. A subclass adds ``collate(examples) -> batch`` and ``forward(batch) -> loss``."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    @property
    def device(self) -> torch.device:
        return next(self.encoder.parameters()).device

    def pretokenize(self, examples) -> int:
        """Tokenise every sentence of ``examples`` once, before training (the trainer calls this)."""
        fields = ("s1", "s2", "anchor", "positive", "negative")
        sents = [getattr(e, f) for e in examples for f in fields if isinstance(getattr(e, f, None), str)]
        return self.encoder.pretokenize(sents)

    def head_state(self) -> dict[str, torch.Tensor]:
        """Trainable tensors that are not part of the exported encoder (e.g. the softmax classifier)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("encoder.")}

    def export(self, path: str | Path) -> Path:
        """A folder ``SentenceEncoder`` and ``sentence_transformers.SentenceTransformer`` both load."""
        from repro.encoders.transformer import _quiet_transformers

        with _quiet_transformers():
            return self.encoder.save(path)

    def load_exported(self, path: str | Path) -> None:
        from safetensors.torch import load_file

        state = load_file(str(Path(path) / "model.safetensors"), device=str(self.device))
        self.encoder.transformer.load_state_dict(state, strict=True)

    def similarity(self, s1: list[str], s2: list[str], batch_size: int = 32) -> np.ndarray:
        """Cosine similarity of the embeddings (the paper's prediction at test time)."""
        return pair_similarity(self.encoder, s1, s2, batch_size)


def pair_similarity(model, s1: list[str], s2: list[str], batch_size: int = 32) -> np.ndarray:
    """The model's score for each pair: ``model.similarity`` (cross-encoder, objectives) or the cosine of the
    embeddings of any encoder (``encode``), each distinct sentence encoded once."""
    if hasattr(model, "similarity"):
        return model.similarity(s1, s2, batch_size=batch_size)
    from repro.evaluation.sts import cosine_rows

    uniq = sorted(set(s1) | set(s2))
    vecs = dict(zip(uniq, model.encode(uniq, batch_size=batch_size)))
    return cosine_rows(np.stack([vecs[s] for s in s1]), np.stack([vecs[s] for s in s2]))


class SoftmaxLoss(SiameseLoss):
    """Classification objective: ``o = softmax(W_t (concat))``, cross-entropy against integer labels."""

    def __init__(self, encoder, num_labels: int = 3, concat: str | Sequence[str] = DEFAULT_CONCAT):
        super().__init__(encoder)
        self.parts = concat_parts(concat)
        self.num_labels = int(num_labels)
        self.classifier = nn.Linear(len(self.parts) * encoder.dim, self.num_labels, device=encoder.device_name)

    def collate(self, examples) -> dict:
        batch = _pair_collate(self.encoder, examples)
        batch["labels"] = torch.as_tensor(batch["labels"], dtype=torch.long)
        return batch

    def logits(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.classifier(concat_features(u, v, self.parts))

    def forward(self, batch: dict) -> torch.Tensor:
        u, v = self.encoder(batch["a"]), self.encoder(batch["b"])
        return F.cross_entropy(self.logits(u, v).float(), batch["labels"].to(u.device))


class CosineSimilarityLoss(SiameseLoss):
    """Regression objective: MSE between ``cos(u, v)`` and the gold score in [0, 1]."""

    def collate(self, examples) -> dict:
        batch = _pair_collate(self.encoder, examples)
        batch["labels"] = torch.as_tensor(batch["labels"], dtype=torch.float32)
        return batch

    def forward(self, batch: dict) -> torch.Tensor:
        u, v = self.encoder(batch["a"]), self.encoder(batch["b"])
        cos = F.cosine_similarity(u.float(), v.float(), dim=-1)
        return F.mse_loss(cos, batch["labels"].to(cos.device))


def distance(x: torch.Tensor, y: torch.Tensor, metric: str) -> torch.Tensor:
    """Row-wise distance between two (n, d) batches."""
    if metric == "euclidean":
        return torch.linalg.vector_norm(x - y, ord=2, dim=-1)
    if metric == "manhattan":
        return torch.linalg.vector_norm(x - y, ord=1, dim=-1)
    if metric == "cosine":
        return 1.0 - F.cosine_similarity(x, y, dim=-1)
    raise ConfigError(f"unknown distance {metric!r}; allowed: {', '.join(DISTANCES)}")


class TripletLoss(SiameseLoss):
    """Triplet objective: ``mean(max(d(a, p) - d(a, n) + margin, 0))``."""

    def __init__(self, encoder, distance: str = "euclidean", margin: float = PAPER_TRIPLET_MARGIN):
        super().__init__(encoder)
        self.distance = choose(distance, DISTANCES, "triplet distance")
        self.margin = float(margin)

    def collate(self, examples) -> dict:
        return {k: self.encoder.tokenize([getattr(e, k) for e in examples]) for k in ("anchor", "positive", "negative")}

    def forward(self, batch: dict) -> torch.Tensor:
        a, p, n = (self.encoder(batch[k]).float() for k in ("anchor", "positive", "negative"))
        return triplet_loss(a, p, n, self.distance, self.margin)


def triplet_loss(a, p, n, metric: str = "euclidean", margin: float = PAPER_TRIPLET_MARGIN) -> torch.Tensor:
    return F.relu(distance(a, p, metric) - distance(a, n, metric) + margin).mean()


def build_objective(name: str, encoder, **arguments) -> nn.Module:
    """The module of the registered objective called ``name`` (:data:`OBJECTIVES`) around ``encoder``, built with
    ``arguments`` (e.g. ``concat``, ``num_labels``; ``distance``, ``margin``); a stage builds it from its settings
    (``Objective.build``)."""
    return get_objective(name).module_class()(encoder, **arguments)
