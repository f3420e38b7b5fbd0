"""AFS training (Table 3): one SBERT-AFS (regression objective) or BERT-AFS (cross-encoder) run per fold, each a
:class:`repro.training.stage.Stage` with ``data="afs"`` (built by :func:`repro.training.stage.afs_stage`).

A fold's run lives in the stages' runs root like any other stage's (``<runs root>/afs-<kind>-<setting>-<fold>-
...-<hash>``). Once its test predictions are written there (``predictions.json``) its model folder is deleted
(knob ``keep_models`` keeps it), so 33 models do not fill the disk; a killed run resumes at the fold it was
training, from that run's last checkpoint.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

from repro.data.records import PairSet
from repro.paths import atomic_write_bytes
from repro.training.recipes import load_trained, prune_model, run_dir_for, run_stage, training_examples
from repro.training.stage import afs_stage


def pair_examples(pairs: PairSet, symmetric: bool):
    from repro.training.data import PairExample

    out = [PairExample(p.s1, p.s2, float(p.score) / 5.0) for p in pairs.pairs]
    if symmetric:
        out += [PairExample(p.s2, p.s1, float(p.score) / 5.0) for p in pairs.pairs]
    return out


def limit_folds(folds: list, fold_limit: int | None) -> list:
    """The first ``fold_limit`` folds of each test topic (all when None): a CPU-sized, still unbiased, noisier
    estimate of the 10-fold mean (each kept fold is a full fold: its model trains on the other 90% of the topic)."""
    if not fold_limit:
        return folds
    seen: dict[str, int] = {}
    out = []
    for f in folds:
        seen[f.test_topic] = seen.get(f.test_topic, 0) + 1
        if seen[f.test_topic] <= fold_limit:
            out.append(f)
    return out


@lru_cache(maxsize=4)
def _corpus(limit, root):
    from repro.data.afs import load_afs

    return load_afs(root=root).head(limit)


def fold_examples(fold: dict, symmetric: bool, data_root=None) -> list:
    """The training examples of the AFS fold ``fold`` (keys of :data:`repro.training.stage.AFS_FOLD_KEYS`)."""
    from repro.errors import ConfigError
    from repro.evaluation.afs import folds_for

    corpus = _corpus(fold["limit"], str(data_root) if data_root is not None else None)
    folds = folds_for(fold["setting"], corpus, int(fold["kfold"] or 10), int(fold["fold_seed"] or 0))
    match = [f for f in folds if f.name == fold["fold"]]
    if not match:
        raise ConfigError(f"AFS {fold['setting']} has no fold {fold['fold']!r}; its folds: "
                          f"{', '.join(f.name for f in folds)}")
    return pair_examples(corpus.subset(match[0].train), symmetric)


def fold_trainer(*, model: str, kind: str, pooling: str | None, setting: str, training: dict, knobs: dict,
                 runs_root, batch_size: int, data_root=None, device=None, echo=print, progress: bool = True):
    """A ``fit(train_pairs, fold) -> scorer`` for :func:`repro.evaluation.afs.evaluate_folds` that trains one
    stage per fold. Predictions of a finished fold are kept in its run folder and reused on a rerun."""
    from repro.encoders.build import base_model_path

    base_model_path(model, data_root)  # a missing model stops here, before any fold
    keep_models = bool(knobs.get("keep_models", False))

    def fit(train_pairs: PairSet, fold):
        stage = afs_stage(model=model, kind=kind, pooling=pooling, setting=setting, fold=fold.name,
                          training=training, knobs=knobs)
        run_dir = run_dir_for(stage, runs_root)
        pred_file = run_dir / "predictions.json"

        def scorer(s1, s2):
            from repro.locks import locked

            with locked(run_dir, what=f"AFS fold {run_dir.name}"):  # train + predict once
                return _predict(list(s1), list(s2))

        def _predict(s1, s2):
            if pred_file.is_file():
                saved = json.loads(pred_file.read_text())
                if saved.get("s1") == s1 and saved.get("s2") == s2:
                    return np.asarray(saved["pred"], dtype=np.float64)
            trained = _train(stage, train_pairs)
            from repro.training.losses import pair_similarity

            pred = np.asarray(pair_similarity(trained, s1, s2, batch_size=batch_size))
            atomic_write_bytes(pred_file, json.dumps({"s1": s1, "s2": s2, "pred": pred.tolist()}).encode())
            if not keep_models:  # the predictions are what the table needs; the model can go
                prune_model(run_dir)
            return pred

        return scorer

    def _train(stage, train_pairs: PairSet):
        # The stage reads its fold from the data root itself; it must be the evaluator's fold, pair for pair.
        if training_examples(stage, data_root) != pair_examples(train_pairs, stage.symmetric):
            raise RuntimeError(f"AFS stage {stage.name}: its training pairs differ from the evaluator's fold")
        # a finished run whose model was removed (after predicting other pairs) is trained again by run_stage
        result = run_stage(stage, runs_root, data_root=data_root, device=device, echo=echo, progress=progress)
        return load_trained(stage, result.model_dir, device)

    return fit
