"""The paper's conclusions as declarations, their verdicts and their Markdown: the generic part.

The claims themselves are declared with the table they are read off (``TableDef.claims``, in
``repro/specs/tableN.py``). Each :class:`Claim` is a small function over that table's records (a
:class:`repro.tables.evidence.Records`, which reads cells and runs the paired tests) that returns the paper's
evidence, ours, a paired test where both sides share test items (paired bootstrap over items, the seeds of a cell
averaged; over seeds where there are no per-item predictions but several seeds), and a verdict under
:data:`RULE`. Conditions ("about 7 points", "1-2 points") are explicit bounds declared with the claim
(``Claim.params``), before any number is looked at; the check and the printed condition both read them.

This module imports no statistics (numpy only), so the declarations that use it load fast; the checks get their
tools from the records object they are given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # the records a check reads (statistics: imported only where claims are checked)
    from repro.tables.evidence import Cell, Records

HOLDS, FAILS, UNTESTABLE = "holds", "does not hold", "not testable with this profile"
CONSISTENT = "consistent, not tested"
ALPHA = 0.05

RULE = (
    "Claim verdicts (rule fixed in advance): **holds** when our numbers meet every condition stated with the "
    "claim and every difference the claim asserts is significant (two-sided p < 0.05) in the claimed direction "
    "in a paired test that can reach p < 0.05 (a paired bootstrap over shared test items; an exact sign-flip test "
    "over seeds only with 6 or more seeds, since 2 seeds cannot go below p = 0.5: such a test is reported but "
    "does not decide); **consistent, not tested** when every condition is met but some difference the claim "
    "asserts rests on point estimates alone, with no test that could decide (one run each without per-item "
    "predictions, fewer than 6 seeds, a ratio of single measurements): our numbers agree with the claim without "
    "testing it, never \"holds\"; **does not hold** when a condition fails or a test that can decide finds no "
    "significant difference; **not testable with this profile** when a number the claim needs has no finished "
    "record here (the reason is given). Substitutes (other models, data, hardware) are named in the evidence: a "
    "claim checked on a substitute tests the paper's conclusion on that substitute.")


class Missing(Exception):
    """A number a claim needs has no finished record (the message says why)."""


@dataclass
class Test:
    label: str  # what is compared, e.g. "SBERT-NLI-STSb - SBERT-STSb"
    text: str
    decides: bool
    significant_positive: bool | None  # the difference is > 0 at p < ALPHA (None: no test)
    # The claim asserts this difference (False: reported beside a condition that needs no significance, e.g.
    # "near"); an asserted difference without a deciding test leaves the claim "consistent, not tested".
    asserted: bool = True


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
    """The verdict under :data:`RULE`: a failed condition or a deciding test without significance first; then
    "holds" only when every difference the claim asserts was decided by a test (and at least one was), else
    "consistent, not tested" (point estimates alone never make a claim hold)."""
    failed = [c for c, ok in conditions if not ok]
    if failed:
        return FAILS, "condition not met: " + "; ".join(failed)
    asserted = [t for t in tests if t.asserted]
    weak = [t.label for t in asserted if t.decides and not t.significant_positive]
    if weak:
        return FAILS, "not significant in the claimed direction: " + "; ".join(weak)
    undecided = [t.label for t in asserted if not t.decides]
    if undecided or not any(t.decides for t in asserted):
        shown = "; ".join(undecided[:3]) + (f"; and {len(undecided) - 3} more" if len(undecided) > 3 else "")
        what = f"no test could decide: {shown}" if undecided else "the claim has no paired test"
        return CONSISTENT, f"every condition met on point estimates ({what})"
    return HOLDS, "every condition met, every asserted difference significant"


@dataclass(frozen=True)
class Paper:
    """A number of the paper's table as a claim parameter (e.g. a baseline to beat): read from the claim's table
    declaration (its reference), so the condition text and the check quote the same number."""

    paper_row: str
    column: str
    group: str | None = None


@dataclass(frozen=True)
class Claim:
    """One of the paper's conclusions, declared once with the table it is read off.

    ``params``: the claim's bounds and settings (numbers, or :class:`Paper` values); ``claim`` and ``condition``
    are texts formatted with them (``str.format``), or functions of them, and ``check(records, params) -> dict``
    gets the same values: ``conditions`` [(text, met)], ``tests`` [:class:`Test`], ``paper``, ``ours``, ``cells``
    (their substitutes are listed), optionally ``scope`` (what was not tested). A needed number without a finished
    record raises :class:`Missing`.
    """

    id: str
    claim: str | Callable[[dict], str]
    where: str
    condition: str | Callable[[dict], str]
    check: Callable[[Records, dict], dict]
    params: Mapping = field(default_factory=dict)

    def settings(self, recs: Records) -> dict:
        """``params`` with their :class:`Paper` values read from the table's reference."""
        return {k: recs.paper(v.paper_row, v.column, v.group) if isinstance(v, Paper) else v
                for k, v in self.params.items()}

    def texts(self, params: dict) -> tuple[str, str]:
        """(claim, condition) in words, from ``params``."""
        return tuple(t(params) if callable(t) else t.format(**params) for t in (self.claim, self.condition))

    def evaluate(self, recs: Records) -> ClaimResult:
        p = self.settings(recs)
        claim, condition = self.texts(p)
        try:
            out = self.check(recs, p)
        except Missing as e:
            return ClaimResult(self.id, claim, self.where, condition, UNTESTABLE, str(e))
        verdict, reason = decide(out["conditions"], out.get("tests", []))
        scope = out.get("scope")
        if scope:
            reason += f"; {scope}"
        return ClaimResult(self.id, claim, self.where, condition, verdict, reason, out["paper"],
                           out["ours"], [t.text for t in out.get("tests", [])],
                           sorted({c.substitute for c in out.get("cells", []) if c.substitute}))


def mean_of(cells: Sequence[Cell]) -> float:
    """The mean of cells' means (e.g. a table's Avg over its columns)."""
    return float(np.mean([c.mean for c in cells]))


def declared_claims(tables: Mapping) -> list[Claim]:
    """Every claim of ``tables`` (number -> declaration), in table order."""
    return [c for tdef in tables.values() for c in tdef.claims]


def claims_markdown(results: list[ClaimResult]) -> list[str]:
    icon = {HOLDS: "✓", CONSISTENT: "≈", FAILS: "✗", UNTESTABLE: "·"}
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
