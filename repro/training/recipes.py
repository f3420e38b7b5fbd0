"""Running a training :class:`repro.training.stage.Stage` (the declaration, torch-free, lives there):
:func:`run_stage` trains it once and returns the kept model, resuming or reusing earlier work; its examples, dev
score and trainable module come from the stage's data and objective (:mod:`repro.training.objectives`).

This module imports no torch at the top either (``sbert-repro plan`` reads :func:`run_dir_for` and ``prune_model``
through it); the torch parts are imported when a stage trains. The declaration's names are re-exported here for
the callers that import them from this module.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Callable

from repro.errors import choose
from repro.paths import portable_path
from repro.training.objectives import DEV_SETS, TRAIN_DATA, get_objective, resolve
from repro.training.settings import (AMP_MODES, KEEP, PAPER_TRAINING, SELECT, SELECT_DEFAULT,  # noqa: F401
                                     check_run_settings)
from repro.training.stage import (AFS_FOLD_KEYS, STSB_TRAIN_PAIRS, Stage, afs_stage,  # noqa: F401 (re-exported)
                                  describe_training, nli_stage, run_dir_for, stage_datasets, stsb_stage,
                                  triplet_stage)


def train_config(stage: Stage):
    """The trainer's settings for ``stage`` (the last model is kept where no dev score picks one)."""
    from repro.training.trainer import TrainConfig

    return TrainConfig(epochs=stage.epochs, batch_size=stage.batch_size, lr=stage.lr, seed=stage.seed,
                       max_steps=stage.max_steps, eval_steps=stage.eval_steps,
                       checkpoint_steps=stage.checkpoint_steps, keep=stage.keep if stage.scored else "last",
                       amp=stage.amp, eval_counting=stage.eval_counting)


# ------------------------------------------------------------------------------------------------- data


@lru_cache(maxsize=8)
def _stsb(split: str, root: str | None):
    from repro.data.sts import load_stsb

    return load_stsb(split, root=root)


@lru_cache(maxsize=4)
def _nli(source: str, root: str | None):
    from repro.data.nli import load_nli_train

    return load_nli_train(source, root)


def training_examples(stage: Stage, data_root=None) -> list:
    """The examples ``stage`` trains on, from its data's loader (:data:`repro.training.objectives.TRAIN_DATA`)."""
    return resolve(TRAIN_DATA[stage.data].examples)(stage, data_root)


def _root(data_root) -> str | None:
    return str(data_root) if data_root is not None else None


def stsb_examples(stage: Stage, data_root=None) -> list:
    from repro.training.data import sts_examples

    return sts_examples(_stsb("train", _root(data_root)).head(stage.data_limit))


def nli_train_examples(stage: Stage, data_root=None) -> list:
    from repro.training.data import nli_examples

    return nli_examples(_nli(stage.nli_source, _root(data_root)).head(stage.data_limit))


def afs_examples(stage: Stage, data_root=None) -> list:
    from repro.training.afs import fold_examples

    return fold_examples(dict(stage.fold), stage.symmetric, data_root)


def wikisec_examples(stage: Stage, data_root=None) -> list:
    from repro.data.wikisec import load_wikisec
    from repro.training.data import TripletExample

    return [TripletExample(a, p, n) for a, p, n in load_wikisec("train", root=data_root, limit=stage.data_limit)]


def _spearman_2019(a, b, gold) -> dict:
    """Spearman x 100 of ``gold`` against each similarity the 2019 ``EmbeddingSimilarityEvaluator`` computed."""
    import numpy as np

    from repro.evaluation.sts import cosine_rows, spearman_x100

    return {"cosine": spearman_x100(cosine_rows(a, b), gold),
            "manhattan": spearman_x100(-np.abs(a - b).sum(1), gold),
            "euclidean": spearman_x100(-np.sqrt(((a - b) ** 2).sum(1)), gold),
            "dot": spearman_x100((a * b).sum(1), gold)}


