"""Training settings shared by a :class:`repro.training.recipes.Stage` (torch-free, checked when a plan is built)
and the trainer's :class:`repro.training.trainer.TrainConfig`: the allowed values and the one check of both."""

from __future__ import annotations

from repro.errors import ConfigError, choose

AMP_MODES = ("auto", "fp32", "bf16", "fp16")
KEEP = ("best", "last")


def check_run_settings(s) -> None:
    """``keep``, ``amp``, ``epochs``, ``batch_size`` and ``max_steps`` of ``s``: a ConfigError naming the setting."""
    choose(s.keep, KEEP, "keep")
    choose(s.amp, AMP_MODES, "amp")
    for name in ("epochs", "batch_size"):
        if int(getattr(s, name)) < 1:
            raise ConfigError(f"{name} must be >= 1, got {getattr(s, name)}")
    if s.max_steps is not None and s.max_steps < 1:
        raise ConfigError(f"max_steps must be >= 1 or None, got {s.max_steps}")
