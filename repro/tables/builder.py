"""Build a table from result records: long CSV, readable Markdown, PNG."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from repro.paths import atomic_path, atomic_write_text
from repro.errors import ReproError
from repro.results import ResultRecord, record_filename, slug
from repro.tables.declaration import TableDef
from repro.tables.plots import TABLE_FIGURES
from repro.tables.verdicts import annotate, cell_suffix, legend, markdown_section, rule

LONG_COLUMNS = ["table", "group", "row", "model", "profile", "paper_row", "substitute", "column", "ours",
                "ours_std", "n_runs", "paper", "paper_std", "diff", "status", "reason"]
AVG = "Avg"


def build_frame(tdef: TableDef, records: list[ResultRecord]) -> pd.DataFrame:
    """One line per (row, column): ours (mean over seeds), paper, difference; not-run rows keep their reason."""
    ref = tdef.reference()
    ref_map = {(g, r, c): (v, s) for g, r, c, v, s in ref[["group", "paper_row", "column", "value", "std"]]
               .itertuples(index=False)}
    groups: dict[tuple, list[ResultRecord]] = {}
    words: dict[tuple, dict] = {}
    labelled = [(tdef.row_words(r), r) for r in records if r.spec.table == tdef.number]
    # Records in a fixed order (by row label, then id), whatever their file names: rows the paper does not
    # order come out the same on every machine.
    for w, rec in sorted(labelled, key=lambda x: f"{slug(x[0]['label'])}-{x[1].spec.id}"):
        key = (rec.spec.param_dict.get("group", ""), w["label"], rec.spec.model, rec.spec.profile)
        groups.setdefault(key, []).append(rec)
        words.setdefault(key, w)

    lines = []
    covered = set()
    for key, recs in groups.items():
        group = key[0]
        ok = [r for r in recs if r.status == "ok"]
        spec = _Labelled(recs[0].spec, words[key])
        if not ok:
            reason = "; ".join(sorted({reason_of(r, words[key]) for r in recs}))
            status = "failed" if any(r.status == "failed" for r in recs) else "not_run"
            for col in tdef.columns:
                pv, ps = ref_map.get((group, spec.paper_row, col), (np.nan, np.nan))
                if _isnan(pv) and col not in set(ref["column"]):
                    continue
                lines.append(_line(tdef, group, spec, col, np.nan, np.nan, 0, pv, ps, status, reason))
            covered.add((group, spec.paper_row))
            continue
        per_col: dict[tuple, list[float]] = {}
        extras: dict[tuple, dict[str, list[float]]] = {}
        for r, g, col, v in _cell_values(tdef, ok):
            per_col.setdefault((g, col), []).append(v)
            for m in tdef.extra_metrics:
                x = (r.metrics.get(col) or {}).get(m)
                if x is not None:
                    extras.setdefault((g, col), {}).setdefault(m, []).append(float(x))
        warn = "; ".join(sorted({w for r in ok if (w := tdef.warning(r))})) if tdef.warning else ""
        col_rank = {c: i for i, c in enumerate(tdef.columns)}
        for (g, col), vals in sorted(per_col.items(), key=lambda kv: col_rank.get(kv[0][1], len(col_rank))):
            arr = np.asarray(vals, dtype=float)
            pv, ps = ref_map.get((g, spec.paper_row, col), (np.nan, np.nan))
            std = float(arr.std()) if len(arr) > 1 else np.nan  # population std over seeds
            line = _line(tdef, g, spec, col, float(arr.mean()), std, len(arr), pv, ps, "ok",
                         f"warning: {warn}" if warn else None)
            line.update({m: float(np.mean(v)) for m, v in extras.get((g, col), {}).items()})
            lines.append(line)
            covered.add((g, spec.paper_row))
    # Paper rows no record speaks for: shown with the paper's number only.
    for (g, prow), sub in ref.groupby(["group", "paper_row"], sort=False):
        if (g, prow) in covered:
            continue
        for col, pv, ps in sub[["column", "value", "std"]].itertuples(index=False):
            if col == AVG and tdef.avg_column:
                continue  # added with the other Avg cells below
            lines.append({"table": tdef.number, "group": g, "row": prow, "model": "", "profile": "",
                          "paper_row": prow, "substitute": "", "column": col, "ours": np.nan, "ours_std": np.nan,
                          "n_runs": 0, "paper": pv, "paper_std": ps, "diff": np.nan, "status": "not_in_profile",
                          "reason": "no record for this paper row in the results"})
    df = pd.DataFrame(lines, columns=LONG_COLUMNS + [m for m in tdef.extra_metrics])
    if tdef.avg_column and not df.empty:
        df = pd.concat([df, _avg_lines(tdef, df, ref_map)], ignore_index=True)
    return _order(df, list(dict.fromkeys(ref["paper_row"])), list(dict.fromkeys(ref["group"])))


class _Labelled:
    """A record's spec with the words of its table row (label, paper row, substitute) joined in."""

    def __init__(self, spec, words: dict):
        self._spec, self.row, self.paper_row, self.substitute = (spec, words["label"], words.get("paper_row"),
                                                                 words.get("substitute"))

    def __getattr__(self, name):
        return getattr(self._spec, name)


