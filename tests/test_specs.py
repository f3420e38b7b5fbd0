"""Tables as declarations: discovery, one runner, record identity and migration, `plan`, import direction."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from repro.profiles import PROFILES
from repro.results import ResultRecord, ResultStore
from repro.specs import Row, load_specs

ROOT = Path(__file__).resolve().parents[1]
# The import rule (DEVELOPERS.md, "Imports run one way"): no module under these packages imports any of those
# modules, at top level or inside a function.
LOWER = ("tables", "tasks", "training", "encoders", "data")
UPPER = ("repro.specs", "repro.cli", "repro.app", "repro.experiments")
# And the layers under the tasks never reach up to the tasks, the one runner or the speed suite.
BELOW_TASKS = ("data", "encoders", "evaluation", "stats", "training", "tables")
ABOVE = ("repro.tasks", "repro.runner", "repro.speed", "repro.plan", "repro.executors")


def _python(code: str, env: dict | None = None, cwd=ROOT, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


# ------------------------------------------------------------------------------------------ import direction
def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, at any level (module, function, class), plus import_module("...")."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package
                pkg = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-node.level])
                base = f"{pkg}.{base}" if base else pkg
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            out.append((node.lineno, node.args[0].value))
    return out


def _violations(packages, forbidden) -> list[str]:
    bad = []
    for pkg in packages:
        for path in sorted((ROOT / "repro" / pkg).rglob("*.py")):
            for line, mod in _imports(path):
                if any(mod == u or mod.startswith(u + ".") for u in forbidden):
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {mod}")
    return bad


def test_imports_run_one_way():
    """No module under repro/tables, tasks, training, encoders or data imports repro.specs, repro.cli, repro.app or
    repro.experiments, at top level or inside a function: declarations and the command line sit on top."""
    assert not _violations(LOWER, UPPER), "\n".join(_violations(LOWER, UPPER))


def test_layers_under_the_tasks_do_not_reach_up():
    """data, encoders, evaluation, stats, training and tables never import the tasks, the runner, the speed suite,
    the plan or the executors: they stay usable on their own."""
    assert not _violations(BELOW_TASKS, ABOVE), "\n".join(_violations(BELOW_TASKS, ABOVE))


def test_the_import_check_catches_a_function_level_import():
    """The check itself can fail: a function-level import of repro.specs in repro/tasks is a violation."""
    f = ROOT / "repro" / "tasks" / "_tmp_probe_for_test.py"
    f.write_text("def f():\n    from repro.specs import get_spec\n    return get_spec\n")
    try:
        assert _violations(LOWER, UPPER) == ["repro/tasks/_tmp_probe_for_test.py:2 imports repro.specs",
                                             "repro/tasks/_tmp_probe_for_test.py:2 imports repro.specs.get_spec"]
    finally:
        f.unlink()


def test_fast_path_lives_in_the_encoders():
    from repro.encoders import fast  # noqa: F401

    assert not (ROOT / "repro" / "speed" / "fast.py").exists()


# ------------------------------------------------------------------------------------------ declarations
def test_specs_are_discovered_and_import_without_torch():
    r = _python("""
        import sys
        from repro.specs import load_specs
        from repro.profiles import PROFILES
        specs = load_specs()
        n = sum(len(s.units(p)) for s in specs.values() for p in PROFILES.values())
        print(sorted(specs), n, 'torch' in sys.modules)
    """)
    assert r.returncode == 0, r.stderr
    tables, n, torch = r.stdout.split("] ")[0] + "]", *r.stdout.split("] ")[1].split()
    assert tables == "['1', '2', '3', '4', '5', '6', '7']" and int(n) > 500 and torch == "False"


def test_constants_the_declarations_repeat_agree_with_their_sources():
    """The specs hold a few names without importing torch-heavy modules; they must equal the originals. (Column
    lists the data modules hold torch-free, the STS and SentEval tasks, the specs import instead of copying.)"""
    from repro.data.afs import AFS_TOPICS
    from repro.encoders.pooling import POOLINGS as pooling_poolings
    from repro.evaluation.senteval import SENTEVAL_SEED
    from repro.specs import table3, table5, table6

    assert table3.TOPICS == tuple(AFS_TOPICS)
    assert table5.SENTEVAL_SEED == SENTEVAL_SEED
    assert tuple(pooling_poolings) == table6.POOLING_ROWS


def test_profiles_lists_every_tables_rows(capsys):
    from repro.cli import main

    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    for number in "1234567":
        assert f"table {number}:" in out
    assert "SBERT-AFS (MiniLM body)" in out and "SBERT-NLI-STSb-base" in out and "(u, v, |u-v|)" in out


def test_a_row_label_is_not_part_of_the_identity():
    """Rewording a label (or its paper row / substitute) keeps every unit id: nothing reruns, no stale record."""
    from dataclasses import replace

    spec = load_specs()["1"]
    p = PROFILES["local"]
    before = [u.id for u in spec.units(p)]
    reworded = tuple(replace(r, label=r.label + " (reworded)", substitute="other words") for r in spec.rows_for(p))
    after = [u.id for u in spec.units(p.with_table("1", rows=reworded))]
    assert before == after


def test_a_new_hub_model_row_is_one_line_and_plan_says_how_to_get_it(tmp_path, monkeypatch, smoke_bert):
    """A Table 1 row for a new Hugging Face model: one Row in repro/specs/table1.py (here added to the declared
    rows in memory); `plan` lists it at once and says how to provide the weights, then 'ready' with --model-path."""
    from repro.weights import set_model_path
    from repro.plan import build_plan
    from repro.specs import table1

    row = Row("My new model", "my-org/my-new-model", pooling="mean", paper_row="SBERT-NLI-base")
    monkeypatch.setitem(table1.ROWS, "local", (*table1.ROWS["local"], row))
    plan = build_plan(PROFILES["local"], ResultStore(tmp_path), tables=["1"])
    mine = [u for u in plan["units"] if u["row"] == "My new model"]
    assert len(mine) == 1 and mine[0]["status"] == "needs weights"
    assert "--model-path my-org/my-new-model" in mine[0]["why"]
    set_model_path("my-org/my-new-model", smoke_bert)
    try:
        plan = build_plan(PROFILES["local"], ResultStore(tmp_path), tables=["1"])
        assert next(u for u in plan["units"] if u["row"] == "My new model")["status"] == "ready"
    finally:
        from repro import weights as models

        models._OVERRIDES.pop("my-org/my-new-model", None)


# ------------------------------------------------------------------------------------------ the one registry
def test_load_specs_is_the_one_registry_and_nothing_below_imports_it():
    """Tables are registered in one place, ``load_specs()`` (discovered on each call, no copy kept in step
    elsewhere); the profiles and the table builder get the declarations as arguments and never import the specs,
    so profiles <- specs -> tables runs one way."""
    below = [ROOT / "repro" / "profiles.py", *sorted((ROOT / "repro" / "tables").rglob("*.py"))]
    back = [f"{p.relative_to(ROOT)}:{line} imports {m}" for p in below for line, m in _imports(p)
            if m == "repro.specs" or m.startswith("repro.specs.")]
    assert not back, "\n".join(back)
    first = load_specs()
    first.pop("1")
    assert "1" in load_specs()  # a caller's dict is its own


DUPLICATE_CLAIM_SPEC = '''
from repro.specs import TableSpec
from repro.tables.claims import Claim

SPEC = TableSpec(number="dup", title="t", slug="dup", columns=["x"], metric="m", reference=lambda: None,
                 claims=(Claim("C1", "again", "here", "none", lambda records, params: {}),))
'''


def test_a_claim_id_is_declared_once(tmp_path, monkeypatch):
    from repro.errors import ConfigError

    (tmp_path / "dup_claim_spec.py").write_text(DUPLICATE_CLAIM_SPEC)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SBERT_REPRO_SPECS", "dup_claim_spec")
    with pytest.raises(ConfigError, match="claim 'C1' is declared by Table 1 and Table dup"):
        load_specs()


# ------------------------------------------------------------------------------------------ a toy table
TOY_SPEC = '''
from repro.specs import Row, TableSpec


def _reference():
    import pandas as pd

    return pd.DataFrame({"group": "", "paper_row": ["Long name", "Short"], "column": "letters",
                         "value": [9.0, 4.0], "std": float("nan")})


SPEC = TableSpec(
    number="toy", title="Toy table: letters in the model name", slug="toy_letters", columns=["letters", "vowels"],
    metric="count", reference=_reference, notes=["A table declared outside the package."],
    evaluator="toy_eval:EVALUATOR", task="count-letters",
    rows={"smoke": (Row("Long name (ours)", "long-name", kind="wordvec", paper_row="Long name"),
                    Row("Short", "short", kind="wordvec", paper_row="Short"),
                    Row("Not here", "nowhere", kind="unavailable", paper_row="Short", not_run="a toy gap"))},
)
'''
TOY_EVAL = '''
class EVALUATOR:
    @staticmethod
    def load(spec, profile, ctx):
        return "aeiou"

    @staticmethod
    def build(row, vowels, ctx):
        if row.kind == "unavailable":
            from repro.errors import ModelNotAvailable

            raise ModelNotAvailable(row.not_run)
        return row.model

    @staticmethod
    def evaluate(name, vowels, unit, ctx):
        letters = sum(c.isalpha() for c in name)
        return {"letters": {"count": letters}, "vowels": {"count": sum(c in vowels for c in name)}}, {}
'''


def test_a_new_table_is_one_spec_file_and_one_evaluator_file(tmp_path, monkeypatch, capsys):
    """Declared in a temporary module (found through $SBERT_REPRO_SPECS), it runs through `reproduce` and
    rebuilds through `tables`, CSV and Markdown, with the paper's numbers beside ours."""
    import pandas as pd

    from repro.cli import main

    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "toy_spec.py").write_text(TOY_SPEC)
    (mods / "toy_eval.py").write_text(TOY_EVAL)
    monkeypatch.syspath_prepend(str(mods))
    monkeypatch.setenv("SBERT_REPRO_SPECS", "toy_spec")
    dirs = ["--results-dir", str(tmp_path / "res"), "--tables-dir", str(tmp_path / "tab")]
    try:
        assert main(["reproduce", "--profile", "smoke", "--tables", "toy", *dirs]) == 0
        csv = tmp_path / "tab" / "smoke" / "toy_letters.csv"
        md = csv.with_suffix(".md")
        df = pd.read_csv(csv)
        line = df[(df.row == "Long name (ours)") & (df.column == "letters")].iloc[0]
        assert line.ours == 8 and line.paper == 9 and line["diff"] == -1
        assert df[(df.row == "Short") & (df.column == "vowels")].iloc[0].ours == 1
        assert (df[df.row == "Not here"].reason == "a toy gap").all()
        text = md.read_text()
        assert "Toy table" in text and "A table declared outside the package." in text
        csv.unlink()
        md.unlink()
        assert main(["tables", "--profile", "smoke", "--tables", "toy", *dirs]) == 0
        assert pd.read_csv(csv).equals(df) and md.read_text() == text
        plan_out = capsys.readouterr().out
        assert main(["plan", "--profile", "smoke", "--tables", "toy", "--results-dir", str(tmp_path / "res")]) == 0
        plan_out = capsys.readouterr().out
        assert "Table toy: 3 evaluations" in plan_out and "done 2" in plan_out and "not implemented 1" in plan_out
    finally:
        monkeypatch.delenv("SBERT_REPRO_SPECS")
        load_specs()


