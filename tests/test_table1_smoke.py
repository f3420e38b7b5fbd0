"""Table 1 end to end on the smoke profile: fast, deterministic, resumable, with tables written."""

from __future__ import annotations

import json
import time

import pytest

from repro.cli import main


@pytest.fixture
def dirs(tmp_path, data_root):
    return ["--data-root", str(data_root), "--results-dir", str(tmp_path / "res"),
            "--tables-dir", str(tmp_path / "tab")]


def _metrics(res_dir):
    return {p.name: json.loads(p.read_text())["metrics"] for p in sorted(res_dir.rglob("*.json"))}


def test_smoke_table1_under_a_minute_and_deterministic(dirs, tmp_path, capsys):
    t0 = time.perf_counter()
    assert main(["reproduce", "--profile", "smoke", "--tables", "1", *dirs]) == 0
    assert time.perf_counter() - t0 < 60
    first = _metrics(tmp_path / "res")
    assert len(first) == 4 and all(first.values())
    for name in ("table1_sts_unsupervised.csv", "table1_sts_unsupervised.md", "table1_sts_unsupervised.png"):
        assert (tmp_path / "tab" / "smoke" / name).is_file()

    capsys.readouterr()
    assert main(["-v", "reproduce", "--profile", "smoke", "--tables", "1", *dirs]) == 0  # resume: all cached
    assert capsys.readouterr().out.count("[cached]") == 4  # each unit's line: the log, and the console with -v

    assert main(["reproduce", "--profile", "smoke", "--tables", "1", "--force", *dirs]) == 0
    assert _metrics(tmp_path / "res") == first  # same spec, same numbers


def test_tables_rebuild_from_records_only(dirs, tmp_path):
    assert main(["reproduce", "--profile", "smoke", "--tables", "1", *dirs]) == 0
    md = tmp_path / "tab" / "smoke" / "table1_sts_unsupervised.md"
    md.unlink()
    assert main(["tables", "--profile", "smoke", "--tables", "1", *dirs[2:]]) == 0
    assert "Avg. word vectors (smoke)" in md.read_text()


def test_evaluate_a_new_model(dirs, tmp_path, smoke_bert, capsys):
    rc = main(["evaluate", "--model", str(smoke_bert), "--pooling", "max", "--profile", "smoke", "--tables", "1",
               *dirs])
    out = capsys.readouterr().out
    assert rc == 0 and "STS12" in out and "Avg" in out
    rec = next((tmp_path / "res" / "custom-smoke").rglob("*.json"))
    assert json.loads(rec.read_text())["spec"]["params"]["pooling"] == "max"


def test_hub_model_row_runs_from_a_local_folder(dirs, tmp_path, smoke_bert, capsys):
    """The paper's `bert-base-uncased` rows: the hub path, served here by --model-path with a local folder."""
    rc = main(["evaluate", "--model", "bert-base-uncased", "--model-path", f"bert-base-uncased={smoke_bert}",
               "--pooling", "cls", "--layer", "-2", "--compare-with", "BERT CLS-vector", "--profile", "smoke",
               "--tables", "1", *dirs])
    assert rc == 0
    rec = json.loads(next((tmp_path / "res").rglob("*.json")).read_text())
    assert rec["spec"]["model"] == "bert-base-uncased" and rec["details"]["row"]["paper_row"] == "BERT CLS-vector"
    assert rec["details"]["encoder"]["layer"] == -2 and rec["env"]["versions"]["torch"]


def test_records_of_other_settings_are_named_and_never_averaged(dirs, tmp_path, capsys):
    """A record left from other settings: reproduce names it, and the builder refuses to average it with the
    current record (exit 2, a message naming the file) instead of printing a silently wrong mean."""
    import dataclasses

    from repro.results import ResultStore, RunSpec

    assert main(["reproduce", "--profile", "smoke", "--tables", "1", *dirs]) == 0
    store = ResultStore(tmp_path / "res")
    rec = next(r for r in store.load(table="1") if r.status == "ok")
    d = rec.spec.to_dict()
    d["params"] = {**rec.spec.param_dict, "max_seq_length": 64}
    old = dataclasses.replace(rec, spec=RunSpec.make(**d))
    path = store.write(old)
    capsys.readouterr()
    assert main(["reproduce", "--profile", "smoke", "--tables", "1", *dirs]) == 2
    out = capsys.readouterr()
    assert f"{path.name} (ok)" in out.out and "come from other settings" in out.out
    assert "different settings" in out.err and path.name in out.err
    path.unlink()
    assert main(["tables", "--profile", "smoke", "--tables", "1", *dirs[2:]]) == 0


def test_a_trained_sbert_nli_row_is_scored_on_sts_and_senteval_from_one_training(tmp_path, data_root, monkeypatch):
    """An ``nli-trained`` row (the paper profile's 'SBERT-NLI-base (trained here)'): Table 1 and Table 5 score the
    model of the NLI stage Table 2 trains, trained once (its run folder is shared)."""
    from repro.runner import run_table
    from repro.profiles import get_profile
    from repro.results import ResultStore
    from repro.specs import Row, get_spec, trained_nli_stage
    from repro.training.recipes import run_dir_for

    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path / "cache"))
    row = Row("SBERT-NLI (smoke, trained here)", "smoke-bert", kind="nli-trained", pooling="mean",
              paper_row="SBERT-NLI-base")
    smoke = get_profile("smoke")
    store = ResultStore(tmp_path / "res")
    lines = []
    rec1 = run_table(get_spec("1"), smoke, store, data_root=data_root, rows=[row], echo=lines.append,
                     progress=False)
    assert [r.status for r in rec1] == ["ok"]
    stage = trained_nli_stage(row, smoke)
    run_dir = run_dir_for(stage, tmp_path / "cache" / "runs" / "smoke")
    assert (run_dir / "done.json").is_file()
    assert rec1[0].spec.param_dict["training"] == json.loads(json.dumps(stage.to_dict()))
    five = smoke.with_table("5", tasks=("MR",))
    rec5 = run_table(get_spec("5"), five, store, data_root=data_root, rows=[row], echo=lines.append, progress=False)
    assert [r.status for r in rec5] == ["ok"]
    assert any("finished run reused" in line for line in lines)  # Table 5 did not train it again
    assert len((run_dir / "finished.log").read_text().splitlines()) == 1
    # the same weights as Table 2's SBERT-NLI model: its NLI stage is this one
    from repro.specs.table2 import stage_for

    t2 = stage_for(Row("SBERT-NLI-STSb", "smoke-bert", kind="sbert", options={"recipe": "nli+stsb"}),
                   dict(smoke.training), 0)
    assert t2.base == stage