def reason_of(record, words: dict) -> str:
    """Why ``record`` has no number: a not-run record of a row the declaration says the suite cannot produce
    gives the declaration's reason as it reads now (``words["not_run"]``), any other its own."""
    if record.status == "not_run" and words.get("not_run"):
        return words["not_run"]
    return record.reason or record.status


class LabelledRecord:
    """A record whose ``spec`` also answers ``row``, ``paper_row`` and ``substitute`` (its table row's words,
    ``TableDef.row_words``) and whose ``reason`` is :func:`reason_of`; everything else is the record's own (for
    code that reads cells by row label)."""

    def __init__(self, record, words: dict):
        self._record, self.spec = record, _Labelled(record.spec, words)
        self.reason = reason_of(record, words) if record.status != "ok" else record.reason

    def __getattr__(self, name):
        return getattr(self._record, name)


def labelled(tdef, record) -> LabelledRecord:
    return LabelledRecord(record, tdef.row_words(record))


def _strip_seeds(x):
    if isinstance(x, dict):
        return {k: _strip_seeds(v) for k, v in x.items() if k != "seed"}
    if isinstance(x, (list, tuple)):
        return [_strip_seeds(v) for v in x]
    return x


def settings_key(spec) -> str:
    """What a record's numbers depend on apart from the seed: its task and its parameters without any seed."""
    return json.dumps({"task": spec.task, "params": _strip_seeds(spec.param_dict)}, sort_keys=True, default=str)


def _cell_values(tdef: TableDef, ok: list[ResultRecord]) -> list[tuple]:
    """(record, group, column, value) for the finished records of one row; records of one cell that differ in
    more than their seed are never averaged: an error naming them, or the newest settings (``on_conflict``)."""
    cells: dict[tuple, dict[str, list]] = {}
    label = tdef.row_words(ok[0])["label"] if ok else ""
    for r in ok:
        for g, col, v in tdef.values(r):
            cells.setdefault((g, col), {}).setdefault(settings_key(r.spec), []).append((r, g, col, v))
    out = []
    for (g, col), by_key in cells.items():
        if len(by_key) > 1:
            if tdef.on_conflict != "latest":
                spec = next(iter(by_key.values()))[0][0].spec
                files = sorted(record_filename(x[0].spec) for v in by_key.values() for x in v)
                raise ReproError(
                    f"Table {tdef.number}, row {label!r} ({spec.profile}), column {col!r}: {len(files)} records "
                    f"made with {len(by_key)} different settings (not just other seeds) would be averaged: "
                    f"{', '.join(files)} in <results>/{slug(spec.profile)}/table{slug(tdef.number)}/. Delete the "
                    "stale ones (their settings no longer match the pipeline) and rebuild, or rerun the pipeline.")
            newest = max(by_key.values(), key=lambda v: max(x[0].finished_at or "" for x in v))
            by_key = {"": newest}
        for v in by_key.values():
            out.extend(v)
    return out


