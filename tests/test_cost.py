"""The plan's cost: steps from the stage and its data, hours from measured or named reference figures."""

from __future__ import annotations

import math

import pytest

from repro.cost import REFERENCE_STEPS_PER_S, measured_speeds, record_speed, stage_cost, stage_steps
from repro.training.recipes import afs_stage, nli_stage, stsb_stage, triplet_stage


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
