"""Table 7: computation speed (sentences per second), and the "65 hours vs 5 seconds" claim.

Speed is a property of hardware, so every row of our table names the hardware it was measured on (the
"Model / profile" column reads ``<model> on <CPU or GPU>``), beside the paper's i7-5820K / V100 numbers. The
measurements come from :func:`repro.speed.bench.run_suite` (one process, candidates interleaved, median of
several rounds, tokenisation included); each row becomes one result record whose ``details`` keep all rounds,
batch size, dtype, padding and the faithfulness check, and whose ``env`` keeps hardware and library versions.

Rows:
- the paper's: Avg. GloVe embeddings, SBERT-base (no smart batching), SBERT-base - smart batching, InferSent (v1's
  shape, BiLSTM 2x2048 with max pooling over 300-d word vectors, random weights: speed does not depend on weight
  values; measured in the same interleaved rounds, with its ratio to smart batching); the Universal Sentence
  Encoder is listed as not run (TensorFlow Hub);
- extra: sentence-transformers ``encode()`` on the same weights (the peer, measured in the same run), our fast
  path (bf16 products where they were measured faster, and fp32), each with its ratio to the peer;
- the claim (abstract, §1, §8): the most similar pair among 10,000 sentences: a BERT cross-encoder's
  extrapolated hours for all 49,995,000 pairs, and SBERT measured end to end, in seconds.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd

from repro.errors import ConfigError, ModelNotAvailable, ReproError
from repro.experiments.registry import pipeline
from repro.profiles import Profile
from repro.results import ResultRecord, ResultStore, RunSpec, run
from repro.tables.reference import load_reference_csv
from repro.tables.registry import TableDef, register

log = logging.getLogger(__name__)
TABLE = "7"
CLAIM = "10,000 sentences: most similar pair"
COLUMNS = ["CPU", "GPU", "CPU vs peer", "GPU vs peer", "vs smart batching"]
INFERSENT_LABEL = "InferSent v1 shape (random weights)"
INFERSENT_SUBSTITUTE = ("random LSTM weights and random 300-d vectors for the words of the sentences, in InferSent "
                        "v1's shape (BiLSTM 2x2048, max pooling, batches of 64): the cost of infersent1.pkl with "
                        "GloVe 840B-300d")
CROSS_ROW = "BERT cross-encoder: hours for all 49,995,000 pairs (extrapolated)"
E2E_ROW = "SBERT: seconds end to end (encode + cosine + argmax)"

# (section, case) -> (row label, paper row, group)
ROWS = {
    ("encode", "plain"): ("SBERT-base", "SBERT-base", ""),
    ("encode", "smart"): ("SBERT-base - smart batching", "SBERT-base - smart batching", ""),
    ("encode", "peer"): ("sentence-transformers encode() (peer)", "SBERT-base - smart batching", ""),
    ("encode", "fast"): ("SBERT-base - fast path (ours)", "SBERT-base - smart batching", ""),
    ("encode", "fast_fp32"): ("SBERT-base - fast path, fp32 (ours)", "SBERT-base - smart batching", ""),
    ("encode", "infersent"): ("InferSent", "InferSent", ""),
    ("glove", "glove"): ("Avg. GloVe embeddings", "Avg. GloVe embeddings", ""),
    ("cross", "plain"): (CROSS_ROW, CROSS_ROW, CLAIM),
    ("cross", "fast"): ("BERT cross-encoder, fast path: hours (extrapolated)", CROSS_ROW, CLAIM),
    ("e2e", "plain"): (E2E_ROW, E2E_ROW, CLAIM),
    ("e2e", "fast"): ("SBERT fast path: seconds end to end", E2E_ROW, CLAIM),
}
NOT_RUN = {
    "Universal Sentence Encoder": "not implemented in this suite (TensorFlow-Hub universal-sentence-encoder-large/3)",
}
# The claim, from the paper's text (abstract, §1, §8), on the V100.
CLAIM_REFERENCE = [(CROSS_ROW, "GPU", 65.0), (E2E_ROW, "GPU", 5.0)]


# ============================================================================================ table definition
def _reference() -> pd.DataFrame:
    df = load_reference_csv("table7_speed.csv")
    ref = pd.DataFrame({"group": "", "paper_row": df["model"], "column": df["device"], "value": df["value"],
                        "std": float("nan")})
    claim = pd.DataFrame([{"group": CLAIM, "paper_row": r, "column": c, "value": v, "std": float("nan")}
                          for r, c, v in CLAIM_REFERENCE])
    return pd.concat([ref, claim], ignore_index=True)


def _extract(record):
    """Our values; NaN for the other device's column, so the paper's number still shows beside ours."""
    group = record.spec.param_dict.get("group", "")
    for col in COLUMNS:
        v = (record.metrics.get(col) or {}).get("value")
        if v is not None:
            yield group, col, float(v)
        elif col in ("CPU", "GPU"):
            yield group, col, float("nan")


def _warning(record) -> str | None:
    """A speed taken beside other work, or from rounds that disagree (see repro/speed/timing.py)."""
    case = (record.details or {}).get("case") or {}
    return case.get("warning") if isinstance(case, dict) else None


TABLE7 = register(TableDef(
    number=TABLE,
    warning=_warning,
    on_conflict="latest",  # a new measurement on the same hardware replaces the last one
    plot_columns=["CPU", "GPU"],  # the ratios to the peer are in the CSV and Markdown
    plot_log=True,
    title="Table 7: computation speed (sentences per second; higher is better)",
    slug="table7_speed",
    columns=COLUMNS,
    metric="value",
    reference=_reference,
    extract=_extract,
    unit="sentences/s (claim rows: hours or seconds)",
    decimals=2,
    notes=[
        "Speed depends on hardware: each of our rows names the hardware it ran on (`<model> on <CPU or GPU>`); "
        "the paper used an Intel i7-5820K CPU @ 3.30GHz and an Nvidia Tesla V100 GPU (CUDA 9.2, cuDNN).",
        "Ours: the unique STS benchmark sentences (train+dev+test: 15,487; the local profile a random sample of "
        "1,000), tokenisation included, median of interleaved rounds after a warm-up, in one process; batch size "
        "32 and fp32 unless the row says otherwise (the paper states neither batch size nor thread count).",
        "`CPU vs peer` / `GPU vs peer`: throughput divided by sentence-transformers' `encode()` (batch 32, fp32) "
        "measured in the same run on the same weights.",
        "Fast path (`encode(fast=True)`): tokenised ahead, sorted by token count, batches by token budget, a fused "
        "inference stack, bf16 matrix products with an fp32 residual stream where they were measured at least "
        "1.15x faster than fp32 on this CPU (repro/speed/calibrate.py; bf16 on GPUs); its embeddings keep cosine >= 0.999 to the fp32 result (checked in every run and in "
        "tests/test_speed_*.py).",
        f"Group '{CLAIM}': the paper's claim (abstract, §1, §8): ~65 hours with a BERT cross-encoder (49,995,000 "
        "pairs on a V100) vs ~5 seconds with SBERT (10,000 embeddings; cosine similarity ~0.01 s). Our "
        "cross-encoder hours are extrapolated from sampled pairs; SBERT's seconds are measured end to end over "
        "the first 10,000 unique STSb sentences.",
        "InferSent: v1's architecture (repro/encoders/infersent.py) with random weights, timed in the same "
        "interleaved rounds as SBERT; `vs smart batching` is its throughput divided by SBERT-base with smart "
        "batching in the same run (the paper: SBERT with smart batching about 9% faster than InferSent on the "
        "GPU). The Universal Sentence Encoder is not re-run (TensorFlow Hub).",
        "A row marked with a warning was measured while other processes used the CPU, or its rounds disagreed "
        "after a retry (repro/speed/timing.py); the warning says which.",
        "The per-run details (all rounds, hardware, versions, load average, padding share, faithfulness) are in "
        "the JSON records and in the `table7_bench_*.md` reports beside this table.",
    ],
))


# ============================================================================================ pipeline
def settings_for(profile: Profile, **overrides):
    from repro.speed.bench import PROFILE_PRESET, preset

    table_settings = dict((profile.settings or {}).get("table7", {}))
    name = table_settings.pop("preset", PROFILE_PRESET.get(profile.name, "local"))
    return preset(name, **{**table_settings, **overrides})


def _record_profile(profile: Profile, settings) -> str:
    from repro.speed.bench import PROFILE_PRESET

    own = PROFILE_PRESET.get(profile.name)
    return profile.name if own in (None, settings.name) else f"{profile.name}-{settings.name}"


def _spec(section: str, case: str, *, profile_name: str, model_label: str, hw: str, device: str, settings,
          substitute: str | None, extra: dict | None = None) -> RunSpec:
    row, paper_row, group = ROWS[(section, case)]
    return RunSpec.make(
        table=TABLE, row=row, model=f"{model_label} on {hw}", profile=profile_name, task=f"speed-{section}",
        paper_row=paper_row, substitute=substitute,
        params={"group": group, "device": device, "case": case, "preset": settings.name,
                "n_sentences": settings.n_sentences, "batch_size": settings.batch_size,
                "precision": settings.precision, "token_budget": settings.token_budget,
                "repeats": settings.repeats, "seed": settings.seed, **(extra or {})},
    )


def _sections_for(settings, device_type: str) -> list[str]:
    out = []
    for s in settings.sections:
        if s == "glove" and (device_type != "cpu" or not settings.glove):
            continue
        if s == "cross" and not (settings.cross_pairs and device_type in settings.cross_pairs):
            continue
        if s == "e2e" and not settings.e2e_n:
            continue
        out.append(s)
    return out


def _cases(section: str, settings, precision: str) -> list[str]:
    if section == "encode":
        cases = ["plain", "smart", "fast"] + (["fast_fp32"] if precision != "fp32" else [])
        return cases + (["peer"] if settings.peer else []) + (["infersent"] if settings.infersent else [])
    if section == "glove":
        return ["glove"]
    if section == "cross":
        return ["plain", "fast"]
    return ["fast"] + (["plain"] if settings.e2e_plain else [])


@pipeline(TABLE)
def run_table7(profile: Profile, store: ResultStore, *, data_root=None, device: str | None = None,
               force: bool = False, echo=print, settings=None, threads: int | None = 2,
               report_dir: str | Path | None = None, sweep: bool = False, command: str | None = None
               ) -> list[ResultRecord]:
    """Measure Table 7 on ``device`` (default: CUDA when available, else CPU) and write one record per row."""
    import torch

    from repro.encoders import fast
    from repro.speed.bench import run_suite, torch_threads, write_report
    from repro.speed.timing import environment, hardware_label

    settings = settings or settings_for(profile)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dev_type = torch.device(device).type
    if dev_type not in ("cpu", "cuda"):
        raise ConfigError(f"--device {device}: Table 7 has CPU and GPU (cuda) columns only")
    profile_name = _record_profile(profile, settings)
    col = "CPU" if dev_type == "cpu" else "GPU"
    with torch_threads(threads if dev_type == "cpu" else None):
        env = environment(device)
        precision = settings.precision or fast.default_precision(device)  # measured once per CPU and threads
    hw = hardware_label(env)
    records: list[ResultRecord] = []

    # Rows the suite cannot produce: recorded as not run, with the reason.
    for name, why in NOT_RUN.items():
        spec = RunSpec.make(table=TABLE, row=name, model=name, profile=profile_name, task="speed",
                            paper_row=name, params={"group": "", "device": device})
        records.append(run(spec, _raise(ModelNotAvailable(why)), store, force=force, log=echo))

    failure: ReproError | None = None
    try:
        from repro.speed.models import speed_model

        model = speed_model(settings.model, settings.weights, data_root=data_root)
        model_label, substitute = model.label, model.substitute
    except ReproError as e:
        model_label, substitute, model = settings.model, None, None
        failure = e
    sections = _sections_for(settings, dev_type)
    specs = {}
    for section in sections:
        for case in _cases(section, settings, precision):
            label, sub = model_label, substitute
            if (section, case) == ("encode", "infersent"):
                label, sub = INFERSENT_LABEL, INFERSENT_SUBSTITUTE
            if section == "glove":
                label = settings.glove
                sub = ("GloVe 6B-50d (uncased, from PyPI) instead of 840B-300d" if settings.glove == "glove-6B-50d"
                       else f"{settings.glove} instead of GloVe 840B-300d")
            specs[(section, case)] = _spec(section, case, profile_name=profile_name, model_label=label, hw=hw,
                                           device=dev_type, settings=settings, substitute=sub,
                                           extra={"precision_used": precision if case == "fast" else "fp32"})
    if model is None:
        for spec in specs.values():
            records.append(run(spec, _raise(failure), store, force=force, log=echo))
        return records

    todo = [s for s in sections if force or any(
        (store.get(specs[(s, c)]) is None or store.get(specs[(s, c)]).status != "ok")
        for c in _cases(s, settings, precision))]
    report = None
    if todo:
        echo(f"[table 7] measuring {', '.join(todo)} on {hw} ({device}), preset '{settings.name}'")
        report = run_suite(settings, device, data_root=data_root, threads=threads, sections=tuple(todo),
                           do_sweep=sweep, echo=echo)
        if report_dir is not None:
            paths = write_report(report, report_dir, f"table7_bench_{settings.name}_{dev_type}", command)
            echo(f"  report: {paths['md']}")
    not_run = (report or {}).get("not_run", {})
    for (section, case), spec in specs.items():
        if section not in todo:  # finished earlier: the cached record
            records.append(run(spec, _raise(ReproError(f"section {section} was not measured")), store, log=echo))
            continue
        sec = report["sections"].get(section)
        why = not_run.get(f"{section}/{case}") or not_run.get(section)
        if why or sec is None or ("cases" in sec and case not in sec["cases"]):
            err = ReproError(why or f"{section}/{case} was not measured on {device}")
            records.append(run(spec, _raise(err), store, force=True, log=echo))
            continue
        metrics, details = _row_values(report, section, case, col)
        records.append(run(spec, lambda s, m=metrics, d=details: (m, d), store, force=True, log=echo,
                           env=lambda: {"hardware": report["env"], "versions": report["env"].get("versions")}))
    return records


def _raise(err: Exception):
    def fn(spec):
        raise err

    return fn


def _row_values(report: dict, section: str, case: str, col: str) -> tuple[dict, dict]:
    sec = report["sections"][section]
    common = {"hardware": report["hardware"], "model": report["model"], "settings": report["settings"]}
    if section == "encode":
        c = sec["cases"][case]
        metrics = {col: {"value": c["per_second"]}}
        if c.get("vs_peer") is not None and case != "infersent":
            metrics[f"{col} vs peer"] = {"value": c["vs_peer"]}
        if case == "infersent" and c.get("vs_smart") is not None:
            metrics["vs smart batching"] = {"value": c["vs_smart"]}
        details = {**common, "case": c, "n": sec["n"], "tokens": sec["tokens"], "mean_tokens": sec["mean_tokens"],
                   "loadavg": [sec["loadavg_before"], sec["loadavg_after"]]}
        return metrics, details
    if section == "glove":
        return {col: {"value": sec["per_second"]}}, {**common, "case": sec}
    if section == "cross":
        c = sec["cases"][case]
        return ({col: {"value": c["hours_all_pairs"]}},
                {**common, "case": c, "pairs_timed": sec["pairs"], "all_pairs": sec["all_pairs"]})
    c = sec["cases"][case]
    return {col: {"value": c["total_s"]}}, {**common, "case": c, "n": sec["n"]}


def with_settings(profile: Profile, **kw) -> Profile:
    """A copy of ``profile`` whose Table 7 settings are overridden (for tests and the CLI)."""
    settings = dict(profile.settings or {})
    settings["table7"] = {**settings.get("table7", {}), **kw}
    return replace(profile, settings=settings)