def _order(df: pd.DataFrame, paper_rows: list[str], groups: list[str] = ()) -> pd.DataFrame:
    """The paper's group order, then its row order within the group; our rows right after (or instead of) the
    paper row they are compared with; rows the paper does not have last in their group."""
    g_rank = {g: i for i, g in enumerate(groups)}
    rank = {r: i for i, r in enumerate(paper_rows)}
    group_key = df["group"].map(lambda g: g_rank.get(g, len(g_rank)))
    key = df["paper_row"].map(lambda r: rank.get(r, len(rank)))
    ours_first = (df["status"] == "not_in_profile").astype(int)
    df = df.assign(_g=group_key, _k=key, _o=ours_first, _i=np.arange(len(df)))
    return (df.sort_values(["_g", "_k", "_o", "_i"], kind="stable").drop(columns=["_g", "_k", "_o", "_i"])
            .reset_index(drop=True))


def _line(tdef, group, spec, col, ours, ours_std, n, paper, paper_std, status, reason):
    diff = ours - paper if not (math.isnan(ours) or _isnan(paper)) else np.nan
    return {"table": tdef.number, "group": group, "row": spec.row, "model": spec.model, "profile": spec.profile,
            "paper_row": spec.paper_row or "", "substitute": spec.substitute or "", "column": col, "ours": ours,
            "ours_std": ours_std, "n_runs": n, "paper": paper, "paper_std": paper_std, "diff": diff,
            "status": status, "reason": reason}


