"""Training runs as data: a frozen :class:`Stage` says what to train (objective, data, starting point, settings);
:func:`run_stage` trains it once and returns the kept model, resuming or reusing earlier work.

A stage's run folder is ``<runs root>/<label>-<hash of all its settings>``; the pipelines use
``$SBERT_REPRO_CACHE/runs/<profile>/`` (the per-user cache, see :mod:`repro.paths`), so one NLI model can serve
Table 6 and the NLI-then-STSb rows of Table 2, and a killed ``reproduce`` picks up mid-run. A stage whose ``base``
is another stage starts from that stage's kept model (SBERT-NLI-STSb = NLI, then STSb).

Every setting is checked when the stage is built, before any model is loaded or step taken; an unknown pooling,
concatenation, objective or data name raises a ConfigError listing the allowed values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Callable

from repro.errors import ConfigError, choose
from repro.paths import portable_path
from repro.results import slug
from repro.encoders.base import POOLINGS
from repro.training.objectives import DEFAULT_CONCAT, OBJECTIVES, concat_name
from repro.training.settings import AMP_MODES, KEEP, SELECT, check_run_settings  # noqa: F401 (re-exported)

KINDS = ("sbert", "cross")
TRAIN_DATA = ("stsb-train", "nli", "afs", "wikisec")
"""What a stage trains on: STSb train (scores), NLI (labels), one AFS fold's training pairs (``fold``), or the
Wikipedia-sections training triplets."""
CROSS_OBJECTIVES = ("regression", "classification")
AFS_FOLD_KEYS = ("setting", "fold", "kfold", "fold_seed", "limit")


@dataclass(frozen=True)
class Stage:
    """One training run.

    ``kind``: ``sbert`` (bi-encoder, siamese) or ``cross`` (cross-encoder); ``objective``: see
    :data:`repro.training.losses.OBJECTIVES` (cross: regression or classification); ``data``: one of
    :data:`TRAIN_DATA` (``nli`` from ``nli_source``, see :data:`repro.data.nli.NLI_TRAIN_SOURCES`; ``afs``: the
    training pairs of the fold named by ``fold``, ``(("fold", ...), ("fold_seed", ...), ("kfold", ...), ("limit",
    ...), ("setting", ...))``, both orders of each pair with ``symmetric``); ``base``: model id / folder, or the
    Stage to continue from. ``data_limit`` / ``dev_limit`` cut the training / dev data to their first examples
    (smoke profile; ``dev_limit=0``: no dev score, the last model is kept); ``max_steps`` caps the steps (local
    profile). ``select``: how the dev score that picks the kept model is computed (:data:`SELECT`; ``2019`` as the
    reference code). ``margin``: the triplet objective's margin.
    """

    kind: str
    objective: str
    data: str
    base: "str | Stage"
    pooling: str = "mean"
    concat: str = DEFAULT_CONCAT
    nli_source: str = "auto"
    data_limit: int | None = None
    dev_limit: int | None = None
    epochs: int = 1
    max_steps: int | None = None
    seed: int = 0
    batch_size: int = 16
    lr: float = 2e-5
    max_seq_length: int = 128
    eval_steps: int = 1000
    checkpoint_steps: int = 500
    keep: str = "best"
    amp: str = "fp32"
    select: str = "2019"
    symmetric: bool = False
    margin: float = 1.0
    fold: tuple = ()

    def __post_init__(self):
        choose(self.kind, KINDS, "model kind")
        choose(self.objective, OBJECTIVES if self.kind == "sbert" else CROSS_OBJECTIVES,
               f"objective for a {self.kind} model")
        choose(self.data, TRAIN_DATA, "training data")
        choose(self.pooling, POOLINGS, "pooling")
        object.__setattr__(self, "concat", concat_name(self.concat))
        if (self.objective == "triplet") != (self.data == "wikisec"):
            raise ConfigError("the triplet objective trains on triplets (data 'wikisec') and triplet data needs "
                              f"objective 'triplet'; got objective {self.objective!r} on data {self.data!r}")
        if self.data == "wikisec" and self.kind != "sbert":
            raise ConfigError("a cross-encoder does not train on triplets; use kind 'sbert'")
        if self.data == "afs":
            if self.objective != "regression":
                raise ConfigError(f"AFS pairs have scores: use objective 'regression', not {self.objective!r}")
            got = dict(self.fold)
            if sorted(got) != sorted(AFS_FOLD_KEYS):
                raise ConfigError(f"an AFS stage names its fold with the keys {', '.join(AFS_FOLD_KEYS)}; got "
                                  f"{', '.join(sorted(got)) or 'none'}")
            choose(got["setting"], ("10-fold", "cross-topic"), "AFS training setting")
            object.__setattr__(self, "fold", tuple(sorted(got.items())))
        elif self.fold:
            raise ConfigError(f"'fold' is for AFS stages only, not data {self.data!r}")
        if self.data == "nli" and self.objective != "classification":
            raise ConfigError(f"NLI data has class labels: use objective 'classification', not {self.objective!r}")
        if self.data == "stsb-train" and self.objective != "regression":
            raise ConfigError(f"STSb has scores: use objective 'regression', not {self.objective!r}")
        from repro.data.nli import NLI_TRAIN_SOURCES

        choose(self.nli_source, NLI_TRAIN_SOURCES, "NLI training source")
        check_run_settings(self)  # torch-free here; the trainer's TrainConfig checks them again

    def train_config(self):
        from repro.training.trainer import TrainConfig

        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed,
                           max_steps=self.max_steps, eval_steps=self.eval_steps,
                           checkpoint_steps=self.checkpoint_steps, keep=self.keep if self.scored else "last",
                           amp=self.amp)

    @property
    def scored(self) -> bool:
        """Whether a dev score picks the kept model: not for AFS folds (no dev set), a cross-encoder's NLI head (no
        similarity to rank) or ``dev_limit=0``."""
        return not (self.data == "afs" or self.dev_limit == 0
                    or (self.kind == "cross" and self.objective == "classification"))

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["base"] = self.base.to_dict() if isinstance(self.base, Stage) else str(self.base)
        return d

    @property
    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]

    @property
    def name(self) -> str:
        if self.data == "afs":
            f = dict(self.fold)
            return f"afs-{self.kind}-{f['setting']}-{f['fold']}-{self.pooling}-seed{self.seed}"
        what = f"{self.kind}-{self.objective}-{self.data}-{self.pooling}"
        if self.objective == "classification" and self.kind == "sbert":
            what += f"-{self.concat}"
        if isinstance(self.base, Stage):  # e.g. STSb regression continued from an NLI model
            what += f"-after-{self.base.data}"
        return f"{what}-seed{self.seed}"


# ------------------------------------------------------------------------------------------------- data


@lru_cache(maxsize=8)
def _stsb(split: str, root: str | None):
    from repro.data.sts import load_stsb

    return load_stsb(split, root=root)


@lru_cache(maxsize=4)
def _nli(source: str, root: str | None):
    from repro.data.nli import load_nli_train

    return load_nli_train(source, root)


def stage_datasets(stage: Stage) -> tuple[str, ...]:
    """The datasets (names of :mod:`repro.data.manifest`) ``stage`` reads: its training data and its dev set."""
    if stage.data == "nli":
        train = {"snli-senteval-devtest": ("nli",), "allnli": ("allnli",)}.get(stage.nli_source, ("snli", "multinli"))
        return (*train, "stsb") if stage.scored else train
    return {"stsb-train": ("stsb",), "afs": ("afs",), "wikisec": ("wikisec",)}[stage.data]


def training_examples(stage: Stage, data_root=None) -> list:
    from repro.training.data import nli_examples, sts_examples

    root = str(data_root) if data_root is not None else None
    if stage.data == "stsb-train":
        return sts_examples(_stsb("train", root).head(stage.data_limit))
    if stage.data == "afs":
        from repro.training.afs import fold_examples

        return fold_examples(dict(stage.fold), stage.symmetric, data_root)
    if stage.data == "wikisec":
        from repro.data.wikisec import load_wikisec
        from repro.training.data import TripletExample

        return [TripletExample(a, p, n) for a, p, n in load_wikisec("train", root=data_root, limit=stage.data_limit)]
    return nli_examples(_nli(stage.nli_source, root).head(stage.data_limit))


def _spearman_2019(a, b, gold) -> dict:
    """Spearman x 100 of ``gold`` against each similarity the 2019 ``EmbeddingSimilarityEvaluator`` computed."""
    import numpy as np

    from repro.evaluation.sts import cosine_rows, spearman_x100

    return {"cosine": spearman_x100(cosine_rows(a, b), gold),
            "manhattan": spearman_x100(-np.abs(a - b).sum(1), gold),
            "euclidean": spearman_x100(-np.sqrt(((a - b) ** 2).sum(1)), gold),
            "dot": spearman_x100((a * b).sum(1), gold)}


def stsb_dev_evaluator(limit: int | None = None, data_root=None, batch_size: int = 32,
                       select: str = "2019") -> Callable:
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


def triplet_dev_evaluator(limit: int | None, data_root=None, batch_size: int = 32, select: str = "2019") -> Callable:
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
    """The dev score of ``stage`` (None where none picks its model, see :attr:`Stage.scored`)."""
    if not stage.scored:
        return None
    if stage.data == "wikisec":
        return triplet_dev_evaluator(stage.dev_limit, data_root, select=stage.select)
    return stsb_dev_evaluator(stage.dev_limit, data_root, select=stage.select)


# ------------------------------------------------------------------------------------------------ models


def build_model(stage: Stage, base_path, device: str | None = None):
    """The trainable module of ``stage``, starting from the model folder ``base_path``."""
    if stage.kind == "cross":
        from repro.training.cross_encoder import CrossEncoder

        return CrossEncoder(base_path, num_labels=3 if stage.objective == "classification" else 1,
                            max_seq_length=stage.max_seq_length, device=device)
    from repro.encoders.transformer import SentenceEncoder
    from repro.training.losses import build_objective

    # The encoder body only: our pooling, no normalisation (SBERT has none), the paper's 128 tokens.
    encoder = SentenceEncoder(base_path, pooling=stage.pooling, max_seq_length=stage.max_seq_length,
                              normalize=False, device=device)
    # Triplets: the paper's Euclidean distance and the stage's margin (paper: 1).
    return build_objective(stage.objective, encoder, concat=stage.concat, num_labels=3, distance="euclidean",
                           margin=stage.margin)


def load_trained(stage: Stage, model_dir, device: str | None = None):
    """A finished stage's model for evaluation: a SentenceEncoder or a CrossEncoder (see ``pair_similarity``)."""
    if stage.kind == "cross":
        from repro.training.cross_encoder import CrossEncoder

        return CrossEncoder(model_dir, num_labels=1, max_seq_length=stage.max_seq_length, device=device)
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


