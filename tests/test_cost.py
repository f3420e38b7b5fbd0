"""The plan's cost: steps from the stage and its data, hours from measured or named reference figures."""

from __future__ import annotations

import math

from pathlib import Path

import pytest

from repro.cost import REFERENCE_STEPS_PER_S, measured_speeds, record_speed, stage_cost, stage_steps
from repro.training.recipes import afs_stage, nli_stage, stsb_stage, triplet_stage

REPO = Path(__file__).resolve().parents[1]


def test_steps_follow_the_data_and_the_caps():
    nli = nli_stage({}, "bert-base-uncased")
    assert stage_steps(nli) == math.ceil(942_854 / 16) == 58_929  # one epoch of SNLI + MultiNLI at batch 16
    assert stage_steps(stsb_stage({}, "bert-base-uncased")) == 4 * math.ceil(5_749 / 16)
    assert stage_steps(stsb_stage({"stsb_max_steps": 160}, "x")) == 160
    ts = {"epochs": 3, "batch_size": 32, "lr": 2e-5, "max_seq_length": 64, "max_steps": None, "seed": 0,
          "symmetric": True}
    ten = afs_stage(model="bert-base-uncased", kind="cross", pooling=None, setting="10-fold", fold="DP/fold0",
                    training=ts, knobs={})
    assert stage_steps(ten) == 3 * math.ceil(1_800 * 2 / 32)  # 9/10 of a topic, both orders
    wiki = triplet_stage(model="bert-base-uncased", training={
        "train_limit": None, "dev_limit": 1000, "epochs": 1, "max_steps": None, "batch_size": 16, "lr": 2e-5,
        "margin": 1.0, "seed": 0, "eval_steps": 1000, "max_seq_length": 128, "pooling": "mean"})
    assert stage_steps(wiki) == math.ceil(1_779_890 / 16)


def test_hours_come_from_a_measurement_here_before_the_reference(tmp_path, monkeypatch):
    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path))
    nli = nli_stage({}, "bert-base-uncased")
    ref = stage_cost(nli, "cuda")
    assert ref["source"].startswith("reference: measured: NVIDIA H100")
    assert ref["hours"] == pytest.approx(58_929 / REFERENCE_STEPS_PER_S[("cuda", "base", "pair")][0] / 3600)
    large = stage_cost(nli_stage({}, "bert-large-uncased"), "cuda")
    assert large["source"].startswith("reference: derived") and large["hours"] > 3 * ref["hours"]
    record_speed("cuda", "base", 30.8, "NVIDIA H200", "2026-12-01")
    assert measured_speeds()["cuda|base"]["steps_per_s"] == 30.8
    here = stage_cost(nli, "cuda")
    assert here["source"] == "measured here: NVIDIA H200 (2026-12-01)"
    assert here["hours"] == pytest.approx(ref["hours"] * 15.4 / 30.8)


