"""Tables 2 and 6 through the table pipeline: smoke end to end, the paper's numbers beside ours, bad settings,
and (slow) real fine-tuning of all-MiniLM-L6-v2 on STSb."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from repro.cli import main
from repro.errors import ConfigError
from repro.profiles import get_profile
from repro.specs import Row
from repro.results import ResultStore
from repro.training.losses import CONCATENATIONS


@pytest.fixture
def dirs(tmp_path, data_root):
    return ["--data-root", str(data_root), "--results-dir", str(tmp_path / "res"),
            "--tables-dir", str(tmp_path / "tab")]


def test_smoke_tables_2_and_6_end_to_end(dirs, tmp_path, capsys):
    assert main(["-v", "reproduce", "--profile", "smoke", "--tables", "2,6", *dirs]) == 0  # -v: each unit's lines
    out = capsys.readouterr().out
    records = ResultStore(tmp_path / "res").load(profile="smoke")
    t2 = [r for r in records if r.spec.table == "2"]
    t6 = [r for r in records if r.spec.table == "6"]
    # Table 2: untuned + NLI (one each), 4 trained rows x 2 seeds; Table 6: 3 poolings x 2 objectives + 7 concats
    assert (len(t2), len(t6)) == (10, 13)
    assert all(r.status == "ok" for r in records), [(r.label, r.reason) for r in records if r.status != "ok"]
    assert "finished run reused" in out  # (u, v, |u-v|) = MEAN / NLI; the NLI model of the NLI-then-STSb rows

    df2 = pd.read_csv(tmp_path / "tab" / "smoke" / "table2_stsb_supervised.csv")
    sbert = df2[df2["row"] == "SBERT-STSb (smoke)"].iloc[0]
    assert sbert["n_runs"] == 2 and not math.isnan(sbert["ours_std"])
    assert (sbert["paper"], sbert["paper_std"]) == (84.67, 0.19)
    cross = df2[df2["row"] == "BERT-STSb cross-encoder (smoke)"].iloc[0]
    assert cross["paper"] == 84.30 and cross["status"] == "ok"
    nli_sts = df2[df2["row"] == "BERT-NLI-STSb cross-encoder (smoke)"].iloc[0]
    assert nli_sts["paper"] == 88.33 and nli_sts["n_runs"] == 2
    md2 = (tmp_path / "tab" / "smoke" / "table2_stsb_supervised.md").read_text()
    assert "smoke: tiny random BERT" in md2 and "SNLI dev+test" in md2

    df6 = pd.read_csv(tmp_path / "tab" / "smoke" / "table6_ablation.csv")
    ok6 = df6[df6["status"] == "ok"]
    assert len(ok6) == 13 and set(ok6["column"]) == {"NLI", "STSb"}
    mean_nli = ok6[(ok6["row"] == "MEAN") & (ok6["column"] == "NLI")].iloc[0]
    same = ok6[(ok6["row"] == "(u, v, |u-v|)")].iloc[0]
    assert mean_nli["ours"] == same["ours"] and mean_nli["paper"] == 80.78
    assert (tmp_path / "tab" / "smoke" / "table6_ablation.png").is_file()

    # each training run wrote its JSON log; records keep the dev-score history
    rec = next(r for r in t6 if r.label == "MAX" and r.spec.param_dict["column"] == "STSb")
    assert rec.details["history"] and any("dev" in h for h in rec.details["history"])
    assert rec.details["model_dir"].startswith("$SBERT_REPRO_CACHE/runs/smoke/")  # no machine paths in records
    assert rec.details["model_dir"].endswith("/best")
    # the kept model is the best under the 2019 rule (largest of four dev Spearman correlations); the table's
    # number is its COSINE Spearman on STSb dev, as the paper's Table 6
    assert rec.details["dev_spearman"] == max(h["dev"] for h in rec.details["history"] if "dev" in h)
    best = next(h for h in rec.details["history"] if h["step"] == rec.details["best_step"] and "dev" in h)
    assert best["dev"] == max(best["dev_parts"].values())
    assert rec.metrics["STSb"]["spearman"] == pytest.approx(best["dev_parts"]["cosine"], abs=1e-4)

    capsys.readouterr()
    assert main(["-v", "reproduce", "--profile", "smoke", "--tables", "2,6", *dirs]) == 0  # resume: nothing reruns
    assert capsys.readouterr().out.count("[cached]") == 23  # each unit's line: the log, and the console with -v


def test_table6_reference_layout():
    from repro.specs import load_specs

    ref = load_specs()["6"].reference()
    pooling = ref[ref["group"] == "pooling_strategy"].set_index(["paper_row", "column"])["value"]
    assert pooling[("MEAN", "NLI")] == 80.78 and pooling[("MAX", "STSb")] == 69.92 and pooling[("CLS", "STSb")] == 86.62
    concat = ref[ref["group"] == "concatenation"]
    assert set(concat["paper_row"]) == set(CONCATENATIONS)
    assert concat[concat["column"] == "STSb"]["value"].isna().all()  # '-' in the paper
    assert concat.set_index(["paper_row", "column"])["value"][("(u, v)", "NLI")] == 66.04


def test_bad_settings_fail_before_any_training(tmp_path, data_root, monkeypatch):
    from repro.runner import run_table
    from repro.specs import get_spec

    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path / "cache"))
    smoke = get_profile("smoke")
    store = ResultStore(tmp_path / "res")
    for key, bad, message in (
        ("poolings", ("mean", "avg"), "unknown pooling 'avg'; allowed: mean, max, cls"),
        ("concatenations", ("(u, v, u-v)",), r"unknown concatenation '\(u, v, u-v\)'; allowed: \(u, v\);"),
    ):
        profile = smoke.with_table("6", **{key: bad})
        with pytest.raises(ConfigError, match=message):
            run_table(get_spec("6"), profile, store, data_root=data_root, echo=lambda m: None)
    bad_row = Row("x", "smoke-bert", kind="sbert", options={"recipe": "nli+sts"})
    profile = smoke.with_table("2", rows=(bad_row,))
    with pytest.raises(ConfigError, match="unknown Table 2 recipe 'nli\\+sts'; allowed: none, nli, stsb, nli\\+stsb"):
        run_table(get_spec("2"), profile, store, data_root=data_root, echo=lambda m: None)
    assert not (tmp_path / "cache" / "runs").exists() and not list(store)  # nothing trained, nothing recorded


def test_nli_then_stsb_rows_continue_one_nli_model():
    from repro.specs.table2 import stage_for as stages_for

    training = dict(get_profile("local").training)
    minilm = "sentence-transformers/all-MiniLM-L6-v2"
    row = Row("r", minilm, kind="sbert", paper_row="SBERT-NLI-STSb-base", options={"recipe": "nli+stsb"})
    s0, s1 = stages_for(row, training, 0), stages_for(row, training, 1)
    assert s0.base == s1.base and s0.base.data == "nli" and s0.base.seed == 0  # one NLI model
    assert (s0.seed, s1.seed, s0.data, s0.objective) == (0, 1, "stsb-train", "regression")
    assert s0.key != s1.key and s0.base.key == s1.base.key
    plain = stages_for(Row("p", minilm, kind="sbert", options={"recipe": "stsb"}), training, 0)
    assert plain.name == "sbert-regression-stsb-train-mean-seed0"
    assert s0.name == "sbert-regression-stsb-train-mean-after-nli-seed0"  # run folders tell the two apart


@pytest.mark.slow
@pytest.mark.needs_weights
def test_minilm_fine_tuned_on_stsb_beats_untuned(minilm_path, data_root, tmp_path):
    """Real training on real data: 20 steps of the regression objective on STSb train (all-MiniLM-L6-v2 body)."""
    from repro.data.sts import load_stsb
    from repro.encoders.transformer import SentenceEncoder
    from repro.evaluation.sts import spearman_x100
    from repro.training.losses import pair_similarity
    from repro.training.recipes import Stage, load_trained, run_stage

    test = load_stsb("test", root=data_root)
    every_4th = slice(0, None, 4)  # all three genres (the first pairs are captions only, where it scores 92)
    s1, s2, gold = test.sentences1[every_4th], test.sentences2[every_4th], test.scores[every_4th]

    def score(model):
        return spearman_x100(pair_similarity(model, s1, s2), gold)

    untuned = score(SentenceEncoder(minilm_path, device="cpu"))
    stage = Stage(kind="sbert", objective="regression", data="stsb-train", base=str(minilm_path), max_steps=20,
                  epochs=4, dev_limit=100, eval_steps=1000, seed=0)
    result = run_stage(stage, tmp_path, data_root=data_root, device="cpu", progress=False, echo=lambda m: None)
    tuned = score(load_trained(stage, result.model_dir, device="cpu"))
    assert tuned > untuned, (untuned, tuned)


def test_reproduce_removes_models_no_table_needs_and_a_later_force_retrains(tmp_path, monkeypatch):
    """Disk: once every unit that needs a trained model is done, reproduce removes the model (records and logs
    stay); --keep-models keeps it; a forced rerun trains such a run again instead of failing."""
    from repro.cli import main

    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path / "cache"))
    common = ["reproduce", "--profile", "smoke", "--tables", "2", "--results-dir", str(tmp_path / "r"),
              "--tables-dir", str(tmp_path / "t")]
    assert main(common + ["--keep-models"]) == 0
    runs = tmp_path / "cache" / "runs" / "smoke"
    kept = [d for d in runs.iterdir() if (d / "done.json").is_file()]
    assert kept and all((d / "best").is_dir() or (d / "final").is_dir() for d in kept)
    from repro.plan import prunable_runs
    from repro.profiles import get_profile
    from repro.results import ResultStore

    expect = set(prunable_runs(get_profile("smoke"), ResultStore(tmp_path / "r")))
    # every run only Table 2 needs can go; the NLI run Table 6 (not run yet) continues from stays
    assert expect and expect < set(kept)
    assert main(common) == 0  # nothing to run; the models no unfinished unit needs are removed
    for d in kept:
        assert (not (d / "best").exists() and not (d / "final").exists()) == (d in expect), d.name
    assert all((d / "log.json").is_file() and (d / "done.json").is_file() for d in kept)
    before = (tmp_path / "t" / "smoke" / "table2_stsb_supervised.csv").read_text()
    assert main(common + ["--force", "--keep-models"]) == 0  # the models are trained again
    assert (tmp_path / "t" / "smoke" / "table2_stsb_supervised.csv").read_text() == before
    # each removed model was trained once more (its run's journal says so); the kept ones were reused
    for d in kept:
        assert len((d / "finished.log").read_text().splitlines()) == (2 if d in expect else 1), d.name