ONE_FILE_SPEC = '''
"""A table of my own on an existing task type (the STS task): this file is all it takes."""
import pandas as pd

from repro.specs import Row, TableSpec


def _reference():
    return pd.DataFrame({"group": "", "paper_row": ["Avg. BERT embeddings"] * 2, "column": ["STS12", "STSb"],
                         "value": [38.78, 46.35], "std": float("nan")})


SPEC = TableSpec(
    number="mine", title="My table: two STS sets, mean vs max pooling", slug="my_sts", columns=["STS12", "STSb"],
    metric="spearman_all", reference=_reference, notes=["One spec file, the existing STS task."],
    evaluator="sts", task="sts-mine", datasets=("sts", "stsb"),
    rows={"smoke": (Row("mean pooling", "smoke-bert", pooling="mean", paper_row="Avg. BERT embeddings"),
                    Row("max pooling", "smoke-bert", pooling="max"))},
)
'''


@pytest.mark.slow
@pytest.mark.needs_data
def test_a_new_table_on_an_existing_task_is_one_spec_file(tmp_path, monkeypatch, data_root):
    """A table declared in ONE file (found through $SBERT_REPRO_SPECS) on the existing STS task runs through
    `reproduce` end to end (real STS data, the smoke BERT) and is built beside the paper's numbers; its scores are
    Table 1's scores of the same rows (the same task, so the same numbers)."""
    import pandas as pd

    from repro.cli import main

    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "my_table_spec.py").write_text(ONE_FILE_SPEC)
    monkeypatch.syspath_prepend(str(mods))
    monkeypatch.setenv("SBERT_REPRO_SPECS", "my_table_spec")
    dirs = ["--data-root", str(data_root), "--results-dir", str(tmp_path / "res"),
            "--tables-dir", str(tmp_path / "tab")]
    try:
        assert main(["reproduce", "--profile", "smoke", "--tables", "mine,1", *dirs]) == 0
        mine = pd.read_csv(tmp_path / "tab" / "smoke" / "my_sts.csv")
        t1 = pd.read_csv(tmp_path / "tab" / "smoke" / "table1_sts_unsupervised.csv")
        line = mine[(mine.row == "mean pooling") & (mine.column == "STSb")].iloc[0]
        assert line.paper == 46.35 and line.ours == pytest.approx(line.paper + line["diff"])
        same = t1[(t1.row == "Avg. BERT embeddings (smoke)") & (t1.column == "STSb")].iloc[0]
        assert line.ours == pytest.approx(same.ours)
        assert set(mine.row) == {"mean pooling", "max pooling"} and set(mine.column) == {"STS12", "STSb"}
        assert "One spec file" in (tmp_path / "tab" / "smoke" / "my_sts.md").read_text()
    finally:
        monkeypatch.delenv("SBERT_REPRO_SPECS")
        load_specs()


