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


def cpu_isa(flags: str | None = None) -> str | None:
    """The widest matrix / vector unit the CPU reports: AMX, AVX-512 BF16, AVX-512, AVX2 (None: none of them)."""
    have = set((flags if flags is not None else cpuinfo_field("flags") or "").split())
    for flag, name in (("amx_bf16", "AMX"), ("avx512_bf16", "AVX-512 BF16"), ("avx512f", "AVX-512"),
                       ("avx2", "AVX2"), ("asimd", "NEON")):
        if flag in have:
            return name
    return None


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's name with its family / model and widest vector unit, e.g. ``AMD EPYC (family 25 model 17, AVX-512
    BF16)``. A virtual machine's name alone ("AMD EPYC", "Intel(R) Xeon(R) Processor") is the same for CPUs a
    generation apart, whose speeds differ: speed records and the precision calibration are keyed by this."""
    name = cpuinfo_field("model name") or platform.processor() or platform.machine()
    family, model, isa = cpuinfo_field("cpu family"), cpuinfo_field("model\t"), cpu_isa()
    detail = ", ".join(x for x in (f"family {family} model {model}" if family and model else None, isa) if x)
    return f"{name} ({detail})" if detail else name


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
