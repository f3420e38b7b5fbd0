"""Declarations of the paper's tables: where the paper's numbers are and how records map onto them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd



@dataclass
class TableDef:
    """How to build one table.

    ``reference()`` returns the paper's numbers normalised to columns
    ``group, paper_row, column, value, std`` (``group`` "" where the table has no row groups).
    ``extract(record)`` yields ``(group, column, value)`` triples from a finished record; the default reads
    ``record.metrics[column][metric]`` for every column.
    """

    number: str
    title: str
    slug: str
    columns: list[str]
    metric: str
    reference: Callable[[], pd.DataFrame]
    avg_column: bool = False
    unit: str = ""
    notes: list = field(default_factory=list)  # str, or note(frame) -> str | None for notes made from the records
    extract: Callable | None = None
    higher_is_better: bool = True
    decimals: int = 2
    extra_metrics: list[str] = field(default_factory=list)  # more metrics kept as CSV columns
    # Records of one cell made with different settings (not just other seeds): "error" (the builder refuses to
    # average them and names the files) or "latest" (the newest settings win; for measurements such as speed).
    on_conflict: str = "error"
    plot_columns: list[str] | None = None  # columns the PNG shows (default: all, and Avg)
    plot_log: bool = False  # logarithmic value axis (numbers spanning orders of magnitude, e.g. speed)
    # warning(record) -> str | None: why a finished record's number should be read with care (e.g. a speed
    # measured while other work ran); shown in the CSV's reason column and marked in the Markdown.
    warning: Callable | None = None

    def values(self, record) -> list[tuple[str, str, float]]:
        if self.extract is not None:
            return list(self.extract(record))
        out = []
        for col in self.columns:
            v = (record.metrics.get(col) or {}).get(self.metric)
            if v is not None:
                out.append((record.spec.param_dict.get("group", ""), col, float(v)))
        return out


class _Tables(dict):
    """Table number -> its declaration: the specs under ``repro/specs`` (and ``$SBERT_REPRO_SPECS``), loaded on
    first use (``repro.specs.load_specs``)."""

    _loaded = False

    def _ensure(self):
        if not self._loaded:
            self._loaded = True
            from repro.specs import load_specs

            load_specs()

    def __getitem__(self, k):
        self._ensure()
        return super().__getitem__(k)

    def __contains__(self, k):
        self._ensure()
        return super().__contains__(k)

    def __iter__(self):
        self._ensure()
        return super().__iter__()

    def __len__(self):
        self._ensure()
        return super().__len__()

    def get(self, k, default=None):
        self._ensure()
        return super().get(k, default)

    def keys(self):
        self._ensure()
        return super().keys()

    def values(self):
        self._ensure()
        return super().values()

    def items(self):
        self._ensure()
        return super().items()


TABLES: dict[str, TableDef] = _Tables()


def register(tdef: TableDef) -> TableDef:
    """Add a table by hand (a spec module under ``repro/specs`` is the usual way)."""
    TABLES._ensure()
    dict.__setitem__(TABLES, tdef.number, tdef)
    return tdef


def sizes_note(df: pd.DataFrame, columns: dict[str, str]) -> str:
    """'STSb: test split (1,379 pairs); ...' with the pair counts the records of these columns report
    (``n_pairs``): the profile's data sizes, not the full datasets'."""
    parts = []
    for col, what in columns.items():
        n = sorted({int(v) for v in df.loc[df["column"] == col, "n_pairs"].dropna()}) if "n_pairs" in df else []
        parts.append(f"{col}: {what}" + (f" ({' / '.join(f'{v:,}' for v in n)} pairs)" if n else ""))
    return "; ".join(parts)
