"""What a plan costs before it starts: training steps, GPU-hours and disk per training run (``sbert-repro plan``).

Steps come from the stage's settings and the size of its data (the full datasets' sizes below, cut by the
profile's limits and step caps). Seconds per step come from, in this order:

1. this machine's own measurement: ``sbert-repro bench --train --train-model sbert-base|sbert-large`` stores
   its steps/s in the user cache (``train_speed.json``), per device kind and model shape;
2. else :data:`REFERENCE_STEPS_PER_S`, figures that name the hardware they were measured on (or how they were
   derived from one), marked ``reference`` in the plan.

Disk: the model a run keeps (fp32 safetensors), and while it trains its resume checkpoint (model + AdamW
moments: about 3x the model).

``reproduce``'s estimate before it starts (:func:`estimate`): per table the units it runs, reuses and cannot run
here, and the time on this CPU: figures in seconds on a named reference CPU, scaled by :func:`cpu_calibration` (one
BERT-base layer's fp32 products timed here, under a second, cached per CPU) over the reference CPU's. Only
:func:`cpu_calibration` imports torch.
"""

from __future__ import annotations

import json
import math

# Training examples of the full datasets (repro/data): SNLI train 550,152 + MultiNLI train 392,702 pairs (gold
# label "-" dropped, as the reference code); STSb train 5,749 pairs; AFS 2,000 pairs per topic (10-fold trains on
# 9/10 of a topic, cross-topic on two topics; the cross-encoder sees both orders); Wikipedia-sections train
# 1,779,890 triplets (the paper: "about 1.8 Million").
DATA_SIZE = {"nli": 942_854, "stsb-train": 5_749, "afs-pairs-per-topic": 2_000, "wikisec": 1_779_890}

# Model shapes by parameter count (encoder only) and fp32 size of a kept model on disk.
SHAPES = {
    "tiny": {"params_m": 0.1, "disk_gb": 0.001, "like": "the smoke profile's random BERT (2 x 32)"},
    "small": {"params_m": 22.7, "disk_gb": 0.09, "like": "all-MiniLM-L6-v2 (6 x 384)"},
    "base": {"params_m": 109.5, "disk_gb": 0.44, "like": "bert-base (12 x 768)"},
    "large": {"params_m": 335.1, "disk_gb": 1.34, "like": "bert-large (24 x 1024)"},
}

# Steps per second of one training step at batch 16, fp32, by (device kind, shape, what one example is).
# base/pair: measured; the rest derived from it, as each note says.
REFERENCE_STEPS_PER_S = {
    ("cuda", "base", "pair"): (15.4, "measured: NVIDIA H100 80GB, torch 2.11, NLI softmax, batch 16, fp32, plain loop "
                                     "(speed-anchors, 2026-11-27)"),
    ("cuda", "large", "pair"): (15.4 / 3.06, "derived: the H100 base figure / 3.06 (bert-large's parameters per "
                                             "token over bert-base's)"),
    ("cuda", "small", "pair"): (15.4 * 2.0, "derived: the H100 base figure x 2 (a 6-layer model at batch 16 is "
                                            "launch-bound, not 5x faster)"),
    ("cuda", "tiny", "pair"): (15.4 * 4.0, "derived: the H100 base figure x 4 (launch-bound)"),
}
# One triplet is three sentences (a pair is two); a cross-encoder pair is one sequence of twice the length.
EXAMPLE_FACTOR = {"pair": 1.0, "triplet": 1.5, "cross": 1.0}
SPEED_FILE = "train_speed.json"


def shape_of(model: str) -> str:
    m = str(model).lower()
    if "smoke" in m:
        return "tiny"
    if "minilm" in m:
        return "small"
    return "large" if "large" in m else "base"


def stage_steps(stage) -> int:
    """Optimizer steps of ``stage`` (a :class:`repro.training.recipes.Stage`) on the full data, capped as set."""
    if stage.data == "afs":
        fold = dict(stage.fold)
        per_topic = min(DATA_SIZE["afs-pairs-per-topic"], fold.get("limit") or DATA_SIZE["afs-pairs-per-topic"])
        n = per_topic * 2 if fold["setting"] == "cross-topic" else int(per_topic * (1 - 1 / (fold["kfold"] or 10)))
        n *= 2 if stage.symmetric else 1
    else:
        n = DATA_SIZE[stage.data]
    if stage.data_limit:
        n = min(n, stage.data_limit)
    steps = math.ceil(n / stage.batch_size) * stage.epochs
    return min(steps, stage.max_steps) if stage.max_steps else steps


