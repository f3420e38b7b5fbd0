"""Table 3's evaluator: AFS in three settings (declaration: repro/specs/table3.py; folds and metrics:
repro/evaluation/afs.py; training: repro/training/afs.py)."""

from __future__ import annotations

import logging

from repro.data.afs import load_afs
from repro.encoders.cache import cached
from repro.errors import ModelNotAvailable
from repro.evaluation.afs import cosine_scorer, evaluate_folds, evaluate_unsupervised, folds_for, untrained
from repro.specs.table3 import TRAINED, training_settings

log = logging.getLogger(__name__)


def build_untrained(row, corpus, data_root=None, device=None, batch_size: int = 32):
    """The scorer of an untrained row: tf-idf fitted on every AFS sentence, or an encoder's cosine."""
    if row.kind == "unavailable":
        raise ModelNotAvailable(f"{row.model}: {row.not_run or 'not available in this suite'}")
    if row.kind == "tfidf":
        from repro.encoders.tfidf import TfidfEncoder

        pairs = corpus.pairs
        enc = TfidfEncoder().fit(list(dict.fromkeys(s for p in pairs for s in (p.s1, p.s2))))
        return lambda s1, s2: enc.pair_cosine(s1, s2), enc.describe()
    from dataclasses import replace

    from repro.encoders.build import build_encoder

    enc = cached(build_encoder(replace(row, kind=row.kind if row.kind in ("wordvec", "infersent") else "transformer"),
                               data_root=data_root, device=device))
    return cosine_scorer(enc, batch_size=batch_size), enc.describe()


class EVALUATOR:
    @staticmethod
    def load(spec, profile, ctx):
        return load_afs(root=ctx.data_root).head(ctx.knobs.get("limit"))

    @staticmethod
    def build(row, corpus, ctx):
        if row.kind in TRAINED:
            return None
        return build_untrained(row, corpus, ctx.data_root, ctx.device, ctx.profile.batch_size)

    @staticmethod
    def evaluate(built, corpus, unit, ctx):
        from repro.training.afs import fold_trainer, limit_folds

        row, knobs = unit.row, ctx.knobs
        setting = unit.run.param_dict["setting"]
        if row.kind in TRAINED:
            ts = training_settings(knobs, row.kind)
            fit = fold_trainer(model=row.model, kind=row.kind, pooling=row.pooling, setting=setting, training=ts,
                               knobs=knobs, runs_root=ctx.runs_root, batch_size=ctx.profile.batch_size,
                               data_root=ctx.data_root, device=ctx.device, echo=ctx.echo, progress=ctx.progress)
            desc = {"model": row.model, "training": ts}
        else:
            scorer, desc = built
            fit = untrained(scorer)
        if setting == "unsupervised":
            res = evaluate_unsupervised(scorer, corpus)
        else:
            folds = limit_folds(folds_for(setting, corpus, int(knobs.get("kfold", 10)), int(knobs.get("fold_seed", 0))),
                                knobs.get("fold_limit"))
            res = evaluate_folds(corpus, folds, fit, progress=lambda m: log.info("[table 3] %s", m))
        details = {k: v for k, v in res.items() if k not in ("pearson", "spearman", "items")}
        details["encoder"] = desc
        details["predictions"] = res["items"]
        return ({"r": {"x100": res["pearson"], "pooled": res["pearson_pooled"]},
                 "rho": {"x100": res["spearman"], "pooled": res["spearman_pooled"]}}, details)

    @staticmethod
    def summary(r):
        return f"r {r.metrics['r']['x100']:.2f}  rho {r.metrics['rho']['x100']:.2f}"


def run_table3(profile, store, **kw):
    from repro.experiments.runner import run_table
    from repro.specs import get_spec

    return run_table(get_spec("3"), profile, store, **kw)
