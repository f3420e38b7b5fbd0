"""Evaluation protocols ("tasks"), one per kind of evaluation, each behind :class:`repro.tasks.base.Task`.

A table spec names its task (``TableSpec.evaluator="sts"``); :func:`get_task` imports it only when something runs,
so the declarations (``repro.specs``), ``plan`` and ``tables`` stay free of torch. The same task serves every table
with that protocol (``pairs``: Table 2 on STSb test and Table 6 on STSb dev, set by the table's knobs) and
``sbert-repro evaluate`` (``sts``).
"""

from __future__ import annotations

import importlib

from repro.errors import ConfigError

TASKS = {
    "sts": "repro.tasks.sts:STS",  # unsupervised STS (Table 1, `sbert-repro evaluate`)
    "pairs": "repro.tasks.pairs:PAIRS",  # a trained model's STSb correlation (Tables 2 and 6)
    "afs": "repro.tasks.afs:AFS",  # argument facet similarity, unsupervised and in folds (Table 3)
    "triplets": "repro.tasks.triplets:TRIPLETS",  # Wikipedia-sections triplet accuracy (Table 4)
    "senteval": "repro.tasks.senteval:SENTEVAL",  # SentEval transfer tasks (Table 5)
    "speed": "repro.tasks.speed:SPEED",  # sentences per second, measured all at once (Table 7)
}
"""Task name -> ``"module:object"``."""


def get_task(name: str):
    """The task called ``name`` (a key of :data:`TASKS`), imported now. A ``"module:object"`` reference is loaded as
    it is: a task of your own, beside a table declared outside the package (``$SBERT_REPRO_SPECS``)."""
    ref = TASKS.get(name)
    if ref is None:
        if not name or ":" not in name:
            raise ConfigError(f"unknown task {name!r} (a table spec's evaluator); known: {', '.join(TASKS)}, or "
                              "'module:object' for a task of your own")
        ref = name
    module, obj = ref.split(":", 1)
    try:
        return getattr(importlib.import_module(module), obj)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"task {name!r} ({ref}) cannot be loaded ({e}); fix the table spec's evaluator") from None


__all__ = ["TASKS", "get_task"]
