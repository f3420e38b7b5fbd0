"""Unsupervised STS (Table 1, `sbert-repro evaluate`): Spearman x 100 of the cosine similarity of two sentence
embeddings on STS12-16, STSb test and SICK-R test (protocol and metrics: repro/evaluation/sts.py)."""

from __future__ import annotations

from repro.data.sts import STS_TASKS, load_sts_task
from repro.encoders.cache import cached
from repro.evaluation.sts import evaluate_sts
from repro.tasks.base import Task, row_encoder


class StsTask(Task):
    name = "sts"

    def load(self, spec, profile, ctx):
        return [load_sts_task(name, root=ctx.data_root).head(profile.data_limit) for name in STS_TASKS]

    def build(self, row, tasks, ctx):
        return row_encoder(row, ctx, dtype=ctx.knobs.get("dtype", "fp32"))

    def evaluate(self, inner, tasks, unit, ctx):
        # through the embedding cache: the same sentences (STSb test, SICK-R ...) are encoded once across tables
        # and reruns
        encoder = cached(inner)
        res = evaluate_sts(encoder, tasks, batch_size=ctx.profile.batch_size, show_progress=ctx.progress)
        metrics = {name: {k: v for k, v in m.items() if k not in ("subsets", "items")} for name, m in res.items()}
        details = {"subsets": {name: m["subsets"] for name, m in res.items()},
                   "encoder": inner.describe() if hasattr(inner, "describe") else {},
                   # per-pair predictions for intervals (kept beside the record as .preds.npz, not in its metrics)
                   "predictions": {name: m["items"] for name, m in res.items()}}
        return metrics, details


STS = StsTask()
