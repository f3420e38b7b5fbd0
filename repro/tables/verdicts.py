"""Intervals and a verdict for every cell of a table, under a rule fixed in advance (:func:`rule`).

:func:`annotate` adds to a table's long frame (one line per row x column, from :mod:`repro.tables.builder`):

- ``ci_low``, ``ci_high``, ``n_items``: a 95% percentile bootstrap interval over the test items (pairs
  resampled jointly; within each fold where the number is a mean over folds; the runs of a multi-seed cell share
  their test items and are resampled together, their statistics averaged as the table averages them). The Avg
  column: the seven cells resampled independently and averaged. Computed from the per-item predictions kept
  beside the records (``<record>.preds.npz``); a record without them gets no interval, and ``ci_note`` says so.
- ``seed_min``, ``seed_max`` (with the existing ``ours`` mean, ``ours_std`` and ``n_runs``): the seed summary.
- ``verdict`` and ``verdict_reason`` by :func:`rule`.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd

from repro.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, _percentile, _resampled, item_statistic
from repro.stats.predictions import NO_PREDICTIONS, PredictionsError, load_items

REPRODUCED, NOT_REPRODUCED, NOT_COMPARABLE, NONE = "reproduced", "not reproduced", "not comparable", "none"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, NOT_COMPARABLE, NONE)
MARKERS = {REPRODUCED: "✓", NOT_REPRODUCED: "✗", NOT_COMPARABLE: "≠", NONE: "·"}
LEVEL = 0.95
HARDWARE_NOTE = "no interval: a speed measurement (its rounds are in the record)"


def rule(tables) -> str:
    """The verdict rule, printed with every table and in the report; ``tables``: the declarations built together
    (its hardware-bound ones are named: never comparable with the paper's machines)."""
    hardware = [t.number for t in tables if t.hardware_bound]
    if len(hardware) > 1:
        which = f"; all of Tables {', '.join(hardware[:-1])} and {hardware[-1]}, which measure other hardware"
    else:
        which = f"; all of Table {hardware[0]}, which measures other hardware" if hardware else ""
    return (
        "Verdict rule (fixed before looking at the numbers): **none** (·) when the paper or we have no number for "
        "the cell, or our number has no interval (a record without per-item predictions); **not comparable** (≠) "
        f"when a substitute stands in for the paper's setup (another model, data, training budget or hardware{which}"
        "); otherwise **reproduced** (✓) when the paper's number lies inside our 95% bootstrap interval over test "
        "items widened on both sides by the paper's reported seed standard deviation (where it reports one), and "
        "**not reproduced** (✗) when it lies outside. Intervals: percentile bootstrap, "
        f"{DEFAULT_RESAMPLES} resamples, seed {DEFAULT_SEED}, test items (pairs, examples, triplets) resampled with "
        "replacement, within each test fold where the number is a mean over folds.")

EXTRA_COLUMNS = ["ci_low", "ci_high", "n_items", "ci_note", "seed_min", "seed_max", "verdict", "verdict_reason"]


def _isnan(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _cell_seed(*parts) -> list[int]:
    return [DEFAULT_SEED, zlib.crc32("\x1f".join(map(str, parts)).encode())]


def _records_by_line(tdef, records):
    """(group, row, model, profile, column) -> [(record, value)] for the finished records of each cell."""
    out: dict[tuple, list] = {}
    for rec in records:
        if rec.spec.table != tdef.number or rec.status != "ok":
            continue
        label = tdef.row_words(rec)["label"]  # the builder's row label (from the declaration)
        for g, col, v in tdef.values(rec):
            if _isnan(v):
                continue
            out.setdefault((g, label, rec.spec.model, rec.spec.profile, col), []).append((rec, v))
    return out


def _cell_draws(tdef, key, recs, n_resamples):
    """(bootstrap values, n_items, note) of one cell from its records' per-item predictions."""
    col = key[-1]
    runs = []
    for rec, value in recs:
        try:
            items = load_items(rec)
        except PredictionsError as e:
            return None, 0, f"no interval: {e}"
        if items is None or col not in items:
            return None, 0, NO_PREDICTIONS
        it = items[col]
        tol = 0.05 * it.scale / 100.0
        got = item_statistic(it)
        if not abs(got - value) <= tol:
            return None, 0, (f"no interval: the predictions of {rec.source.name if rec.source else rec.spec.id} give "
                             f"{got:.4g}, the record {value:.4g}; rerun with --force")
        runs.append(it)
    vals = _resampled(runs, n_resamples, np.random.default_rng(_cell_seed(tdef.number, *key)))
    return vals, max(r.n for r in runs), ""


def annotate(tdef, df: pd.DataFrame, records, *, n_resamples: int = DEFAULT_RESAMPLES) -> pd.DataFrame:
    """Add interval, seed-summary and verdict columns to a table's long frame (see the module docstring)."""
    df = df.copy()
    for c in EXTRA_COLUMNS:
        df[c] = np.nan if c in ("ci_low", "ci_high", "n_items", "seed_min", "seed_max") else ""
    by_line = _records_by_line(tdef, records)
    draws: dict[tuple, np.ndarray] = {}
    n_by_key: dict[tuple, int] = {}
    for i, line in df.iterrows():
        if line["status"] != "ok" or _isnan(line["ours"]):
            continue
        key = (line["group"], line["row"], line["model"], line["profile"], line["column"])
        recs = by_line.get(key)
        if not recs:
            continue  # e.g. the Avg column: below
        vals = [v for _, v in recs]
        df.at[i, "seed_min"], df.at[i, "seed_max"] = float(min(vals)), float(max(vals))
        if tdef.hardware_bound:
            df.at[i, "ci_note"] = HARDWARE_NOTE
            continue
        v, n, note = _cell_draws(tdef, key, recs, n_resamples)
        if v is None:
            df.at[i, "ci_note"] = note
            continue
        draws[key], n_by_key[key] = v, n
        df.at[i, "ci_low"], df.at[i, "ci_high"] = _percentile(v, LEVEL)
        df.at[i, "n_items"] = n
    if getattr(tdef, "avg_column", False):
        for i, line in df[df["column"] == "Avg"].iterrows():
            if _isnan(line["ours"]):
                continue
            keys = [(line["group"], line["row"], line["model"], line["profile"], c) for c in tdef.columns]
            if all(k in draws for k in keys):
                lo, hi = _percentile(np.mean([draws[k] for k in keys], axis=0), LEVEL)
                df.at[i, "ci_low"], df.at[i, "ci_high"] = lo, hi
                df.at[i, "n_items"] = sum(n_by_key[k] for k in keys)
            else:
                df.at[i, "ci_note"] = "no interval: not every column has one"
    for i, line in df.iterrows():
        df.at[i, "verdict"], df.at[i, "verdict_reason"] = verdict(line, hardware_bound=tdef.hardware_bound)
    return df


def verdict(line, hardware_bound: bool = False) -> tuple[str, str]:
    """(verdict, reason) of one cell under :func:`rule` (``hardware_bound``: its table measures hardware)."""
    if _isnan(line.get("ours")):
        why = line.get("reason") if line.get("status") in ("not_run", "failed") else None
        return NONE, f"no number of ours ({why})" if why else "no number of ours"
    if _isnan(line.get("paper")):
        return NONE, "the paper has no number for this cell"
    if hardware_bound:
        return NOT_COMPARABLE, "measured on other hardware than the paper's"
    if str(line.get("substitute") or ""):
        return NOT_COMPARABLE, f"substitute: {line['substitute']}"
    if _isnan(line.get("ci_low")):
        return NONE, str(line.get("ci_note") or NO_PREDICTIONS)
    widen = 0.0 if _isnan(line.get("paper_std")) else float(line["paper_std"])
    lo, hi, p = float(line["ci_low"]) - widen, float(line["ci_high"]) + widen, float(line["paper"])
    where = f"paper {p:g} {'in' if lo <= p <= hi else 'outside'} [{lo:.2f}, {hi:.2f}]"
    if widen:
        where += f" (our interval widened by the paper's seed std {widen:g})"
    return (REPRODUCED if lo <= p <= hi else NOT_REPRODUCED), where


def counts(df: pd.DataFrame) -> dict[str, int]:
    """Cells per verdict (the cells with a number on at least one side)."""
    v = df[~(df["ours"].isna() & df["paper"].isna())]["verdict"]
    return {k: int((v == k).sum()) for k in VERDICTS}


def counts_line(df: pd.DataFrame) -> str:
    c = counts(df)
    return ", ".join(f"{MARKERS[k]} {k}: {c[k]}" for k in VERDICTS)


def cell_suffix(line, decimals: int) -> str:
    """The Markdown cell's compact interval and marker, e.g. `` [81.9, 83.1] ✓``."""
    out = ""
    if not _isnan(line.get("ci_low")):
        out += f" [{line['ci_low']:.{decimals}f}, {line['ci_high']:.{decimals}f}]"
    v = line.get("verdict")
    return out + (f" {MARKERS[v]}" if v in MARKERS else "")


def markdown_section(df: pd.DataFrame, rule_text: str) -> list[str]:
    """Lines for a table's Markdown: the rule (:func:`rule`), the counts, why cells have no interval."""
    lines = ["## Verdicts", "", rule_text, "", f"Cells: {counts_line(df)}.", ""]
    notes = df[(df["ci_note"] != "") & df["ours"].notna()]
    if len(notes):
        for note, sub in notes.groupby("ci_note", sort=False):
            lines.append(f"- {len(sub)} cell(s): {note}")
        lines.append("")
    return lines
