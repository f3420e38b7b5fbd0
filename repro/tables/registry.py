"""Declarations of the paper's tables: where the paper's numbers are and how records map onto them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from repro.tables.reference import load_reference_csv


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


TABLES: dict[str, TableDef] = {}


def register(tdef: TableDef) -> TableDef:
    TABLES[tdef.number] = tdef
    return tdef


def _table1_reference() -> pd.DataFrame:
    df = load_reference_csv("table1_sts_unsupervised.csv")
    return pd.DataFrame({"group": "", "paper_row": df["model"], "column": df["dataset"],
                         "value": df["value"], "std": df["std"]})


def _sizes_note(df: pd.DataFrame, columns: dict[str, str]) -> str:
    """'STSb: test split (1,379 pairs); ...' with the pair counts the records of these columns report
    (``n_pairs``): the profile's data sizes, not the full datasets'."""
    parts = []
    for col, what in columns.items():
        n = sorted({int(v) for v in df.loc[df["column"] == col, "n_pairs"].dropna()}) if "n_pairs" in df else []
        parts.append(f"{col}: {what}" + (f" ({' / '.join(f'{v:,}' for v in n)} pairs)" if n else ""))
    return "; ".join(parts)


register(TableDef(
    number="1",
    title="Table 1: unsupervised STS, Spearman rank correlation (x100) of cosine similarity",
    slug="table1_sts_unsupervised",
    columns=["STS12", "STS13", "STS14", "STS15", "STS16", "STSb", "SICK-R"],
    metric="spearman_all",
    extra_metrics=["spearman_wmean", "pearson_all", "n_pairs"],
    reference=_table1_reference,
    avg_column=True,
    unit="Spearman x100",
    notes=[
        "STS12-16: all sub-datasets pooled into one correlation, the paper's protocol (author, "
        "sentence-transformers issue #1165; SimCSE Table B.2). SentEval's size-weighted mean over "
        "sub-datasets is kept in the CSV as metric `spearman_wmean`.",
        lambda df: _sizes_note(df, {"STSb": "test split", "SICK-R": "test split"})
        + "; STS13 without the SMT subset (its inputs are not distributed).",
        "Avg: ours is the mean of the seven columns (only when all seven are present); the paper's is its "
        "printed Avg (74.89 for SBERT-NLI-base, where the mean of its seven cells is 74.86).",
    ],
))