def run_dir_for(stage: Stage, runs_root) -> Path:
    return Path(runs_root) / f"{slug(stage.name)}-{stage.key}"


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
    """Delete the kept model of a finished run (records and logs stay); returns the bytes freed."""
    import shutil

    if not (run_dir / "done.json").is_file():
        return 0
    freed = 0
    for sub in MODEL_DIRS:
        d = run_dir / sub
        if d.is_dir():
            freed += sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
            shutil.rmtree(d)
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
    return train(model, examples, stage.train_config(), run_dir, evaluate, name=stage.name, echo=echo,
                 progress=progress, on_step=on_step)


# ------------------------------------------------------------------------------------ from profile settings
# ``Profile.training`` (repro/profiles.py) holds the knobs below; a missing key means the paper's value.
PAPER_TRAINING = {
    "nli_source": "auto",  # see repro.data.nli.NLI_TRAIN_SOURCES
    "nli_epochs": 1,
    "nli_max_steps": None,
    "stsb_epochs": 4,
    "stsb_max_steps": None,
    "train_limit": None,  # first N training pairs (smoke)
    "dev_limit": None,  # first N STSb dev pairs (smoke)
    "eval_steps": 1000,
    "checkpoint_steps": 500,
    "batch_size": 16,
    "amp": "fp32",  # as the 2019 code; bf16 / fp16 only when asked (the record and the table then say so)
    "select": "2019",  # how the dev score picks the kept model (see SELECT); "main": the cosine Spearman only
    "nli_seed": 0,  # the seed of the one NLI model that NLI-then-STSb rows continue
    "body_note": None,  # what stands in for the paper's model, in words (tables)
    "nli_note": None,  # what stands in for SNLI + MultiNLI train, in words (tables)
}
STSB_TRAIN_PAIRS = 5749