# ------------------------------------------------------------------------------------------ plan
def test_plan_of_the_paper_profile_is_fast_complete_and_torch_free(tmp_path):
    t0 = time.perf_counter()
    r = _python("""
        import json, sys
        from repro.cli import main
        main(["plan", "--profile", "paper", "--json", "--results-dir", "results"])
        assert "torch" not in sys.modules, "plan imported torch"
    """)
    took = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr[-2000:]
    assert took < 10, f"plan took {took:.1f} s"
    plan = json.loads(r.stdout)
    units = plan["units"]
    ids = [u["id"] for u in units]
    assert len(ids) == len(set(ids))
    assert set(u["status"] for u in units) <= {"done", "ready", "needs data", "needs weights", "not implemented"}
    assert plan["total"]["training_runs"] > 300  # the paper's ~370 training runs
    assert {u["table"] for u in units} == set("1234567")
    by_id = {u["id"]: u for u in units}
    # NLI before its STSb continuation: the STSb stage started from an NLI stage needs it.
    cont = [u for u in units if u["what"] == "train" and isinstance(u["training"].get("base"), dict)]
    assert cont and all(by_id[u["needs"][0]]["training"]["data"] == "nli" for u in cont)
    # every evaluation that trains names its training; every need exists in the plan
    assert all(n in by_id for u in units for n in u["needs"])
    t2 = [u for u in units if u["table"] == "2" and u["what"] == "evaluate" and u["row"] == "SBERT-NLI-STSb-base"]
    assert len(t2) == 10 and all(u["needs"] for u in t2)
    # the SBERT-NLI model the profile trains is also scored on Table 1's STS sets and on SentEval (Table 5): the
    # very NLI run Table 2's NLI-then-STSb rows continue (one run folder, listed once)
    nli_of_t2 = by_id[by_id[t2[0]["needs"][0]]["needs"][0]]
    for table, n in (("1", 1), ("5", 7)):
        mine = [u for u in units if u["table"] == table and u["row"] == "SBERT-NLI-base (trained here)"]
        assert len(mine) == n and all(nli_of_t2["id"] in u["needs"] for u in mine), table
    assert set(nli_of_t2["tables"]) >= {"1", "2", "5"}
    # fastText: a real row in the paper profile, read from the data root
    ft = [u for u in units if u["table"] == "5" and u["model"] == "fasttext-crawl-300d-2M"]
    assert len(ft) == 7 and all("fetch_data.py fasttext" in (u["why"] or "") for u in ft)
    missing = [u for u in units if u["status"] == "needs weights"]
    hints = ("--model-path", "pip install", "data_scripts/", "infersent1.pkl")
    assert missing and all(any(h in u["why"] for h in hints) for u in missing)
    again = _python("""
        import sys
        from repro.cli import main
        main(["plan", "--profile", "paper", "--json"])
    """)
    assert [u["id"] for u in json.loads(again.stdout)["units"]] == ids  # stable ids


