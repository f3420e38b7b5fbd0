"""Table 7: computation speed (sentences per second), and the "65 hours vs 5 seconds" claim.

Speed is a property of hardware, so every row of our table names the hardware it was measured on (the
"Model / profile" column reads ``<model> on <CPU or GPU>``), beside the paper's i7-5820K / V100 numbers. The
measurements come from :func:`repro.speed.bench.run_suite` (one process, candidates interleaved, median of
several rounds, tokenisation included); each row becomes one result record whose ``details`` keep all rounds,
batch size, dtype, padding and the faithfulness check, and whose ``env`` keeps hardware and library versions.

Rows:
- the paper's: Avg. GloVe embeddings, SBERT-base (no smart batching), SBERT-base - smart batching; InferSent and
  Universal Sentence Encoder are listed as not run (outside PyTorch/transformers);
- extra: sentence-transformers ``encode()`` on the same weights (the peer, measured in the same run), our fast
  path (bf16 products where the hardware has them, and fp32), each with its ratio to the peer;
- the claim (abstract, §1, §8): the most similar pair among 10,000 sentences: a BERT cross-encoder's
  extrapolated hours for all 49,995,000 pairs, and SBERT measured end to end, in seconds.
"""

from __future__ import annotations

import logging
from pathlib import Path

from repro.errors import ConfigError, ModelNotAvailable, ReproError
from repro.profiles import Profile
from repro.results import ResultRecord, ResultStore, RunSpec, run

log = logging.getLogger(__name__)
TABLE = "7"
CLAIM = "10,000 sentences: most similar pair"
COLUMNS = ["CPU", "GPU", "CPU vs peer", "GPU vs peer"]
CROSS_ROW = "BERT cross-encoder: hours for all 49,995,000 pairs (extrapolated)"
E2E_ROW = "SBERT: seconds end to end (encode + cosine + argmax)"

# Rows, columns, the reference and the claim: the declaration, repro/specs/table7.py.
from repro.specs.table7 import (CLAIM, COLUMNS, INFERSENT_LABEL, INFERSENT_SUBSTITUTE, NOT_RUN, ROW_OF,  # noqa: E402,F401
                               SPEC as TABLE7)


# ============================================================================================ pipeline
def settings_for(profile: Profile, **overrides):
    from repro.speed.bench import PROFILE_PRESET, preset

    from repro.specs import get_spec

    table_settings = {k: v for k, v in get_spec(TABLE).knobs(profile).items() if k != "rows"}
    name = table_settings.pop("preset", PROFILE_PRESET.get(profile.name, "local"))
    return preset(name, **{**table_settings, **overrides})


def _record_profile(profile: Profile, settings) -> str:
    from repro.speed.bench import PROFILE_PRESET

    own = PROFILE_PRESET.get(profile.name)
    return profile.name if own in (None, settings.name) else f"{profile.name}-{settings.name}"


def _spec(section: str, case: str, *, profile_name: str, model_label: str, hw: str, device: str, settings,
          extra: dict | None = None) -> RunSpec:
    group = ROW_OF[(section, case)].opt("group")
    return RunSpec.make(
        table=TABLE, model=f"{model_label} on {hw}", profile=profile_name, task=f"speed-{section}",
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


class EVALUATOR:
    """All rows are measured in one interleaved run, so this evaluator runs the whole table."""

    @staticmethod
    def run_table(spec, profile, store, ctx):
        return run_table7(profile, store, data_root=ctx.data_root, device=ctx.device, force=ctx.force, echo=ctx.echo,
                          **ctx.extra)


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
    for row in NOT_RUN:
        spec = RunSpec.make(table=TABLE, model=row.model, profile=profile_name, task="speed",
                            params={"group": "", "device": device})
        records.append(run(spec, _raise(ModelNotAvailable(row.not_run)), store, force=force, log=echo,
                           row=row.describe()))

    failure: ReproError | None = None
    try:
        from repro.speed.timed_models import speed_model

        model = speed_model(settings.model, settings.weights, data_root=data_root)
        model_label, substitute = model.label, model.substitute
    except ReproError as e:
        model_label, substitute, model = settings.model, None, None
        failure = e
    sections = _sections_for(settings, dev_type)
    specs, words = {}, {}
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
                                           device=dev_type, settings=settings,
                                           extra={"precision_used": precision if case == "fast" else "fp32"})
            words[(section, case)] = {**ROW_OF[(section, case)].describe(), "substitute": sub}
    if model is None:
        for key, spec in specs.items():
            records.append(run(spec, _raise(failure), store, force=force, log=echo, row=words[key]))
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
            records.append(run(spec, _raise(ReproError(f"section {section} was not measured")), store, log=echo,
                               row=words[(section, case)]))
            continue
        sec = report["sections"].get(section)
        why = not_run.get(f"{section}/{case}") or not_run.get(section)
        if why or sec is None or ("cases" in sec and case not in sec["cases"]):
            err = ReproError(why or f"{section}/{case} was not measured on {device}")
            records.append(run(spec, _raise(err), store, force=True, log=echo, row=words[(section, case)]))
            continue
        metrics, details = _row_values(report, section, case, col)
        records.append(run(spec, lambda s, m=metrics, d=details: (m, d), store, force=True, log=echo,
                           env=lambda: {"hardware": report["env"], "versions": report["env"].get("versions")},
                           row=words[(section, case)]))
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
    return profile.with_table(TABLE, **kw)
