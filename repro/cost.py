"""What a plan costs before it starts: training steps, GPU-hours and disk per training run (``sbert-repro plan``).

Steps come from the stage's settings and the size of its data (the full datasets' sizes below, cut by the
profile's limits and step caps). Seconds per step come from, in this order:

1. this machine's own measurement: ``sbert-repro bench --train --train-model sbert-base|sbert-large`` stores
   its steps/s in the user cache (``train_speed.json``), per device kind and model shape;
2. else :data:`REFERENCE_STEPS_PER_S`, figures that name the hardware they were measured on (or how they were
   derived from one), marked ``reference`` in the plan.

Disk: the model a run keeps (fp32 safetensors), and while it trains its resume checkpoint (model + AdamW
moments: about 3x the model). No torch here.
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
