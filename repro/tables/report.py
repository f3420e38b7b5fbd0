"""One report per profile, ``tables/<profile>/REPORT.md``, built from the result records only.

Summary (cells reproduced / not / not comparable / none; claims that hold), the claims with their evidence,
every table, the deviations from the paper in one list with reasons, the environment (versions, hardware from
the records), the compute spent (hours summed from the records' durations, by device) and the data used
(sha256 from the manifests of the datasets the finished rows read).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd

from repro.paths import atomic_write_text
from repro.data.manifest import get_dataset
from repro.tables import plots
from repro.tables import verdicts as V
from repro.tables.claims import CONSISTENT, FAILS, HOLDS, UNTESTABLE, claims_markdown
from repro.tables.evidence import check_claims

REPORT = "REPORT.md"


def _demote(md: str, levels: int = 2) -> list[str]:
    out = []
    for line in md.splitlines():
        out.append("#" * levels + line if line.startswith("#") else line)
    return out


def _device(rec) -> str:
    hw = (rec.env or {}).get("hardware") or {}
    dev = str(hw.get("device") or rec.spec.param_dict.get("device") or "cpu")
    return "GPU" if dev.startswith("cuda") or dev == "GPU" else "CPU"


def _hardware_line(hw: dict) -> str:
    if not hw:
        return "not recorded"
    parts = [str(hw.get("cpu") or "?")]
    if hw.get("cpu_count"):
        parts.append(f"{hw['cpu_count']} CPUs")
    if hw.get("torch_threads"):
        parts.append(f"{hw['torch_threads']} torch threads")
    if hw.get("gpu"):
        parts.append(f"GPU {hw['gpu']}" + (f" (CUDA {hw['cuda']})" if hw.get("cuda") else ""))
    if hw.get("device"):
        parts.append(f"device {hw['device']}")
    return ", ".join(parts)


def environment_lines(records) -> list[str]:
    versions, hardware = Counter(), Counter()
    for r in records:
        if r.status != "ok":
            continue
        env = r.env or {}
        v = env.get("versions") or (env.get("hardware") or {}).get("versions") or {}
        if v:
            versions[json.dumps(v, sort_keys=True)] += 1
        hw = {k: x for k, x in (env.get("hardware") or {}).items() if k != "versions"}
        hardware[_hardware_line(hw)] += 1
    lines = ["## Environment (from the records)", ""]
    for v, n in versions.most_common():
        d = json.loads(v)
        lines.append(f"- {n} record(s): " + ", ".join(f"{k} {x}" for k, x in d.items()))
    for hw, n in hardware.most_common():
        lines.append(f"- {n} record(s) on: {hw}")
    return lines + [""]


def compute_lines(records) -> list[str]:
    by, timed = {}, {}
    for r in records:
        if r.duration_s is None:
            continue
        key = (r.spec.table, _device(r))
        by[key] = by.get(key, 0.0) + float(r.duration_s)
        rounds = ((r.details or {}).get("case") or {}).get("seconds") if isinstance(r.details, dict) else None
        if isinstance(rounds, list):  # speed rows: measured as one suite; their records keep the timed rounds
            timed[key] = timed.get(key, 0.0) + float(sum(rounds))
    lines = ["## Compute spent (summed from the records' durations)", "",
             "Each record's duration is the wall time of its run (model loading, training where it trained, "
             "evaluation); a training run shared by several rows (e.g. Table 2's NLI model, Table 6's MEAN/NLI "
             "cell) counts where it ran, and a record kept from an earlier run counts with its original "
             "duration.", "", "| table | device | hours |", "|---|---|---|"]
    tot = Counter()
    for (t, dev), s in sorted(by.items()):
        lines.append(f"| {t} | {dev} | {s / 3600:.2f} |")
        tot[dev] += s
    for dev, s in sorted(tot.items()):
        lines.append(f"| all | {dev} | **{s / 3600:.2f}** |")
    if timed:
        which = ", ".join(dict.fromkeys(t for t, _ in sorted(timed)))
        lines += ["", f"Speed rows (Table {which}) are measured as one suite, so their records' durations do not "
                  "hold the measuring time; the rounds they timed add up to: " + ", ".join(
                      f"Table {t} {dev} {s / 3600:.2f} h" for (t, dev), s in sorted(timed.items())) +
                  " (warm-up and the faithfulness checks not included)."]
    return lines + [""]


def data_lines(records, tables: dict) -> list[str]:
    """The datasets (``datasets`` of the declarations in ``tables``) the finished records read, with sha256."""
    used = {}
    for r in records:
        if r.status == "ok" and r.spec.table in tables:
            for d in getattr(tables[r.spec.table], "datasets", ()):
                used.setdefault(d, set()).add(r.spec.table)
    lines = ["## Data used (sha256 from the manifests)", "",
             "The datasets the finished rows read; `sbert-repro data verify` checks a data root against these.", ""]
    for name in sorted(used):
        try:
            ds = get_dataset(name)
        except Exception:
            lines.append(f"- **{name}** (Tables {', '.join(sorted(used[name]))}): no manifest")
            continue
        pinned = [f for f in ds.files if f.pinned]
        lines += [f"- **{name}**: {ds.title} (Tables {', '.join(sorted(used[name]))}; {len(pinned)} files)", "",
                  "  <details><summary>files and sha256</summary>", ""]
        lines += [f"  - `{f.path}` {f.sha256}" for f in pinned]
        lines += ["", "  </details>", ""]
    return lines + [""]


def deviations_lines(frames: dict) -> list[str]:
    lines = ["## Deviations from the paper, with reasons", ""]
    subs, notrun = {}, {}
    for number, df in sorted(frames.items()):
        ok = df[(df["substitute"] != "") & (df["status"] == "ok")]
        for row, s in ok[["row", "substitute"]].drop_duplicates().itertuples(index=False):
            subs.setdefault(s, []).append(f"T{number} {row}")
        nr = df[df["status"].isin(["not_run", "failed"])]
        for row, why in nr[["row", "reason"]].drop_duplicates().itertuples(index=False):
            notrun.setdefault(str(why), []).append(f"T{number} {row}")
    if subs:
        lines += ["### What stands in for the paper's setup", ""]
        lines += [f"- {s} — {', '.join(dict.fromkeys(rows))}" for s, rows in subs.items()]
        lines.append("")
    if notrun:
        lines += ["### Rows not run here, and why", ""]
        lines += [f"- {', '.join(dict.fromkeys(rows))}: {why}" for why, rows in notrun.items()]
        lines.append("")
    return lines


def interval_lines(cells: pd.DataFrame) -> list[str]:
    """Why our cells have no interval over test items, counted per reason and table from the frames' ``ci_note``
    (the intervals are information; the verdicts do not use them)."""
    if not len(cells):
        return []
    missing = cells[(cells["ci_note"] != "") & cells["ours"].notna()]
    if not len(missing):
        return []
    lines = [f"- {len(missing)} of our cells have no interval over test items (information only: the verdicts do "
             "not use it):"]
    for note, sub in missing.groupby("ci_note", sort=False):
        tables = ", ".join(f"Table {t} ({n})" for t, n in sub.groupby("table", sort=True).size().items())
        lines.append(f"  - {len(sub)}: {note} — {tables}")
    return lines + [""]


def write_report(frames: dict, markdowns: dict, records, out_dir: str | Path, profile: str, tables: dict,
                 profile_desc: str = "", counts: dict | None = None) -> dict:
    """Write ``REPORT.md`` and the report's figures into ``out_dir``; returns their paths. ``tables``: number ->
    declaration, every table of the suite (the frames' tables among them): their claims are checked (in table
    order), their hardware-bound ones named in the verdict rule, their datasets listed. ``counts`` (a dict) gets the
    summary's counts: ``cells`` (verdict -> cells) and ``claims`` (verdict -> claims), in the report's order."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    figs = [("ours_vs_paper", plots.ours_vs_paper(frames, tables, out_dir / "report_ours_vs_paper.png", profile))]
    for number, df in sorted(frames.items()):  # the kinds of table figure the report shows too
        kind = tables[number].plot
        if kind in plots.REPORT_FIGURES:
            figs.append((kind, plots.TABLE_FIGURES[kind](tables[number], df,
                                                         out_dir / f"report_table{number}_{kind}.png", profile)))
    claims = check_claims(records, tables)
    all_cells = pd.concat([df for df in frames.values()], ignore_index=True) if frames else pd.DataFrame()
    c = V.counts(all_cells) if len(all_cells) else {k: 0 for k in V.VERDICTS}
    cc = Counter(x.verdict for x in claims)
    if counts is not None:
        counts["cells"] = {k: int(c[k]) for k in V.VERDICTS}
        counts["claims"] = {k: cc[k] for k in (HOLDS, CONSISTENT, FAILS, UNTESTABLE)}
    lines = [f"# Does SBERT reproduce? Report for profile `{profile}`", ""]
    if profile_desc:
        lines += [profile_desc, ""]
    lines += ["Built from the JSON result records alone (`sbert-repro tables --profile " + profile + "`); every "
              "number below can be traced to a record under `results/" + profile + "/`.", "",
              "## Summary", "",
              "- Cells (all tables, ours or the paper's number present): "
              + ", ".join(f"{V.MARKERS[k]} {k} **{c[k]}**" for k in V.VERDICTS) + ".",
              f"- Claims: **{cc[HOLDS]}** hold, **{cc[CONSISTENT]}** consistent but not tested (point estimates "
              f"only), **{cc[FAILS]}** do not hold, **{cc[UNTESTABLE]}** not testable with this profile (of "
              f"{len(claims)}).", ""]
    lines += interval_lines(all_cells)
    lines += ["| table | " + " | ".join(f"{V.MARKERS[k]} {k}" for k in V.VERDICTS) + " |",
              "|---|" + "---|" * len(V.VERDICTS)]
    for number, df in sorted(frames.items()):
        tc = V.counts(df)
        lines.append(f"| {number} | " + " | ".join(str(tc[k]) for k in V.VERDICTS) + " |")
    lines += ["", V.rule(tables.values()), ""]
    for name, p in figs:
        if p is not None:
            paths[p.stem] = p
            lines += [f"![{name}]({p.name})", ""]
    lines += claims_markdown(claims)
    lines += ["## Tables", ""]
    for number, md in sorted(markdowns.items()):
        lines += _demote(md) + [""]
    lines += deviations_lines(frames)
    lines += environment_lines(records)
    lines += compute_lines(records)
    lines += data_lines(records, tables)
    path = out_dir / REPORT
    atomic_write_text(path, "\n".join(lines).rstrip() + "\n")
    paths["md"] = path
    return paths
