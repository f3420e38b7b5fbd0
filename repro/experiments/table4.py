"""Table 4's evaluator: Wikipedia-sections triplet accuracy (declaration: repro/specs/table4.py; training:
repro/training/recipes.py: triplet_stage)."""

from __future__ import annotations

from repro.data.wikisec import load_wikisec
from repro.errors import ModelNotAvailable
from repro.evaluation.triplets import evaluate_triplets


class EVALUATOR:
    @staticmethod
    def load(spec, profile, ctx):
        data: dict = {}

        def get(split: str, limit):  # lazily: data missing -> DataError -> a not_run record saying how to get it
            if split not in data:
                data[split] = load_wikisec(split, root=ctx.data_root, limit=limit)
            return data[split]

        return get

    @staticmethod
    def evaluate(_, get, unit, ctx):
        from repro.encoders.build import base_model_path

        row, s = unit.row, ctx.knobs
        test = get("test", s["test_limit"])
        if row.kind == "unavailable":
            raise ModelNotAvailable(f"{row.model}: not available in this suite")
        base = base_model_path(row.model, ctx.data_root)
        details: dict = {}
        if row.kind == "sbert":
            from repro.specs.table4 import training_settings
            from repro.training.recipes import load_trained, run_dir_for, run_stage, triplet_stage

            train, dev = get("train", s["train_limit"]), get("validation", s["dev_limit"])  # data checks first
            stage = triplet_stage(model=row.model, training=training_settings(s))
            result = run_stage(stage, ctx.runs_root, data_root=ctx.data_root, device=ctx.device, echo=ctx.echo,
                               progress=ctx.progress)
            encoder = load_trained(stage, result.model_dir, ctx.device)
            details["training"] = {"run": run_dir_for(stage, ctx.runs_root).name, "dev_accuracy": result.score,
                                   "best_step": result.best_step, "steps": result.steps, "n_train": len(train),
                                   "n_dev": len(dev)}
        else:
            from repro.encoders.transformer import SentenceEncoder

            encoder = SentenceEncoder(base, device=ctx.device)
        res = evaluate_triplets(encoder, test.anchors, test.positives, test.negatives,
                                batch_size=ctx.profile.batch_size, show_progress=ctx.progress)
        details["n_test"] = res["n_triplets"]
        details["predictions"] = {"Euclidean": res["items"]["euclidean"], "cosine": res["items"]["cosine"],
                                  "Manhattan": res["items"]["manhattan"]}
        return ({"Euclidean": {"accuracy": res["accuracy_euclidean"]}, "cosine": {"accuracy": res["accuracy_cosine"]},
                 "Manhattan": {"accuracy": res["accuracy_manhattan"]}}, details)

    @staticmethod
    def summary(r):
        return (f"accuracy: Euclidean {r.metrics['Euclidean']['accuracy']:.4f}, "
                f"cosine {r.metrics['cosine']['accuracy']:.4f}")


def run_table4(profile, store, **kw):
    from repro.experiments.runner import run_table
    from repro.specs import get_spec

    return run_table(get_spec("4"), profile, store, **kw)
