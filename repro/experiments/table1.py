"""Table 1's evaluator: unsupervised STS, Spearman x 100 of cosine similarity (declaration: repro/specs/table1.py)."""

from __future__ import annotations

from repro.data.sts import STS_TASKS, load_sts_task
from repro.evaluation.sts import evaluate_sts


class EVALUATOR:
    @staticmethod
    def load(spec, profile, ctx):
        return [load_sts_task(name, root=ctx.data_root).head(profile.data_limit) for name in STS_TASKS]

    @staticmethod
    def build(row, tasks, ctx):
        from repro.experiments.runner import row_encoder

        return row_encoder(row, ctx, dtype=ctx.knobs.get("dtype", "fp32"))

    @staticmethod
    def evaluate(inner, tasks, unit, ctx):
        from repro.encoders.cache import cached

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


def run_table1(profile, store, **kw):
    """Table 1 for ``profile`` (``rows=``: only these rows); see :func:`repro.experiments.runner.run_table`."""
    from repro.experiments.runner import run_table
    from repro.specs import get_spec

    return run_table(get_spec("1"), profile, store, **kw)
