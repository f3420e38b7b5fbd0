"""Training examples and the order they are seen in.

Examples are plain frozen records; objectives turn a list of them into tensors (``collate``). The order is a
fresh random permutation per epoch drawn from a ``torch.Generator`` seeded with ``(seed, epoch)`` only, so a
resumed run can rebuild the exact batches of any epoch without saving them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from repro.data.records import PairSet


@dataclass(frozen=True)
class PairExample:
    """Two sentences and a label: a class id (classification) or a score in [0, 1] (regression)."""

    s1: str
    s2: str
    label: float | int


@dataclass(frozen=True)
class TripletExample:
    anchor: str
    positive: str
    negative: str


def sts_examples(pairs: PairSet, max_score: float = 5.0) -> list[PairExample]:
    """STS pairs with the gold score divided by ``max_score`` (0-5 -> 0-1, as ``STSDataReader(normalize_scores)``)."""
    return [PairExample(p.s1, p.s2, float(p.score) / max_score) for p in pairs.pairs]


def nli_examples(nli) -> list[PairExample]:
    """NLI pairs with integer labels (contradiction 0, entailment 1, neutral 2)."""
    return [PairExample(a, b, int(y)) for a, b, y in zip(nli.premises, nli.hypotheses, nli.label_ids)]


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The permutation of ``range(n)`` used in ``epoch`` (depends on nothing but its arguments)."""
    g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    return torch.randperm(n, generator=g)


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Index batches of one epoch; the last one may be smaller (no example is dropped, as a DataLoader does)."""
    order = epoch_order(n, seed, epoch).tolist()
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def steps_per_epoch(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


def take(examples: Sequence, idx: Sequence[int]) -> list:
    return [examples[i] for i in idx]
