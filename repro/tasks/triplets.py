"""Triplet accuracy on Wikipedia sections (Table 4): is the positive closer to the anchor than the negative, under
Euclidean, cosine and Manhattan distance (metrics: repro/evaluation/triplets.py, the ones the dev score during
training uses).

Row kinds: ``sbert`` (the model of the unit's training ``stage``: the triplet objective), ``transformer`` (the
starting model as released, with the row's pooling / layer / length), ``wordvec`` and ``python`` (untrained encoders
of ``sbert-repro evaluate``), ``unavailable``; any other kind is a ConfigError naming the row. Knob: ``test_limit``
(the first N test triplets).
"""

from __future__ import annotations

from repro.data.wikisec import load_wikisec
from repro.errors import ConfigError, ModelNotAvailable
from repro.evaluation.triplets import evaluate_triplets
from repro.tasks.base import Task, trained_model

KINDS = ("sbert", "transformer", "unavailable", "python", "wordvec")
COLUMNS = {"Euclidean": "euclidean", "cosine": "cosine", "Manhattan": "manhattan"}  # column -> distance


class TripletsTask(Task):
    name = "triplets"

    def load(self, spec, profile, ctx):
        data: dict = {}

        def get(split: str, limit):  # lazily: data missing -> DataError -> a not_run record saying how to get it
            if split not in data:
                data[split] = load_wikisec(split, root=ctx.data_root, limit=limit)
            return data[split]

        return get

    def evaluate(self, _, get, unit, ctx):
        from repro.encoders.build import base_model_path

        row = unit.row
        test = get("test", ctx.knobs["test_limit"])
        if row.kind not in KINDS:
            raise ConfigError(f"triplet row {row.label!r}: kind {row.kind!r} cannot be scored on triplets; allowed: "
                              f"{', '.join(KINDS)}")
        if row.kind == "unavailable":
            raise ModelNotAvailable(f"{row.model}: not available in this suite")
        if row.kind in ("sbert", "transformer"):
            base_model_path(row.model, ctx.data_root)  # a model that cannot be had stops here (ModelNotAvailable)
        details: dict = {}
        if row.kind == "sbert":
            if unit.stage is None:
                raise ConfigError(f"triplet row {row.label!r}: an sbert row needs its training stage (the table's "
                                  "stages)")
            from repro.training.recipes import run_dir_for

            stage = unit.stage
            train, dev = get("train", stage.data_limit), get("validation", stage.dev_limit)  # data checks first
            encoder, result = trained_model(stage, ctx)
            details["training"] = {"run": run_dir_for(stage, ctx.runs_root).name, "dev_accuracy": result.score,
                                   "best_step": result.best_step, "steps": result.steps, "n_train": len(train),
                                   "n_dev": len(dev)}
        else:  # the row's own encoder: its pooling, layer, length; word vectors; an in-process object (python)
            from repro.encoders.build import build_encoder

            encoder = build_encoder(row, data_root=ctx.data_root, device=ctx.device)
        res = evaluate_triplets(encoder, test.anchors, test.positives, test.negatives,
                                batch_size=ctx.profile.batch_size, show_progress=ctx.progress)
        details["n_test"] = res["n_triplets"]
        details["predictions"] = {col: res["items"][d] for col, d in COLUMNS.items()}
        return {col: {"accuracy": res[f"accuracy_{d}"]} for col, d in COLUMNS.items()}, details

    def summary(self, r):
        return (f"accuracy: Euclidean {r.metrics['Euclidean']['accuracy']:.4f}, "
                f"cosine {r.metrics['cosine']['accuracy']:.4f}")


TRIPLETS = TripletsTask()