def _t(training: dict, key: str):
    return training.get(key, PAPER_TRAINING[key])


def _common(training: dict) -> dict:
    return {"data_limit": _t(training, "train_limit"), "dev_limit": _t(training, "dev_limit"),
            "eval_steps": _t(training, "eval_steps"), "checkpoint_steps": _t(training, "checkpoint_steps"),
            "batch_size": _t(training, "batch_size"), "amp": _t(training, "amp"), "select": _t(training, "select")}


def nli_stage(training: dict, base, *, pooling: str = "mean", concat: str = DEFAULT_CONCAT, seed: int = 0,
              kind: str = "sbert") -> Stage:
    """SBERT-NLI (paper §3.1): 3-way softmax over ``concat`` on NLI, 1 epoch."""
    return Stage(kind=kind, objective="classification", data="nli", base=base, pooling=pooling, concat=concat,
                 nli_source=_t(training, "nli_source"), epochs=_t(training, "nli_epochs"),
                 max_steps=_t(training, "nli_max_steps"), seed=seed, **_common(training))


def stsb_stage(training: dict, base, *, pooling: str = "mean", seed: int = 0, kind: str = "sbert") -> Stage:
    """SBERT-STSb (paper §4.2): regression objective on STSb train, 4 epochs."""
    return Stage(kind=kind, objective="regression", data="stsb-train", base=base, pooling=pooling,
                 epochs=_t(training, "stsb_epochs"),
                 max_steps=_t(training, "stsb_max_steps"), seed=seed, **_common(training))


