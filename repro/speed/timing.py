"""Timing that survives a shared machine: warm-up, interleaved rounds, medians, and what ran where.

Every candidate is warmed up once, then the candidates run in turns (round 1: A B C, round 2: B C A, ...) so a
burst of load from another process hits them alike; each reports the median of its rounds (and all of them).
GPU work is synchronised before the clock stops.

A busy machine is noticed, not averaged in: around every round the CPU time of the whole machine
(``/proc/stat``) and of this process (``time.process_time``) are read, so each round knows how many cores *other*
processes kept busy while it ran (and the load average before it). A round during which other work used more
than :data:`OTHER_CORES_LIMIT` cores is flagged; the median is taken over the rounds that were not flagged. When a
case has flagged rounds, or its rounds disagree by more than ``max_spread``, all cases get another set of
interleaved rounds (up to ``retries`` times); what is still flagged or spread afterwards is written with a
visible warning (:attr:`Timing.warning`), never silently.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping

import torch


OTHER_CORES_LIMIT = 0.5  # a round is flagged when other processes kept more than this many cores busy
DEFAULT_MAX_SPREAD = 0.15  # (max - min) / median of the rounds used, above which a case is re-measured
DEFAULT_RETRIES = 1


@dataclass
class Timing:
    """The timed rounds of one candidate; ``items`` is what one round processes (sentences, pairs).

    ``others`` holds, per round, the cores other processes kept busy meanwhile (None where /proc/stat cannot be
    read), ``load`` the 1-minute load average before the round, ``flagged`` whether the round ran beside other
    work. Median, rate and spread use the rounds that were not flagged (all rounds when fewer than two were
    clean)."""

    name: str
    items: int
    seconds: list[float] = field(default_factory=list)
    others: list = field(default_factory=list)
    load: list = field(default_factory=list)
    flagged: list = field(default_factory=list)
    max_spread: float = DEFAULT_MAX_SPREAD
    retried: int = 0

    @property
    def used_seconds(self) -> list[float]:
        flags = self.flagged if len(self.flagged) == len(self.seconds) else [False] * len(self.seconds)
        clean = [s for s, f in zip(self.seconds, flags) if not f]
        return clean if len(clean) >= min(2, len(self.seconds)) else list(self.seconds)

    @property
    def median_s(self) -> float:
        used = self.used_seconds
        return statistics.median(used) if used else float("nan")

    @property
    def best_s(self) -> float:
        return min(self.seconds) if self.seconds else float("nan")

    @property
    def per_second(self) -> float:
        m = self.median_s
        return self.items / m if m and m > 0 else float("nan")

    @property
    def spread(self) -> float:
        """(max - min) / median of the rounds used: how noisy this number is."""
        used = self.used_seconds
        if len(used) < 2:
            return 0.0
        return (max(used) - min(used)) / self.median_s

    @property
    def n_flagged(self) -> int:
        return sum(bool(f) for f in self.flagged)

    @property
    def needs_retry(self) -> bool:
        return self.n_flagged > 0 or self.spread > self.max_spread

    @property
    def warning(self) -> str | None:
        """Why this number should not be trusted as it stands (None when its rounds were clean and agree)."""
        parts = []
        if self.n_flagged:
            busy = max((o for o, f in zip(self.others, self.flagged) if f and o is not None), default=None)
            used = "all rounds used" if len(self.used_seconds) == len(self.seconds) else "median of the others"
            parts.append(f"{self.n_flagged} of {len(self.seconds)} rounds ran while other processes kept "
                         + (f"up to {busy:.1f} cores" if busy is not None else "the CPU") + f" busy ({used})")
        if self.spread > self.max_spread:
            parts.append(f"rounds disagree by {self.spread:.0%} (> {self.max_spread:.0%})")
        return "; ".join(parts) or None

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(median_s=self.median_s, best_s=self.best_s, per_second=self.per_second, spread=self.spread,
                 warning=self.warning)
        return d


def _proc_stat_busy() -> float | None:
    """CPU seconds all processes have spent busy since boot (/proc/stat: everything but idle and iowait)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    vals = [int(x) for x in fields[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    busy = sum(vals[:8]) - idle  # guest time is already inside user
    return busy / os.sysconf("SC_CLK_TCK")


class LoadProbe:
    """Cores other processes keep busy over an interval: machine busy time minus this process's CPU time."""

    def __init__(self):
        self.busy0, self.self0, self.t0 = _proc_stat_busy(), time.process_time(), time.perf_counter()
        self.load = (loadavg() or [None])[0]

    def others(self) -> float | None:
        busy1, self1, t1 = _proc_stat_busy(), time.process_time(), time.perf_counter()
        if self.busy0 is None or busy1 is None or t1 <= self.t0:
            return None
        return max(0.0, (busy1 - self.busy0) - (self1 - self.self0)) / (t1 - self.t0)


def synchronize(device: str | torch.device | None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(torch.device(device))


def measure_interleaved(cases: Mapping[str, Callable[[], object]], items: int | Mapping[str, int], *,
                        repeats: int = 3, warmup: Mapping[str, Callable[[], object]] | None = None,
                        device: str | torch.device | None = None,
                        echo: Callable[[str], None] | None = None, max_spread: float = DEFAULT_MAX_SPREAD,
                        retries: int = DEFAULT_RETRIES, probe: Callable[[], "LoadProbe"] | None = None,
                        other_cores_limit: float = OTHER_CORES_LIMIT) -> dict[str, Timing]:
    """Time each case ``repeats`` times in rotating order after one warm-up call each.

    ``warmup`` may give a cheaper warm-up per case (e.g. the same call on a small slice); by default the case
    itself is called once untimed. Rounds beside other work are flagged; while any case has flagged rounds or
    rounds spread by more than ``max_spread``, every case runs ``repeats`` more rounds (``retries`` times at
    most). ``probe`` (tests) replaces :class:`LoadProbe`.
    """
    names = list(cases)
    probe = probe or LoadProbe
    timings = {n: Timing(n, items[n] if isinstance(items, Mapping) else int(items), max_spread=max_spread)
               for n in names}
    for n in names:
        (warmup or {}).get(n, cases[n])()
        synchronize(device)
    attempt, r = 0, 0
    while True:
        for _ in range(repeats):
            k = r % len(names) if names else 0
            for n in names[k:] + names[:k]:
                synchronize(device)
                p = probe()
                t0 = time.perf_counter()
                cases[n]()
                synchronize(device)
                dt = time.perf_counter() - t0
                others = p.others()
                t = timings[n]
                t.seconds.append(dt)
                t.others.append(None if others is None else round(others, 2))
                t.load.append(p.load)
                t.flagged.append(others is not None and others > other_cores_limit)
                if echo:
                    busy = "" if others is None else f", others {others:.1f} cores" + (" FLAGGED" if t.flagged[-1]
                                                                                     else "")
                    echo(f"    round {r + 1} {n}: {dt:.3f} s ({t.items / dt:,.1f}/s{busy})")
            r += 1
        retry = [n for n in names if timings[n].needs_retry]
        if not retry or attempt >= retries:
            break
        attempt += 1
        for n in names:
            timings[n].retried = attempt
        if echo:
            echo(f"    re-measuring (attempt {attempt + 1}): {', '.join(f'{n} ({timings[n].warning})' for n in retry)}")
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
    from repro.encoders.fast import cpu_has_fast_bf16

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
