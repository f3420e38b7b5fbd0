"""How much the speed suite measures, and the names of what it measures (no torch).

Kept apart from :mod:`repro.speed.bench` (which imports torch) so that Table 7's declaration
(``repro/specs/table7.py``), its task (``repro/tasks/speed.py``) and ``sbert-repro bench`` read the same presets
and names without loading torch: which preset a profile measures with decides the profile its records are
filed under, and :data:`INFERSENT_LABEL` is part of the InferSent row's record identity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Mapping

from repro.errors import choose

PAPER_BATCH_SIZE = 32  # not stated in the paper; sentence-transformers' default and ours
SECTIONS = ("encode", "glove", "cross", "e2e")
"""What the suite can measure, in the order it measures them (see :mod:`repro.speed.bench`)."""

INFERSENT_LABEL = "InferSent v1 shape (random weights)"
"""The model InferSent's speed is measured with (the model of its records: changing it re-measures)."""
INFERSENT_SUBSTITUTE = ("random LSTM weights and random 300-d vectors for the words of the sentences, in InferSent "
                        "v1's shape (BiLSTM 2x2048, max pooling, batches of 64): the cost of infersent1.pkl with "
                        "GloVe 840B-300d")


def use_label(handle: str) -> str:
    """The model of the Universal Sentence Encoder's speed records (part of their identity): a TF-Hub handle
    without its host (``google/universal-sentence-encoder-large/3 (TF-Hub)``), a local folder by its name."""
    if "://" in handle:
        return handle.split("://", 1)[1].split("/", 1)[-1].rstrip("/") + " (TF-Hub)"
    return f"{handle.rstrip('/').rsplit('/', 1)[-1]} (SavedModel)"


def glove_substitute(name: str) -> str:
    """What stands in for the paper's GloVe 840B-300d when ``name``'s vectors are averaged."""
    if name == "glove-6B-50d":
        return "GloVe 6B-50d (uncased, from PyPI) instead of 840B-300d"
    return f"{name} instead of GloVe 840B-300d"


@dataclass(frozen=True)
class Settings:
    """How much to measure. Presets: :data:`PRESETS`; Table 7 picks one per profile (:func:`settings_for`)."""

    name: str
    model: str = "sbert-base"  # sbert-base | smoke-bert
    weights: str = "auto"  # auto | random | real
    n_sentences: int | None = 1000  # STSb sentences encoded (None: all 15,487)
    repeats: int = 3
    warmup_sentences: int = 64
    e2e_n: int | None = 10_000  # sentences of the most-similar-pair search (None: skip)
    e2e_plain: bool = False  # also time the plain (batch-32, fp32) end to end
    e2e_repeats: int = 1
    e2e_target: int | None = None  # report the search over this many sentences, extrapolated from e2e_n (None: no)
    cross_pairs: dict | None = None  # device type -> pairs timed (None: skip)
    glove: str | None = "glove-6B-50d"
    peer: bool = True
    infersent: bool = True  # time InferSent v1's shape (random weights) in the encode section
    infersent_batch_size: int = 64  # the release's default bsize
    use: str | None = None  # a Universal Sentence Encoder (TF-Hub handle or SavedModel folder) timed too (None: not)
    batch_size: int = PAPER_BATCH_SIZE
    precision: str | None = None  # fast path precision (None: the hardware's default)
    token_budget: int | None = None  # fast path token budget (None: the device default)
    sections: tuple = SECTIONS
    seed: int = 0
    max_spread: float = 0.15  # rounds of a case disagreeing by more: re-measure (then warn)
    retries: int = 1  # extra sets of interleaved rounds for busy or spread measurements

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, Settings] = {
    # CI / tox -e bench: seconds per case on 2 cores
    "short": Settings("short", n_sentences=32, repeats=2, warmup_sentences=8, e2e_n=128, e2e_plain=True,
                      cross_pairs={"cpu": 16, "cuda": 512}, glove="glove-6B-50d"),
    "smoke": Settings("smoke", model="smoke-bert", n_sentences=64, repeats=1, warmup_sentences=8, e2e_n=200,
                      e2e_plain=True, cross_pairs={"cpu": 32, "cuda": 512}, glove="smoke-glove"),
    "local": Settings("local", n_sentences=1000, repeats=3, e2e_n=10_000, e2e_plain=False,
                      cross_pairs={"cpu": 256, "cuda": 8192}),
    # reproduce's default on a machine without Table 7 records (a few minutes on 2 cores): the local preset's cases
    # on fewer sentences; the 10,000-sentence search timed on 1,000 and extrapolated (encode linear, search quadratic);
    # no second set of rounds on a busy machine (which doubles the time): such a row carries its warning instead
    "quick": Settings("quick", n_sentences=128, repeats=3, warmup_sentences=32, e2e_n=1000, e2e_target=10_000,
                      e2e_plain=False, cross_pairs={"cpu": 32, "cuda": 2048}, retries=0),
    "full": Settings("full", n_sentences=None, repeats=3, e2e_n=10_000, e2e_plain=True, e2e_repeats=3,
                     cross_pairs={"cpu": 512, "cuda": 16384}),
}
PROFILE_PRESET = {"smoke": "smoke", "local": "local", "paper": "full"}
QUICK = "quick"
"""The preset ``reproduce --speed quick`` measures with (and ``--speed auto`` where no full records exist here); its
records are filed under the profile itself, their model naming the setting (:func:`setting_suffix`)."""
SPEED_CHOICES = ("auto", "quick", "full")


def setting_suffix(settings: Settings) -> str:
    """What a row's model label says after the hardware: ``", quick setting"`` for the quick preset, else nothing
    (so quick and full measurements of one machine are separate rows, never averaged or mixed)."""
    return ", quick setting" if settings.name == QUICK else ""


def preset(name: str, **overrides) -> Settings:
    s = PRESETS[choose(name, PRESETS, "benchmark preset")]
    return replace(s, **overrides) if overrides else s


def settings_for(knobs: Mapping, profile_name: str, **overrides) -> Settings:
    """The settings profile ``profile_name`` measures with: the preset its table knobs name (``preset``; default:
    the profile's own, :data:`PROFILE_PRESET`), its other knobs, then ``overrides``, over that preset's fields."""
    own = {k: v for k, v in knobs.items() if k != "rows"}
    name = own.pop("preset", PROFILE_PRESET.get(profile_name, "local"))
    return preset(name, **{**own, **overrides})


def record_profile(profile_name: str, settings: Settings) -> str:
    """The profile records measured with ``settings`` are filed under: the profile's own name for its own preset,
    else ``<profile>-<preset>`` (so a short measurement never replaces the profile's full one)."""
    own = PROFILE_PRESET.get(profile_name)
    if own in (None, settings.name) or settings.name == QUICK:  # quick rows name their setting in the model label
        return profile_name
    return f"{profile_name}-{settings.name}"
