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
        return {unit.column: {"spearman": result.score}}, run_details(result)

    @staticmethod
    def summary(rec):
        col = next(iter(rec.metrics))
        return f"STSb dev Spearman {rec.metrics[col]['spearman']:.2f}"


def run_table6(profile, store, **kw):
    from repro.experiments.runner import run_table
    from repro.specs import get_spec

    return run_table(get_spec("6"), profile, store, **kw)
