"""What `reproduce` prints at the end (repro/console.py): at most 15 lines, one per kind of missing input, and the
exit status rule (issue 23)."""

from __future__ import annotations

import shutil

from pathlib import Path

import pytest

from repro.console import MAX_SUMMARY_LINES, Miss, exit_status, group, summary_lines
from repro.errors import EXIT_NOT_RUN

REPO = Path(__file__).resolve().parents[1]

OFFLINE = ("{m}: not reachable offline (the model hub is not reachable from this machine) and not in the local "
           "Hugging Face cache. Download it where there is internet (`huggingface-cli download {m} --local-dir DIR`) "
           "and pass --model-path {m}=DIR (or the folder itself as the model), or fill the cache (HF_HOME).")
WIKISEC = ("wikisec/test.csv: Wikipedia-sections triplets not found in the data root (data missing: this dataset is "
           "not part of it); download it with `python data_scripts/fetch_wikisec.py [--data-root DIR]`")


def _offline(n: int, table: str = "1") -> list[Miss]:
    models = ["bert-base-uncased", "bert-large-uncased", "sentence-transformers/bert-base-nli-mean-tokens"]
    return [Miss(table, f"row {i}", OFFLINE.format(m=models[i % 3])) for i in range(n)]


def _wikisec() -> list[Miss]:
    return [Miss("4", f"wiki row {i}", WIKISEC, must_fix=True) for i in range(6)]


def test_identical_reasons_become_one_line_with_a_count():
    groups = group(_offline(37) + _wikisec())
    assert len(groups) == 2
    wiki, offline = groups  # what the user must fix comes first
    assert wiki["rows"] == 6 and wiki["fix"] == "python data_scripts/fetch_wikisec.py [--data-root DIR]"
    assert offline["rows"] == 37 and "--model-path" in offline["fix"] and len(offline["subjects"]) == 3


def test_summary_has_at_most_15_lines_names_report_and_each_kind_once(tmp_path):
    misses = _offline(37) + _wikisec() + [Miss("5", f"r{i}", f"kind {i}: odd reason {i}") for i in range(12)]
    status = exit_status(misses, explicit=False, unpinned={"4"})
    lines = summary_lines(elapsed=75, estimate=80, tables_dir=tmp_path / "local", tables=list("1234567"),
                          report=tmp_path / "local" / "REPORT.md", misses=misses, status=status, log=tmp_path / "l",
                          counts={"cells": {"reproduced": 3, "not reproduced": 1}, "claims": {"holds": 2}})
    text = "\n".join(lines)
    assert len(lines) <= MAX_SUMMARY_LINES
    assert "REPORT.md" in text and lines[-2].startswith("exit 0")
    assert sum("not reachable offline" in line for line in lines) == 1 and "37 row(s)" in text
    assert "fetch_wikisec.py" in text and "other kind(s)" in text
    verbose = summary_lines(elapsed=75, estimate=80, tables_dir=tmp_path, tables=["1"], report=None, counts=None,
                            misses=misses, status=status, verbose=True)
    assert sum(line.startswith("  - Table ") for line in verbose) == len(misses)  # each row's reason


@pytest.mark.parametrize("misses, explicit, unpinned, rc", [
    ([], False, set(), 0),
    (_offline(3), True, set(), 0),  # not run by design: a model not reachable offline
    (_wikisec(), False, {"4"}, 0),  # all tables: data with no pinned download is listed, not a failure
    (_wikisec(), True, {"4"}, EXIT_NOT_RUN),  # --tables 4 asked for it
    (_wikisec(), False, set(), EXIT_NOT_RUN),  # the data is there but broken, or has a pinned download
    ([Miss("1", "row", "stsb/sts-test.csv, line 700: 6 fields expected", must_fix=True)], False, set(),
     EXIT_NOT_RUN),
    ([Miss("4", "row", "RuntimeError: boom", failed=True)], False, {"4"}, EXIT_NOT_RUN),  # an error never passes
])
def test_exit_status_rule(misses, explicit, unpinned, rc):
    got, line = exit_status(misses, explicit=explicit, unpinned=unpinned)
    assert got == rc and line.startswith(f"exit {rc}")
    if misses and rc == 0 and any(m.must_fix for m in misses):
        assert "--tables 4" in line  # says how to make it strict