def test_plan_of_the_local_profile_marks_the_committed_records_done():
    plan_run = _python("""
        from repro.cli import main
        main(["plan", "--profile", "local", "--json", "--results-dir", "results"])
    """)
    assert plan_run.returncode == 0, plan_run.stderr[-2000:]
    plan = json.loads(plan_run.stdout)
    done = {u["id"] for u in plan["units"] if u["status"] == "done"}
    ok = [r for r in ResultStore(ROOT / "results").load(profile="local") if r.status == "ok"]
    assert ok
    for r in ok:
        if r.spec.table == "7":
            continue  # keyed by hardware: its units name the row
        assert f"t{r.spec.table}-{r.spec.id}" in done, (r.spec.table, r.label)
    t7 = [u for u in plan["units"] if u["table"] == "7" and u["status"] == "done"]
    # one unit per row; its records are keyed by hardware (several machines can have measured a row)
    assert 0 < len(t7) <= sum(r.spec.table == "7" for r in ok)
    # and the training runs behind the done evaluations count as done too
    assert all(u["status"] == "done" for u in plan["units"] if u["what"] == "train" and u["table"] in ("2", "6"))


def test_unit_ids_are_record_ids_and_run_one_unit(tmp_path, capsys):
    """`sbert-repro run ID` runs exactly that unit (what one job of a cluster array would execute)."""
    from repro.cli import main
    from repro.plan import build_plan

    store = ResultStore(tmp_path / "res")
    plan = build_plan(PROFILES["smoke"], store, tables=["1"])
    unit = next(u for u in plan["units"] if u["row"] == "Avg. word vectors (smoke)")
    assert main(["run", unit["id"], "--profile", "smoke", "--results-dir", str(store.root)]) == 0
    recs = store.load()
    assert len(recs) == 1 and f"t1-{recs[0].spec.id}" == unit["id"] and recs[0].status == "ok"
    # the runner keeps the evaluator's per-item predictions beside the record (issue 11's intervals)
    from repro.stats.predictions import load_items

    items = load_items(recs[0])
    assert items is not None and set(items) == set(recs[0].metrics)
    plan = build_plan(PROFILES["smoke"], store, tables=["1"])
    assert next(u for u in plan["units"] if u["id"] == unit["id"])["status"] == "done"
    assert main(["run", "t1-nonexistent", "--profile", "smoke", "--results-dir", str(store.root)]) == 2
    assert "plan --profile smoke --verbose" in capsys.readouterr().err