def test_plan_prints_cost_per_table_and_in_total(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path))
    from repro.cli import main

    assert main(["plan", "--profile", "paper", "--results-dir", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    t6 = next(line for line in out.splitlines() if line.strip().startswith("Table 6:"))
    assert "130 evaluations" in t6 and "GPU-h" in t6 and "GB disk" in t6
    total = next(line for line in out.splitlines() if line.strip().startswith("total:"))
    assert "371 training runs" in total and "GPU-h" in total


# ------------------------------------------------------------------------------------------------ reproduce's estimate
def _plan(profile="local", tables=None, store=None, tmp_path=None):
    from repro.plan import build_plan
    from repro.profiles import get_profile
    from repro.results import ResultStore

    return build_plan(get_profile(profile), store or ResultStore(tmp_path / "r"), tables=tables)


def test_quick_table7_is_minutes_and_the_full_one_is_not():
    from repro.cost import speed_seconds
    from repro.speed.presets import preset

    quick, full = speed_seconds(preset("quick")), speed_seconds(preset("local"))
    assert 60 < quick < 6 * 60  # "a few minutes" on the reference CPU
    assert full > 3 * quick
    assert speed_seconds(preset("quick"), "cuda") is None  # no GPU figure: the estimate says "?"


def test_estimate_counts_reused_units_and_scales_with_the_calibration(tmp_path):
    from repro.cost import REFERENCE_CPUS, estimate, speed_seconds
    from repro.results import ResultStore
    from repro.speed.presets import preset

    plan = _plan(store=ResultStore(REPO / "results"))  # the committed records: a rebuild
    ref = REFERENCE_CPUS["epyc-zen4"]["calibration_s"]
    quick = {"table": "7", "settings": preset("quick"), "reuse": False, "device_kind": "cpu"}
    here = estimate(plan, calibration_s=ref, speed=quick)
    assert all(here[t]["run"] == 0 for t in ("1", "2", "5", "6")) and here["2"]["reuse"] == 5
    assert here["4"]["cannot"] == 6 and here["7"]["run"] == 10 and here["7"]["how"] == "quick setting"
    assert here["7"]["seconds"] == pytest.approx(speed_seconds(preset("quick")), rel=0.1)
    assert here["total"]["complete"] and here["total"]["seconds"] < 10 * 60
    slower = estimate(plan, calibration_s=2 * ref, speed=quick)
    assert slower["total"]["seconds"] == pytest.approx(2 * here["total"]["seconds"])
    reused = estimate(plan, calibration_s=ref, speed={**quick, "reuse": True})
    assert reused["7"]["run"] == 0 and reused["7"]["reuse"] == 10 and reused["total"]["seconds"] < 60
    fresh = estimate(_plan(tmp_path=tmp_path), calibration_s=ref, speed=quick)  # nothing recorded: all of it runs
    assert fresh["2"]["run"] == 5 and fresh["total"]["seconds"] > 30 * 60


def test_cpu_calibration_is_measured_once_per_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path))
    from repro.cost import cpu_calibration

    first = cpu_calibration()
    assert 0 < first["seconds"] < 5 and first["machine"].endswith("2 threads")
    assert (tmp_path / "speed" / "cpu_speed.json").is_file()
    assert cpu_calibration() == first  # read back, not measured again


def test_table7_speed_setting_follows_the_records_of_this_machine(tmp_path):
    from repro.errors import ConfigError
    from repro.profiles import get_profile
    from repro.results import ResultRecord, ResultStore, RunSpec
    from repro.specs import load_specs
    from repro.tasks.speed import SPEED, has_records

    spec, local, store = load_specs()["7"], get_profile("local"), ResultStore(tmp_path / "r")
    hw = "Some CPU (family 1 model 2, AVX2), 2 threads"
    assert SPEED.choose(spec, local, store, hw).name == "quick"  # a new machine: minutes, not half an hour
    assert SPEED.choose(spec, local, store, hw, "full").name == "local"
    assert SPEED.choose(spec, get_profile("paper"), store, hw).name == "full"  # the paper profile: in full
    with pytest.raises(ConfigError):
        SPEED.choose(spec, local, store, hw, "fast")
    full = SPEED.settings(spec, local)
    rs = RunSpec.make(table="7", model=f"m on {hw}", profile="local", task="speed-encode",
                      params={"preset": "local", "case": "plain"})
    store.write(ResultRecord(spec=rs, status="ok", metrics={"CPU": {"value": 1.0}}))
    assert has_records(spec, store, "local", hw, full)
    assert SPEED.choose(spec, local, store, hw).name == "local"  # its full records exist: reused, not re-measured
    assert SPEED.choose(spec, local, store, hw, "quick").name == "quick"
    assert not has_records(spec, store, "local", "Other CPU, 2 threads", full)


def test_force_estimates_every_unit_again():
    from repro.cost import REFERENCE_CPUS, estimate
    from repro.results import ResultStore
    from repro.speed.presets import preset

    plan = _plan(store=ResultStore(REPO / "results"))
    ref = REFERENCE_CPUS["epyc-zen4"]["calibration_s"]
    speed = {"table": "7", "settings": preset("local"), "reuse": True, "device_kind": "cpu"}
    again = estimate(plan, calibration_s=ref, speed=speed, force=True)
    assert again["2"]["run"] == 5 and again["2"]["reuse"] == 0 and again["7"]["run"] == 10
    assert again["total"]["seconds"] > estimate(plan, calibration_s=ref, speed=speed)["total"]["seconds"] + 20 * 60
