"""The paper profile's rehearsal (issue 20): derived mechanically, one unit of every kind run end to end on
miniatures (processes and Slurm executors), tables marked; and the paper-path bugs the rehearsal found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repro.executors import Unit, get_executor
from repro.executors.grid import unit_command
from repro.profiles import PROFILES
from repro.rehearsal import MARK, register
from repro.rehearsal.profile import ITEMS, STEPS, derive
from repro.rehearsal.sample import kinds_of, sample_units
from repro.specs import Row, load_specs

REPO = Path(__file__).resolve().parents[1]


def _units(profile):
    """Every unit of ``profile`` once (a training run two tables share is one unit, as in the plan)."""
    out: dict = {}
    for spec in load_specs().values():
        for u in spec.units(profile):
            out.setdefault(u.id, u)
    return list(out.values())


# ------------------------------------------------------------------------------------------ the derivation
def test_the_rehearsal_has_the_paper_profiles_units_rows_seeds_and_graph():
    paper = PROFILES["paper"]
    reh = register("paper")
    assert reh.name == "paper-rehearsal" and PROFILES["paper-rehearsal"] is reh and reh.seeds == paper.seeds
    specs = load_specs()
    for spec in specs.values():
        assert spec.rows_for(reh) == spec.rows_for(paper), spec.number
    a, b = _units(paper), _units(reh)
    assert len(a) == len(b) == 733
    assert [(u.table, u.what, u.row, u.column, u.seed, u.fold) for u in a] == \
           [(u.table, u.what, u.row, u.column, u.seed, u.fold) for u in b]
    pos_a = {u.id: i for i, u in enumerate(a)}
    pos_b = {u.id: i for i, u in enumerate(b)}
    assert [sorted(pos_a[d] for d in u.needs) for u in a] == [sorted(pos_b[d] for d in u.needs) for u in b]
    # the protocol choices stay the paper's (only amounts are capped)
    from repro.plan import unit_protocol

    assert [unit_protocol(u) for u in a] == [unit_protocol(u) for u in b]


def test_every_amount_is_capped():
    reh = register("paper")
    train = [u for u in _units(reh) if u.what == "train"]
    assert len(train) == 371
    for u in train:
        d = u.stage.to_dict()
        assert d["max_steps"] is not None and d["max_steps"] <= STEPS, (u.id, d)
        assert d.get("data_limit") is None or d["data_limit"] <= ITEMS
    specs = load_specs()
    assert specs["5"].knobs(reh)["limit"] == ITEMS and specs["5"].knobs(reh)["kfold"] == 2
    assert specs["5"].knobs(reh)["classifier"] == "pytorch"  # the paper's classifier, fewer folds
    assert specs["3"].knobs(reh)["kfold"] == 10  # makes units: never capped
    assert specs["4"].knobs(reh)["test_limit"] == ITEMS and specs["4"].knobs(reh)["max_steps"] == STEPS
    t7 = specs["7"].knobs(reh)
    assert t7["preset"] == "full" and t7["n_sentences"] == ITEMS and t7["cross_pairs"] == {"cpu": 8, "cuda": 8}
    assert reh.data_limit == ITEMS and reh.training["nli_max_steps"] == STEPS


def test_a_row_added_to_the_paper_profile_is_rehearsed_without_further_work():
    specs = load_specs()
    new = Row("a new row", "roberta-base", pooling="max")
    paper = PROFILES["paper"].with_table("1", rows=(*specs["1"].rows_for(PROFILES["paper"]), new))
    reh = derive(paper, specs)
    assert new in [u.row for u in specs["1"].units(reh)]


def test_rehearsal_records_are_not_the_paper_profiles():
    from repro.plan import measured_in
    from repro.specs import declared_profile

    assert measured_in("paper", "paper") and measured_in("paper-short", "paper")
    assert not measured_in("paper-rehearsal", "paper")  # the bug: matched by its prefix
    assert not measured_in("paper-rehearsal-short", "paper") and measured_in("paper-rehearsal-short",
                                                                              "paper-rehearsal")
    assert not measured_in("local", "paper") and not measured_in("paperx-short", "paper")
    assert declared_profile("paper-rehearsal").name == "paper-rehearsal"
    assert declared_profile("smoke-short").name == "smoke" and declared_profile("custom-smoke") is None


def test_sample_units_cover_every_kind(tmp_path):
    from repro.plan import build_plan
    from repro.results import ResultStore

    plan = build_plan(register("paper"), ResultStore(tmp_path / "results"))
    by_id = {e["id"]: e for e in plan["units"]}
    statuses = {e["status"] for e in plan["units"]}
    ids = sample_units(plan, statuses=statuses)
    every = set().union(*(kinds_of(e, by_id) for e in plan["units"] if e["what"] == "evaluate"))
    got = set().union(*(kinds_of(by_id[i], by_id) for i in ids if by_id[i]["what"] == "evaluate"))
    assert got == every
    assert {"released", "continuation", "table:7", "data:wikisec", "objective:sbert/triplet/wikisec/"} <= got
    assert len(ids) < 50  # a sample, not the profile
    for i in ids:  # every training unit a sampled unit needs is sampled
        assert all(d in ids for d in by_id[i]["needs"])


# ------------------------------------------------------------------------------------------ the bugs
def test_a_senteval_unit_run_alone_loads_its_own_task_only(monkeypatch, tmp_path):
    from repro.errors import DataError
    from repro.results import ResultStore
    from repro.runner import run_table
    from repro.tasks import senteval

    loaded = []

    def fake_load(task, root=None):
        loaded.append(task)
        raise DataError(f"{task}: stop here")

    monkeypatch.setattr(senteval, "load_senteval_task", fake_load)
    spec, prof = load_specs()["5"], PROFILES["paper"]
    unit = next(u for u in spec.units(prof) if u.what == "evaluate" and u.column == "TREC")
    with pytest.raises(DataError):
        run_table(spec, prof, ResultStore(tmp_path), only={unit.id}, echo=lambda _: None)
    assert loaded == ["TREC"]


def test_the_embedding_cache_fingerprint_imports_no_torch():
    code = ("import sys\nfrom repro.encoders.cache import weights_fingerprint\n"
            "class Vectors:\n    name = 'glove'\n    def encode(self, s, batch_size=32): return None\n"
            "assert weights_fingerprint(Vectors()) is None\nassert 'torch' not in sys.modules, 'torch imported'\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr[-2000:]


# ------------------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def rehearsal(data_root, tmp_path_factory):
    """The miniatures, built once for this module (a cache of its own), and the rehearsal plan."""
    from repro.plan import build_plan
    from repro.rehearsal import activate
    from repro.results import ResultStore

    from repro import weights
    from repro.data.manifest import MINIATURES_ENV

    cache = tmp_path_factory.mktemp("rehearsal-cache")
    old = os.environ.get("SBERT_REPRO_CACHE")
    old_miniatures, old_paths = os.environ.get(MINIATURES_ENV), dict(weights._OVERRIDES)
    os.environ["SBERT_REPRO_CACHE"] = str(cache)
    try:
        r = activate("paper", data_root=data_root, echo=lambda _: None)
        results = tmp_path_factory.mktemp("rehearsal-results")
        plan = build_plan(r.profile, ResultStore(results), data_root=r.data_root)
        yield {"r": r, "plan": plan, "results": results, "cache": cache}
    finally:  # the tiny models and the miniature root stay this module's: later tests see no rehearsal
        weights._OVERRIDES.clear()
        weights._OVERRIDES.update(old_paths)
        for var, value in (("SBERT_REPRO_CACHE", old), (MINIATURES_ENV, old_miniatures)):
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def _sample(plan):
    """One unit of every kind that can run here. Table 7 is measured in one unit that includes the USE row: without
    TensorFlow that unit exits 3 naming the `use` extra (as the paper profile does), so it is left out there
    (`tox -e rehearse` installs the extra and runs it)."""
    import importlib.util

    ids = sample_units(plan, statuses=("ready",))
    if importlib.util.find_spec("tensorflow") is None:
        by_id = {e["id"]: e for e in plan["units"]}
        ids = [i for i in ids if by_id[i]["table"] != "7"]
    return ids


def _run_units(rehearsal, ids, executor, tmp_path, results=None):
    by_id = {e["id"]: e for e in rehearsal["plan"]["units"]}
    units = [Unit(i, tuple(d for d in by_id[i]["needs"] if d in ids)) for i in ids]
    env_cache = {"SBERT_REPRO_CACHE": str(rehearsal["cache"])}
    old = {k: os.environ.get(k) for k in env_cache}
    os.environ.update(env_cache)
    try:
        return executor.run(units, lambda u: unit_command(u.id, profile="paper-rehearsal",
                                                          results_dir=results or rehearsal["results"],
                                                          data_root=rehearsal["r"].data_root))
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


@pytest.mark.slow
def test_one_unit_of_every_kind_rehearsed_with_processes(rehearsal, tmp_path):
    """Each loader, objective and table evaluator, a released checkpoint and an NLI -> STSb continuation: every
    unit exits 0 and writes a finished record; the tables are built and marked as a rehearsal."""
    from repro import app
    from repro.results import ResultStore

    plan = rehearsal["plan"]
    ids = _sample(plan)
    out = _run_units(rehearsal, ids, get_executor("processes", workers=2, log_dir=tmp_path / "logs",
                                                  echo=lambda _: None), tmp_path)
    assert out.failed == {} and out.skipped == {} and sorted(out.done) == sorted(ids)
    records, bad = ResultStore(rehearsal["results"]).scan()
    assert not bad
    by_id = {e["id"]: e for e in plan["units"]}
    wanted = {by_id[i]["record"] for i in ids if by_id[i]["what"] == "evaluate" and by_id[i]["record"]}
    ok = {r.spec.id for r in records if r.status == "ok"}
    assert wanted <= ok, [r.reason for r in records if r.spec.id in wanted and r.status != "ok"]
    assert {r.spec.profile for r in records} == {"paper-rehearsal"}
    tables = tmp_path / "tables"
    assert app.tables("paper", rehearse=True, results_dir=rehearsal["results"], tables_dir=tables) == 0
    folder = tables / "paper-rehearsal"
    assert (folder / "REPORT.md").read_text().startswith(f"> **{MARK}**")
    for md in folder.glob("table*.md"):
        assert md.read_text().startswith(f"> **{MARK}**"), md
    import pandas as pd

    for csv in folder.glob("table*.csv"):
        df = pd.read_csv(csv)
        assert (df["rehearsal"] == MARK).all() and set(df["profile"].dropna()) <= {"paper-rehearsal"}, csv


@pytest.mark.slurm
def test_a_few_units_rehearsed_through_slurm(slurm_cluster, rehearsal, tmp_path):
    """An NLI model, its STSb continuation and the evaluation after it, as Slurm job arrays."""
    plan = rehearsal["plan"]
    ev = next(e for e in plan["units"] if e["what"] == "evaluate" and e["table"] == "2"
              and "NLI-STSb" in e["row"] and e["status"] == "ready")
    by_id = {e["id"]: e for e in plan["units"]}
    ids, todo = [], [ev["id"]]
    while todo:
        uid = todo.pop()
        ids.insert(0, uid)
        todo += by_id[uid]["needs"]
    assert len(ids) == 3
    ex = get_executor("slurm", log_dir=tmp_path / "slurm-logs", time_min=10, cpus_per_task=1, mem_gb=2,
                      env={"SBERT_REPRO_CACHE": str(rehearsal["cache"]), "SBERT_REPRO_MINIATURES":
                           os.environ.get("SBERT_REPRO_MINIATURES", "")}, echo=lambda _: None)
    out = _run_units(rehearsal, ids, ex, tmp_path)
    assert out.failed == {} and sorted(out.done) == sorted(ids), out.failed
    rec = json.loads(next(Path(rehearsal["results"]).rglob(f"*{ev['record']}.json")).read_text())
    assert rec["status"] == "ok"


@pytest.mark.slurm
def test_one_unit_of_every_kind_rehearsed_through_slurm_in_bundles(slurm_cluster, rehearsal, tmp_path):
    """The sampled subset (each loader, objective and table evaluator, a released checkpoint, an NLI -> STSb
    continuation) as Slurm job arrays with --units-per-task bundles (warm interpreters), into a results folder of
    its own: every unit done, every evaluation's record finished (tox -e rehearse-slurm runs all 733)."""
    from repro.results import ResultStore

    plan = rehearsal["plan"]
    ids = _sample(plan)
    lines: list[str] = []
    ex = get_executor("slurm", log_dir=tmp_path / "slurm-logs", time_min=20, cpus_per_task=1, mem_gb=2,
                      units_per_task=10, env={"SBERT_REPRO_CACHE": str(rehearsal["cache"])}, echo=lines.append)
    out = _run_units(rehearsal, ids, ex, tmp_path, results=tmp_path / "results")
    assert out.failed == {} and sorted(out.done) == sorted(ids), (out.failed, lines)
    assert any("task(s) of up to 10 units" in line for line in lines)
    by_id = {e["id"]: e for e in plan["units"]}
    wanted = {by_id[i]["record"] for i in ids if by_id[i]["what"] == "evaluate" and by_id[i]["record"]}
    records, bad = ResultStore(tmp_path / "results").scan()
    assert not bad and wanted <= {r.spec.id for r in records if r.status == "ok"}


def test_prepare_names_the_missing_input_and_leaves_nothing(tmp_path):
    from repro.errors import DataError
    from repro.rehearsal import prepare

    (tmp_path / "real").mkdir()
    with pytest.raises(DataError, match="stsb|sts"):
        prepare(tmp_path / "cache", real_root=tmp_path / "real", echo=lambda _: None)
    assert [p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")] == []


@pytest.mark.slow
def test_prepared_miniatures_are_reused_not_rebuilt(rehearsal, monkeypatch):
    from repro.rehearsal import READY, cache_key, datasets, prepare

    folder = rehearsal["r"].folder
    assert json.loads((folder / READY).read_text())["key"] == cache_key() == folder.name
    monkeypatch.setattr(datasets, "build_data", lambda *a, **k: pytest.fail("rebuilt"))
    assert prepare(folder.parent, echo=lambda _: None) == folder
