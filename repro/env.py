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
