"""SentEval transfer tasks (Table 5): a logistic regression on frozen sentence embeddings, one record per (row,
task); the unit's ``column`` is the task (protocol: repro/evaluation/senteval.py). Every encoding goes through the
embedding cache (repro/encoders/cache.py), so each model encodes the 67,349 SST training phrases and the other sets
once. Knobs: ``tasks`` (default: the table's columns), ``limit``, ``kfold``, ``seed``, ``classifier`` (sklearn |
pytorch), ``solver`` and ``n_jobs`` (sklearn only), ``cache``."""

from __future__ import annotations

import logging
import time

from repro.data.senteval import load_senteval_task
from repro.encoders.cache import cached
from repro.errors import choose
from repro.evaluation.senteval import CLASSIFIERS, LogRegConfig, encode_task, evaluate_task
from repro.tasks.base import Task, row_encoder

log = logging.getLogger(__name__)


def log_reg_config(knobs: dict):
    """The knob ``classifier``: ``sklearn`` (a LogRegConfig, SentEval's usepytorch=False) or ``pytorch`` (SentEval's
    usepytorch=True, the paper's; torch is imported only then). A table without the knob gets scikit-learn."""
    if choose(knobs.get("classifier", "sklearn"), CLASSIFIERS, "Table 5 classifier") == "pytorch":
        from repro.evaluation.senteval_pytorch import TorchLogRegConfig

        return TorchLogRegConfig(kfold=int(knobs["kfold"]), seed=int(knobs["seed"]))
    return LogRegConfig(kfold=int(knobs["kfold"]), seed=int(knobs["seed"]), solver=knobs["solver"],
                        n_jobs=int(knobs["n_jobs"]))


class SentEvalTask(Task):
    name = "senteval"

    def load(self, spec, profile, ctx):
        # A data problem stops here, before any model is loaded.
        return {t: load_senteval_task(t, root=ctx.data_root).head(ctx.knobs.get("limit"))
                for t in ctx.columns(ctx.knobs.get("tasks", spec.columns))}

    def build(self, row, data, ctx):
        return cached(row_encoder(row, ctx), enabled=ctx.knobs.get("cache", True))

    def evaluate(self, enc, loaded, unit, ctx):
        task = loaded[unit.column]
        cfg = log_reg_config(ctx.knobs)
        t0 = time.perf_counter()
        vectors = encode_task(enc, task, batch_size=ctx.profile.batch_size, show_progress=ctx.progress)
        t_enc = time.perf_counter() - t0
        res = evaluate_task(vectors, task, cfg,
                            progress=(lambda m: log.info("[table %s] %s %s", ctx.spec.number, task.name, m)))
        metrics = {task.name: {k: res[k] for k in ("acc", "devacc", "f1") if k in res}}
        items = res.pop("items", None)
        details = {"classifier": res.pop("classifier"), "protocol": task.protocol, "sizes": task.sizes(),
                   "encode_seconds": round(t_enc, 2),
                   "classifier_seconds": res.pop("seconds"), "encoder": enc.describe(),
                   "cache": {"hits": enc.hits, "misses": enc.misses} if hasattr(enc, "hits") else None,
                   "result": res}
        if items is not None:
            details["predictions"] = {task.name: items}
        return metrics, details

    def summary(self, r):
        m = next(iter(r.metrics.values()))
        extra = f", F1 {m['f1']:.2f}" if "f1" in m else ""
        return f"acc {m['acc']:.2f}{extra} ({r.duration_s:.0f} s)"


SENTEVAL = SentEvalTask()
