"""What a table is to the builder: where the paper's numbers are, how records map onto them, how it is drawn and
which of the paper's conclusions it carries. A :class:`repro.specs.TableSpec` is a :class:`TableDef` with what
runs to fill the table; the functions of :mod:`repro.tables` receive these declarations as arguments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import pandas as pd

from repro.errors import ConfigError
from repro.tables.plots import TABLE_FIGURES
from repro.tables.verdicts import Equivalence, Tolerance


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
    # The table's figure: a kind of repro.tables.plots.TABLE_FIGURES ("dots": one panel per column; "ablation":
    # dot plots per (group, column) panel; "speed": per hardware on a log axis), drawn as <slug>.png and, for the
    # kinds in REPORT_FIGURES, again for the report; None: no figure. plot_options: the kind's settings.
    plot: str | None = "dots"
    plot_options: Mapping = field(default_factory=dict)
    # The numbers are properties of the machine that measured them (speed): no interval over test items, and
    # never comparable with the paper's hardware (verdict "not comparable"; left out of the ours-vs-paper figure).
    hardware_bound: bool = False
    # The paper's conclusions read off this table (repro.tables.claims.Claim), checked in the report in table
    # order, each with its text, condition and bounds declared together.
    claims: Sequence = ()
    # How its cells are judged (repro.tables.verdicts.rule): deterministic rows (nothing trained here) within the
    # paper's rounding plus ``tolerance``; trained rows by seed means within the ``equivalence`` margin. None: that
    # kind of row gets no verdict ("none" / "inconclusive", saying that nothing is declared).
    tolerance: Tolerance | None = None
    equivalence: Equivalence | None = None

    def __post_init__(self):
        if self.plot is not None and self.plot not in TABLE_FIGURES:
            raise ConfigError(f"Table {self.number}: plot={self.plot!r} is not a kind of figure; use one of "
                              f"{', '.join(map(repr, TABLE_FIGURES))} or None")

    def row_words(self, record) -> dict:
        """Label, paper row and substitute of ``record``'s row, as the record was run (``details["row"]``), and
        how its cells are judged: ``faithful`` (its substitute note names no deviation from the paper's protocol)
        and ``trained`` (here: a record made once per seed). A declaration that knows its rows
        (:meth:`repro.specs.TableSpec.row_words`) answers from them instead."""
        own = (record.details or {}).get("row") or {}
        return {"label": own.get("label") or record.spec.model, "paper_row": own.get("paper_row"),
                "substitute": own.get("substitute"), "faithful": bool(own.get("faithful")),
                "trained": record.spec.seed is not None}

    def values(self, record) -> list[tuple[str, str, float]]:
        if self.extract is not None:
            return list(self.extract(record))
        out = []
        for col in self.columns:
            v = (record.metrics.get(col) or {}).get(self.metric)
            if v is not None:
                out.append((record.spec.param_dict.get("group", ""), col, float(v)))
        return out


def sizes_note(df: pd.DataFrame, columns: dict[str, str]) -> str:
    """'STSb: test split (1,379 pairs); ...' with the pair counts the records of these columns report
    (``n_pairs``): the profile's data sizes, not the full datasets'."""
    parts = []
    for col, what in columns.items():
        n = sorted({int(v) for v in df.loc[df["column"] == col, "n_pairs"].dropna()}) if "n_pairs" in df else []
        parts.append(f"{col}: {what}" + (f" ({' / '.join(f'{v:,}' for v in n)} pairs)" if n else ""))
    return "; ".join(parts)