def stsb_dev_evaluator(limit: int | None = None, data_root=None, batch_size: int = 32,
                       select: str = SELECT_DEFAULT) -> Callable:
    """``evaluate(model)``: the dev score on STSb dev (the paper's dev set) that picks the kept model.

    ``select="main"``: the Spearman x 100 of the model's similarity (cosine of the embeddings; a cross-encoder's
    output). ``select="2019"``: for a bi-encoder, ``{"score": the largest of the four, "cosine": ..., "manhattan":
    ..., "euclidean": ..., "dot": ...}`` as the 2019 reference evaluator; a cross-encoder has its one score.
    """
    import numpy as np

    from repro.evaluation.sts import spearman_x100
    from repro.training.losses import pair_similarity

    choose(select, SELECT, "select")
    dev = _stsb("dev", str(data_root) if data_root is not None else None).head(limit)

    def evaluate(model):
        # an objective (its .encoder), a bare encoder (encode), or a cross-encoder (similarity only)
        encoder = getattr(model, "encoder", None) or (model if not hasattr(model, "similarity") else None)
        if select == "main" or encoder is None:
            return spearman_x100(pair_similarity(model, dev.sentences1, dev.sentences2, batch_size), dev.scores)
        uniq = sorted(set(dev.sentences1) | set(dev.sentences2))
        vecs = dict(zip(uniq, encoder.encode(uniq, batch_size=batch_size)))
        a = np.stack([vecs[s] for s in dev.sentences1]).astype(np.float64)
        b = np.stack([vecs[s] for s in dev.sentences2]).astype(np.float64)
        parts = _spearman_2019(a, b, dev.scores)
        return {"score": max(parts.values()), **parts}

    return evaluate


def triplet_dev_evaluator(limit: int | None, data_root=None, batch_size: int = 32,
                          select: str = SELECT_DEFAULT) -> Callable:
    """``evaluate(objective)``: accuracy x 100 on the first ``limit`` validation triplets (2019: the largest of
    the cosine, Manhattan and Euclidean accuracies, as its ``TripletEvaluator``; main: Euclidean)."""
    from repro.data.wikisec import load_wikisec
    from repro.evaluation.triplets import evaluate_triplets

    choose(select, SELECT, "select")
    dev = load_wikisec("validation", root=data_root, limit=limit)

    def evaluate(objective):
        r = evaluate_triplets(objective.encoder, dev.anchors, dev.positives, dev.negatives, batch_size=batch_size)
        parts = {m: 100.0 * r[f"accuracy_{m}"] for m in ("euclidean", "cosine", "manhattan")}
        return {"score": max(parts.values()) if select == "2019" else parts["euclidean"], **parts}

    return evaluate


def dev_evaluator(stage: Stage, data_root=None) -> Callable | None:
    """The dev score of ``stage``: its objective's dev set (None where none picks its model, see
    :attr:`Stage.scored`)."""
    if not stage.scored:
        return None
    return resolve(DEV_SETS[stage.dev_set].evaluator)(stage.dev_limit, data_root, select=stage.select)


# ------------------------------------------------------------------------------------------------ models


def build_model(stage: Stage, base_path, device: str | None = None):
    """The trainable module of ``stage`` (its objective's), starting from the model folder ``base_path``."""
    objective = get_objective(stage.objective)
    if stage.kind == "cross":
        from repro.training.cross_encoder import CrossEncoder

        return CrossEncoder(base_path, num_labels=objective.cross_labels, max_seq_length=stage.max_seq_length,
                            device=device, head=stage.head)
    from repro.encoders.transformer import SentenceEncoder

    # The encoder body only: our pooling, no normalisation (SBERT has none), the paper's 128 tokens.
    encoder = SentenceEncoder(base_path, pooling=stage.pooling, max_seq_length=stage.max_seq_length,
                              truncation=stage.truncation, normalize=False, device=device)
    return objective.build(stage, encoder)


def load_trained(stage: Stage, model_dir, device: str | None = None):
    """A finished stage's model for evaluation: a SentenceEncoder or a CrossEncoder (see ``pair_similarity``)."""
    if stage.kind == "cross":
        from repro.training.cross_encoder import CrossEncoder

        return CrossEncoder(model_dir, num_labels=1, max_seq_length=stage.max_seq_length, device=device,
                            head=stage.head)
    from repro.encoders.transformer import SentenceEncoder

    return SentenceEncoder(model_dir, device=device)


