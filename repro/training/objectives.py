"""What trains on what, declared once and torch-free (the table declarations and ``sbert-repro plan`` read it):
the kinds of training data (:data:`TRAIN_DATA`), the dev sets that pick a kept model (:data:`DEV_SETS`), the
objectives (:data:`OBJECTIVES`, a registry) and Table 6's concatenations.

An objective is one registered class (:class:`Objective`): its name, the training data and model kinds it
accepts, the dev set that picks its model, and how its torch module is built (``implementation``, a
``"module:Class"`` imported only when a stage trains). :class:`repro.training.stage.Stage` checks objective x data
x kind here, and :mod:`repro.training.recipes` builds and scores through it, so a new objective is one class::

    @register_objective
    class Contrastive(SiameseLoss, Objective):      # SiameseLoss: repro.training.losses (collate, export, ...)
        name, data = "contrastive", ("nli",)
        def collate(self, examples): ...
        def forward(self, batch): ...               # -> the loss

(a built-in one keeps its declaration here and its module in :mod:`repro.training.losses`, so that this module
imports no torch). A new kind of training data is one :class:`TrainData` in :data:`TRAIN_DATA` (its examples
loader, datasets and paper epochs) and the objectives that accept it.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Sequence

from repro.errors import ConfigError, choose
from repro.training.settings import TRIPLET_MARGIN

if TYPE_CHECKING:  # pragma: no cover
    from repro.training.stage import Stage

KINDS = ("sbert", "cross")
"""Model kinds: ``sbert`` (bi-encoder, siamese) or ``cross`` (the BERT cross-encoder baseline)."""

CONCATENATIONS: dict[str, tuple[str, ...]] = {
    "(u, v)": ("u", "v"),
    "(|u-v|)": ("|u-v|",),
    "(u*v)": ("u*v",),
    "(|u-v|, u*v)": ("|u-v|", "u*v"),
    "(u, v, u*v)": ("u", "v", "u*v"),
    "(u, v, |u-v|)": ("u", "v", "|u-v|"),
    "(u, v, |u-v|, u*v)": ("u", "v", "|u-v|", "u*v"),
}
"""Table 6's seven concatenations, by the names the paper prints; the default is ``(u, v, |u-v|)``."""

DEFAULT_CONCAT = "(u, v, |u-v|)"
DISTANCES = ("euclidean", "cosine", "manhattan")
PAPER_TRIPLET_MARGIN = TRIPLET_MARGIN
NLI_LABELS = 3  # contradiction, entailment, neutral


def concat_parts(name: str | Sequence[str]) -> tuple[str, ...]:
    """The parts of a concatenation given by name: ``"(u, v, |u-v|)"``, ``"u,v,|u-v|"`` or ``("u", "v", "|u-v|")``."""
    key = ",".join(name) if not isinstance(name, str) else name
    key = re.sub(r"[\s()]", "", key)
    for canonical, parts in CONCATENATIONS.items():
        if key == ",".join(parts):
            return parts
    raise ConfigError(f"unknown concatenation {name!r}; allowed: {'; '.join(CONCATENATIONS)}")


def concat_name(name: str | Sequence[str]) -> str:
    parts = concat_parts(name)
    return next(k for k, v in CONCATENATIONS.items() if v == parts)


def resolve(ref: str) -> Any:
    """The object a ``"package.module:name"`` reference names (imported on first use)."""
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


# ----------------------------------------------------------------------------------------- training data


@dataclass(frozen=True)
class TrainData:
    """One kind of training data a stage may name (``Stage.data``).

    ``examples``: ``"module:function"``, ``function(stage, data_root) -> list`` of examples
    (:mod:`repro.training.data`: pairs with a class id or a score, triplets), imported when a stage trains;
    ``datasets``: the manifest names it reads (``by_source``: per ``Stage.nli_source`` where that chooses them);
    ``objective``: the one it trains with when none is named (``sbert-repro train``); ``epochs``: the paper's;
    ``dev``: whether a dev score may pick the kept model (an AFS fold has no dev set: the last model is kept).
    """

    name: str
    what: str
    examples: str
    datasets: tuple[str, ...]
    objective: str
    epochs: int
    dev: bool = True
    by_source: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def datasets_for(self, stage: "Stage") -> tuple[str, ...]:
        return self.by_source.get(stage.nli_source, self.datasets) if self.by_source else self.datasets


