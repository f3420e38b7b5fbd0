"""Run specs and result records: stable ids, atomic writes, resume, not-run and failed records."""

from __future__ import annotations

import json

import pytest

from repro.errors import ModelNotAvailable
from repro.results import ResultRecord, ResultStore, RunSpec, run


def spec(**kw):
    base = dict(table="1", model="m", profile="smoke", task="sts", params={"pooling": "mean"})
    base.update(kw)
    return RunSpec.make(**base)


def test_spec_id_is_stable_and_sensitive():
    assert spec().id == spec().id
    assert spec().id == RunSpec.from_dict(json.loads(json.dumps(spec().to_dict()))).id
    assert spec(params={"pooling": "max"}).id != spec().id
    assert spec(seed=1).id != spec(seed=2).id
    assert spec(params={"b": 1, "a": 2}).id == spec(params={"a": 2, "b": 1}).id
    assert spec(model="sentence-transformers/all-MiniLM-L6-v2").weights.startswith("sha256:")  # packaged weights
    assert spec(model="other").weights is None
    hash(spec(params={"nested": {"x": [1, 2]}}))  # hashable


def test_record_roundtrip(tmp_path):
    store = ResultStore(tmp_path)
    rec = ResultRecord(spec(), "ok", metrics={"STSb": {"spearman_all": 77.1}}, details={"x": [1]})
    p = store.write(rec)
    assert p.parent.name == "table1" and p.parent.parent.name == "smoke"
    back = store.get(spec())
    assert back.to_dict() == rec.to_dict()
    assert [r.spec.id for r in store.load(table="1")] == [spec().id]
    assert store.load(table="2") == []
    assert not list(tmp_path.rglob("*.tmp"))


def test_run_skips_finished_specs(tmp_path):
    store, calls = ResultStore(tmp_path), []

    def fn(s):
        calls.append(s)
        return {"STSb": {"spearman_all": 1.0}}, {}

    r1 = run(spec(), fn, store, log=lambda m: None)
    r2 = run(spec(), fn, store, log=lambda m: None)
    assert len(calls) == 1 and r1.metrics == r2.metrics and r1.status == "ok"
    run(spec(), fn, store, force=True, log=lambda m: None)
    assert len(calls) == 2


def test_user_side_problem_gives_not_run_record_and_is_retried(tmp_path):
    store = ResultStore(tmp_path)

    def missing(s):
        raise ModelNotAvailable("bert-base-uncased: not reachable offline")

    rec = run(spec(), missing, store, log=lambda m: None)
    assert rec.status == "not_run" and "not reachable" in rec.reason
    assert store.get(spec()).status == "not_run"
    path = store.path_for(spec())
    before = path.read_bytes()
    again = run(spec(), missing, store, log=lambda m: None)  # retried; same reason: the file is left as it was
    assert again.status == "not_run" and path.read_bytes() == before

    def other(s):
        raise ModelNotAvailable("bert-base-uncased: not in the local cache")

    assert run(spec(), other, store, log=lambda m: None).reason.endswith("not in the local cache")
    assert store.get(spec()).reason.endswith("not in the local cache")  # a new reason is written
    rec = run(spec(), lambda s: ({"STSb": {"spearman_all": 2.0}}, {}), store, log=lambda m: None)
    assert rec.status == "ok"


def test_crash_leaves_a_failed_record_and_reraises(tmp_path):
    store = ResultStore(tmp_path)

    def boom(s):
        raise RuntimeError("CUDA out of memory")

    with pytest.raises(RuntimeError):
        run(spec(), boom, store, log=lambda m: None)
    rec = store.get(spec())
    assert rec.status == "failed" and "out of memory" in rec.reason


def test_corrupt_record_is_named(tmp_path):
    store = ResultStore(tmp_path)
    p = store.write(ResultRecord(spec(), "ok"))
    p.write_text("{not json")
    with pytest.raises(ValueError, match=p.name):
        store.load()


def _committed_records():
    """The records committed under results/: what git tracks there, not what a run in this checkout wrote beside
    them (`tox -e rehearse` writes results/paper-rehearsal/, git-ignored, with this machine's paths). Outside a git
    checkout (an unpacked sdist): every record but the git-ignored rehearsal and scratch folders."""
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--", "results"], capture_output=True,
                             check=True, text=True).stdout
        files = [repo / f for f in out.split("\0") if f.endswith(".json")]
    except (OSError, subprocess.CalledProcessError):
        files = [f for f in (repo / "results").rglob("*.json")
                 if not f.relative_to(repo / "results").parts[0].endswith(("-rehearsal", "scratch"))]
    return sorted(f for f in files if f.is_file())


def test_committed_records_carry_no_machine_paths():
    """Records in the repository's results/ must read the same on every machine: cache paths are written as
    $SBERT_REPRO_CACHE/..., never as this machine's absolute paths."""
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "results"
    files = _committed_records()
    if not files:
        pytest.skip("no committed records")
    absolute = re.compile(r"^(/|[A-Za-z]:\\)(home|root|Users|tmp|work|var|mnt)\b")
    bad = []

    def walk(x, where):
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, f"{where}.{k}")
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, f"{where}[{i}]")
        elif isinstance(x, str) and absolute.match(x):
            bad.append(f"{where}: {x}")

    for f in files:
        walk(json.loads(f.read_text()), f.relative_to(root).as_posix())
    assert not bad, "machine paths in committed records:\n" + "\n".join(bad[:20])


def test_committed_records_are_on_the_current_schema():
    """`records migrate` (schema 1 -> 2) is gone: every committed record must read as the current schema."""

    from repro.results import SCHEMA_VERSION, read_record

    files = _committed_records()
    if not files:
        pytest.skip("no committed records")
    old = [f.name for f in files if json.loads(f.read_text()).get("schema", 1) != SCHEMA_VERSION]
    assert not old, f"records not on schema {SCHEMA_VERSION}: {old[:10]}"
    assert all(read_record(f).schema == SCHEMA_VERSION for f in files)


def test_an_older_schema_record_is_named_with_the_fix(tmp_path):
    """A schema-1 record (labels in its identity) is not read: the error names the file, its schema and the fix."""
    from repro.errors import RecordError

    store = ResultStore(tmp_path)
    p = store.write(ResultRecord(spec(), "ok"))
    p.write_text(json.dumps({**json.loads(p.read_text()), "schema": 1}))
    with pytest.raises(RecordError) as e:
        store.load()
    assert p.name in str(e.value) and "schema 1" in str(e.value) and "--force" in str(e.value)
