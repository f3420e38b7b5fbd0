"""Table 6's evaluator: the STSb dev score of the model each ablation run keeps (declaration:
repro/specs/table6.py; training: repro/training/recipes.py)."""

from __future__ import annotations


class EVALUATOR:
    @staticmethod
    def load(spec, profile, ctx):
        ctx.echo(f"[table 6] training runs in {ctx.runs_root}")

    @staticmethod
    def evaluate(_, data, unit, ctx):
        from repro.training.recipes import run_details, run_stage

        result = run_stage(unit.stage, ctx.runs_root, data_root=ctx.data_root, device=ctx.device, echo=ctx.echo,
                           progress=ctx.progress)
        if result.score is None:
            raise RuntimeError(f"{unit.stage.name}: the run has no dev score")
        details = run_details(result)
        items, rho = dev_items(unit.stage, result.model_dir, ctx.data_root, ctx.device, ctx.profile.batch_size)
        details["predictions"] = {unit.column: items}
        # The table's number is the paper's: Spearman of the COSINE similarity on STSb dev, of the kept model. The
        # score that picked that model (the 2019 rule: the largest of four similarities) is details["dev_spearman"].
        return {unit.column: {"spearman": rho}}, details

    @staticmethod
    def summary(rec):
        col = next(iter(rec.metrics))
        return f"STSb dev Spearman {rec.metrics[col]['spearman']:.2f}"


def dev_items(stage, model_dir, data_root, device, batch_size: int) -> tuple[dict, float]:
    """Per-pair cosine similarities of the kept model on the STSb dev pairs it was scored on (for intervals), and
    their Spearman x 100 against the gold scores (the table's number)."""
    from repro.evaluation.sts import spearman_x100
    from repro.stats.predictions import cell_items, items_key
    from repro.training.losses import pair_similarity
    from repro.training.recipes import _stsb, load_trained

    dev = _stsb("dev", str(data_root) if data_root is not None else None).head(stage.dev_limit)
    pred = pair_similarity(load_trained(stage, model_dir, device=device), dev.sentences1, dev.sentences2,
                           batch_size)
    return (cell_items("spearman", pred, dev.scores, key=items_key(dev.sentences1, dev.sentences2)),
            spearman_x100(pred, dev.scores))


def run_table6(profile, store, **kw):
    from repro.experiments.runner import run_table
    from repro.specs import get_spec

    return run_table(get_spec("6"), profile, store, **kw)
