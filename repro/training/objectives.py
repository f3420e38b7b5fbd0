"""Names of the training objectives and Table 6's concatenations (no torch: the table declarations and
``sbert-repro plan`` read them)."""

from __future__ import annotations

import re
from typing import Sequence

from repro.errors import ConfigError

OBJECTIVES = ("classification", "regression", "triplet")

CONCATENATIONS: dict[str, tuple[str, ...]] = {
    "(u, v)": ("u", "v"),
    "(|u-v|)": ("|u-v|",),
    "(u*v)": ("u*v",),
    "(|u-v|, u*v)": ("|u-v|", "u*v"),
    "(u, v, u*v)": ("u", "v", "u*v"),
    "(u, v, |u-v|)": ("u", "v", "|u-v|"),
    "(u, v, |u-v|, u*v)": ("u", "v", "|u-v|", "u*v"),
}
"""Table 6's seven concatenations, by the names the paper prints; the default is ``(u, v, |u-v|)``."""

DEFAULT_CONCAT = "(u, v, |u-v|)"
DISTANCES = ("euclidean", "cosine", "manhattan")
PAPER_TRIPLET_MARGIN = 1.0


def concat_parts(name: str | Sequence[str]) -> tuple[str, ...]:
    """The parts of a concatenation given by name: ``"(u, v, |u-v|)"``, ``"u,v,|u-v|"`` or ``("u", "v", "|u-v|")``."""
    key = ",".join(name) if not isinstance(name, str) else name
    key = re.sub(r"[\s()]", "", key)
    for canonical, parts in CONCATENATIONS.items():
        if key == ",".join(parts):
            return parts
    raise ConfigError(f"unknown concatenation {name!r}; allowed: {'; '.join(CONCATENATIONS)}")


def concat_name(name: str | Sequence[str]) -> str:
    parts = concat_parts(name)
    return next(k for k, v in CONCATENATIONS.items() if v == parts)
