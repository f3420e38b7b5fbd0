"""The paper's conclusions as checks over the result records of one profile.

Each :class:`Claim` is a small function over the records that returns the paper's evidence, ours, a paired test
where both sides share test items (paired bootstrap over items, the seeds of a cell averaged; over seeds where
there are no per-item predictions but several seeds), and a verdict under :data:`RULE`. Conditions ("about 7
points", "1-2 points") are turned into explicit bounds here, before any number is looked at, and are printed
with the verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from repro.stats.bootstrap import Items, paired_bootstrap, paired_bootstrap_cells, paired_seed_test
from repro.stats.predictions import PredictionsError, load_items

HOLDS, FAILS, UNTESTABLE = "holds", "does not hold", "not testable with this profile"
ALPHA = 0.05

RULE = (
    "Claim verdicts (rule fixed in advance): **holds** when our numbers meet every condition stated with the "
    "claim and every difference the claim asserts is significant (two-sided p < 0.05) in the claimed direction "
    "in a paired test that can reach p < 0.05 (a paired bootstrap over shared test items; an exact sign-flip test "
    "over seeds only with 6 or more seeds, since 2 seeds cannot go below p = 0.5: such a test is reported but "
    "does not decide); **does not hold** when a condition fails or such a test finds no significant difference; "
    "**not testable with this profile** when a number the claim needs has no finished record here (the reason is "
    "given). Substitutes (other models, data, hardware) are named in the evidence: a claim checked on a "
    "substitute tests the paper's conclusion on that substitute.")


# ============================================================================================== record access
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


class Missing(Exception):
    """A number a claim needs has no finished record (the message says why)."""


class Records:
    """The records of one profile, with the tables' declarations to read them."""

    def __init__(self, records: Sequence):
        from repro.tables import TABLES  # the declarations under repro/specs, loaded on first use

        from repro.tables.builder import labelled

        self.tables = TABLES
        # spec.row / paper_row / substitute: the words of each record's declared row (not in its identity)
        self.records = [labelled(TABLES[r.spec.table], r) if r.spec.table in TABLES else r for r in records]

    def paper(self, table: str, paper_row: str, column: str, group: str | None = None) -> float:
        ref = self.tables[table].reference()
        sel = ref[(ref["paper_row"] == paper_row) & (ref["column"] == column)]
        if group is not None:
            sel = sel[sel["group"] == group]
        if not len(sel) or sel["value"].isna().all():
            return math.nan
        return float(sel["value"].iloc[0])

    def cell(self, table: str, column: str, *, paper_row: str | None = None, row: str | None = None,
             group: str | None = None) -> Cell:
        """Our cell for ``paper_row`` (a row of ours compared with it; the row of the same name first) or ``row``."""
        tdef = self.tables[table]
        cand = [r for r in self.records if r.spec.table == table
                and (row is None or r.spec.row == row) and (paper_row is None or r.spec.paper_row == paper_row)
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


# ============================================================================================== tests
@dataclass
class Test:
    label: str  # what is compared, e.g. "SBERT-NLI-STSb - SBERT-STSb"
    text: str
    decides: bool
    significant_positive: bool | None  # the difference is > 0 at p < ALPHA (None: no test)


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


@dataclass
class ClaimResult:
    id: str
    claim: str
    where: str
    condition: str
    verdict: str
    reason: str
    paper: str = ""
    ours: str = ""
    tests: list[str] = field(default_factory=list)
    substitutes: list[str] = field(default_factory=list)


def decide(conditions: list[tuple[str, bool]], tests: list[Test]) -> tuple[str, str]:
    failed = [c for c, ok in conditions if not ok]
    if failed:
        return FAILS, "condition not met: " + "; ".join(failed)
    weak = [t.label for t in tests if t.decides and not t.significant_positive]
    if weak:
        return FAILS, "not significant in the claimed direction: " + "; ".join(weak)
    undecided = [t for t in tests if not t.decides]
    extra = " (no test could decide significance: " + str(len(undecided)) + " comparison(s) rest on point " \
        "estimates)" if undecided else ""
    return HOLDS, "every condition met" + extra


@dataclass
class Claim:
    id: str
    claim: str
    where: str
    condition: str
    check: Callable[[Records], dict]

    def evaluate(self, recs: Records) -> ClaimResult:
        try:
            out = self.check(recs)
        except Missing as e:
            return ClaimResult(self.id, self.claim, self.where, self.condition, UNTESTABLE, str(e))
        verdict, reason = decide(out["conditions"], out.get("tests", []))
        scope = out.get("scope")
        if scope:
            reason += f"; {scope}"
        return ClaimResult(self.id, self.claim, self.where, self.condition, verdict, reason, out["paper"],
                           out["ours"], [t.text for t in out.get("tests", [])],
                           sorted({c.substitute for c in out.get("cells", []) if c.substitute}))


# ============================================================================================== the claims
STS_COLUMNS = ["STS12", "STS13", "STS14", "STS15", "STS16", "STSb", "SICK-R"]
SENTEVAL_COLUMNS = ["MR", "CR", "SUBJ", "MPQA", "SST", "TREC", "MRPC"]


def _avg(cells: Sequence[Cell]) -> float:
    return float(np.mean([c.mean for c in cells]))


def _claim_bert_below_glove(r: Records) -> dict:
    glove = [r.cell("1", c, paper_row="Avg. GloVe embeddings") for c in STS_COLUMNS]
    avg_bert = [r.cell("1", c, paper_row="Avg. BERT embeddings") for c in STS_COLUMNS]
    cls = [r.cell("1", c, paper_row="BERT CLS-vector") for c in STS_COLUMNS]
    pa = {k: r.paper("1", k, "Avg") for k in ("Avg. GloVe embeddings", "Avg. BERT embeddings", "BERT CLS-vector")}
    g, b, c = _avg(glove), _avg(avg_bert), _avg(cls)
    return {
        "paper": f"Avg Spearman: GloVe {pa['Avg. GloVe embeddings']:.2f}, avg. BERT {pa['Avg. BERT embeddings']:.2f}, "
                 f"CLS {pa['BERT CLS-vector']:.2f}",
        "ours": f"Avg Spearman: GloVe {g:.2f} ({glove[0].row}), avg. BERT {b:.2f} ({avg_bert[0].row}), CLS {c:.2f} "
                f"({cls[0].row})",
        "conditions": [(f"avg. BERT ({b:.2f}) < GloVe ({g:.2f})", b < g), (f"CLS ({c:.2f}) < GloVe ({g:.2f})", c < g)],
        "tests": [paired("GloVe - avg. BERT (Avg)", glove, avg_bert), paired("GloVe - CLS (Avg)", glove, cls)],
        "cells": glove[:1] + avg_bert[:1] + cls[:1],
    }


def _claim_sbert_beats_infersent_use(r: Records) -> dict:
    cols = [c for c in STS_COLUMNS if c != "SICK-R"]
    sbert = {c: r.cell("1", c, paper_row="SBERT-NLI-base") for c in cols}
    inf = {c: r.cell("1", c, paper_row="InferSent - Glove") for c in cols}
    use = {c: r.cell("1", c, paper_row="Universal Sentence Encoder") for c in cols}
    conds, tests = [], []
    for c in cols:
        conds.append((f"{c}: SBERT {sbert[c].mean:.2f} > InferSent {inf[c].mean:.2f}", sbert[c].mean > inf[c].mean))
        conds.append((f"{c}: SBERT {sbert[c].mean:.2f} > USE {use[c].mean:.2f}", sbert[c].mean > use[c].mean))
        tests += [paired(f"{c} SBERT - InferSent", sbert[c], inf[c]), paired(f"{c} SBERT - USE", sbert[c], use[c])]
    paper = ", ".join(f"{c} {r.paper('1', 'SBERT-NLI-base', c):.2f}/{r.paper('1', 'InferSent - Glove', c):.2f}/"
                      f"{r.paper('1', 'Universal Sentence Encoder', c):.2f}" for c in cols)
    ours = ", ".join(f"{c} {sbert[c].mean:.2f}/{inf[c].mean:.2f}/{use[c].mean:.2f}" for c in cols)
    return {"paper": f"SBERT-NLI-base/InferSent/USE: {paper}", "ours": f"{sbert['STSb'].row}/InferSent/USE: {ours}",
            "conditions": conds, "tests": tests, "cells": [sbert["STSb"], inf["STSb"], use["STSb"]]}


def _claim_nli_then_stsb(r: Records) -> dict:
    lo, hi = 0.5, 2.5
    both = r.cell("2", "STSb", paper_row="SBERT-NLI-STSb-base")
    only = r.cell("2", "STSb", paper_row="SBERT-STSb-base")
    pd_ = r.paper("2", "SBERT-NLI-STSb-base", "STSb") - r.paper("2", "SBERT-STSb-base", "STSb")
    pl = r.paper("2", "SBERT-NLI-STSb-large", "STSb") - r.paper("2", "SBERT-STSb-large", "STSb")
    d = both.mean - only.mean
    return {"paper": f"NLI-STSb - STSb: base {pd_:+.2f}, large {pl:+.2f} (Spearman on STSb test, 10 seeds)",
            "ours": f"{both.row} {both.describe()} - {only.row} {only.describe()} = {d:+.2f}",
            "conditions": [(f"improvement {d:+.2f} within [{lo:+.1f}, {hi:+.1f}]", lo <= d <= hi)],
            "tests": [paired("NLI-STSb - STSb", both, only)], "cells": [both, only]}


def _claim_afs(r: Records) -> dict:
    near, drop_lo, drop_hi = 3.0, 3.5, 14.0
    g10, gx = "10-fold cross-validation", "cross-topic"
    s10, b10 = (r.cell("3", "r", paper_row=p, group=g10) for p in ("SBERT-AFS-base", "BERT-AFS-base"))
    sx, bx = (r.cell("3", "r", paper_row=p, group=gx) for p in ("SBERT-AFS-base", "BERT-AFS-base"))
    p10 = r.paper("3", "BERT-AFS-base", "r", g10) - r.paper("3", "SBERT-AFS-base", "r", g10)
    px = r.paper("3", "BERT-AFS-base", "r", gx) - r.paper("3", "SBERT-AFS-base", "r", gx)
    d10, dx = b10.mean - s10.mean, bx.mean - sx.mean
    return {"paper": f"Pearson r: BERT-AFS - SBERT-AFS = {p10:+.2f} (10-fold), {px:+.2f} (cross-topic)",
            "ours": f"{b10.row} - {s10.row}: {d10:+.2f} (10-fold: {b10.mean:.2f} vs {s10.mean:.2f}), {dx:+.2f} "
                    f"(cross-topic: {bx.mean:.2f} vs {sx.mean:.2f})",
            "conditions": [(f"10-fold: |BERT - SBERT| = {abs(d10):.2f} <= {near}", abs(d10) <= near),
                           (f"cross-topic: BERT - SBERT = {dx:+.2f} within [{drop_lo}, {drop_hi}] (about 7)",
                            drop_lo <= dx <= drop_hi)],
            "tests": [paired("cross-topic BERT-AFS - SBERT-AFS", bx, sx),
                      Test("10-fold", paired("10-fold BERT-AFS - SBERT-AFS", b10, s10).text +
                           " (reported; 'near' needs no significance)", False, None)],
            "cells": [s10, b10]}


def _claim_wikisec(r: Records) -> dict:
    dor = r.paper("4", "Dor et al.", "Euclidean")
    sb = r.cell("4", "Euclidean", paper_row="SBERT-WikiSec-base")
    cond = [(f"SBERT {sb.mean:.4f} > Dor et al. {dor:.2f}", sb.mean > dor)]
    tests = []
    if sb.items:
        from repro.stats.bootstrap import bootstrap_interval

        iv = bootstrap_interval(sb.items)
        tests.append(Test("SBERT > Dor et al. (paper's number)", f"SBERT 95% interval [{iv.low:.4f}, {iv.high:.4f}] "
                          f"vs Dor et al.'s {dor:.2f} (their number is the paper's; no items to pair)", True,
                          iv.low > dor))
    return {"paper": f"SBERT-WikiSec-base {r.paper('4', 'SBERT-WikiSec-base', 'Euclidean'):.4f} vs Dor et al. "
                     f"{dor:.2f}", "ours": f"{sb.row} {sb.describe(4)} (Dor et al.: the paper's number)",
            "conditions": cond, "tests": tests, "cells": [sb]}


def _claim_senteval(r: Records) -> dict:
    lo, hi = 1.0, 4.0
    names = {"SBERT": "SBERT-NLI-base", "InferSent": "InferSent - GloVe", "USE": "Universal Sentence Encoder"}
    cells = {k: [r.cell("5", c, paper_row=p) for c in SENTEVAL_COLUMNS] for k, p in names.items()}
    others = {}
    for rec in r.records:  # every other system we have all seven columns of
        if rec.spec.table == "5" and rec.status == "ok" and rec.spec.paper_row not in (None, names["SBERT"]):
            others.setdefault(rec.spec.paper_row, None)
    for p in others:
        try:
            others[p] = [r.cell("5", c, paper_row=p) for c in SENTEVAL_COLUMNS]
        except Missing:
            pass
    others = {k: v for k, v in others.items() if v}
    best = sum(all(cells["SBERT"][i].mean >= o[i].mean for o in others.values()) for i in range(7))
    avg = {k: _avg(v) for k, v in cells.items()}
    d_inf, d_use = avg["SBERT"] - avg["InferSent"], avg["SBERT"] - avg["USE"]
    pav = {k: r.paper("5", p, "Avg") for k, p in names.items()}
    return {"paper": f"Avg: SBERT-NLI-base {pav['SBERT']:.2f}, InferSent {pav['InferSent']:.2f}, USE "
                     f"{pav['USE']:.2f}; SBERT(-large) best in 5 of 7 tasks",
            "ours": f"Avg: {cells['SBERT'][0].row} {avg['SBERT']:.2f}, InferSent {avg['InferSent']:.2f}, USE "
                    f"{avg['USE']:.2f}; best in {best} of 7 among {len(others) + 1} systems",
            "conditions": [(f"best in {best} of 7 (>= 5)", best >= 5),
                           (f"SBERT - InferSent = {d_inf:+.2f} within [{lo}, {hi}]", lo <= d_inf <= hi),
                           (f"SBERT - USE = {d_use:+.2f} within [{lo}, {hi}]", lo <= d_use <= hi)],
            "tests": [paired("SBERT - InferSent (Avg)", cells["SBERT"], cells["InferSent"]),
                      paired("SBERT - USE (Avg)", cells["SBERT"], cells["USE"])],
            "cells": [cells["SBERT"][0]]}


def _claim_pooling(r: Records) -> dict:
    g = "pooling_strategy"
    c = {(p, col): r.cell("6", col, paper_row=p, group=g) for p in ("MEAN", "MAX", "CLS") for col in ("NLI", "STSb")}
    rng = {col: max(c[(p, col)].mean for p in ("MEAN", "MAX", "CLS")) - min(c[(p, col)].mean
                                                                             for p in ("MEAN", "MAX", "CLS"))
           for col in ("NLI", "STSb")}
    pr = {col: max(r.paper("6", p, col, g) for p in ("MEAN", "MAX", "CLS")) -
          min(r.paper("6", p, col, g) for p in ("MEAN", "MAX", "CLS")) for col in ("NLI", "STSb")}
    worst = min(("MEAN", "MAX", "CLS"), key=lambda p: c[(p, "STSb")].mean)
    fmt = lambda col, get: " / ".join(f"{p} {get(p, col):.2f}" for p in ("MEAN", "MAX", "CLS"))  # noqa: E731
    return {"paper": f"NLI: {fmt('NLI', lambda p, col: r.paper('6', p, col, g))} (range {pr['NLI']:.2f}); STSb: "
                     f"{fmt('STSb', lambda p, col: r.paper('6', p, col, g))} (range {pr['STSb']:.2f})",
            "ours": f"NLI: {fmt('NLI', lambda p, col: c[(p, col)].mean)} (range {rng['NLI']:.2f}); STSb: "
                    f"{fmt('STSb', lambda p, col: c[(p, col)].mean)} (range {rng['STSb']:.2f})",
            "conditions": [(f"range with regression ({rng['STSb']:.2f}) >= 3 x range with NLI ({rng['NLI']:.2f})",
                            rng["STSb"] >= 3 * rng["NLI"]),
                           (f"MAX worst with regression (worst: {worst})", worst == "MAX")],
            "tests": [paired("STSb MEAN - MAX", c[("MEAN", "STSb")], c[("MAX", "STSb")]),
                      paired("STSb CLS - MAX", c[("CLS", "STSb")], c[("MAX", "STSb")])],
            "cells": [c[("MEAN", "NLI")]]}


CONCATS = ["(u, v)", "(|u-v|)", "(u*v)", "(|u-v|, u*v)", "(u, v, u*v)", "(u, v, |u-v|)", "(u, v, |u-v|, u*v)"]
PARTS = {"|u-v|": lambda c: "|u-v|" in c, "u*v": lambda c: "u*v" in c, "(u, v)": lambda c: c.startswith("(u, v")}


def _effects(score: dict) -> dict:
    """Mean score of the concatenations containing a part minus the mean of those without it."""
    return {p: float(np.mean([v for k, v in score.items() if has(k)]) - np.mean([v for k, v in score.items()
                                                                                if not has(k)]))
            for p, has in PARTS.items()}


def _claim_abs_diff(r: Records) -> dict:
    g = "concatenation"
    cells = {k: r.cell("6", "NLI", paper_row=k, group=g) for k in CONCATS}
    ours = _effects({k: v.mean for k, v in cells.items()})
    paper = _effects({k: r.paper("6", k, "NLI", g) for k in CONCATS})
    top = max(ours, key=ours.get)
    fmt = lambda e: ", ".join(f"{k} {v:+.2f}" for k, v in e.items())  # noqa: E731
    return {"paper": f"effect of each part (mean with - mean without, NLI column): {fmt(paper)}",
            "ours": f"effect of each part: {fmt(ours)}",
            "conditions": [(f"|u-v| has the largest effect (largest: {top})", top == "|u-v|")],
            "tests": [paired("(u, v, |u-v|) - (u, v)", cells["(u, v, |u-v|)"], cells["(u, v)"])],
            "cells": [cells["(u, v)"]]}


def _speed(r: Records, row: str, col: str) -> tuple[Cell, list[float]]:
    c = r.cell("7", col, row=row)
    rec = next(x for x in r.records if x.spec.table == "7" and x.spec.row == c.row and x.status == "ok"
               and (x.metrics.get(col) or {}).get("value") is not None)
    return c, list(((rec.details or {}).get("case") or {}).get("seconds") or [])


def _paper_speedups(r: Records) -> dict:
    return {col: 100.0 * (r.paper("7", "SBERT-base - smart batching", col) / r.paper("7", "SBERT-base", col) - 1.0)
            for col in ("CPU", "GPU")}


def _claim_smart_batching(r: Records) -> dict:
    paper = _paper_speedups(r)
    conds, tests, ours, cells, untested = [], [], [], [], []
    for col in ("CPU", "GPU"):
        try:
            smart, s_rounds = _speed(r, "SBERT-base - smart batching", col)
            plain, p_rounds = _speed(r, "SBERT-base", col)
        except Missing as e:
            untested.append(f"{col}: {e}")
            continue
        up = 100.0 * (smart.mean / plain.mean - 1.0)
        lo, hi = paper[col] / 2, paper[col] * 2
        conds.append((f"{col} speed-up {up:+.0f}% within [{lo:.0f}%, {hi:.0f}%] (half to twice the paper's)",
                      lo <= up <= hi))
        ours.append(f"{col}: {plain.mean:.1f} -> {smart.mean:.1f} sentences/s ({up:+.0f}%)")
        if s_rounds and len(s_rounds) == len(p_rounds):
            ratios = [100.0 * (p / s - 1.0) for p, s in zip(p_rounds, s_rounds)]
            tests.append(Test(f"{col} rounds", f"{col}: speed-up per interleaved round {min(ratios):+.0f}% to "
                              f"{max(ratios):+.0f}% ({len(ratios)} rounds; a sign test over {len(ratios)} rounds "
                              "cannot reach p < 0.05: does not decide)", False, None))
        cells.append(smart)
    if not conds:
        raise Missing("; ".join(untested))
    return {"paper": f"smart batching: {paper['CPU']:+.0f}% on CPU (i7-5820K), {paper['GPU']:+.0f}% on GPU (V100)",
            "ours": "; ".join(ours),
            "conditions": conds, "tests": tests, "cells": cells,
            "scope": ("untested here: " + "; ".join(untested)) if untested else ""}


def _claim_vs_infersent_use(r: Records) -> dict:
    inf = r.cell("7", "GPU", paper_row="InferSent")
    use = r.cell("7", "GPU", paper_row="Universal Sentence Encoder")
    sb = r.cell("7", "GPU", row="SBERT-base - smart batching")
    di, du = 100 * (sb.mean / inf.mean - 1), 100 * (sb.mean / use.mean - 1)
    ps, pi, pu = (r.paper("7", p, "GPU") for p in ("SBERT-base - smart batching", "InferSent",
                                                    "Universal Sentence Encoder"))
    return {"paper": f"GPU: SBERT smart batching {ps:.0f}, InferSent {pi:.0f} ({100 * (ps / pi - 1):+.0f}%), USE "
                     f"{pu:.0f} ({100 * (ps / pu - 1):+.0f}%) sentences/s",
            "ours": f"GPU: {sb.mean:.0f}, InferSent {inf.mean:.0f} ({di:+.0f}%), USE {use.mean:.0f} ({du:+.0f}%)",
            "conditions": [(f"vs InferSent {di:+.0f}% within [+4%, +18%]", 4.5 <= di <= 18),
                           (f"vs USE {du:+.0f}% within [+27%, +110%]", 27.5 <= du <= 110)],
            "tests": [], "cells": [sb]}


def _claim_65_hours(r: Records) -> dict:
    from repro.specs.table7 import CLAIM, CROSS_ROW, E2E_ROW

    pairs = [(CROSS_ROW, E2E_ROW, "plain"),
             ("BERT cross-encoder, fast path: hours (extrapolated)", "SBERT fast path: seconds end to end", "fast")]
    hours, seconds = r.paper("7", CROSS_ROW, "GPU", CLAIM), r.paper("7", E2E_ROW, "GPU", CLAIM)
    paper_ratio = hours * 3600 / seconds
    for col in ("GPU", "CPU"):
        for cross_row, e2e_row, what in pairs:
            try:
                cross, e2e = r.cell("7", col, row=cross_row), r.cell("7", col, row=e2e_row)
            except Missing:
                continue
            ratio = cross.mean * 3600 / e2e.mean
            lo, hi = paper_ratio / 10, paper_ratio * 10
            return {"paper": f"~{hours:g} h (BERT cross-encoder, 49,995,000 pairs) vs ~{seconds:g} s (SBERT), "
                             f"V100: ratio {paper_ratio:,.0f}",
                    "ours": f"{col} ({what} paths): {cross.mean:.1f} h (extrapolated) vs {e2e.mean:.1f} s: ratio "
                            f"{ratio:,.0f}",
                    "conditions": [(f"ratio {ratio:,.0f} within a factor 10 of the paper's ({lo:,.0f} to {hi:,.0f}); "
                                    "absolute times depend on the hardware", lo <= ratio <= hi)],
                    "tests": [], "cells": [cross, e2e]}
    raise Missing("Table 7: no cross-encoder and end-to-end timings on one device")


CLAIMS: list[Claim] = [
    Claim("C1", "Averaged BERT embeddings and the BERT CLS vector are worse than averaged GloVe embeddings on STS.",
          "§4.1, Table 1", "Avg over the 7 STS columns: avg. BERT < GloVe and CLS < GloVe.", _claim_bert_below_glove),
    Claim("C2", "SBERT-NLI beats InferSent and the Universal Sentence Encoder on the STS tasks, except SICK-R.",
          "§4.1, Table 1", "SBERT-NLI-base > InferSent and > USE on each of STS12-16 and STSb (SICK-R excepted).",
          _claim_sbert_beats_infersent_use),
    Claim("C3", "Training on NLI first, then on STSb, improves 1-2 points over training on STSb only.",
          "§4.2, Table 2", "SBERT-NLI-STSb-base - SBERT-STSb-base within [+0.5, +2.5] Spearman points.",
          _claim_nli_then_stsb),
    Claim("C4", "SBERT-AFS is near BERT-AFS in 10-fold cross-validation but drops about 7 points cross-topic.",
          "§4.3, Table 3", "Pearson r: |BERT-AFS - SBERT-AFS| <= 3 in 10-fold; BERT-AFS - SBERT-AFS within "
          "[3.5, 14] cross-topic.", _claim_afs),
    Claim("C5", "SBERT outperforms the BiLSTM triplet network of Dor et al. on Wikipedia sections.",
          "§4.4, Table 4", "SBERT-WikiSec-base accuracy (Euclidean) > 0.74 (Dor et al., the paper's number).",
          _claim_wikisec),
    Claim("C6", "SBERT is best in 5 of 7 SentEval tasks and about 2 points better on average than InferSent and USE.",
          "§5, Table 5", "SBERT-NLI-base best (or tied) in >= 5 of 7 tasks among our systems; Avg - InferSent and "
          "Avg - USE within [+1, +4] points.", _claim_senteval),
    Claim("C7", "Pooling matters little with NLI training but much with the regression objective, MAX worst.",
          "§6, Table 6", "Range over MEAN/MAX/CLS with regression >= 3 x the range with NLI; MAX lowest with "
          "regression.", _claim_pooling),
    Claim("C8", "|u-v| is the most important part of the classifier's input.", "§6, Table 6",
          "Of |u-v|, u*v and (u, v): |u-v| has the largest effect (mean NLI-column score of the concatenations "
          "with it minus those without it).", _claim_abs_diff),
    Claim("C9", "Smart batching speeds encoding up by 89% on CPU and 48% on GPU.", "§7, Table 7",
          "Speed-up of smart batching over plain batching within half to twice the paper's, on each device "
          "measured.", _claim_smart_batching),
    Claim("C10", "SBERT with smart batching is about 9% faster than InferSent and 55% faster than USE (GPU).",
          "§7, Table 7", "GPU: SBERT smart batching vs InferSent within [+4.5%, +18%], vs USE within [+27.5%, "
          "+110%] (half to twice the paper's).", _claim_vs_infersent_use),
    Claim("C11", "The most similar pair among 10,000 sentences takes about 65 h with BERT and about 5 s with SBERT.",
          "Abstract, §1", "Ratio of the BERT cross-encoder's hours (all 49,995,000 pairs) to SBERT's seconds end to "
          "end within a factor 10 of the paper's 46,800 (65 h / 5 s), on one device.", _claim_65_hours),
]


def check_claims(records: Sequence) -> list[ClaimResult]:
    recs = Records(records)
    return [c.evaluate(recs) for c in CLAIMS]


def claims_markdown(results: list[ClaimResult]) -> list[str]:
    icon = {HOLDS: "✓", FAILS: "✗", UNTESTABLE: "·"}
    lines = ["## The paper's claims", "", RULE, "",
             "| | claim | verdict | why |", "|---|---|---|---|"]
    for c in results:
        cells = [c.id, f"{c.claim} ({c.where})", f"{icon[c.verdict]} {c.verdict}", c.reason]
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    lines.append("")
    for c in results:
        lines += [f"### {c.id}: {c.claim}", "", f"- Where: {c.where}. Condition: {c.condition}",
                  f"- **Verdict: {c.verdict}** — {c.reason}"]
        if c.paper:
            lines.append(f"- Paper: {c.paper}")
        if c.ours:
            lines.append(f"- Ours: {c.ours}")
        lines += [f"- Test: {t}" for t in c.tests]
        if c.substitutes:
            lines += [f"- Substitute: {s}" for s in c.substitutes]
        lines.append("")
    return lines
