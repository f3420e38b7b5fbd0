"""AFS training (Table 3): one SBERT-AFS (regression objective) or BERT-AFS (cross-encoder) run per fold.

Each fold's run lives in ``<runs root>/afs/<kind>-<setting>-<hash of the settings>/<fold>/``; once a fold's test
predictions are written there (``predictions.json``) its model folder is deleted (knob ``keep_models`` keeps
it), so 33 models do not fill the disk and a killed run resumes at the next fold. The hash covers what decides
the model (base model, kind, pooling, training settings, data limit, folds), not the row's label.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from repro.data.records import PairSet
from repro.paths import atomic_write_bytes
from repro.results import slug


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


def fold_trainer(*, model: str, kind: str, pooling: str | None, setting: str, training: dict, knobs: dict,
                 runs_root, batch_size: int, data_root=None, device=None, echo=print, progress: bool = True):
    """A ``fit(train_pairs, fold) -> scorer`` for :func:`repro.evaluation.afs.evaluate_folds` that trains one
    model per fold. Predictions of a finished fold are kept in its run folder and reused on a rerun."""
    from repro.encoders.build import base_model_path
    from repro.training.trainer import TrainConfig, seed_everything, train

    ts = training
    base = base_model_path(model, data_root)  # a missing model stops here, before any fold
    keep_models = bool(knobs.get("keep_models", False))
    recipe = json.dumps({"kind": kind, "model": model, "base": str(base), "pooling": pooling, "group": setting,
                         "training": ts, "limit": knobs.get("limit"), "kfold": knobs.get("kfold", 10),
                         "fold_seed": knobs.get("fold_seed", 0)}, sort_keys=True)
    key = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    runs = Path(runs_root) / "afs"

    def fit(train_pairs: PairSet, fold):
        run_dir = runs / f"{kind}-{slug(setting)}-{key}" / slug(fold.name)
        pred_file = run_dir / "predictions.json"

        def scorer(s1, s2):
            from repro.locks import locked

            with locked(run_dir, what=f"AFS fold {run_dir.parent.name}/{run_dir.name}"):  # train + predict once
                return _predict(s1, s2)

        def _predict(s1, s2):
            if pred_file.is_file():
                saved = json.loads(pred_file.read_text())
                if saved.get("s1") == list(s1) and saved.get("s2") == list(s2):
                    return np.asarray(saved["pred"], dtype=np.float64)
            trained = _train(train_pairs, fold, run_dir)
            from repro.training.losses import pair_similarity

            pred = np.asarray(pair_similarity(trained, list(s1), list(s2), batch_size=batch_size))
            atomic_write_bytes(pred_file, json.dumps({"s1": list(s1), "s2": list(s2), "pred": pred.tolist()}).encode())
            if not keep_models:
                for sub in ("final", "best", "last", "last.old"):
                    shutil.rmtree(run_dir / sub, ignore_errors=True)
            return pred

        return scorer

    def _train(train_pairs: PairSet, fold, run_dir: Path):
        examples = pair_examples(train_pairs, bool(ts["symmetric"]))
        config = TrainConfig(epochs=int(ts["epochs"]), batch_size=int(ts["batch_size"]), lr=float(ts["lr"]),
                             seed=int(ts["seed"]), max_steps=ts["max_steps"], eval_steps=0, checkpoint_steps=200,
                             keep="last")
        seed_everything(int(ts["seed"]))
        if kind == "cross":
            from repro.training.cross_encoder import CrossEncoder

            net = CrossEncoder(base, num_labels=1, max_seq_length=int(ts["max_seq_length"]), device=device)
        else:
            from repro.encoders.transformer import SentenceEncoder
            from repro.training.losses import CosineSimilarityLoss

            enc = SentenceEncoder(base, pooling=pooling or "mean", max_seq_length=int(ts["max_seq_length"]),
                                  normalize=False, device=device)
            net = CosineSimilarityLoss(enc)
        echo(f"  [{kind} / {fold.name}] training on {len(examples)} pairs")
        result = train(net, examples, config, run_dir, None, name=f"afs-{kind} {fold.name}", echo=echo,
                       progress=progress)
        if kind == "cross":
            from repro.training.cross_encoder import CrossEncoder

            return CrossEncoder(result.model_dir, num_labels=1, max_seq_length=int(ts["max_seq_length"]),
                                device=device)
        from repro.encoders.transformer import SentenceEncoder

        return SentenceEncoder(result.model_dir, device=device)

    return fit