def test_committed_tables_regenerate_from_the_records_without_torch(tmp_path):
    """`sbert-repro tables --profile local` rebuilds every committed table with the same value columns (CSV),
    and imports no torch."""
    r = _python(f"""
        import sys
        from repro.cli import main
        rc = main(["tables", "--profile", "local", "--results-dir", "results", "--tables-dir", {str(tmp_path)!r}])
        assert rc == 0
        assert "torch" not in sys.modules, "tables imported torch"
    """, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    from repro.tables.compare import compare

    assert compare(ROOT / "tables" / "local", tmp_path / "local") == []


def test_compare_finds_a_changed_value(tmp_path):
    import shutil

    from repro.tables.compare import compare

    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(ROOT / "tables" / "local", a)
    shutil.copytree(ROOT / "tables" / "local", b)
    import pandas as pd

    f = b / "table2_stsb_supervised.csv"
    df = pd.read_csv(f)
    df.loc[df["ours"].notna().idxmax(), "ours"] += 0.01
    df.to_csv(f, index=False, float_format="%.4f")
    found = compare(a, b)
    assert len(found) == 1 and "ours" in found[0]


def test_a_record_keeps_its_row_words_for_the_record():
    rec = ResultRecord.from_dict({"schema": 2, "spec": {"table": "1", "model": "m", "profile": "custom-x",
                                                        "task": "t", "params": {}}, "status": "ok",
                                  "details": {"row": {"label": "Mine"}}})
    assert rec.label == "Mine"
