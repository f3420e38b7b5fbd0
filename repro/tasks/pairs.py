"""A model's STSb correlation after its training (Table 2 on STSb test, Table 6 on STSb dev): the similarity of
each pair (a bi-encoder's cosine, a cross-encoder's output; ``repro.training.losses.pair_similarity``, the one the
dev score during training uses), Spearman (and Pearson) x 100 against the gold scores (repro/evaluation/sts.py).

The unit's ``stage`` is the training run whose model is scored (None: the starting model as released); the unit's
``column`` names the cell. Knobs of the table:

- ``split``: ``test`` (Table 2; the first ``data_limit`` pairs of the profile) or ``dev`` (Table 6; the pairs the
  run's dev score was computed on, ``stage.dev_limit``: the number is the kept model's cosine Spearman there);
- ``metrics``: which of ``spearman``, ``pearson``, ``n_pairs`` the record keeps (default: all three).

A ``test`` record keeps its run under ``details["training"]``; a ``dev`` record is its run's own score, so the run's
details (dev-score history, best step) are the record's details.
"""

from __future__ import annotations

from repro.data.sts import load_stsb
from repro.errors import choose
from repro.evaluation.sts import pearson_x100, spearman_x100
from repro.stats.predictions import cell_items, items_key
from repro.tasks.base import Task, trained_model

SPLITS = ("test", "dev")
METRICS = ("spearman", "pearson", "n_pairs")


class PairsTask(Task):
    name = "pairs"

    def load(self, spec, profile, ctx):
        split = choose(ctx.knobs.get("split", "test"), SPLITS, f"Table {spec.number} knob split")
        for m in ctx.knobs.get("metrics", METRICS):
            choose(m, METRICS, f"Table {spec.number} metric")
        ctx.echo(f"[table {spec.number}] training runs in {ctx.runs_root}")
        loaded: dict = {}

        def pairs(limit):
            if split not in loaded:  # a data problem -> DataError: the table (test) or the unit (dev) says how
                loaded[split] = load_stsb(split, root=ctx.data_root)
            return loaded[split].head(limit)

        if split == "test":
            pairs(profile.data_limit)  # a data problem stops the table here, before any training
        return split, pairs

    def evaluate(self, _, data, unit, ctx):
        split, pairs = data
        details: dict = {}
        if unit.stage is None:
            from repro.encoders.transformer import SentenceEncoder
            from repro.training.recipes import resolve_base

            model = SentenceEncoder(resolve_base(unit.row.model, ctx.data_root), device=ctx.device)
        else:
            from repro.training.recipes import run_details

            model, result = trained_model(unit.stage, ctx)
            if split == "dev" and result.score is None:
                raise RuntimeError(f"{unit.stage.name}: the run has no dev score")
            details = run_details(result) if split == "dev" else {"training": run_details(result)}
        from repro.training.losses import pair_similarity

        gold = pairs(unit.stage.dev_limit if split == "dev" else ctx.profile.data_limit)
        pred = pair_similarity(model, gold.sentences1, gold.sentences2, batch_size=ctx.profile.batch_size)
        # The dev number is the paper's (Table 6): Spearman of the COSINE similarity of the kept model. The score
        # that picked that model (the 2019 rule: the largest of four similarities) is details["dev_spearman"].
        score = {"spearman": lambda: spearman_x100(pred, gold.scores), "n_pairs": lambda: len(gold),
                 "pearson": lambda: pearson_x100(pred, gold.scores)}
        details["predictions"] = {unit.column: cell_items("spearman", pred, gold.scores,
                                                          key=items_key(gold.sentences1, gold.sentences2))}
        return {unit.column: {m: score[m]() for m in ctx.knobs.get("metrics", METRICS)}}, details

    def summary(self, record):
        column, m = next(iter(record.metrics.items()))
        return f"{column}: Spearman {m['spearman']:.2f}"


PAIRS = PairsTask()