def _isnan(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _avg_lines(tdef: TableDef, df: pd.DataFrame, ref_map: dict) -> pd.DataFrame:
    """The Avg column: ours = mean of all columns (when all are present); paper = its printed Avg."""
    out = []
    for (g, row, model, profile), sub in df.groupby(["group", "row", "model", "profile"], sort=False):
        sub = sub[sub["column"].isin(tdef.columns)]
        first = {k: v for k, v in sub.iloc[0].to_dict().items() if k in LONG_COLUMNS}
        ours = sub["ours"].mean() if sub["ours"].notna().sum() == len(tdef.columns) else np.nan
        paper, _ = ref_map.get((g, first["paper_row"], AVG), (np.nan, np.nan))
        first.update(column=AVG, ours=ours, ours_std=np.nan, n_runs=int(sub["n_runs"].min()), paper=paper,
                     paper_std=np.nan, diff=ours - paper if not (_isnan(ours) or _isnan(paper)) else np.nan)
        out.append(first)
    return pd.DataFrame(out, columns=LONG_COLUMNS)


# ---------------------------------------------------------------------------------------------- rendering
def _fmt(x, d: int) -> str:
    return "" if _isnan(x) else f"{x:.{d}f}"


def to_markdown(tdef: TableDef, df: pd.DataFrame, profile_desc: str = "", rule_text: str | None = None) -> str:
    """The table as Markdown; ``rule_text``: the verdict rule of the tables built together (default: this
    table's alone)."""
    d = tdef.decimals
    cols = tdef.columns + ([AVG] if tdef.avg_column else [])
    lines = [f"# {tdef.title}", ""]
    if profile_desc:
        lines += [profile_desc, ""]
    lines += ["Each cell: **ours** (paper; difference ours - paper). `-`: no number. Rebuild with "
              "`sbert-repro tables`; the numbers come from the JSON result records only.", ""]
    if "verdict" in df.columns:
        lines += ["After ours: its 95% interval `[low, high]` over test items where the record has per-item "
                  f"predictions (information only), and the verdict: {legend()} (rule below).", ""]
    has_groups = (df["group"] != "").any()
    header = (["Group"] if has_groups else []) + ["Row", "Model / profile"] + cols
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for (g, row, model, profile), sub in df.groupby(["group", "row", "model", "profile"], sort=False):
        by_col = {c: r for c, r in zip(sub["column"], sub.to_dict("records"))}
        cells = []
        for c in cols:
            r = by_col.get(c)
            if r is None:
                cells.append("-")
                continue
            ours = _fmt(r["ours"], d)
            if ours and not _isnan(r["ours_std"]):
                ours += f" ± {r['ours_std']:.{d}f}"
                if not _isnan(r.get("seed_min")):  # the seed summary: n, min-max
                    ours += f" (n {int(r['n_runs'])}: {r['seed_min']:.{d}f}-{r['seed_max']:.{d}f})"
            paper = _fmt(r["paper"], d)
            if paper and not _isnan(r["paper_std"]):
                paper += f" ± {r['paper_std']:.{d}f}"
            mark = cell_suffix(r, d) if "verdict" in r else ""
            if ours and paper:
                cells.append(f"**{ours}**{mark} ({paper}; {r['diff']:+.{d}f})")
            elif ours:
                cells.append(f"**{ours}**{mark}")
            elif paper:
                cells.append(f"- ({paper})")
            else:
                cells.append("-")
        who = f"{model} / {profile}" if model else "paper only"
        prow = sub["paper_row"].iloc[0]
        label = row if not prow or prow.casefold() == row.casefold() else f"{row} (vs. paper: {prow})"
        if _has_warning(sub):
            label += " (⚠ see warnings)"
        row_cells = ([g] if has_groups else []) + [label, who] + cells
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row_cells) + " |")  # e.g. (|u-v|)
    lines.append("")
    subs = df[(df["substitute"] != "") & (df["status"] == "ok")][["row", "substitute"]].drop_duplicates()
    if len(subs):
        lines += ["## Substitutes (what stands in for the paper's setup)", ""]
        lines += [f"- **{r}**: {s}" for r, s in subs.itertuples(index=False)]
        lines.append("")
    warned = df[(df["status"] == "ok") & df["reason"].fillna("").astype(str).str.startswith("warning: ")]
    warned = warned[["row", "model", "reason"]].drop_duplicates()
    if len(warned):
        lines += ["## Warnings (read these numbers with care)", ""]
        lines += [f"- **{r}** (`{m}`): {why[len('warning: '):]}" for r, m, why in warned.itertuples(index=False)]
        lines.append("")
    nr = df[df["status"].isin(["not_run", "failed"])][["row", "model", "status", "reason"]].drop_duplicates()
    if len(nr):
        lines += ["## Rows not run here, and why", ""]
        lines += [f"- **{r}** (`{m}`, {st}): {why}" for r, m, st, why in nr.itertuples(index=False)]
        lines.append("")
    if "verdict" in df.columns:
        lines += markdown_section(df, rule_text if rule_text is not None else rule([tdef]))
    notes = [n for n in (note(df) if callable(note) else note for note in tdef.notes) if n]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def _has_warning(sub: pd.DataFrame) -> bool:
    return bool(((sub["status"] == "ok") & sub["reason"].fillna("").astype(str).str.startswith("warning: ")).any())


def write_table(tdef: TableDef, records: list[ResultRecord], out_dir: str | Path, profile_desc: str = "",
                collect: dict | None = None, rule_text: str | None = None) -> dict:
    """Write ``<slug>.csv``, ``<slug>.md`` and ``<slug>.png`` (the declaration's kind of figure) into ``out_dir``;
    returns their paths.

    ``collect``, when given, receives ``{table number: (frame, markdown)}`` (for the report); ``rule_text``: as
    for :func:`to_markdown`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df = annotate(tdef, build_frame(tdef, records), records)
    paths = {"csv": out_dir / f"{tdef.slug}.csv", "md": out_dir / f"{tdef.slug}.md"}
    with atomic_path(paths["csv"]) as tmp:
        df.to_csv(tmp, index=False, float_format="%.4f")
    md = to_markdown(tdef, df, profile_desc, rule_text)
    atomic_write_text(paths["md"], md)
    if collect is not None:
        collect[tdef.number] = (df, md)
    if tdef.plot is not None:
        profile = next((p for p in df["profile"] if p), "")
        png = TABLE_FIGURES[tdef.plot](tdef, df, out_dir / f"{tdef.slug}.png", profile)
        if png:
            paths["png"] = png
    return paths