TRAIN_DATA: dict[str, TrainData] = {d.name: d for d in (
    TrainData("stsb-train", "STSb train pairs, gold score / 5", "repro.training.recipes:stsb_examples",
              ("stsb",), objective="regression", epochs=4),
    TrainData("nli", "NLI pairs with class ids (repro.data.nli.NLI_TRAIN_SOURCES)",
              "repro.training.recipes:nli_train_examples", ("snli", "multinli"), objective="classification",
              epochs=1, by_source={"snli-senteval-devtest": ("nli",), "allnli": ("allnli",)}),
    # The paper gives no AFS recipe: the reference code's STSb one (4 epochs).
    TrainData("afs", "the training pairs of one AFS fold (Stage.fold), gold score / 5",
              "repro.training.recipes:afs_examples", ("afs",), objective="regression", epochs=4, dev=False),
    TrainData("wikisec", "Wikipedia-sections training triplets", "repro.training.recipes:wikisec_examples",
              ("wikisec",), objective="triplet", epochs=1),
)}
"""What a stage trains on, by name (the order is the one error messages list)."""


@dataclass(frozen=True)
class DevSet:
    """A dev set that picks the kept model: its datasets and ``evaluator``, ``"module:function"``,
    ``function(limit, data_root, select=...) -> evaluate(model) -> score or {"score": ..., <parts>: ...}``."""

    name: str
    datasets: tuple[str, ...]
    evaluator: str


DEV_SETS: dict[str, DevSet] = {d.name: d for d in (
    DevSet("stsb-dev", ("stsb",), "repro.training.recipes:stsb_dev_evaluator"),
    DevSet("wikisec-validation", ("wikisec",), "repro.training.recipes:triplet_dev_evaluator"),
)}


# -------------------------------------------------------------------------------------------- objectives


class Objective:
    """A training objective, declared by class attributes (read without building anything).

    ``name``: what ``Stage.objective`` says; ``data``: the :data:`TRAIN_DATA` it accepts; ``kinds``: the model
    kinds it trains (:data:`KINDS`); ``cross_labels``: the outputs of the cross-encoder's head, where ``cross`` is
    accepted; ``dev``: the :data:`DEV_SETS` entry whose score picks the kept model (None: the last one is kept);
    ``implementation``: ``"module:Class"`` of the torch module (``Class(encoder, **arguments(stage))`` with
    ``collate``, ``forward -> loss``, ``export``: see :class:`repro.training.losses.SiameseLoss`), or None when
    this class is that module itself.
    """

    name: ClassVar[str] = ""
    data: ClassVar[tuple[str, ...]] = ()
    kinds: ClassVar[tuple[str, ...]] = ("sbert",)
    cross_labels: ClassVar[int | None] = None
    dev: ClassVar[str | None] = "stsb-dev"
    implementation: ClassVar[str | None] = None

    @classmethod
    def accepts(cls, kind: str, data: str) -> bool:
        return kind in cls.kinds and data in cls.data

    @classmethod
    def dev_set(cls, kind: str) -> str | None:
        """The dev set that scores a ``kind`` model of this objective: a cross-encoder is scored through its one
        output (its similarity), so a many-output head (NLI classes) has none."""
        if kind == "cross" and cls.cross_labels != 1:
            return None
        return cls.dev

    @classmethod
    def check(cls, stage: "Stage") -> None:
        """Settings of ``stage`` this objective cannot train with: raise a ConfigError naming them."""

    @classmethod
    def label(cls, stage: "Stage") -> str:
        """What the run folder name adds for this objective (e.g. the concatenation)."""
        return ""

    @classmethod
    def arguments(cls, stage: "Stage") -> dict:
        """Keyword arguments of the torch module for ``stage``."""
        return {}

    @classmethod
    def module_class(cls) -> type:
        return resolve(cls.implementation) if cls.implementation else cls

    @classmethod
    def build(cls, stage: "Stage", encoder):
        """The trainable module of ``stage`` around ``encoder`` (a sentence encoder, shared by both inputs)."""
        return cls.module_class()(encoder, **cls.arguments(stage))


