"""Intervals and a verdict for every cell of a table, under a rule fixed in advance (:func:`rule`).

:func:`annotate` adds to a table's long frame (one line per row x column, from :mod:`repro.tables.builder`):

- ``ci_low``, ``ci_high``, ``n_items``: a 95% percentile bootstrap interval over the test items (pairs
  resampled jointly; within each fold where the number is a mean over folds; the runs of a multi-seed cell share
  their test items and are resampled together, their statistics averaged as the table averages them). The Avg
  column: the seven cells resampled independently and averaged. Computed from the per-item predictions kept
  beside the records (``<record>.preds.npz``); a record without them gets no interval, and ``ci_note`` says so.
  The interval is information (and the claims' paired tests use the same items): it does not decide the verdict,
  because the paper scored the same test items and item resampling cannot tell a faithful reproduction from a
  wrong one.
- ``seed_min``, ``seed_max`` (with the existing ``ours`` mean, ``ours_std`` and ``n_runs``): the seed summary.
- ``verdict`` and ``verdict_reason`` by :func:`verdict`, under the rule :func:`rule` prints: deterministic rows
  (nothing trained here) against the paper's rounding plus the table's declared :class:`Tolerance`; trained rows
  by comparing seed means within the table's declared :class:`Equivalence` margin (three outcomes).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from repro.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, _percentile, _resampled, item_statistic
from repro.stats.predictions import NO_PREDICTIONS, PredictionsError, load_items

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
NOT_COMPARABLE, NONE = "not comparable", "none"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_COMPARABLE, NONE)
MARKERS = {REPRODUCED: "✓", NOT_REPRODUCED: "✗", INCONCLUSIVE: "?", NOT_COMPARABLE: "≠", NONE: "·"}
LEVEL = 0.95
HARDWARE_NOTE = "no interval: a speed measurement (its rounds are in the record)"


@dataclass(frozen=True)
class Tolerance:
    """How far a deterministic row (nothing trained here: word vectors, tf-idf, InferSent, released checkpoints,
    untrained BERT) may lie from the paper's number and still be the same computation: half a unit of the paper's
    last printed digit (``paper_decimals``) plus ``points`` (in the table's unit) of numerical drift, whose
    measurement ``source`` names."""

    points: float
    source: str
    paper_decimals: int = 2

    @property
    def rounding(self) -> float:
        return 0.5 * 10.0 ** -self.paper_decimals

    @property
    def bound(self) -> float:
        return self.rounding + self.points

    def describe(self) -> str:
        return (f"|ours - paper| <= {self.bound:g} (the paper's rounding {self.rounding:g} + tolerance "
                f"{self.points:g}: {self.source})")


@dataclass(frozen=True)
class Equivalence:
    """How trained rows are judged: our seed mean against the paper's, an equivalence test of the difference.

    The margin is ``margin_stds`` times the paper's seed standard deviation of the cell (where the paper prints
    none: ``seed_std``); the difference's two-sided ``level`` interval (Welch) from the paper's std / sqrt(its
    seeds) and ours (sample std over our seeds). Inside +-margin: reproduced; entirely outside: not reproduced;
    otherwise inconclusive. A side whose std is unknown (the paper prints none; we have one seed) is assumed to
    spread by ``seed_std``, the largest seed std that is plausible for the table (``source`` says why); with one
    seed of ours a cell is never "reproduced", and "not reproduced" only beyond that spread.
    """

    seed_std: float
    source: str
    margin_stds: float = 2.0
    level: float = 0.90

    def describe(self) -> str:
        return (f"seed means compared by a {self.level:.0%} interval of their difference (Welch; the paper's side "
                f"std/sqrt(its seeds)) against +-{self.margin_stds:g} x the paper's seed std of the cell; an "
                f"unknown std taken as {self.seed_std:g} ({self.source})")


def _isnan(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _cell_seed(*parts) -> list[int]:
    return [DEFAULT_SEED, zlib.crc32("\x1f".join(map(str, parts)).encode())]


EXTRA_COLUMNS = ["ci_low", "ci_high", "n_items", "ci_note", "seed_min", "seed_max", "verdict", "verdict_reason"]


def rule(tables) -> str:
    """The verdict rule, printed with every table and in the report, made from the declarations it is applied
    with (``tables``: those built together): each table's :class:`Tolerance` and :class:`Equivalence`, and its
    hardware-bound ones (never comparable with the paper's machines)."""
    tables = list(tables)
    hardware = [t.number for t in tables if t.hardware_bound]
    if len(hardware) > 1:
        which = f"; all of Tables {', '.join(hardware[:-1])} and {hardware[-1]}, which measure other hardware"
    else:
        which = f"; all of Table {hardware[0]}, which measures other hardware" if hardware else ""
    lines = [
        "Verdict rule (fixed before looking at the numbers): **none** (·) when the paper or we have no number for "
        "the cell; **not comparable** (≠) when the row deviates from the paper's protocol (its substitute note "
        f"names another model, data, training budget or hardware{which}); rows that follow the paper's protocol "
        "(the authors' released checkpoints, models this suite trains with the paper's recipe) are judged. "
        "A **deterministic** row (nothing trained here) is **reproduced** (✓) when our number is within the "
        "paper's rounding plus the table's numerical tolerance, else **not reproduced** (✗). A **trained** row is "
        "judged on seed means: the interval of the difference ours - paper lies inside the table's equivalence "
        "margin: **reproduced** (✓); entirely outside it: **not reproduced** (✗); otherwise **inconclusive** (?) "
        "(too few seeds to say either; with one seed of ours, never reproduced). Each cell's `verdict_reason` "
        "gives the numbers. The 95% bootstrap interval over test items shown beside our number "
        f"({DEFAULT_RESAMPLES} resamples, seed {DEFAULT_SEED}, within each test fold where the number is a mean "
        "over folds) is information and feeds the claims' paired tests; it does not decide a cell, since the "
        "paper scored the same test items.", ""]
    for t in tables:
        if t.hardware_bound:
            continue
        tol, eq = getattr(t, "tolerance", None), getattr(t, "equivalence", None)
        parts = [f"deterministic rows {tol.describe()}" if tol else "deterministic rows: no tolerance declared "
                 "(verdict none)"]
        parts.append(f"trained rows: {eq.describe()}" if eq else "trained rows: no seed spread declared "
                     "(verdict inconclusive)")
        lines.append(f"- Table {t.number}: " + "; ".join(parts) + ".")
    return "\n".join(lines)


def _records_by_line(tdef, records):
    """((group, row, model, profile, column) -> [(record, value)], (group, row, model, profile) -> the row's
    words) for the finished records of each cell."""
    out: dict[tuple, list] = {}
    words: dict[tuple, dict] = {}
    for rec in records:
        if rec.spec.table != tdef.number or rec.status != "ok":
            continue
        w = tdef.row_words(rec)  # the builder's row label (from the declaration), and how the row is judged
        label = w["label"]
        words.setdefault((rec.spec.param_dict.get("group", ""), label, rec.spec.model, rec.spec.profile), w)
        for g, col, v in tdef.values(rec):
            if _isnan(v):
                continue
            out.setdefault((g, label, rec.spec.model, rec.spec.profile, col), []).append((rec, v))
            words.setdefault((g, label, rec.spec.model, rec.spec.profile), w)
    return out, words


def paper_seeds(tdef) -> dict[tuple, int]:
    """(group, paper_row, column) -> the number of seeds the paper's number averages (the reference's
    ``n_seeds``); cells without one are one run."""
    ref = tdef.reference()
    if "n_seeds" not in ref:
        return {}
    return {(g, r, c): int(n) for g, r, c, n in ref[["group", "paper_row", "column", "n_seeds"]]
            .itertuples(index=False) if not _isnan(n)}


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
    by_line, words = _records_by_line(tdef, records)
    seeds_of_paper = paper_seeds(tdef)
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
        row_key = (line["group"], line["row"], line["model"], line["profile"])
        w = words.get(row_key) or {}
        vals = [v for _, v in by_line.get((*row_key, line["column"]), [])]
        df.at[i, "verdict"], df.at[i, "verdict_reason"] = verdict(
            line, tdef, values=vals, faithful=bool(w.get("faithful")), trained=bool(w.get("trained")),
            n_paper=seeds_of_paper.get((line["group"], line["paper_row"], line["column"])))
    return df


def verdict(line, tdef, *, values=(), faithful: bool = False, trained: bool = False,
            n_paper: int | None = None) -> tuple[str, str]:
    """(verdict, reason) of one cell under :func:`rule`: ``tdef`` its table's declaration (``hardware_bound``,
    ``tolerance``, ``equivalence``); ``values``: our per-seed numbers of the cell (default: ``ours`` once);
    ``faithful``: the row's substitute note names no deviation from the paper's protocol; ``trained``: the row's
    model is trained here; ``n_paper``: the seeds the paper's number averages (None: one run)."""
    if _isnan(line.get("ours")):
        why = line.get("reason") if line.get("status") in ("not_run", "failed") else None
        return NONE, f"no number of ours ({why})" if why else "no number of ours"
    if _isnan(line.get("paper")):
        return NONE, "the paper has no number for this cell"
    if tdef.hardware_bound:
        return NOT_COMPARABLE, "measured on other hardware than the paper's"
    if str(line.get("substitute") or "") and not faithful:
        return NOT_COMPARABLE, f"deviates from the paper's protocol: {line['substitute']}"
    ours, paper = float(line["ours"]), float(line["paper"])
    if trained:
        eq = getattr(tdef, "equivalence", None)
        if eq is None:
            return INCONCLUSIVE, (f"a trained row, and Table {tdef.number} declares no seed spread to judge it "
                                  "with (TableDef.equivalence)")
        values = [float(v) for v in values] or [ours]
        paper_std = None if _isnan(line.get("paper_std")) else float(line["paper_std"])
        return equivalence_verdict(ours, values, paper, paper_std, n_paper or 1, eq)
    tol = getattr(tdef, "tolerance", None)
    if tol is None:
        return NONE, f"a deterministic row, and Table {tdef.number} declares no tolerance (TableDef.tolerance)"
    d = ours - paper
    ok = abs(d) <= tol.bound + 1e-9  # the numbers are printed rounded: a tie is inside
    return (REPRODUCED if ok else NOT_REPRODUCED), (
        f"deterministic: |ours - paper| = {abs(d):.3g} {'<=' if ok else '>'} {tol.bound:g} (the paper's rounding "
        f"{tol.rounding:g} + tolerance {tol.points:g})")


def equivalence_verdict(ours: float, values, paper: float, paper_std: float | None, n_paper: int,
                        eq: Equivalence) -> tuple[str, str]:
    """(verdict, reason) of a trained cell: see :class:`Equivalence`."""
    n_ours = len(values)
    ours_std = float(np.std(values, ddof=1)) if n_ours > 1 else None
    sigma = paper_std if paper_std is not None else eq.seed_std
    margin = eq.margin_stds * sigma
    var_p = (paper_std if paper_std is not None else eq.seed_std) ** 2 / n_paper
    var_o = (ours_std if ours_std is not None else eq.seed_std) ** 2 / n_ours
    # Welch-Satterthwaite degrees of freedom over the estimated variances; an assumed std counts as known
    estimated = [(v, n - 1) for v, n, known in ((var_p, n_paper, paper_std is not None and n_paper > 1),
                                                (var_o, n_ours, ours_std is not None)) if known]
    den = sum(v * v / k for v, k in estimated)
    df = (var_p + var_o) ** 2 / den if den > 0 else math.inf
    q = float(student_t.ppf(0.5 + eq.level / 2, df))  # df inf: the normal quantile
    d = ours - paper
    half = q * math.sqrt(var_p + var_o)
    lo, hi = d - half, d + half
    paper_side = (f"paper {paper:g} ± {paper_std:g} over {n_paper} seed(s)" if paper_std is not None else
                  f"paper {paper:g} over {n_paper} run(s), std not printed (taken as {eq.seed_std:g})")
    ours_side = (f"ours {ours:.2f} ± {ours_std:.2f} over {n_ours} seeds" if ours_std is not None else
                 f"ours {ours:.2f} from one seed, std unknown (taken as {eq.seed_std:g})")
    where = (f"difference {d:+.2f}, {eq.level:.0%} interval [{lo:+.2f}, {hi:+.2f}] vs margin ±{margin:.2f} "
             f"({eq.margin_stds:g} x seed std {sigma:g}); {paper_side}; {ours_side}")
    if lo > margin or hi < -margin:
        return NOT_REPRODUCED, "different: interval outside the margin; " + where
    if n_ours < 2:
        return INCONCLUSIVE, "one seed of ours cannot show equivalence; " + where
    if -margin <= lo and hi <= margin:
        return REPRODUCED, "equivalent: interval inside the margin; " + where
    return INCONCLUSIVE, "too few seeds to say either: interval overlaps the margin's edge; " + where


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


def legend() -> str:
    """The markers' meaning, for the sentence above each table."""
    return ", ".join(f"{MARKERS[k]} {k}" for k in VERDICTS)


def markdown_section(df: pd.DataFrame, rule_text: str) -> list[str]:
    """Lines for a table's Markdown: the rule (:func:`rule`), the counts, why cells have no interval."""
    lines = ["## Verdicts", "", rule_text, "", f"Cells: {counts_line(df)}.", ""]
    notes = df[(df["ci_note"] != "") & df["ours"].notna()]
    if len(notes):
        for note, sub in notes.groupby("ci_note", sort=False):
            lines.append(f"- {len(sub)} cell(s): {note}")
        lines.append("")
    return lines