def _example(stage) -> str:
    return "cross" if stage.kind == "cross" else "triplet" if stage.objective == "triplet" else "pair"


def measured_speeds() -> dict:
    """This machine's ``bench --train`` figures: ``{"<device>|<shape>": {"steps_per_s", "hardware", "date"}}``."""
    from repro.paths import user_cache_dir

    p = user_cache_dir() / SPEED_FILE
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return {}


def record_speed(device_kind: str, shape: str, steps_per_s: float, hardware: str, date: str) -> None:
    """Keep a ``bench --train`` figure for the plan's cost (batch 16, fp32)."""
    from repro.paths import atomic_write_bytes, user_cache_dir

    data = measured_speeds()
    data[f"{device_kind}|{shape}"] = {"steps_per_s": steps_per_s, "hardware": hardware, "date": date}
    atomic_write_bytes(user_cache_dir() / SPEED_FILE, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())


def steps_per_second(stage, device_kind: str = "cuda", measured: dict | None = None) -> tuple[float, str]:
    """(steps/s at the stage's batch, where the figure comes from) for ``stage`` on ``device_kind``."""
    shape = shape_of(_root_model(stage))
    measured = measured_speeds() if measured is None else measured
    batch = stage.batch_size / 16  # the figures are for batch 16; time per step grows with the batch
    factor = EXAMPLE_FACTOR[_example(stage)] * batch
    got = measured.get(f"{device_kind}|{shape}")
    if got:
        return got["steps_per_s"] / factor, f"measured here: {got['hardware']} ({got['date']})"
    ref = REFERENCE_STEPS_PER_S.get((device_kind, shape, "pair"))
    if ref is None:
        return math.nan, f"no figure for {device_kind} / {shape}: run sbert-repro bench --train on it"
    return ref[0] / factor, "reference: " + ref[1]


def _root_model(stage) -> str:
    while not isinstance(stage.base, str):
        stage = stage.base
    return stage.base


def stage_cost(stage, device_kind: str = "cuda", measured: dict | None = None) -> dict:
    """Steps, hours on ``device_kind``, and disk (GB) of one training run."""
    steps = stage_steps(stage)
    rate, source = steps_per_second(stage, device_kind, measured)
    shape = shape_of(_root_model(stage))
    return {"steps": steps, "hours": steps / rate / 3600 if rate == rate else math.nan, "source": source,
            "shape": shape, "model_gb": SHAPES[shape]["disk_gb"], "checkpoint_gb": 3 * SHAPES[shape]["disk_gb"]}


# ------------------------------------------------------------------------------------------------ a run's CPU time
# What `reproduce` prints before it starts: per table, the units it will run, reuse and cannot run here, and an
# estimate of the time on this machine. Figures are seconds on a named reference CPU (2 threads), scaled by this
# CPU's calibration relative to that CPU's (:func:`cpu_calibration`: one BERT-base layer's fp32 products, < 1 s).
CPU_CALIBRATION_FILE = "cpu_speed.json"
CALIBRATION_THREADS = 2  # the threads the speed task and the local profile's CPU runs use

REFERENCE_CPUS = {
    # 2026-12-05 12:11, quiet (load 0.3): 0.0389-0.0396 s in 5 calibrations, 0.042 s in the `tox -e reproduce` run
    # whose Table 7 gave SPEED_COST below. (The first figure, 0.12 s, was taken beside other work: a quiet machine
    # then got estimates 1.7x too short.)
    "epyc-zen4": {"machine": "AMD EPYC (family 25 model 17, AVX-512 BF16), 2 threads", "calibration_s": 0.040,
                  "how": "measured 2026-12-05 on a quiet machine (0.039-0.042 s)"},
    "xeon-amx": {"machine": "Intel Xeon (family 6 model 167, AMX), 2 threads", "calibration_s": 0.040 / 1.79,
                 "how": "derived: the EPYC's figure / 1.79, the Xeon's fp32 SBERT-base encoding over the EPYC's in "
                        "Table 7's records (47.3 vs 26.5 sentences/s)"},
}
# Seconds per evaluation unit of the local profile, its share of training included: the committed local run from
# an empty cache (docs/results.md: per-table minutes on the Intel Xeon with AMX, 2026-12-02) over the evaluation
# units that ran. Training already in the cache ($SBERT_REPRO_CACHE/runs) makes a rerun shorter than this.
LOCAL_UNIT_SECONDS = {"1": 1.3 * 60 / 3, "2": 4.9 * 60 / 5, "3": 19.7 * 60 / 9, "5": 11.2 * 60 / 14,
                      "6": 8.5 * 60 / 13}
