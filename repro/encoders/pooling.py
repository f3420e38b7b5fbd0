"""Pooling token embeddings into one sentence vector (mask-aware)."""

from __future__ import annotations

import torch
from torch import nn

from repro.errors import choose

from repro.encoders.base import POOLINGS


class Pooling(nn.Module):
    """``mean`` (default): average of the non-padding token vectors ([CLS]/[SEP] included, as in SBERT);
    ``max``: max-over-time of the non-padding token vectors; ``cls``: the first token's vector."""

    def __init__(self, mode: str = "mean"):
        super().__init__()
        self.mode = choose(mode, POOLINGS, "pooling")

    def forward(self, token_embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.mode == "cls":
            return token_embeddings[:, 0]
        mask = attention_mask.unsqueeze(-1).to(token_embeddings.dtype)
        if self.mode == "mean":
            summed = (token_embeddings * mask).sum(dim=1)
            return summed / mask.sum(dim=1).clamp(min=1e-9)
        # max: padding positions can never win
        filled = token_embeddings.masked_fill(mask == 0, torch.finfo(token_embeddings.dtype).min)
        return filled.max(dim=1).values

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"
