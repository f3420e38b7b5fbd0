"""Table 2's evaluator: STSb test Spearman of the row's model after its training (declaration:
repro/specs/table2.py; training: repro/training/recipes.py)."""

from __future__ import annotations

from repro.data.sts import load_stsb
from repro.evaluation.sts import pearson_x100, spearman_x100


class EVALUATOR:
    @staticmethod
    def load(spec, profile, ctx):
        ctx.echo(f"[table 2] training runs in {ctx.runs_root}")
        return load_stsb("test", root=ctx.data_root).head(profile.data_limit)

    @staticmethod
    def evaluate(_, test, unit, ctx):
        from repro.training.recipes import load_trained, resolve_base, run_details, run_stage

        details: dict = {}
        if unit.stage is None:
            from repro.encoders.transformer import SentenceEncoder

            model = SentenceEncoder(resolve_base(unit.row.model, ctx.data_root), device=ctx.device)
        else:
            result = run_stage(unit.stage, ctx.runs_root, data_root=ctx.data_root, device=ctx.device, echo=ctx.echo,
                               progress=ctx.progress)
            model = load_trained(unit.stage, result.model_dir, device=ctx.device)
            details["training"] = run_details(result)
        from repro.training.losses import pair_similarity

        pred = pair_similarity(model, test.sentences1, test.sentences2, batch_size=ctx.profile.batch_size)
        rho, r = spearman_x100(pred, test.scores), pearson_x100(pred, test.scores)
        ctx.echo(f"  STSb test Spearman {rho:.2f}")
        from repro.stats.predictions import cell_items, items_key

        details["predictions"] = {"STSb": cell_items("spearman", pred, test.scores,
                                                     key=items_key(test.sentences1, test.sentences2))}
        return {"STSb": {"spearman": rho, "pearson": r, "n_pairs": len(test)}}, details


def run_table2(profile, store, **kw):
    from repro.experiments.runner import run_table
    from repro.specs import get_spec

    return run_table(get_spec("2"), profile, store, **kw)
