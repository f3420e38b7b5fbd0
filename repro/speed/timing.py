"""Timing that survives a shared machine: warm-up, interleaved rounds, medians, and what ran where.

Every candidate is warmed up once, then the candidates run in turns (round 1: A B C, round 2: B C A, ...) so a
burst of load from another process hits them alike; each reports the median of its rounds (and all of them).
GPU work is synchronised before the clock stops. The load average before and after is recorded, because on a
shared 2-core machine it explains most of the spread.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping

import torch


@dataclass
class Timing:
    """The timed rounds of one candidate; ``items`` is what one round processes (sentences, pairs)."""

    name: str
    items: int
    seconds: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def best_s(self) -> float:
        return min(self.seconds) if self.seconds else float("nan")

    @property
    def per_second(self) -> float:
        m = self.median_s
        return self.items / m if m and m > 0 else float("nan")

    @property
    def spread(self) -> float:
        """(max - min) / median of the rounds: how noisy this number is."""
        if len(self.seconds) < 2:
            return 0.0
        return (max(self.seconds) - min(self.seconds)) / self.median_s

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(median_s=self.median_s, best_s=self.best_s, per_second=self.per_second, spread=self.spread)
        return d


def synchronize(device: str | torch.device | None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(torch.device(device))


def measure_interleaved(cases: Mapping[str, Callable[[], object]], items: int | Mapping[str, int], *,
                        repeats: int = 3, warmup: Mapping[str, Callable[[], object]] | None = None,
                        device: str | torch.device | None = None,
                        echo: Callable[[str], None] | None = None) -> dict[str, Timing]:
    """Time each case ``repeats`` times in rotating order after one warm-up call each.

    ``warmup`` may give a cheaper warm-up per case (e.g. the same call on a small slice); by default the case
    itself is called once untimed.
    """
    names = list(cases)
    timings = {n: Timing(n, items[n] if isinstance(items, Mapping) else int(items)) for n in names}
    for n in names:
        (warmup or {}).get(n, cases[n])()
        synchronize(device)
    for r in range(repeats):
        k = r % len(names) if names else 0
        for n in names[k:] + names[:k]:
            synchronize(device)
            t0 = time.perf_counter()
            cases[n]()
            synchronize(device)
            timings[n].seconds.append(time.perf_counter() - t0)
            if echo:
                echo(f"    round {r + 1}/{repeats} {n}: {timings[n].seconds[-1]:.3f} s "
                     f"({timings[n].items / timings[n].seconds[-1]:,.1f}/s)")
    return timings


def time_once(fn: Callable[[], object], device: str | torch.device | None = None) -> tuple[float, object]:
    synchronize(device)
    t0 = time.perf_counter()
    out = fn()
    synchronize(device)
    return time.perf_counter() - t0, out


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def environment(device: str | torch.device | None = None) -> dict:
    """Hardware, thread count, library versions and load: everything a speed number depends on."""
    from repro.env import cpu_model, versions
    from repro.speed.fast import cpu_has_fast_bf16

    dev = torch.device(device or "cpu")
    env = {
        "device": str(dev),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_bf16": cpu_has_fast_bf16(),
        "platform": platform.platform(),
        "versions": versions(),
        "loadavg": loadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    if dev.type == "cuda" and torch.cuda.is_available():
        idx = dev.index if dev.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        env.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                   cuda=torch.version.cuda, gpu_sms=props.multi_processor_count)
    return env


def hardware_label(env: Mapping) -> str:
    """Short label for a table row: the GPU's name on CUDA, else the CPU and the number of threads used."""
    if str(env.get("device", "cpu")).startswith("cuda") and env.get("gpu"):
        return str(env["gpu"])
    cpu = str(env.get("cpu") or "CPU").replace("(R)", "").replace("(TM)", "")
    cpu = " ".join(w for w in cpu.split() if w.lower() not in ("processor",) and not w.endswith("-Core"))
    return f"{cpu}, {env.get('torch_threads')} threads"
