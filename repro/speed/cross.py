"""The BERT cross-encoder side of the paper's claim: one forward pass per sentence pair.

"Finding the most similar pair in a collection of 10,000 sentences requires about 50 million inference
computations (~65 hours) with BERT" (abstract, §1: n(n-1)/2 = 49,995,000 on a V100). We time a BERT-base
cross-encoder (``[CLS] a [SEP] b [SEP]`` -> BertModel -> linear head on [CLS], the paper's BERT STS regression
set-up) on pairs drawn uniformly from the n(n-1)/2 pairs, and extrapolate to all of them.

Two ways to run it: ``plain`` (batches of 32 pairs in the order given, padded per batch, fp32: what a user of
BERT in 2019 would run) and ``fast`` (the same tricks as the fast sentence encoder: tokenising ahead, pairs sorted
by length into token-budget batches, the fused stack, bf16 products), to show the claim does not hinge on an
unoptimised cross-encoder.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from repro.errors import ConfigError
from repro.speed.search import n_pairs


class CrossEncoder(nn.Module):
    """BERT over a sentence pair, a linear regression head on the [CLS] vector."""

    def __init__(self, transformer: nn.Module, tokenizer, max_seq_length: int = 128, device: str = "cpu",
                 seed: int = 0):
        super().__init__()
        self.transformer = transformer
        self.tokenizer = tokenizer
        self.max_seq_length = int(max_seq_length)
        g = torch.Generator().manual_seed(seed)
        self.head = nn.Linear(transformer.config.hidden_size, 1)
        with torch.no_grad():
            self.head.weight.copy_(torch.randn(self.head.weight.shape, generator=g) * 0.02)
            self.head.bias.zero_()
        self.device_name = device
        self.to(device).eval()

    @classmethod
    def from_encoder(cls, encoder) -> "CrossEncoder":
        """A cross-encoder sharing ``encoder``'s transformer and tokenizer (same cost as BERT-base)."""
        return cls(encoder.transformer, encoder.tokenizer, encoder.max_seq_length, encoder.device_name)

    @torch.inference_mode()
    def predict(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
        """Scores in input order, batches of ``batch_size`` pairs padded per batch, fp32 (the plain way)."""
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        out = []
        for s in range(0, len(pairs), batch_size):
            chunk = pairs[s : s + batch_size]
            feats = self.tokenizer([a for a, _ in chunk], [b for _, b in chunk], padding=True, truncation=True,
                                   max_length=self.max_seq_length, return_tensors="pt")
            feats = {k: v.to(self.device_name) for k, v in feats.items()
                     if k in ("input_ids", "attention_mask", "token_type_ids")}
            cls = self.transformer(**feats, return_dict=True).last_hidden_state[:, 0]
            out.append(self.head(cls).squeeze(-1).float())
        return torch.cat(out).cpu().numpy() if out else np.zeros(0, np.float32)

    @torch.inference_mode()
    def predict_fast(self, pairs: Sequence[tuple[str, str]], precision: str | None = None,
                     token_budget: int | None = None) -> np.ndarray:
        """Scores in input order, the fast way (see the module docstring)."""
        from repro.encoders import fast

        device = torch.device(self.device_name)
        precision = precision or fast.default_precision(device, self.transformer.config)
        token_budget = int(token_budget or fast.default_token_budget(device))
        stack = fast.get_stack(self.transformer, precision, owner=self)
        if stack is None:
            raise ConfigError(f"predict_fast: {fast.unsupported_reason(self.transformer)}")
        tok = fast.tokenize_ahead(self.tokenizer, [tuple(p) for p in pairs], self.max_seq_length)
        out = torch.empty(len(pairs), dtype=torch.float32, device=device)
        plan = fast.plan_batches(tok.lengths, token_budget)
        pad_id = self.tokenizer.pad_token_id or 0
        for b in fast.device_batches(tok, plan, pad_id, device):
            cls = stack(b.ids, b.mask, b.type_ids)[:, 0]
            out.index_copy_(0, b.dest, self.head(cls).squeeze(-1).float())
        return out.cpu().numpy()


def sample_pairs(sentences: Sequence[str], k: int, seed: int = 0) -> list[tuple[str, str]]:
    """``k`` pairs (i < j) drawn uniformly, with replacement, from the n(n-1)/2 pairs of ``sentences``."""
    n = len(sentences)
    if n < 2:
        raise ConfigError("need at least two sentences to form pairs")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, size=4 * k + 16)
    j = rng.integers(0, n, size=4 * k + 16)
    keep = i != j
    i, j = i[keep][:k], j[keep][:k]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    return [(sentences[a], sentences[b]) for a, b in zip(lo, hi)]


def hours_for_all_pairs(pairs_per_second: float, n: int = 10_000) -> float:
    """Time for all n(n-1)/2 pairs at ``pairs_per_second``, in hours."""
    return n_pairs(n) / pairs_per_second / 3600.0
