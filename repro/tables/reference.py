"""The paper's tables, as shipped in ``repro/reference`` (checked against three copies of the paper)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd


def reference_path(filename: str):
    return resources.files("repro") / "reference" / filename


@lru_cache(maxsize=None)
def load_reference_csv(filename: str) -> pd.DataFrame:
    with resources.as_file(reference_path(filename)) as p:
        return pd.read_csv(p, dtype={"note": str})