# Elsewhere (another profile, a table never run on a CPU here): training steps at the local run's rate (Tables 2
# and 6: 13.4 min for 1,760 MiniLM steps with their evaluations, on the Xeon), scaled by the model's parameters,
# and a flat figure per evaluation.
CPU_STEP_SECONDS_SMALL = 13.4 * 60 / 1760
EVAL_SECONDS = 10.0
# On the EPYC reference: loading a table's data to find that its units are done or cannot run, and building the
# tables and the report from the records (a rebuild of the local profile from its records: 18 s for both).
TABLE_OVERHEAD_S = 1.5
BUILD_S = {"per_table": 2.0, "fixed": 4.0}
# Table 7 on the EPYC reference: seconds per sentence and round (all six encode cases together), per sentence of
# the end-to-end search (fast path), per cross-encoder pair and round (plain + fast), and what does not scale
# (making and loading the models and GloVe, the precision calibration, warm-ups, the faithfulness checks). From the
# quick setting's run inside `tox -e reproduce` on a fresh clone, 2026-12-05 12:07, quiet machine (its log's rounds):
# encode 16.4 s per round of 128 sentences (plain 4.93, smart 2.83, fast 1.32, fast_fp32 2.54, peer 2.89,
# InferSent 1.88), cross-encoder 1.45 s per round of 32 pairs (plain 1.05, fast 0.40), end-to-end 5.67 s for 1,000
# sentences; Table 7 took 74 s in all, 11 s of it outside the timed work.
SPEED_COST = {"encode_s_per_sentence": 16.4 / 128, "e2e_s_per_sentence": 5.67 / 1000, "cross_s_per_pair": 1.45 / 32,
              "fixed_s": 11.0}


def cpu_calibration(*, threads: int = CALIBRATION_THREADS, refresh: bool = False) -> dict:
    """``{"seconds", "machine", "date"}``: the fastest of 20 rounds (after a warm-up; under 2 s in all) of one
    BERT-base layer's fp32 products on 512 tokens at ``threads`` threads on this CPU: what the CPU can do, little
    moved by other work on a shared machine. Measured once per CPU model, thread count and torch version and kept
    in the user cache (``speed/cpu_speed.json``)."""
    import time

    import torch

    from repro.env import cpu_model
    from repro.paths import atomic_write_bytes, user_cache_dir

    key = f"{cpu_model()}|threads={threads}|torch={torch.__version__}"
    path = user_cache_dir() / "speed" / CPU_CALIBRATION_FILE
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        cached = {}
    if key in cached and not refresh:
        return cached[key]
    from repro.encoders.calibrate import _layer_products, _layer_weights
    from repro.speed.bench import torch_threads

    weights = _layer_weights(768, 3072)
    x = torch.randn(512, 768, generator=torch.Generator().manual_seed(1))
    seconds = []
    with torch_threads(threads), torch.inference_mode():
        _layer_products(x, weights, torch.float32)
        for _ in range(20):  # the first few rounds of a fresh process run up to 2x slow (measured: 82 ms -> 40 ms)
            t0 = time.perf_counter()
            _layer_products(x, weights, torch.float32)
            seconds.append(time.perf_counter() - t0)
    got = {"seconds": min(seconds), "machine": f"{cpu_model()}, {threads} threads",
           "date": time.strftime("%Y-%m-%d")}
    cached[key] = got
    atomic_write_bytes(path, (json.dumps(cached, indent=1, sort_keys=True) + "\n").encode())
    return got


def speed_seconds(settings, device_kind: str = "cpu") -> float | None:
    """Seconds Table 7's measurement with ``settings`` (:class:`repro.speed.presets.Settings`) takes on the EPYC
    reference CPU, from the work it does: sentences encoded by every case in each round (a re-measurement included:
    on a shared machine it is the rule) and the warm-up, the search's sentences, the cross-encoder's pairs, and the
    fixed part. None on a GPU (no figure) or without one."""
    c = SPEED_COST
    if device_kind != "cpu" or c["encode_s_per_sentence"] is None:
        return None
    if settings.model != "sbert-base":  # the smoke profile's tiny BERT: loading and warm-ups, little else
        return c["fixed_s"] / 2
    n = settings.n_sentences or 15_487
    rounds = settings.repeats * (1 + settings.retries)  # rounds spread or beside other work are measured again
    encode = n * rounds + settings.warmup_sentences
    e2e = (settings.e2e_n or 0) * settings.e2e_repeats * (2 if settings.e2e_plain else 1)
    pairs = (settings.cross_pairs or {}).get("cpu", 0) * rounds
    return (c["fixed_s"] + encode * c["encode_s_per_sentence"] + e2e * c["e2e_s_per_sentence"]
            + pairs * c["cross_s_per_pair"])


