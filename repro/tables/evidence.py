"""Reading the claims' numbers off the records: cells (seeds, per-item predictions) and paired tests.

:func:`check_claims` checks every claim the given declarations carry, each over the records of its own table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from repro.stats.bootstrap import (
    Interval,
    Items,
    bootstrap_interval,
    paired_bootstrap,
    paired_bootstrap_cells,
    paired_seed_test,
)
from repro.stats.predictions import PredictionsError, load_items
from repro.tables.builder import labelled
from repro.tables.claims import ALPHA, ClaimResult, Missing, Test


@dataclass
class Cell:
    """Our number for one cell: the runs (seed -> value), their per-item predictions when all have them."""

    table: str
    row: str
    column: str
    values: dict  # seed (or index) -> value
    items: list[Items] | None
    substitute: str = ""
    items_note: str = ""

    @property
    def mean(self) -> float:
        return float(np.mean(list(self.values.values())))

    def describe(self, d: int = 2) -> str:
        n = len(self.values)
        s = f"{self.mean:.{d}f}"
        if n > 1:
            v = list(self.values.values())
            s += f" ± {np.std(v):.{d}f} (n {n})"
        return s


class Records:
    """The records of one table in one profile, with the table's declaration to read them."""

    def __init__(self, tdef, records: Sequence):
        self.tdef = tdef
        # spec.row / paper_row / substitute: the words of each record's declared row (not in its identity)
        self.records = [labelled(tdef, r) for r in records if r.spec.table == tdef.number]

    def paper(self, paper_row: str, column: str, group: str | None = None) -> float:
        ref = self.tdef.reference()
        sel = ref[(ref["paper_row"] == paper_row) & (ref["column"] == column)]
        if group is not None:
            sel = sel[sel["group"] == group]
        if not len(sel) or sel["value"].isna().all():
            return math.nan
        return float(sel["value"].iloc[0])

    def cell(self, column: str, *, paper_row: str | None = None, row: str | None = None,
             group: str | None = None) -> Cell:
        """Our cell for ``paper_row`` (a row of ours compared with it; the row of the same name first) or ``row``."""
        tdef, table = self.tdef, self.tdef.number
        cand = [r for r in self.records
                if (row is None or r.spec.row == row) and (paper_row is None or r.spec.paper_row == paper_row)
                and (group is None or r.spec.param_dict.get("group", "") == group)]
        ok = [r for r in cand if r.status == "ok"]
        what = row or paper_row
        if not ok:
            reasons = sorted({(r.reason or r.status).split(". ")[0] for r in cand})
            raise Missing(f"Table {table} '{what}': " + ("; ".join(reasons) if reasons else "no record"))
        rows = list(dict.fromkeys(r.spec.row for r in ok))
        chosen = what if what in rows else rows[0]
        values, runs, note = {}, [], ""
        for i, r in enumerate(x for x in ok if x.spec.row == chosen):
            vals = [v for g, c, v in tdef.values(r) if c == column and not math.isnan(v)
                    and (group is None or g == group)]
            if not vals:
                continue
            values[r.spec.seed if r.spec.seed is not None else f"run{i}"] = vals[0]
            try:
                items = load_items(r)
            except PredictionsError as e:
                items, note = None, str(e)
            if items is None or column not in items:
                runs = None
                note = note or "no per-item predictions in the records"
            elif runs is not None:
                runs.append(items[column])
        if not values:
            raise Missing(f"Table {table} '{what}': no number in column {column}")
        sub = next((r.spec.substitute for r in ok if r.spec.row == chosen and r.spec.substitute), "") or ""
        return Cell(table, chosen, column, values, runs or None, sub, note)

    def paired(self, label: str, a, b) -> Test:
        """:func:`paired` (for the checks, which get their tools from the records they are given)."""
        return paired(label, a, b)

    def interval(self, cell: Cell) -> Interval:
        """The 95% bootstrap interval of a cell with per-item predictions (``cell.items``)."""
        return bootstrap_interval(cell.items)


def paired(label: str, a: Cell | Sequence[Cell], b: Cell | Sequence[Cell]) -> Test:
    """Paired test of a - b (a list of cells: their mean, e.g. a table's Avg); the claim asserts a > b."""
    a_cells = [a] if isinstance(a, Cell) else list(a)
    b_cells = [b] if isinstance(b, Cell) else list(b)
    if all(c.items for c in (*a_cells, *b_cells)):
        try:
            if len(a_cells) == 1:
                r = paired_bootstrap(a_cells[0].items, b_cells[0].items)
            else:
                r = paired_bootstrap_cells([c.items for c in a_cells], [c.items for c in b_cells])
            return Test(label, f"{label}: {r.describe()}", True, r.diff > 0 and r.p_value < ALPHA)
        except ValueError as e:
            item_note = str(e)
    else:
        item_note = next((c.items_note for c in (*a_cells, *b_cells) if not c.items), "")
    if len(a_cells) == 1:
        common = [s for s in a_cells[0].values if s in b_cells[0].values and not str(s).startswith("run")]
        if len(common) >= 2:
            r = paired_seed_test(a_cells[0].values, b_cells[0].values)
            decides = 2.0 / 2 ** r.n_items < ALPHA
            note = "" if decides else f" (cannot reach p < {ALPHA} with {r.n_items} seeds: does not decide)"
            return Test(label, f"{label}: {r.describe()}{note}", decides, r.diff > 0 and r.p_value < ALPHA)
    return Test(label, f"{label}: no paired test ({item_note or 'one run each, no per-item predictions'})",
                False, None)


def check_claims(records: Sequence, tables: Mapping) -> list[ClaimResult]:
    """Each claim of ``tables`` (number -> declaration) checked over the records of its table, in table order."""
    out = []
    for tdef in tables.values():
        if tdef.claims:
            recs = Records(tdef, records)
            out += [c.evaluate(recs) for c in tdef.claims]
    return out


