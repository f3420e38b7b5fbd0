"""Tables and report from records in one call: what ``sbert-repro tables`` (and the end of ``reproduce``) run.

The declarations come in as an argument (``repro.specs.load_specs()`` at the call site): this package keeps no
registry of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Mapping

from repro.tables.builder import build_frame, to_markdown, write_table
from repro.tables.declaration import TableDef
from repro.tables.report import write_report
from repro.tables.verdicts import annotate, rule


def build_tables(tables: Mapping[str, TableDef], records: list, out_dir: str | Path, profile: str, *,
                 numbers: Iterable[str] | None = None, profile_desc: str = "",
                 echo: Callable[[str], None] = lambda _: None, counts: dict | None = None) -> dict:
    """Write ``<slug>.{csv,md,png}`` for the tables ``numbers`` (default: all of ``tables``) into ``out_dir``,
    then ``REPORT.md`` over every table of ``tables`` that has records among ``records`` (tables not rebuilt now
    are read too; no report without records). ``tables``: number -> declaration, every table of the suite (the
    report checks all their claims). Returns ``{table number or "report": paths}``; ``echo`` gets one line per
    file group written; ``counts`` (a dict) gets the report's verdict and claim counts
    (:func:`repro.tables.report.write_report`)."""
    out = Path(out_dir)
    rule_text = rule(tables.values())
    built: dict = {}
    written: dict = {}
    for number in (list(tables) if numbers is None else numbers):
        tdef = tables.get(number)
        if tdef is None:
            continue
        recs = [r for r in records if r.spec.table == number]
        written[number] = write_table(tdef, recs, out, profile_desc=profile_desc, collect=built, rule_text=rule_text)
        echo(f"  Table {number}: " + ", ".join(p.name for p in written[number].values()) + f" ({len(recs)} records)")
    if not records:
        return written
    for number, tdef in tables.items():
        recs = [r for r in records if r.spec.table == number]
        if number not in built and recs:
            df = annotate(tdef, build_frame(tdef, recs), recs)
            built[number] = (df, to_markdown(tdef, df, profile_desc, rule_text))
    written["report"] = write_report({n: v[0] for n, v in built.items()}, {n: v[1] for n, v in built.items()},
                                     records, out, profile, tables, profile_desc, counts=counts)
    echo("  report: " + ", ".join(p.name for p in written["report"].values()))
    return written
