"""Typed records that every loader returns and every evaluator consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class SentencePair:
    """Two sentences and their gold similarity score (on the dataset's own scale, e.g. 0-5)."""

    s1: str
    s2: str
    score: float


@dataclass
class PairSet:
    """A list of scored sentence pairs from one file (or one sub-dataset).

    ``name`` is a stable, human-readable id such as ``"STS12/MSRpar"``, ``"STSb/test"`` or ``"SICK-R/test"``;
    ``path`` the file the pairs came from (for messages and provenance).
    """

    name: str
    pairs: list[SentencePair]
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def sentences1(self) -> list[str]:
        return [p.s1 for p in self.pairs]

    @property
    def sentences2(self) -> list[str]:
        return [p.s2 for p in self.pairs]

    @property
    def scores(self) -> "np.ndarray":
        import numpy as np

        return np.asarray([p.score for p in self.pairs], dtype=np.float64)

    def head(self, n: int | None) -> "PairSet":
        """The first ``n`` pairs (all when ``n`` is None): the deterministic slice profiles use."""
        if n is None or n >= len(self.pairs):
            return self
        return PairSet(self.name, self.pairs[:n], self.path)


@dataclass
class STSTask:
    """One STS evaluation task (a column of Table 1): one or more sub-datasets.

    STS12-16 have several sub-datasets (pooled into one correlation as in the paper); STSb and SICK-R have one.
    """

    name: str
    subsets: dict[str, PairSet] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(s) for s in self.subsets.values())

    def head(self, n: int | None) -> "STSTask":
        return STSTask(self.name, {k: v.head(n) for k, v in self.subsets.items()})
