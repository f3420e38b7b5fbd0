"""Argument Facet Similarity (Table 3): unsupervised (the cosine of two embeddings, or of tf-idf vectors, on every
pair) and in folds (10-fold within each topic, cross-topic), where trained rows train one model per fold (folds and
metrics: repro/evaluation/afs.py; training: repro/training/afs.py).

Row kinds: ``tfidf``, ``wordvec``, ``infersent``, ``transformer`` (untrained: a fixed scorer), ``sbert``,
``cross`` (trained per fold, with the training settings the record declares: ``unit.run`` params ``training``),
``unavailable``. Any other kind is a ConfigError naming the row. Knobs: ``limit``, ``kfold``, ``fold_seed``,
``fold_limit``, ``keep_models``.
"""

from __future__ import annotations

import logging

from repro.data.afs import load_afs
from repro.encoders.cache import cached
from repro.errors import ConfigError, ModelNotAvailable
from repro.evaluation.afs import cosine_scorer, evaluate_folds, evaluate_unsupervised, folds_for, untrained
from repro.tasks.base import Task

log = logging.getLogger(__name__)
TRAINED = ("sbert", "cross")  # trained here, one model per fold
ENCODERS = ("wordvec", "infersent", "transformer", "python")  # untrained: the cosine of two embeddings
KINDS = ("tfidf", *ENCODERS, *TRAINED, "unavailable")


def check_kind(row) -> str:
    if row.kind not in KINDS:
        raise ConfigError(f"AFS row {row.label!r}: kind {row.kind!r} cannot be scored on AFS; allowed: "
                          f"{', '.join(KINDS)}")
    return row.kind


def build_untrained(row, corpus, data_root=None, device=None, batch_size: int = 32):
    """The scorer of an untrained row: tf-idf fitted on every AFS sentence, or an encoder's cosine."""
    kind = check_kind(row)
    if kind == "unavailable":
        raise ModelNotAvailable(f"{row.model}: {row.not_run or 'not available in this suite'}")
    if kind == "tfidf":
        from repro.encoders.tfidf import TfidfEncoder

        pairs = corpus.pairs
        enc = TfidfEncoder().fit(list(dict.fromkeys(s for p in pairs for s in (p.s1, p.s2))))
        return lambda s1, s2: enc.pair_cosine(s1, s2), enc.describe()
    if kind not in ENCODERS:
        raise ConfigError(f"AFS row {row.label!r}: a {kind} row is trained per fold; it has no untrained scorer")
    from repro.encoders.build import build_encoder

    enc = cached(build_encoder(row, data_root=data_root, device=device))
    return cosine_scorer(enc, batch_size=batch_size), enc.describe()


class AfsTask(Task):
    name = "afs"

    def load(self, spec, profile, ctx):
        return load_afs(root=ctx.data_root).head(ctx.knobs.get("limit"))

    def build(self, row, corpus, ctx):
        if check_kind(row) in TRAINED:
            return None
        return build_untrained(row, corpus, ctx.data_root, ctx.device, ctx.profile.batch_size)

    def evaluate(self, built, corpus, unit, ctx):
        from repro.training.afs import fold_trainer, limit_folds

        row, knobs = unit.row, ctx.knobs
        params = unit.run.param_dict
        setting = params["setting"]
        if row.kind in TRAINED:
            ts = params["training"]  # the record's identity says what each fold trains with
            fit = fold_trainer(model=row.model, kind=row.kind, pooling=row.pooling, setting=setting, training=ts,
                               knobs=knobs, runs_root=ctx.runs_root, batch_size=ctx.profile.batch_size,
                               data_root=ctx.data_root, device=ctx.device, echo=ctx.echo, progress=ctx.progress)
            desc = {"model": row.model, "training": ts}
        else:
            scorer, desc = built
            fit = untrained(scorer)
        if setting == "unsupervised":
            if row.kind in TRAINED:
                raise ConfigError(f"AFS row {row.label!r}: a trained row needs folds (10-fold or cross-topic)")
            res = evaluate_unsupervised(scorer, corpus)
        else:
            folds = limit_folds(folds_for(setting, corpus, int(knobs.get("kfold", 10)), int(knobs.get("fold_seed", 0))),
                                knobs.get("fold_limit"))
            res = evaluate_folds(corpus, folds, fit, progress=lambda m: log.info("[table %s] %s", ctx.spec.number, m))
        details = {k: v for k, v in res.items() if k not in ("pearson", "spearman", "items")}
        details["encoder"] = desc
        details["predictions"] = res["items"]
        return ({"r": {"x100": res["pearson"], "pooled": res["pearson_pooled"]},
                 "rho": {"x100": res["spearman"], "pooled": res["spearman_pooled"]}}, details)

    def summary(self, r):
        return f"r {r.metrics['r']['x100']:.2f}  rho {r.metrics['rho']['x100']:.2f}"


AFS = AfsTask()
