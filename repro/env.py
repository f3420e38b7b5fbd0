"""What produced a number: library versions and hardware, recorded in every result record."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
from functools import lru_cache

PACKAGES = ("sbert-repro", "torch", "transformers", "tokenizers", "numpy", "scipy", "scikit-learn", "pandas",
            "sentence-transformers")


def versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def cpuinfo_field(name: str) -> str | None:
    """The value of the first ``name`` line of /proc/cpuinfo (None where there is none, e.g. not Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


@lru_cache(maxsize=1)
def cpu_model() -> str:
    return cpuinfo_field("model name") or platform.processor() or platform.machine()


def hardware(device: str | None = None) -> dict:
    import torch

    hw = {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device or "cpu",
    }
    if torch.cuda.is_available():
        hw["gpu"] = torch.cuda.get_device_name(0)
        hw["cuda"] = torch.version.cuda
    return hw


def check_device(device: str | None, setting: str = "--device") -> None:
    """ConfigError unless ``device`` (None, cpu, cuda, cuda:N, mps) can be used with this torch on this machine."""
    if device is None:
        return
    from repro.errors import ConfigError

    import torch

    kind, _, index = str(device).partition(":")
    if kind == "cpu" and not index:
        return
    if kind == "cuda":
        if not torch.cuda.is_available():
            why = "this torch build has no CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise ConfigError(f"{setting} {device}: {why} (torch {torch.__version__}); allowed here: cpu")
        n = torch.cuda.device_count()
        if index and (not index.isdigit() or int(index) >= n):
            raise ConfigError(f"{setting} {device}: allowed cuda:0..cuda:{n - 1} (or cuda, cpu)")
        return
    if kind == "mps" and not index:
        if getattr(torch.backends, "mps", None) is None or not torch.backends.mps.is_available():
            raise ConfigError(f"{setting} {device}: MPS is not available here; allowed here: cpu")
        return
    raise ConfigError(f"{setting} {device!r}: unknown device; allowed: cpu, cuda, cuda:N, mps")
