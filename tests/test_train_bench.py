"""`sbert-repro bench --train`: our trainer's steps vs sentence-transformers' loop, interleaved (smoke model)."""

from __future__ import annotations

import json

import pytest

from repro.errors import ConfigError


@pytest.mark.needs_data
def test_training_throughput_report(data_root, tmp_path):
    pytest.importorskip("sentence_transformers")
    from repro.cli import main

    rc = main(["bench", "--train", "--train-model", "smoke-bert", "--train-steps", "2", "--repeats", "1",
               "--data-root", str(data_root), "--report-dir", str(tmp_path), "--results-dir", str(tmp_path / "r")])
    assert rc == 0
    rep = json.loads((tmp_path / "table7_train_smoke-bert_cpu.json").read_text())
    assert set(rep["cases"]) == {"ours", "peer"} and rep["batch_size"] == 16 and rep["dtype"] == "fp32"
    for c in rep["cases"].values():
        assert c["steps_per_second"] > 0 and len(c["seconds"]) >= 1
    assert rep["ours_vs_peer"] == pytest.approx(rep["cases"]["ours"]["steps_per_second"]
                                                / rep["cases"]["peer"]["steps_per_second"])
    assert "ours / sentence-transformers" in (tmp_path / "table7_train_smoke-bert_cpu.md").read_text()


def test_training_throughput_rejects_bad_settings():
    from repro.speed.train_bench import measure_training, train_model_path

    with pytest.raises(ConfigError, match="train-steps"):
        measure_training("smoke-bert", steps=0)
    with pytest.raises(ConfigError, match="unknown training model"):
        train_model_path("gpt")
