"""Training runs as data, torch-free: a frozen :class:`Stage` says what to train (objective, data, starting point,
settings); the builders below make the stages of Tables 2-4 and 6 from their knobs. :mod:`repro.training.recipes`
runs a stage (``run_stage``: once, resuming or reusing earlier work).

A stage's run folder is ``<runs root>/<label>-<hash of all its settings>`` (:func:`run_dir_for`); the pipelines use
``$SBERT_REPRO_CACHE/runs/<profile>/`` (the per-user cache, see :mod:`repro.paths`), so one NLI model can serve
Table 6 and the NLI-then-STSb rows of Table 2, and a killed ``reproduce`` picks up mid-run. A stage whose ``base``
is another stage starts from that stage's kept model (SBERT-NLI-STSb = NLI, then STSb).

Every setting is checked when the stage is built, before any model is loaded or step taken: an unknown pooling,
concatenation, objective or data name, or an objective on data it does not accept
(:mod:`repro.training.objectives`), raises a ConfigError listing the allowed values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from pathlib import Path

from repro.data.nli import NLI_TRAIN_SOURCES
from repro.encoders.base import POOLINGS
from repro.errors import ConfigError, choose
from repro.results import slug
from repro.training import settings as S
from repro.training.objectives import (DEFAULT_CONCAT, DEV_SETS, KINDS, TRAIN_DATA, allowed_combinations,
                                       concat_name, get_objective)
from repro.training.settings import PAPER_TRAINING, check_run_settings

AFS_FOLD_KEYS = ("setting", "fold", "kfold", "fold_seed", "limit")
AFS_SETTINGS = ("10-fold", "cross-topic")


@dataclass(frozen=True)
class Stage:
    """One training run.

    ``kind``: ``sbert`` (bi-encoder, siamese) or ``cross`` (cross-encoder); ``objective``: a name in
    :data:`repro.training.objectives.OBJECTIVES`, which says the data and kinds it accepts; ``data``: one of
    :data:`repro.training.objectives.TRAIN_DATA` (``nli`` from ``nli_source``, see
    :data:`repro.data.nli.NLI_TRAIN_SOURCES`; ``afs``: the training pairs of the fold named by ``fold``, ``(("fold",
    ...), ("fold_seed", ...), ("kfold", ...), ("limit", ...), ("setting", ...))``, both orders of each pair with
    ``symmetric``); ``base``: model id / folder, or the Stage to continue from. ``data_limit`` / ``dev_limit`` cut the
    training / dev data to their first examples (smoke profile; ``dev_limit=0``: no dev score, the last model is
    kept); ``max_steps`` caps the steps (local profile). ``select``: how the dev score that picks the kept model is
    computed (:data:`repro.training.settings.SELECT`; ``2019`` as the reference code). ``margin``: the triplet
    objective's margin. ``head``: a cross-encoder's head and loss (:data:`repro.training.settings.CROSS_HEADS`;
    ``cross`` kind, one-output objectives only). ``eval_counting``: which step count ``eval_steps`` is counted on
    (:data:`repro.training.settings.EVAL_COUNTINGS`; ``per-epoch`` as the 2019 code). ``truncation``: what the SBERT
    encoder's ``max_seq_length`` counts (:data:`repro.encoders.base.TRUNCATIONS`; ``sbert`` kind only: the
    cross-encoder is not the 2019 code's). Defaults: :mod:`repro.training.settings`.

    Every field is part of :meth:`to_dict`, hence of the run folder's hash and of the records trained with it;
    ``head``, ``eval_counting`` and ``truncation`` only where they are not the default (so the stages written before
    they existed keep their identity).
    """

    kind: str
    objective: str
    data: str
    base: "str | Stage"
    pooling: str = "mean"
    concat: str = DEFAULT_CONCAT
    nli_source: str = PAPER_TRAINING["nli_source"]
    data_limit: int | None = None
    dev_limit: int | None = None
    epochs: int = S.EPOCHS
    max_steps: int | None = None
    seed: int = S.SEED
    batch_size: int = S.BATCH_SIZE
    lr: float = S.LR
    max_seq_length: int = S.MAX_SEQ_LENGTH
    eval_steps: int = S.EVAL_STEPS
    checkpoint_steps: int = S.CHECKPOINT_STEPS
    keep: str = S.KEEP_DEFAULT
    amp: str = S.AMP
    select: str = S.SELECT_DEFAULT
    symmetric: bool = False
    margin: float = S.TRIPLET_MARGIN
    fold: tuple = ()
    head: str = S.CROSS_HEAD
    eval_counting: str = S.EVAL_COUNTING
    truncation: str = S.TRUNCATION

    def __post_init__(self):
        choose(self.kind, KINDS, "model kind")
        choose(self.data, TRAIN_DATA, "training data")
        objective = get_objective(self.objective)
        choose(self.pooling, POOLINGS, "pooling")
        object.__setattr__(self, "concat", concat_name(self.concat))
        if self.data == "afs":
            got = dict(self.fold)
            if sorted(got) != sorted(AFS_FOLD_KEYS):
                raise ConfigError(f"an AFS stage names its fold with the keys {', '.join(AFS_FOLD_KEYS)}; got "
                                  f"{', '.join(sorted(got)) or 'none'}")
            choose(got["setting"], AFS_SETTINGS, "AFS training setting")
            object.__setattr__(self, "fold", tuple(sorted(got.items())))
        elif self.fold:
            raise ConfigError(f"'fold' is for AFS stages only, not data {self.data!r}")
        if not objective.accepts(self.kind, self.data):
            raise ConfigError(f"training stage {self.name}: objective {self.objective!r} does not train a "
                              f"{self.kind} model on data {self.data!r}; allowed (objective on data (model kinds)): "
                              f"{allowed_combinations()}")
        objective.check(self)
        choose(self.head, S.CROSS_HEADS, "cross-encoder head")
        if self.head != S.CROSS_HEAD and (self.kind != "cross" or objective.cross_labels != 1):
            raise ConfigError(f"training stage {self.name}: head {self.head!r} is a one-output cross-encoder's "
                              f"(kind 'cross', a regression objective), not kind {self.kind!r} with objective "
                              f"{self.objective!r}; leave head at {S.CROSS_HEAD!r}")
        choose(self.truncation, S.TRUNCATIONS, "truncation (what max_seq_length counts)")
        if self.truncation != S.TRUNCATION and self.kind != "sbert":
            raise ConfigError(f"training stage {self.name}: truncation {self.truncation!r} is an SBERT encoder's "
                              f"(kind 'sbert'), not kind {self.kind!r}; leave truncation at {S.TRUNCATION!r}")
        choose(self.nli_source, NLI_TRAIN_SOURCES, "NLI training source")
        check_run_settings(self)  # torch-free here; the trainer's TrainConfig checks them again

    @property
    def scored(self) -> bool:
        """Whether a dev score picks the kept model: not where the data has no dev set (AFS folds), the objective
        none for this kind (a cross-encoder's NLI head: no similarity to rank), or ``dev_limit=0``."""
        return self.dev_set is not None

    @property
    def dev_set(self) -> str | None:
        """The :data:`repro.training.objectives.DEV_SETS` entry whose score picks the kept model (None: the last)."""
        if not TRAIN_DATA[self.data].dev or self.dev_limit == 0:
            return None
        return get_objective(self.objective).dev_set(self.kind)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["base"] = self.base.to_dict() if isinstance(self.base, Stage) else str(self.base)
        # added later: a default stays out, so earlier stages keep their hash
        for name, default in (("head", S.CROSS_HEAD), ("eval_counting", S.EVAL_COUNTING),
                              ("truncation", S.TRUNCATION)):
            if d[name] == default:
                del d[name]
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
        what += get_objective(self.objective).label(self)
        if isinstance(self.base, Stage):  # e.g. STSb regression continued from an NLI model
            what += f"-after-{self.base.data}"
        return f"{what}-seed{self.seed}"


def stage_datasets(stage: Stage) -> tuple[str, ...]:
    """The datasets (names of :mod:`repro.data.manifest`) ``stage`` reads: its training data and its dev set."""
    train = TRAIN_DATA[stage.data].datasets_for(stage)
    dev = DEV_SETS[stage.dev_set].datasets if stage.scored else ()
    return tuple(dict.fromkeys((*train, *dev)))


def run_dir_for(stage: Stage, runs_root) -> Path:
    return Path(runs_root) / f"{slug(stage.name)}-{stage.key}"


# ------------------------------------------------------------------------------------ from profile settings
STSB_TRAIN_PAIRS = 5749


def _t(training: dict, key: str):
    return training.get(key, PAPER_TRAINING[key])


def _common(training: dict, kind: str) -> dict:
    """The settings every Table 2 / 6 stage takes from the profile; the 2019 code's step counting and truncation
    (``eval_counting``, ``truncation``) for the SBERT stages only (the cross-encoder baseline was not trained with
    its ``fit()``)."""
    out = {"data_limit": _t(training, "train_limit"), "dev_limit": _t(training, "dev_limit"),
           "eval_steps": _t(training, "eval_steps"), "checkpoint_steps": _t(training, "checkpoint_steps"),
           "batch_size": _t(training, "batch_size"), "amp": _t(training, "amp"), "select": _t(training, "select")}
    if kind == "sbert":
        out.update(eval_counting=_t(training, "eval_counting"), truncation=_t(training, "truncation"))
    return out


def nli_stage(training: dict, base, *, pooling: str = "mean", concat: str = DEFAULT_CONCAT, seed: int = 0,
              kind: str = "sbert") -> Stage:
    """SBERT-NLI (paper §3.1): 3-way softmax over ``concat`` on NLI, 1 epoch."""
    return Stage(kind=kind, objective="classification", data="nli", base=base, pooling=pooling, concat=concat,
                 nli_source=_t(training, "nli_source"), epochs=_t(training, "nli_epochs"),
                 max_steps=_t(training, "nli_max_steps"), seed=seed, **_common(training, kind))


def stsb_stage(training: dict, base, *, pooling: str = "mean", seed: int = 0, kind: str = "sbert") -> Stage:
    """SBERT-STSb (paper §4.2): regression objective on STSb train, 4 epochs."""
    return Stage(kind=kind, objective="regression", data="stsb-train", base=base, pooling=pooling,
                 epochs=_t(training, "stsb_epochs"),
                 max_steps=_t(training, "stsb_max_steps"), seed=seed, **_common(training, kind))


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
    if _t(training, "amp") != S.AMP:
        parts.append(f"mixed precision {_t(training, 'amp')} (the 2019 code trained in fp32)")
    if _t(training, "select") != S.SELECT_DEFAULT:
        parts.append("kept model chosen by the cosine Spearman on STSb dev only (the 2019 code: the best of cosine, "
                     "Manhattan, Euclidean and dot-product Spearman)")
    if _t(training, "train_limit"):
        parts.append(f"first {_t(training, 'train_limit')} training pairs only")
    if _t(training, "dev_limit"):
        parts.append(f"dev score on the first {_t(training, 'dev_limit')} STSb dev pairs")
    return "; ".join(parts)


AFS_CHECKPOINT_STEPS = 200


def afs_stage(*, model: str, kind: str, pooling: str | None, setting: str, fold: str, training: dict,
              knobs: dict) -> Stage:
    """One AFS fold's training run (Table 3): SBERT-AFS (``sbert``: regression objective) or BERT-AFS (``cross``:
    a one-output head, ``training["head"]``, :data:`repro.training.settings.CROSS_HEADS`); ``training``: Table 3's
    settings of that kind (repro/specs/table3.py: DEFAULT_TRAINING); ``knobs``: its ``limit``, ``kfold`` and
    ``fold_seed``. No dev set: the last model is kept."""
    ten = setting == "10-fold"
    where = {"setting": setting, "fold": fold, "limit": knobs.get("limit"),
             "kfold": int(knobs.get("kfold", 10)) if ten else None,
             "fold_seed": int(knobs.get("fold_seed", 0)) if ten else None}
    return Stage(kind=kind, objective="regression", data="afs", base=model, pooling=pooling or "mean",
                 head=training.get("head", S.CROSS_HEAD), epochs=int(training["epochs"]),
                 batch_size=int(training["batch_size"]), lr=float(training["lr"]),
                 seed=int(training["seed"]), max_steps=training["max_steps"],
                 max_seq_length=int(training["max_seq_length"]), symmetric=bool(training["symmetric"]),
                 eval_steps=0, checkpoint_steps=AFS_CHECKPOINT_STEPS, keep="last", amp=training.get("amp", S.AMP),
                 fold=tuple(sorted(where.items())))


def triplet_stage(*, model: str, training: dict) -> Stage:
    """SBERT on the Wikipedia-sections triplets (Table 4): triplet objective, Euclidean distance, the best model on
    the first ``dev_limit`` validation triplets kept (``training``: repro/specs/table4.py's knobs)."""
    s = training
    return Stage(kind="sbert", objective="triplet", data="wikisec", base=model, pooling=s["pooling"],
                 data_limit=s["train_limit"], dev_limit=s["dev_limit"], epochs=int(s["epochs"]),
                 max_steps=s["max_steps"], seed=int(s["seed"]), batch_size=int(s["batch_size"]), lr=float(s["lr"]),
                 max_seq_length=int(s["max_seq_length"]), eval_steps=int(s["eval_steps"]),
                 margin=float(s["margin"]), amp=s.get("amp", S.AMP), select=s.get("select", S.SELECT_DEFAULT))
