"""The fast path's CPU precision, chosen by measuring (once per CPU model, model shape and thread count).

A CPU flag says bf16 products *can* run natively, not that they are faster here: an Intel Xeon with
``avx512_bf16`` but no AMX ran the bf16 fast path at 0.82x sentence-transformers' fp32 ``encode()`` while the
fp32 fast path ran at 1.35x (issue 13); an AMD EPYC (Zen 4) ran bf16 2.6x faster than fp32. So the choice is
made by timing the products one transformer layer really does (Q/K/V, attention output, the two feed-forward
products; ``tokens`` rows, the model's hidden and intermediate sizes) in fp32 and in bf16, interleaved, and
checking that the bf16 products stay faithful (cosine of every output row to the fp32 product). bf16 is used only
when it is at least :data:`MARGIN` times faster and faithful; otherwise fp32 (so the default is never slower than
the fp32 fast path by more than the timing noise). CPUs without native bf16 products (no AVX-512 BF16 / AMX
flag) get fp32 without measuring: emulated bf16 is many times slower.

The choice is cached in ``$SBERT_REPRO_CACHE/speed/precision.json`` (written atomically), one entry per
:func:`calibration_key`; ``refresh=True`` (or deleting the file) measures again.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Callable

import torch
import torch.nn.functional as F

MARGIN = 1.15  # bf16 must be at least 15% faster than fp32 to be chosen
FAITHFUL_COSINE = 0.999  # per output row, bf16 product vs fp32 product
CALIBRATION_TOKENS = 512  # rows of the timed products (a 2,048-token batch split over 2 threads is 4x this)
CALIBRATION_ROUNDS = 5
CACHE_VERSION = 1


@dataclass(frozen=True)
class Calibration:
    """The precision chosen for one key, and why."""

    key: str
    precision: str  # fp32 | bf16
    reason: str
    fp32_s: float | None = None  # median seconds of one layer's products
    bf16_s: float | None = None
    speedup: float | None = None  # fp32_s / bf16_s
    min_cosine: float | None = None
    measured_at: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def calibration_key(hidden: int, intermediate: int, threads: int | None = None) -> str:
    from repro.env import cpu_model

    threads = int(threads or torch.get_num_threads())
    return f"{cpu_model()}|hidden={int(hidden)}|ff={int(intermediate)}|threads={threads}|torch={torch.__version__}"


def _shape_of(config) -> tuple[int, int]:
    if config is None:
        return 768, 3072  # BERT-base
    hidden = int(getattr(config, "hidden_size", 768))
    return hidden, int(getattr(config, "intermediate_size", 4 * hidden) or 4 * hidden)


def _layer_weights(hidden: int, ff: int, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    shapes = [(3 * hidden, hidden), (hidden, hidden), (ff, hidden), (hidden, ff)]
    return [(torch.randn(o, i, generator=g) * i ** -0.5, torch.randn(o, generator=g) * 0.02) for o, i in shapes]


def _layer_products(x: torch.Tensor, weights, dtype: torch.dtype) -> list[torch.Tensor]:
    """The four products of one layer on ``x`` (tokens, hidden) with weights in ``dtype`` (inputs cast as the
    fast stack casts them)."""
    outs = []
    xc = x.to(dtype)
    qkv = F.linear(xc, *weights[0])
    hidden = x.shape[1]
    outs.append(qkv)
    outs.append(F.linear(qkv[:, :hidden].contiguous(), *weights[1]))
    h = F.gelu(F.linear(xc, *weights[2]))
    outs.append(h)
    outs.append(F.linear(h, *weights[3]))
    return outs


def time_products(hidden: int, ff: int, *, tokens: int = CALIBRATION_TOKENS, rounds: int = CALIBRATION_ROUNDS
                  ) -> dict:
    """Median seconds of one layer's products in fp32 and in bf16 (interleaved rounds, after a warm-up), and the
    smallest cosine of a bf16 output row to the fp32 one."""
    w32 = _layer_weights(hidden, ff)
    w16 = [(w.to(torch.bfloat16), b.to(torch.bfloat16)) for w, b in w32]
    x = torch.randn(tokens, hidden, generator=torch.Generator().manual_seed(1))
    cases = {"fp32": (w32, torch.float32), "bf16": (w16, torch.bfloat16)}
    seconds: dict[str, list[float]] = {k: [] for k in cases}
    with torch.inference_mode():
        ref = _layer_products(x, w32, torch.float32)
        low = _layer_products(x, w16, torch.bfloat16)
        cos = min(float(F.cosine_similarity(a.float(), b.float(), dim=1).min()) for a, b in zip(ref, low))
        for k, (w, dt) in cases.items():  # warm-up (oneDNN builds its kernels on the first call)
            _layer_products(x, w, dt)
        for r in range(rounds):
            order = list(cases) if r % 2 == 0 else list(cases)[::-1]
            for k in order:
                w, dt = cases[k]
                t0 = time.perf_counter()
                _layer_products(x, w, dt)
                seconds[k].append(time.perf_counter() - t0)
    return {"fp32_s": statistics.median(seconds["fp32"]), "bf16_s": statistics.median(seconds["bf16"]),
            "min_cosine": cos, "rounds": seconds}


def decide(key: str, measured: dict, margin: float = MARGIN, faithful: float = FAITHFUL_COSINE) -> Calibration:
    """bf16 only when measurably faster (by ``margin``) and faithful; fp32 otherwise."""
    f32, b16, cos = float(measured["fp32_s"]), float(measured["bf16_s"]), float(measured["min_cosine"])
    speedup = f32 / b16 if b16 > 0 else float("inf")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    common = dict(key=key, fp32_s=f32, bf16_s=b16, speedup=speedup, min_cosine=cos, measured_at=stamp)
    if cos < faithful:
        return Calibration(precision="fp32", reason=f"bf16 products not faithful (min cosine {cos:.5f} < "
                                                    f"{faithful})", **common)
    if speedup < margin:
        return Calibration(precision="fp32", reason=f"bf16 products {speedup:.2f}x fp32 here (< {margin:.2f}x "
                                                    f"needed)", **common)
    return Calibration(precision="bf16", reason=f"bf16 products {speedup:.2f}x fp32 here (>= {margin:.2f}x), "
                                                f"min cosine {cos:.5f}", **common)


def _cache_path():
    from repro.paths import cache_dir

    return cache_dir("speed") / "precision.json"


def _read_cache() -> dict:
    p = _cache_path()
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError):
        return {}
    return data.get("entries", {}) if data.get("version") == CACHE_VERSION else {}


def _write_entry(cal: Calibration) -> None:
    from repro.paths import atomic_write_bytes

    entries = _read_cache()
    entries[cal.key] = cal.to_dict()
    payload = {"version": CACHE_VERSION, "entries": entries}
    atomic_write_bytes(_cache_path(), (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())


def calibrate(config=None, *, threads: int | None = None, refresh: bool = False,
              measure: Callable[[int, int], dict] | None = None,
              echo: Callable[[str], None] | None = None) -> Calibration:
    """The CPU precision for a model of ``config``'s shape (BERT-base when None) at ``threads`` threads (default:
    torch's current count): from the cache, else measured (:func:`time_products`) and cached."""
    from repro.encoders import fast

    hidden, ff = _shape_of(config)
    key = calibration_key(hidden, ff, threads)
    if not fast.cpu_has_fast_bf16():
        return Calibration(key=key, precision="fp32", reason="no native bf16 products on this CPU (no avx512_bf16 "
                                                             "or amx_bf16 flag): fp32 without measuring")
    if not refresh:
        hit = _read_cache().get(key)
        if hit is not None:
            return Calibration(**hit)
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        measured = (measure or time_products)(hidden, ff)
    finally:
        torch.set_num_threads(old)
    cal = decide(key, measured)
    _write_entry(cal)
    if echo:
        echo(f"  precision calibration ({key}): {cal.precision}: {cal.reason}")
    return cal


def calibrated_precision(config=None, threads: int | None = None) -> str:
    return calibrate(config, threads=threads).precision