def test_unpinned_tables_come_from_the_plan(tmp_path, data_root):
    from repro import app
    from repro.plan import build_plan
    from repro.profiles import get_profile
    from repro.results import ResultStore

    if (data_root / "wikisec").is_dir():
        pytest.skip("the Wikipedia-sections data is in this data root")
    plan = build_plan(get_profile("local"), ResultStore(tmp_path / "r"), data_root=data_root)
    assert app._unpinned_tables(plan, data_root) == {"4"}
    empty = tmp_path / "empty"
    empty.mkdir()
    plan = build_plan(get_profile("local"), ResultStore(tmp_path / "r"), data_root=empty)
    assert "1" not in app._unpinned_tables(plan, empty)  # STS data has a pinned download: its absence fails


def test_rebuild_from_records_ends_in_at_most_15_lines(tmp_path, data_root, capsys):
    """A rebuild of a table from the committed records: the estimate first, then a short summary naming REPORT.md;
    each row's reason only with --verbose."""
    from repro.cli import main

    shutil.copytree(REPO / "results", tmp_path / "r")
    argv = ["reproduce", "--profile", "local", "--tables", "1", "--data-root", str(data_root), "--results-dir",
            str(tmp_path / "r"), "--tables-dir", str(tmp_path / "t")]
    rc = main(argv)
    out = capsys.readouterr().out
    head, summary = out.split("\ndone in ", 1)
    assert head.index("estimate on") < head.index("Table 1:")  # the estimate comes before any work
    assert "reused from records" in head and "[table 1]" not in out  # each unit's lines go to the log
    lines = summary.strip().splitlines()
    assert len(lines) + 1 <= MAX_SUMMARY_LINES and "REPORT.md" in summary
    assert rc == 0 and lines[-2].startswith("exit 0") and (tmp_path / "t" / "local" / "REPORT.md").is_file()
    assert sum("not reachable offline" in line for line in lines) == 1
    assert main(["-v", *argv]) == 0
    verbose = capsys.readouterr().out
    assert "[table 1]" in verbose and "rows not run:" in verbose


def test_progress_bar_advances_by_each_tables_estimate():
    from repro.console import Progress

    bar = Progress({"1": 10, "7": 90}, enabled=True)
    try:
        assert bar.bar.total == 100
        bar.start("1")
        bar.unit(3, 4)  # within a table: its share of the units
        bar.finish("1")
        assert bar.bar.n == 10 and bar.done == 10
        bar.start("7")
        bar.finish("7")
        assert bar.bar.n == 100
    finally:
        bar.close()
    quiet = Progress({"1": 5}, enabled=None)
    assert quiet.bar.disable  # stderr is not a terminal under pytest: no bar, the table lines only
    quiet.close()


def test_a_row_is_grouped_by_the_plan_line_of_the_input_its_reason_names():
    plan_lines = ("bert-base-uncased: not in the Hugging Face cache and no --model-path given; pass --model-path "
                  "bert-base-uncased=DIR\ninfersent1: infersent/infersent1.pkl missing under R (the release files); "
                  "get them: python data_scripts/fetch_data.py infersent glove840b --data-root R")
    rows = [Miss("5", "InferSent", "not found in the data root: infersent/infersent1.pkl, glove840b/x.txt. InferSent "
                 "v1 needs ... (`python data_scripts/fetch_data.py glove840b`)", why=plan_lines),
            Miss("1", "InferSent", "infersent1: missing", why=plan_lines),
            Miss("9", "other", "x/y.csv: missing", why=plan_lines)]  # names no input of the plan: its own reason
    groups = group(rows)
    assert [g["rows"] for g in groups] == [2, 1]
    assert groups[0]["fix"] == "python data_scripts/fetch_data.py infersent glove840b --data-root R"
    assert groups[1]["what"] == "x/y.csv: missing"
