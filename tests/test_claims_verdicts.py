"""Verdicts per cell and the paper's claims, on synthetic records: they can say "holds" and "does not hold"."""

import zlib

import numpy as np
from scipy.stats import spearmanr

from repro.results import ResultRecord, ResultStore, RunSpec
from repro.specs import load_specs
from repro.stats.predictions import NO_PREDICTIONS, cell_items
from repro.tables import claims as C
from repro.tables.evidence import check_claims
from repro.tables.verdicts import NONE, NOT_COMPARABLE, NOT_REPRODUCED

TABLES = load_specs()

GOLD = np.random.default_rng(0).random(1500) * 5
KEY = "stsb-test-synthetic"


def _pred(target: float, seed: int) -> np.ndarray:
    """Predictions whose Spearman with GOLD is close to ``target`` (x100)."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(len(GOLD))
    lo, hi = 0.0, 50.0
    for _ in range(40):  # bisect the noise scale
        mid = (lo + hi) / 2
        rho = 100 * spearmanr(GOLD + mid * noise, GOLD).statistic
        lo, hi = (mid, hi) if rho > target else (lo, mid)
    return GOLD + lo * noise


def _rec(table, row, paper_row, column, value_or_target, *, metric, group="", seed=None, preds=True,
         substitute=None, extra=None, key=KEY):
    params = {"group": group, **(extra or {})}
    # record identity has no labels: one model name per row; the row's words ride in details["row"]
    spec = RunSpec.make(table=table, model=f"m:{row}", profile="synthetic", task="t", seed=seed, params=params)
    details = {"row": {"label": row, "paper_row": paper_row, "substitute": substitute}}
    value = value_or_target
    if preds:
        p = _pred(value_or_target, zlib.crc32(f"{row}|{column}|{seed}".encode()) % 1000)  # not hash(): per process
        value = 100 * spearmanr(p, GOLD).statistic
        details["predictions"] = {column: cell_items("spearman", p, GOLD, key=key)}
    return ResultRecord(spec=spec, status="ok", metrics={column: {metric: value}}, details=details,
                        duration_s=3600.0)


def _store(tmp_path, recs):
    store = ResultStore(tmp_path)
    for r in recs:
        store.write(r)
    return store.load(profile="synthetic")


# ------------------------------------------------------------------------------------------- verdicts
def test_cell_intervals_are_information_and_verdicts_follow_the_rule(tmp_path):
    """Intervals over items are computed where predictions exist; verdicts come from seeds (tests/test_verdicts.py
    has the rule's own tests): a record without predictions is still judged."""
    from repro.tables.builder import build_frame, to_markdown
    from repro.tables.verdicts import INCONCLUSIVE, annotate

    g = "trained_on_stsb"
    recs = _store(tmp_path, [
        _rec("2", "SBERT-STSb-base", "SBERT-STSb-base", "STSb", 84.6, metric="spearman", group=g, seed=0),
        _rec("2", "SBERT-STSb-base", "SBERT-STSb-base", "STSb", 84.8, metric="spearman", group=g, seed=1),
        _rec("2", "SBERT-STSb-large", "SBERT-STSb-large", "STSb", 70.0, metric="spearman", group=g, seed=0),
        _rec("2", "BERT-STSb-base", "BERT-STSb-base", "STSb", 84.0, metric="spearman", group=g, seed=0, preds=False),
        _rec("2", "sub", "SRoBERTa-STSb-base", "STSb", 85.0, metric="spearman", group=g, substitute="other model"),
    ])
    tdef = TABLES["2"]
    df = annotate(tdef, build_frame(tdef, recs), recs)
    by = {r: line for r, line in zip(df["row"], df.to_dict("records"))}
    assert by["SBERT-STSb-base"]["verdict"] == INCONCLUSIVE  # two seeds: too few to show equivalence
    assert by["SBERT-STSb-base"]["ci_low"] < 84.7 < by["SBERT-STSb-base"]["ci_high"]
    assert by["SBERT-STSb-base"]["n_items"] == len(GOLD) and by["SBERT-STSb-base"]["n_runs"] == 2
    assert by["SBERT-STSb-large"]["verdict"] == NOT_REPRODUCED
    assert by["BERT-STSb-base"]["verdict"] == INCONCLUSIVE and by["BERT-STSb-base"]["ci_note"] == NO_PREDICTIONS
    assert by["sub"]["verdict"] == NOT_COMPARABLE
    assert by["BERT-NLI-STSb-base"]["verdict"] == NONE  # paper only
    md = to_markdown(tdef, df)
    assert "?" in md and "✗" in md and "Verdict rule" in md and "Cells: ✓ reproduced: 0" in md
    # the same seed gives the same interval on a rebuild
    again = annotate(tdef, build_frame(tdef, recs), recs)
    assert again["ci_low"].equals(df["ci_low"])


def test_a_predictions_file_that_does_not_match_its_record_gives_no_interval(tmp_path):
    from repro.tables.builder import build_frame
    from repro.tables.verdicts import annotate

    rec = _rec("2", "SBERT-STSb-base", "SBERT-STSb-base", "STSb", 84.6, metric="spearman", group="trained_on_stsb")
    rec.metrics["STSb"]["spearman"] = 80.0  # the record says something else than its predictions
    recs = _store(tmp_path, [rec])
    df = annotate(TABLES["2"], build_frame(TABLES["2"], recs), recs)
    line = df[df["row"] == "SBERT-STSb-base"].iloc[0]
    assert np.isnan(line["ci_low"]) and "rerun with --force" in line["ci_note"]


# ------------------------------------------------------------------------------------------- claims
def _claim(recs, cid):
    return next(r for r in check_claims(recs, TABLES) if r.id == cid)


def _table2(tmp_path, both, only, preds=True):
    recs = []
    for s in (0, 1):
        recs.append(_rec("2", "NLI-STSb", "SBERT-NLI-STSb-base", "STSb", both + 0.05 * s, metric="spearman",
                         group="trained_on_nli_then_stsb", seed=s, preds=preds))
        recs.append(_rec("2", "STSb", "SBERT-STSb-base", "STSb", only + 0.05 * s, metric="spearman",
                         group="trained_on_stsb", seed=s, preds=preds))
    return _store(tmp_path, recs)


def test_nli_then_stsb_claim_holds_fails_and_is_untestable(tmp_path):
    held = _claim(_table2(tmp_path / "a", 85.9, 84.6), "C3")
    assert held.verdict == C.HOLDS, held.reason
    assert any("paired bootstrap over items" in t for t in held.tests)
    failed = _claim(_table2(tmp_path / "b", 84.7, 84.6), "C3")
    assert failed.verdict == C.FAILS and "condition not met" in failed.reason
    missing = _claim([], "C3")
    assert missing.verdict == C.UNTESTABLE and "no record" in missing.reason


def test_pooling_claim(tmp_path):
    def recs(values, where):
        out = []
        for (p, col), v in values.items():
            for s in (0, 1):
                out.append(_rec("6", p, p, col, v + 0.1 * s, metric="spearman", group="pooling_strategy", seed=s,
                                extra={"column": col}, key=f"dev-{col}", preds=False))
        return _store(where, out)

    paper_like = {("MEAN", "NLI"): 80.8, ("MAX", "NLI"): 79.1, ("CLS", "NLI"): 79.8,
                  ("MEAN", "STSb"): 87.4, ("MAX", "STSb"): 69.9, ("CLS", "STSb"): 86.6}
    r = _claim(recs(paper_like, tmp_path / "a"), "C7")
    # 2 seeds: the tests are reported but cannot decide, so the claim is consistent with our numbers, not tested
    assert r.verdict == C.CONSISTENT and "does not decide" in " ".join(r.tests)
    max_not_worst = {**paper_like, ("MAX", "STSb"): 88.0, ("CLS", "STSb"): 70.0}
    assert _claim(recs(max_not_worst, tmp_path / "b"), "C7").verdict == C.FAILS


def test_a_difference_that_is_not_significant_does_not_hold(tmp_path):
    """Conditions met by the point estimates, but a paired test over items finds no significant difference."""
    g = "concatenation"
    recs = []
    values = {"(u, v)": 70.0, "(|u-v|)": 79.0, "(u*v)": 71.0, "(|u-v|, u*v)": 79.5, "(u, v, u*v)": 72.0,
              "(u, v, |u-v|)": 70.05, "(u, v, |u-v|, u*v)": 80.0}
    for row, v in values.items():
        recs.append(_rec("6", row, row, "NLI", v, metric="spearman", group=g, seed=0, extra={"column": "NLI"}))
    r = _claim(_store(tmp_path, recs), "C8")
    assert r.verdict == C.FAILS and "not significant" in r.reason, r.reason
    md = "\n".join(C.claims_markdown([r]))
    assert "| C8 | \\|u-v\\| is the most" in md  # pipes escaped inside the Markdown table


def test_speed_claims_from_table7_records(tmp_path):
    from repro.specs.table7 import CLAIM, CROSS_ROW, E2E_ROW

    def speed(row, col, value, group="", seconds=None):
        spec = RunSpec.make(table="7", model=f"{row} on CPU", profile="synthetic", task="speed",
                            params={"group": group, "device": "cpu"})
        return ResultRecord(spec=spec, status="ok", metrics={col: {"value": value}},
                            details={"case": {"seconds": seconds or []}, "row": {"label": row, "paper_row": row}},
                            env={"hardware": {"device": "cpu"}})

    recs = _store(tmp_path, [speed("SBERT-base", "CPU", 40.0, seconds=[25, 25, 25]),
                             speed("SBERT-base - smart batching", "CPU", 76.0, seconds=[13, 13.2, 13.1]),
                             speed(CROSS_ROW, "CPU", 500.0, CLAIM), speed(E2E_ROW, "CPU", 60.0, CLAIM)])
    c9 = _claim(recs, "C9")  # 3 rounds cannot decide: consistent, never "holds"
    assert c9.verdict == C.CONSISTENT and "GPU" in c9.reason  # the GPU half is named as untested
    c11 = _claim(recs, "C11")  # a ratio of two measurements: no test
    assert c11.verdict == C.CONSISTENT and "30,000" in c11.ours
    assert _claim(recs, "C10a").verdict == _claim(recs, "C10b").verdict == C.UNTESTABLE


def test_every_claim_is_declared_on_its_table_in_order():
    """The claims come from the table declarations, gathered in table order: C1..C11 as the paper's sections, C2,
    C6 and C10 in an InferSent half (a) and a Universal Sentence Encoder half (b)."""
    ids = ["C1", "C2a", "C2b", "C3", "C4", "C5", "C6a", "C6b", "C7", "C8", "C9", "C10a", "C10b", "C11"]
    assert [c.id for c in C.declared_claims(TABLES)] == ids
    on = {c.id: number for number, spec in TABLES.items() for c in spec.claims}
    assert [on[i] for i in ids] == list("11123455667777")
    results = check_claims([], TABLES)  # no records: every claim untestable, its texts formatted from its params
    assert [r.verdict for r in results] == [C.UNTESTABLE] * len(ids)
    assert not any("{" in r.claim + r.condition for r in results)


def test_a_claims_condition_text_and_check_read_one_declaration(tmp_path):
    """C3's bounds are declared once: other bounds change the printed condition and the verdict together."""
    from dataclasses import replace

    recs = _table2(tmp_path, 85.9, 84.6)  # NLI-STSb - STSb = +1.3: within the declared [+0.5, +2.5]
    c3 = next(c for c in TABLES["2"].claims if c.id == "C3")
    assert c3.params == {"lo": 0.5, "hi": 2.5}
    held = _claim(recs, "C3")
    assert held.verdict == C.HOLDS and "[+0.5, +2.5]" in held.condition
    narrow = replace(c3, params={"lo": 2.0, "hi": 3.0})
    spec = replace(TABLES["2"], claims=(narrow,))
    (failed,) = check_claims(recs, {"2": spec})
    assert failed.verdict == C.FAILS and "[+2.0, +3.0]" in failed.condition and "[+2.0, +3.0]" in failed.reason


def test_point_estimates_alone_never_hold():
    """decide(): a claim holds only when every difference it asserts was decided by a test; point estimates
    alone (or beside a deciding test) are "consistent, not tested"; a reported-only test does not count."""
    ok = [("a > b", True)]
    decided = C.Test("a - b", "a - b: p = 0.002", True, True)
    undecided = C.Test("c - d", "c - d: no paired test", False, None)
    reported = C.Test("near", "reported", False, None, asserted=False)
    assert C.decide(ok, [])[0] == C.CONSISTENT
    assert C.decide(ok, [undecided])[0] == C.CONSISTENT
    assert C.decide(ok, [decided, undecided]) == (C.CONSISTENT, "every condition met on point estimates (no test "
                                                                 "could decide: c - d)")
    assert C.decide(ok, [decided, reported])[0] == C.HOLDS
    assert C.decide(ok, [reported])[0] == C.CONSISTENT
    assert C.decide(ok, [C.Test("a - b", "p = 0.4", True, False), undecided])[0] == C.FAILS
    assert C.decide([("a > b", False)], [decided])[0] == C.FAILS
    res = C.ClaimResult("X", "Claim.", "here", "cond", C.CONSISTENT, "why")
    md = "\n".join(C.claims_markdown([res]))
    assert "| X | Claim. (here) | ≈ consistent, not tested | why |" in md and "**consistent, not tested**" in md


def _gpu_speed(row, value, paper_row=None):
    spec = RunSpec.make(table="7", model=f"{row} on GPU", profile="synthetic", task="speed",
                        params={"group": "", "device": "cuda"})
    return ResultRecord(spec=spec, status="ok", metrics={"GPU": {"value": value}},
                        details={"case": {"seconds": []}, "row": {"label": row, "paper_row": paper_row or row}},
                        env={"hardware": {"device": "cuda"}})


def test_speed_claim_bounds_in_the_reason_are_the_ones_checked(tmp_path):
    """C10a: vs InferSent +4.2% lies outside [+4.5%, +18%] (half to twice the paper's 9%); the reason quotes the
    bounds the check used, as the condition does (they once said [+4%, +18%] while checking 4.5). C10b, the USE
    half, is judged on its own: +42.9% is within [+27.5%, +110%], a ratio of measurements (no test)."""
    recs = _store(tmp_path, [_gpu_speed("SBERT-base - smart batching", 100.0), _gpu_speed("InferSent", 96.0),
                             _gpu_speed("Universal Sentence Encoder", 70.0)])
    c10a, c10b = _claim(recs, "C10a"), _claim(recs, "C10b")
    assert "[+4.5%, +18%]" in c10a.condition and "[+27.5%, +110%]" in c10b.condition
    assert c10a.verdict == C.FAILS and "vs InferSent +4% within [+4.5%, +18%]" in c10a.reason
    assert c10b.verdict == C.CONSISTENT
    assert "9% faster than InferSent" in c10a.claim and "55% faster than the Universal Sentence" in c10b.claim
    without_use = _store(tmp_path / "b", [_gpu_speed("SBERT-base - smart batching", 100.0),
                                          _gpu_speed("InferSent", 91.0)])
    assert _claim(without_use, "C10a").verdict == C.CONSISTENT  # the InferSent half runs without USE
    assert _claim(without_use, "C10b").verdict == C.UNTESTABLE


def test_claims_of_a_table_declared_anywhere(tmp_path):
    """tables/ checks the claims of whatever declarations it is given (no registry of its own): a table declared
    here, with one claim whose bound is a paper number."""
    import pandas as pd

    from repro.tables.declaration import TableDef

    def check(r, p):
        cell = r.cell("STSb", paper_row="Baseline")
        return {"paper": f"{p['floor']:.1f}", "ours": cell.describe(),
                "conditions": [(f"{cell.mean:.1f} > {p['floor']:.1f}", cell.mean > p["floor"])], "cells": [cell]}

    ref = pd.DataFrame({"group": "", "paper_row": ["Baseline"], "column": "STSb", "value": [80.0],
                        "std": [float("nan")]})
    tdef = TableDef(number="x1", title="t", slug="t", columns=["STSb"], metric="spearman", reference=lambda: ref,
                    claims=(C.Claim("X1", "Beats {floor:g}.", "here", "ours > {floor:.1f}", check,
                                    params={"floor": C.Paper("Baseline", "STSb")}),))
    recs = _store(tmp_path, [_rec("x1", "Mine", "Baseline", "STSb", 85.0, metric="spearman", preds=False)])
    (res,) = check_claims(recs, {"x1": tdef})
    assert (res.claim, res.condition, res.verdict) == ("Beats 80.", "ours > 80.0", C.CONSISTENT)  # no test
    assert check_claims(recs, {}) == []


def test_report_from_records(tmp_path):
    from repro.cli import main

    recs = _table2(tmp_path / "results", 85.9, 84.6)
    assert recs
    rc = main(["tables", "--profile", "synthetic", "--results-dir", str(tmp_path / "results"),
               "--tables-dir", str(tmp_path / "tables"), "--tables", "2"])
    assert rc == 0
    report = (tmp_path / "tables" / "synthetic" / "REPORT.md").read_text()
    for want in ("## Summary", "Verdict rule", "## The paper's claims", "C11", "holds", "not testable",
                 "**0** consistent but not tested",
                 "## Deviations", "## Environment", "## Compute spent", "| all | CPU | **4.00** |", "## Data used",
                 "### Table 2"):
        assert want in report, want
    csv = (tmp_path / "tables" / "synthetic" / "table2_stsb_supervised.csv").read_text().splitlines()[0]
    for col in ("ci_low", "ci_high", "n_items", "verdict", "seed_min", "seed_max"):
        assert col in csv
