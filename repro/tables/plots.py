"""Figures of the tables and the report: ours vs the paper over all cells, dot plots with intervals, speed per
hardware on a log axis.

Every figure is drawn from the tables' long frames (``annotate``-d, so with intervals and verdicts). A table's own
figure is the kind its declaration names (``TableDef.plot``, one of :data:`TABLE_FIGURES`; settings in
``TableDef.plot_options``); the kinds in :data:`REPORT_FIGURES` are drawn again for the report.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from repro.paths import atomic_path

MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _isnan(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _scale(tdef) -> float:
    return 100.0 if "fraction" in (tdef.unit or "") else 1.0


def ours_vs_paper(frames: dict, tables: dict, path: Path, profile: str) -> Path | None:
    """x = paper, y = ours for every cell both have (Avg columns and hardware-bound tables left out: derived /
    other units); the diagonal; 95% intervals as vertical bars; one marker per table; substitutes hollow."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 7))
    lo, hi, drawn = math.inf, -math.inf, 0
    for i, (number, df) in enumerate(sorted(frames.items())):
        tdef = tables[number]
        if tdef.hardware_bound or df.empty:
            continue
        sub = df[df["ours"].notna() & df["paper"].notna() & (df["column"] != "Avg")]
        if not len(sub):
            continue
        k = _scale(tdef)
        x, y = sub["paper"].to_numpy(float) * k, sub["ours"].to_numpy(float) * k
        yerr = np.array([[yy - lo_ * k if not _isnan(lo_) else 0 for yy, lo_ in zip(y, sub["ci_low"])],
                         [h * k - yy if not _isnan(h) else 0 for yy, h in zip(y, sub["ci_high"])]])
        hollow = (sub["substitute"] != "").to_numpy()
        color, marker = COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)]
        ax.errorbar(x, y, yerr=yerr, fmt="none", ecolor=color, alpha=0.6, lw=1, capsize=2)
        label = f"Table {number}" + (" (x100)" if k != 1 else "")
        if (~hollow).any():
            ax.scatter(x[~hollow], y[~hollow], marker=marker, color=color, s=36, label=f"{label}, paper's setup",
                       zorder=3)
        if hollow.any():
            ax.scatter(x[hollow], y[hollow], marker=marker, facecolors="none", edgecolors=color, s=36,
                       label=f"{label}, substitute", zorder=3)
        lo, hi = min(lo, x.min(), y.min()), max(hi, x.max(), y.max())
        drawn += len(sub)
    if not drawn:
        plt.close(fig)
        return None
    pad = 0.05 * (hi - lo or 1)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="#555555", lw=1, ls="--", label="ours = paper")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("paper")
    ax.set_ylabel(f"ours ({profile})")
    ax.set_title(f"Ours vs the paper, every cell both have ({profile} profile)\n"
                 "bars: 95% bootstrap interval (where the record has per-item predictions); hollow: substitute",
                 fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def ablation(tdef, df: pd.DataFrame, path: Path, profile: str) -> Path | None:
    """An ablation as dot plots, one panel per ``plot_options["panels"]`` entry ``(group, column, title)``: ours
    (mean over seeds) with its interval (bootstrap where the records have predictions, else the seeds' min-max),
    the paper's number beside it; an axis fitted to the values (``plot_options["axis"]``: its label), so
    differences of a point show."""
    plt = _plt()
    ok = df[df["ours"].notna() | df["paper"].notna()]
    if not ok["ours"].notna().any():
        return None
    panels = [tuple(p) for p in tdef.plot_options.get("panels", ())]
    panels = [p for p in panels if len(ok[(ok["group"] == p[0]) & (ok["column"] == p[1])])]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 1.2 + 0.45 * sum(
        len(ok[(ok["group"] == g) & (ok["column"] == c)]["row"].unique()) for g, c, _ in panels) + 0.6 * len(panels)),
        squeeze=False)
    for ax, (g, col, title) in zip(axes[:, 0], panels):
        sub = ok[(ok["group"] == g) & (ok["column"] == col)]
        rows = list(dict.fromkeys(sub["row"]))
        for j, row in enumerate(rows):
            line = sub[sub["row"] == row].iloc[0]
            if not _isnan(line["ours"]):
                lo, hi = line.get("ci_low"), line.get("ci_high")
                if _isnan(lo) and not _isnan(line.get("seed_min")) and line.get("n_runs", 0) > 1:
                    lo, hi = line["seed_min"], line["seed_max"]
                if not _isnan(lo):
                    ax.plot([lo, hi], [j, j], color="#1f77b4", lw=2.5, alpha=0.6, solid_capstyle="butt")
                ax.plot(line["ours"], j, "o", color="#1f77b4", label="ours (mean over seeds)" if j == 0 else None)
            if not _isnan(line["paper"]):
                ax.plot(line["paper"], j, "D", color="#d62728", mfc="none", label="paper" if j == 0 else None)
        ax.set_yticks(range(len(rows)), rows, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlabel(tdef.plot_options.get("axis", tdef.unit), fontsize=8)
    # one legend for the figure, under the title: inside a panel it hid the end of a bar
    handles = {}
    for ax in axes[:, 0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.suptitle(f"Table {tdef.number} ablation ({profile}): bars = 95% bootstrap interval, or the seeds' min-max "
                 "where the records have no per-item predictions", fontsize=8)
    fig.legend(list(handles.values()), list(handles), loc="upper center", ncol=len(handles), fontsize=7,
               frameon=False, bbox_to_anchor=(0.5, 0.975))
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def speed(tdef, df: pd.DataFrame, path: Path, profile: str) -> Path | None:
    """Speeds on a log axis, one panel per hardware (the paper's per device, then ours per machine), never our CPU
    beside the paper's GPU; every bar names its hardware and its ratio to the peer (ours: the column
    ``plot_options["ratio_column"]`` of the same run, described by ``ratio_label``; the paper's: its row
    ``plot_options["peer"]``). ``plot_options["devices"]``: column -> the paper's hardware for it."""
    plt = _plt()
    opts = tdef.plot_options
    paper_peer, devices = opts.get("peer"), dict(opts.get("devices", {}))
    enc = df[(df["group"] == "") & df["column"].isin(list(devices))]
    panels = []
    for dev, hw in devices.items():
        p = enc[(enc["column"] == dev) & enc["paper"].notna()].drop_duplicates("paper_row")
        if len(p):
            peer = p[p["paper_row"] == paper_peer]["paper"]
            peer = float(peer.iloc[0]) if len(peer) else math.nan
            panels.append((hw, [(r, v, v / peer if peer else math.nan) for r, v in zip(p["paper_row"], p["paper"])],
                           f"vs the paper's {opts.get('peer_label', paper_peer)}"))
    ours = enc[enc["ours"].notna()]
    def hw_of(model: str) -> str:
        return model.split(" on ", 1)[1] if " on " in model else model

    ratio_label = opts.get("ratio_label", "vs the peer, same run")
    for dev in devices:
        sub = ours[ours["column"] == dev]
        ratio_name = opts.get("ratio_column", "{device} vs peer").format(device=dev)
        ratio_col = df[(df["column"] == ratio_name)].set_index(["row", "model"])["ours"]
        for hw in sorted({hw_of(m) for m in sub["model"]}):  # one panel per machine: ratios are within a run
            mine = sub[[hw_of(m) == hw for m in sub["model"]]]
            bars = [(r, v, ratio_col.get((r, m), math.nan))
                    for r, m, v in zip(mine["row"], mine["model"], mine["ours"])]
            panels.append((f"ours ({profile}): {hw} ({dev})", bars, ratio_label))
    if not panels:
        return None
    allv = [v for _, bars, _ in panels for _, v, _ in bars if not _isnan(v) and v > 0]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 1.0 + sum(0.42 * len(b) + 0.7 for _, b, _ in panels)),
                             squeeze=False, gridspec_kw={"height_ratios": [max(1, len(b)) for _, b, _ in panels]})
    for ax, (title, bars, peer_what) in zip(axes[:, 0], panels):
        names = [textwrap.shorten(r, 48) for r, _, _ in bars]
        vals = [v if not _isnan(v) else np.nan for _, v, _ in bars]
        ax.barh(range(len(bars)), vals, color="#bbbbbb" if title.startswith("paper") else "#1f77b4")
        for j, (_, v, ratio) in enumerate(bars):
            if _isnan(v):
                continue
            txt = f" {v:,.0f}/s" + (f"  ({ratio:.2f}x {peer_what.split(',')[0]})" if not _isnan(ratio) else "")
            ax.text(v, j, txt, va="center", fontsize=7)
        ax.set_xscale("log")
        ax.set_xlim(10 ** math.floor(math.log10(min(allv))), max(allv) * 25)
        ax.set_yticks(range(len(bars)), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3, which="both")
    axes[-1, 0].set_xlabel("sentences per second (log scale); each panel is one machine")
    fig.suptitle(f"Table {tdef.number}: encoding speed by hardware (never compare bars across panels)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))  # room for the title above the first panel
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def table_dots(tdef, df: pd.DataFrame, path: Path, profile: str = "") -> Path | None:
    """One table as small multiples, one panel per column: each row of ours a dot with its interval (95%
    bootstrap, else the seeds' min-max), the paper's number a hollow diamond; each panel's axis fitted to its
    values, so a difference of a point shows (no bars from 0)."""
    plt = _plt()
    cols = [c for c in (tdef.plot_columns or tdef.columns + (["Avg"] if tdef.avg_column else []))
            if df[(df["column"] == c)][["ours", "paper"]].notna().any().any()]
    if not cols or not df["ours"].notna().any():
        return None
    keys = list(dict.fromkeys(zip(df["group"], df["row"], df["model"])))
    keys = [k for k in keys if df[(df["group"] == k[0]) & (df["row"] == k[1]) & (df["model"] == k[2])]
            [["ours", "paper"]].notna().any().any()]
    labels = [textwrap.shorten((f"{g}: " if g else "") + r, 64) for g, r, _ in keys]
    ncol = min(4, len(cols))
    nrow = math.ceil(len(cols) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol + 3.2, 0.8 + nrow * (0.3 * len(keys) + 0.9)),
                             squeeze=False, sharey=True)
    for ax in axes.ravel()[len(cols):]:
        ax.set_visible(False)
    for ax, col in zip(axes.ravel(), cols):
        for j, (g, row, model) in enumerate(keys):
            sel = df[(df["group"] == g) & (df["row"] == row) & (df["model"] == model) & (df["column"] == col)]
            if not len(sel):
                continue
            line = sel.iloc[0]
            if not _isnan(line["ours"]):
                lo, hi = line.get("ci_low"), line.get("ci_high")
                if _isnan(lo) and line.get("n_runs", 0) > 1 and not _isnan(line.get("seed_min")):
                    lo, hi = line["seed_min"], line["seed_max"]
                if not _isnan(lo):
                    ax.plot([lo, hi], [j, j], color="#1f77b4", lw=2.5, alpha=0.5, solid_capstyle="butt")
                hollow = bool(line.get("substitute"))
                ax.plot(line["ours"], j, "o", color="#1f77b4", mfc="white" if hollow else "#1f77b4")
            if not _isnan(line["paper"]):
                ax.plot(line["paper"], j, "D", color="#d62728", mfc="none", ms=5)
        ax.set_title(col, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelsize=7)
        if tdef.plot_log:
            ax.set_xscale("log")
    for ax in axes[:, 0]:
        ax.set_yticks(range(len(keys)), labels, fontsize=7)
        ax.set_ylim(len(keys) - 0.5, -0.5)
    fig.suptitle(f"{textwrap.shorten(tdef.title, 110)}\n● ours (hollow: a substitute), bar: 95% interval (or seeds' "
                 f"min-max); ◇ paper. Axis: {tdef.unit}", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


TABLE_FIGURES = {"dots": table_dots, "ablation": ablation, "speed": speed}
"""Kinds of a table's figure (``TableDef.plot``): ``fn(tdef, frame, path, profile) -> path | None``."""
REPORT_FIGURES = ("ablation", "speed")
"""Kinds drawn again for the report (``report_table<N>_<kind>.png``)."""