def scale_to_here(reference: str, calibration_s: float) -> float:
    """This CPU's time over the reference CPU's for the same work (their calibrations' ratio; 1 without one)."""
    ref = REFERENCE_CPUS[reference]["calibration_s"]
    return calibration_s / ref if ref and calibration_s else 1.0


def busy_factor() -> tuple[float, str]:
    """How much longer work takes here now because other processes share the CPU: the 1-minute load average over
    the CPU count when above 1 (a heuristic: the calibration takes the fastest of its rounds, which a busy machine
    does not slow much), with a few words saying so."""
    import os

    try:
        load, cpus = os.getloadavg()[0], os.cpu_count() or 1
    except (OSError, AttributeError):
        return 1.0, ""
    factor = max(1.0, load / cpus)
    return factor, (f"the machine is busy (load {load:.1f} on {cpus} CPUs): times x{factor:.1f}" if factor > 1.1
                    else "")


def estimate(plan: dict, *, calibration_s: float, speed: dict | None = None, device_kind: str = "cpu",
             force: bool = False, busy: float = 1.0) -> dict:
    """The estimate of a ``reproduce`` run of ``plan`` (:func:`repro.plan.build_plan`) on this machine: per table
    ``{"run", "reuse", "cannot", "seconds", "how"}`` (units that will run, reused from records, that cannot run here;
    seconds, None where there is no figure) and ``"total"`` (``seconds``, ``build_s``: the tables and the report,
    ``complete``: every table has a figure). ``speed``: Table 7's plan on this machine
    (:func:`repro.tasks.speed.planned`), whose records are keyed by the hardware. ``force``: finished units run again
    (``--force``; finished training runs in the cache are still reused, which the figures do not know). ``busy``:
    a factor for other work on the machine (:func:`busy_factor`)."""
    calibration_s = calibration_s * busy  # every figure scales with it
    out: dict = {}
    for t in plan["tables"]:
        mine = [e for e in plan["units"] if e["table"] == t]
        evals = [e for e in mine if e["what"] == "evaluate"]
        cannot = sum(e["status"] in ("needs data", "needs weights", "not implemented") for e in evals)
        ready = [e for e in mine if e["status"] == "ready" or (force and e["status"] == "done")]
        reuse = 0 if force else sum(e["status"] == "done" for e in evals)
        run = sum(e["what"] == "evaluate" for e in ready)
        seconds: float | None = TABLE_OVERHEAD_S * scale_to_here("epyc-zen4", calibration_s)
        how = ""
        if speed is not None and t == speed.get("table"):
            measured = [e for e in evals if e["status"] not in ("needs data", "needs weights", "not implemented")]
            run, reuse = (0, len(measured)) if speed["reuse"] and not force else (len(measured), 0)
            how = f"{speed['settings'].name} setting"
            if run:
                s = speed_seconds(speed["settings"], speed["device_kind"])
                seconds = None if s is None else seconds + s * scale_to_here("epyc-zen4", calibration_s)
        elif run:
            if device_kind == "cpu" and plan["profile"] == "local" and t in LOCAL_UNIT_SECONDS:
                seconds += run * LOCAL_UNIT_SECONDS[t] * scale_to_here("xeon-amx", calibration_s)
            else:
                train = [e for e in ready if "cost" in e]
                if device_kind == "cpu":
                    small = SHAPES["small"]["params_m"]
                    steps = sum(e["cost"]["steps"] * SHAPES[e["cost"]["shape"]]["params_m"] / small for e in train)
                    seconds += (steps * CPU_STEP_SECONDS_SMALL + run * EVAL_SECONDS) * scale_to_here(
                        "xeon-amx", calibration_s)
                    how = "rough: steps at the local run's rate" if train else ""
                else:
                    seconds += sum(e["cost"]["hours"] for e in train) * 3600
                    how = "GPU training only" if train else "no GPU figure"
        out[t] = {"run": run, "reuse": reuse, "cannot": cannot, "seconds": seconds, "how": how}
    known = [v["seconds"] for v in out.values() if v["seconds"] is not None]
    build = (BUILD_S["fixed"] + BUILD_S["per_table"] * len(plan["tables"])) * scale_to_here("epyc-zen4", calibration_s)
    out["total"] = {"seconds": sum(known) + build, "build_s": build, "complete": len(known) == len(plan["tables"])}
    return out
