"""Training settings shared by a :class:`repro.training.recipes.Stage` (torch-free, checked when a plan is built)
and the trainer's :class:`repro.training.trainer.TrainConfig`: the allowed values and the one check of both."""

from __future__ import annotations

from repro.errors import ConfigError, choose

AMP_MODES = ("auto", "fp32", "bf16", "fp16")
KEEP = ("best", "last")
SELECT = ("2019", "main")
"""How the dev score that picks the kept (best) model is computed.

* ``2019`` (default): as the 2019 reference code's evaluators did (sentence-transformers v0.2.x,
  ``main_similarity=None`` / ``main_distance_function=None``): on STSb dev, the largest of the Spearman correlations
  under cosine similarity, negative Manhattan and negative Euclidean distance and dot product; on triplets, the
  largest of the cosine, Manhattan and Euclidean accuracies. A cross-encoder has one score, its output.
* ``main``: only the main one: the cosine Spearman (STSb), the Euclidean accuracy (triplets: the objective's distance).
"""


def check_run_settings(s) -> None:
    """``keep``, ``amp``, ``epochs``, ``batch_size`` and ``max_steps`` of ``s``: a ConfigError naming the setting."""
    choose(s.keep, KEEP, "keep")
    choose(s.amp, AMP_MODES, "amp")
    if hasattr(s, "select"):
        choose(s.select, SELECT, "select (how the dev score picks the kept model)")
    for name in ("epochs", "batch_size"):
        if int(getattr(s, name)) < 1:
            raise ConfigError(f"{name} must be >= 1, got {getattr(s, name)}")
    if s.max_steps is not None and s.max_steps < 1:
        raise ConfigError(f"max_steps must be >= 1 or None, got {s.max_steps}")