def describe_training(training: dict, recipe: str) -> str:
    """In words, how a profile's training differs from the paper's (empty when it does not)."""
    if recipe == "none":
        return ""
    parts = []
    if _t(training, "body_note"):
        parts.append(_t(training, "body_note"))
    bs = _t(training, "batch_size")
    if "nli" in recipe:
        nli = _t(training, "nli_note")
        steps = _t(training, "nli_max_steps")
        if nli or steps:
            parts.append("NLI: " + ", ".join(x for x in (nli, f"{steps} steps of batch {bs}" if steps else "") if x))
    if "stsb" in recipe:
        steps, epochs = _t(training, "stsb_max_steps"), _t(training, "stsb_epochs")
        if steps:
            full = -(-STSB_TRAIN_PAIRS // bs) * epochs
            parts.append(f"STSb: {steps} steps of batch {bs} (the paper's {epochs} epochs: {full} steps)")
    if _t(training, "amp") != "fp32":
        parts.append(f"mixed precision {_t(training, 'amp')} (the 2019 code trained in fp32)")
    if _t(training, "select") != "2019":
        parts.append("kept model chosen by the cosine Spearman on STSb dev only (the 2019 code: the best of cosine, "
                     "Manhattan, Euclidean and dot-product Spearman)")
    if _t(training, "train_limit"):
        parts.append(f"first {_t(training, 'train_limit')} training pairs only")
    if _t(training, "dev_limit"):
        parts.append(f"dev score on the first {_t(training, 'dev_limit')} STSb dev pairs")
    return "; ".join(parts)


def afs_stage(*, model: str, kind: str, pooling: str | None, setting: str, fold: str, training: dict,
              knobs: dict) -> Stage:
    """One AFS fold's training run (Table 3): SBERT-AFS (``sbert``: regression objective) or BERT-AFS (``cross``:
    regression head); ``training``: Table 3's settings of that kind (repro/specs/table3.py: DEFAULT_TRAINING);
    ``knobs``: its ``limit``, ``kfold`` and ``fold_seed``. No dev set: the last model is kept."""
    ten = setting == "10-fold"
    where = {"setting": setting, "fold": fold, "limit": knobs.get("limit"),
             "kfold": int(knobs.get("kfold", 10)) if ten else None,
             "fold_seed": int(knobs.get("fold_seed", 0)) if ten else None}
    return Stage(kind=kind, objective="regression", data="afs", base=model, pooling=pooling or "mean",
                 epochs=int(training["epochs"]), batch_size=int(training["batch_size"]), lr=float(training["lr"]),
                 seed=int(training["seed"]), max_steps=training["max_steps"],
                 max_seq_length=int(training["max_seq_length"]), symmetric=bool(training["symmetric"]),
                 eval_steps=0, checkpoint_steps=200, keep="last", amp=training.get("amp", "fp32"),
                 fold=tuple(sorted(where.items())))


def triplet_stage(*, model: str, training: dict) -> Stage:
    """SBERT on the Wikipedia-sections triplets (Table 4): triplet objective, Euclidean distance, the best model on
    the first ``dev_limit`` validation triplets kept (``training``: repro/specs/table4.py's knobs)."""
    s = training
    return Stage(kind="sbert", objective="triplet", data="wikisec", base=model, pooling=s["pooling"],
                 data_limit=s["train_limit"], dev_limit=s["dev_limit"], epochs=int(s["epochs"]),
                 max_steps=s["max_steps"], seed=int(s["seed"]), batch_size=int(s["batch_size"]), lr=float(s["lr"]),
                 max_seq_length=int(s["max_seq_length"]), eval_steps=int(s["eval_steps"]),
                 margin=float(s["margin"]), amp=s.get("amp", "fp32"), select=s.get("select", "2019"))