def resolve_base(base, data_root=None):
    """A local folder for a starting model: hub id, folder or ``smoke-bert`` (built from the data root)."""
    from repro.encoders.build import base_model_path

    return base_model_path(base, data_root)


# --------------------------------------------------------------------------------------------------- run


def run_details(result) -> dict:
    """What a result record keeps of a training run: where it lives, its dev scores and losses over time."""
    return {"run_dir": portable_path(result.model_dir.parent), "model_dir": portable_path(result.model_dir),
            "dev_spearman": result.score, "best_step": result.best_step, "steps": result.steps,
            "train_seconds": result.train_seconds, "resumed_at": result.resumed_at, "history": result.history}


def run_stage(stage: Stage, runs_root, *, data_root=None, device: str | None = None, echo: Callable = print,
              progress: bool = True, on_step: Callable | None = None):
    """Train ``stage`` (and the stages it starts from) unless finished; returns its TrainResult."""
    from repro.training.trainer import _read_done

    run_dir = run_dir_for(stage, runs_root)
    done = _read_done(run_dir)  # None too when its model was removed (pruned): then it is trained again
    if done is not None:
        echo(f"  [{stage.name}] finished run reused: {run_dir}")
        return done
    if isinstance(stage.base, Stage):
        base_path = run_stage(stage.base, runs_root, data_root=data_root, device=device, echo=echo,
                              progress=progress).model_dir
    else:
        base_path = resolve_base(stage.base, data_root)
    from repro.locks import locked

    # Another process training this run folder: wait for it, then reuse its run (never trained twice).
    with locked(run_dir, what=f"run folder {run_dir.name}", echo=echo):
        done = _read_done(run_dir)
        if done is not None:
            echo(f"  [{stage.name}] finished run reused: {run_dir}")
            return done
        return _train_stage(stage, run_dir, base_path, data_root=data_root, device=device, echo=echo,
                            progress=progress, on_step=on_step)


MODEL_DIRS = ("best", "final")


def prune_model(run_dir: Path) -> int:
    """Delete the kept model of a finished run (records and logs stay); returns the bytes freed (0 when another
    process pruned it first).

    Safe under concurrent runs and workers on several nodes: under the run folder's lock (the one training and
    loading take), each model folder is first renamed away (atomic: one process wins, the others find nothing to
    remove), then deleted; a process never deletes files another is counting or removing."""
    import os
    import shutil

    from repro.locks import locked

    if not (run_dir / "done.json").is_file():
        return 0
    freed = 0
    with locked(run_dir, what=f"training run {run_dir.name}"):
        for sub in MODEL_DIRS:
            d = run_dir / sub
            doomed = run_dir / f".{sub}.pruning-{os.getpid()}"
            try:
                os.rename(d, doomed)
            except FileNotFoundError:
                continue  # none kept, or another process pruned it
            freed += sum(f.stat().st_size for f in doomed.rglob("*") if f.is_file())
            shutil.rmtree(doomed, ignore_errors=True)
    return freed


def _train_stage(stage: Stage, run_dir: Path, base_path, *, data_root, device, echo, progress, on_step):
    from repro.training.trainer import seed_everything, train

    examples = training_examples(stage, data_root)  # a data problem stops here, before a model is loaded
    evaluate = dev_evaluator(stage, data_root)  # None: the last model is kept (see Stage.scored)
    seed_everything(stage.seed)  # the new head's initialisation is part of the seeded run
    model = build_model(stage, base_path, device)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "stage.json").write_text(json.dumps({"name": stage.name, "stage": stage.to_dict(),
                                                    "base_path": str(base_path)}, indent=1) + "\n")
    echo(f"  [{stage.name}] training on {len(examples)} examples -> {run_dir}")
    return train(model, examples, train_config(stage), run_dir, evaluate, name=stage.name, echo=echo,
                 progress=progress, on_step=on_step)
