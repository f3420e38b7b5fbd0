"""Table 5's evaluator: SentEval transfer tasks (declaration: repro/specs/table5.py; protocol:
repro/evaluation/senteval.py). Every encoding goes through the embedding cache (repro/encoders/cache.py), so each
model encodes the 67,349 SST training phrases and the other sets once."""

from __future__ import annotations

import logging
import time

from repro.data.senteval import load_senteval_task
from repro.encoders.cache import cached
from repro.evaluation.senteval import LogRegConfig, encode_task, evaluate_task

log = logging.getLogger(__name__)


def log_reg_config(knobs: dict) -> LogRegConfig:
    return LogRegConfig(kfold=int(knobs["kfold"]), seed=int(knobs["seed"]), solver=knobs["solver"],
                        n_jobs=int(knobs["n_jobs"]))


class EVALUATOR:
    @staticmethod
    def load(spec, profile, ctx):
        from repro.specs.table5 import TASKS

        # A data problem stops here, before any model is loaded.
        return {t: load_senteval_task(t, root=ctx.data_root).head(ctx.knobs.get("limit"))
                for t in ctx.knobs.get("tasks", TASKS)}

    @staticmethod
    def build(row, data, ctx):
        from repro.experiments.runner import row_encoder

        return cached(row_encoder(row, ctx), enabled=ctx.knobs.get("cache", True))

    @staticmethod
    def evaluate(enc, loaded, unit, ctx):
        task = loaded[unit.column]
        cfg = log_reg_config(ctx.knobs)
        t0 = time.perf_counter()
        vectors = encode_task(enc, task, batch_size=ctx.profile.batch_size, show_progress=ctx.progress)
        t_enc = time.perf_counter() - t0
        res = evaluate_task(vectors, task, cfg, progress=(lambda m: log.info("[table 5] %s %s", task.name, m)))
        metrics = {task.name: {k: res[k] for k in ("acc", "devacc", "f1") if k in res}}
        items = res.pop("items", None)
        details = {"protocol": task.protocol, "sizes": task.sizes(), "encode_seconds": round(t_enc, 2),
                   "classifier_seconds": res.pop("seconds"), "encoder": enc.describe(),
                   "cache": {"hits": enc.hits, "misses": enc.misses} if hasattr(enc, "hits") else None,
                   "result": res}
        if items is not None:
            details["predictions"] = {task.name: items}
        return metrics, details

    @staticmethod
    def summary(r):
        m = next(iter(r.metrics.values()))
        extra = f", F1 {m['f1']:.2f}" if "f1" in m else ""
        return f"acc {m['acc']:.2f}{extra} ({r.duration_s:.0f} s)"


def run_table5(profile, store, **kw):
    from repro.experiments.runner import run_table
    from repro.specs import get_spec

    if "tasks" in kw:
        profile = profile.with_table("5", tasks=tuple(kw.pop("tasks")))
    return run_table(get_spec("5"), profile, store, **kw)