OBJECTIVES: dict[str, type[Objective]] = {}
"""The registered objectives by name (built-ins first)."""


def register_objective(cls: type[Objective]) -> type[Objective]:
    """Add ``cls`` to :data:`OBJECTIVES` (a class decorator); its declaration is checked here."""
    where = f"objective class {cls.__module__}.{cls.__qualname__}"
    if not cls.name:
        raise ConfigError(f"{where}: set its name")
    if OBJECTIVES.get(cls.name, cls) is not cls:
        raise ConfigError(f"{where}: the name {cls.name!r} is taken by {OBJECTIVES[cls.name].__qualname__}")
    if not cls.data:
        raise ConfigError(f"{where}: name the training data it accepts (data = one or more of {', '.join(TRAIN_DATA)})")
    for d in cls.data:
        choose(d, TRAIN_DATA, f"training data of {where}")
    for k in cls.kinds:
        choose(k, KINDS, f"model kind of {where}")
    if "cross" in cls.kinds and not (cls.cross_labels or 0) >= 1:
        raise ConfigError(f"{where}: a cross-encoder objective sets cross_labels (the outputs of its head)")
    if cls.dev is not None:
        choose(cls.dev, DEV_SETS, f"dev set of {where}")
    OBJECTIVES[cls.name] = cls
    return cls


def get_objective(name: str) -> type[Objective]:
    return OBJECTIVES[choose(name, OBJECTIVES, "objective")]


def allowed_combinations() -> str:
    """Every objective with the data and model kinds it accepts, in words (for error messages)."""
    return "; ".join(f"{o.name} on {', '.join(o.data)} ({', '.join(o.kinds)})" for o in OBJECTIVES.values())


@register_objective
class Classification(Objective):
    """SBERT-NLI (paper §3.1): ``softmax(W_t · concat(u, v, ...))`` with cross-entropy over the NLI classes; the
    cross-encoder: a head of as many outputs (NLI before STSb: no dev score, the last model is kept)."""

    name = "classification"
    data = ("nli",)
    kinds = ("sbert", "cross")
    cross_labels = NLI_LABELS
    implementation = "repro.training.losses:SoftmaxLoss"

    @classmethod
    def label(cls, stage):
        return f"-{stage.concat}" if stage.kind == "sbert" else ""

    @classmethod
    def arguments(cls, stage):
        return {"num_labels": NLI_LABELS, "concat": stage.concat}


@register_objective
class Regression(Objective):
    """SBERT-STSb (paper §4.2), SBERT-AFS (§4.3): MSE between ``cos(u, v)`` and the gold score / 5; the
    cross-encoder: one output trained with MSE."""

    name = "regression"
    data = ("stsb-train", "afs")
    kinds = ("sbert", "cross")
    cross_labels = 1
    implementation = "repro.training.losses:CosineSimilarityLoss"


@register_objective
class Triplet(Objective):
    """SBERT-WikiSec (paper §4.4): ``max(d(a, p) - d(a, n) + margin, 0)``, Euclidean distance, ``Stage.margin``;
    the best accuracy on the validation triplets picks the kept model."""

    name = "triplet"
    data = ("wikisec",)
    dev = "wikisec-validation"
    implementation = "repro.training.losses:TripletLoss"

    @classmethod
    def arguments(cls, stage):
        return {"distance": "euclidean", "margin": stage.margin}
