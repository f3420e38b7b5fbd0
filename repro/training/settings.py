"""Training defaults, the one place they are written: the settings of the 2019 reference code (sentence-transformers
v0.2.3 ``fit()``), read by a :class:`repro.training.stage.Stage` (torch-free, checked when a plan is built), the
trainer's :class:`repro.training.trainer.TrainConfig`, ``sbert-repro train``, the profiles (``PAPER_TRAINING``)
and the Table 3 / 4 declarations; plus the allowed values and the one check of a run's settings.

Changing a value here changes the settings of every stage that does not set it, hence their run folders and the
identity of the records trained with them: the values are the ones the committed records were produced with.
"""

from __future__ import annotations

from repro.encoders.base import TRUNCATION_DEFAULT, TRUNCATIONS  # noqa: F401 (TRUNCATIONS: re-exported)
from repro.errors import ConfigError, choose

AMP_MODES = ("auto", "fp32", "bf16", "fp16")
KEEP = ("best", "last")
SELECT = ("2019", "main")
CROSS_HEADS = ("pooler-mse", "sigmoid-bce")
"""The cross-encoder's head and loss (one output, a score in [0, 1]):

* ``pooler-mse`` (default): ``BertForSequenceClassification`` with one label: BERT's pooler (tanh dense layer over
  [CLS]), dropout, a linear layer, mean squared error; the prediction is the linear output. The suite's Table 2
  baseline and the smoke / local profiles' BERT-AFS.
* ``sigmoid-bce``: the AFS authors' ``SigmoidBERT`` (UKPLab/acl2019-BERT-argument-classification-and-clustering,
  argument-similarity/SigmoidBERT.py, the model of train.py that train_misra.sh runs): a linear layer on the raw
  [CLS] vector of the last layer (no pooler; the dropout it declares is never applied), a sigmoid, binary
  cross-entropy against the score / 5; the prediction is the sigmoid output. The paper profile's BERT-AFS.
"""
"""How the dev score that picks the kept (best) model is computed.

* ``2019`` (default): as the 2019 reference code's evaluators did (sentence-transformers v0.2.x,
  ``main_similarity=None`` / ``main_distance_function=None``): on STSb dev, the largest of the Spearman correlations
  under cosine similarity, negative Manhattan and negative Euclidean distance and dot product; on triplets, the
  largest of the cosine, Manhattan and Euclidean accuracies. A cross-encoder has one score, its output.
* ``main``: only the main one: the cosine Spearman (STSb), the Euclidean accuracy (triplets: the objective's distance).
"""

EVAL_COUNTINGS = ("global", "per-epoch")
"""Which step count ``eval_steps`` is counted on (a dev score is also taken at the end of every epoch either way):

* ``global`` (default): the run's global step: with 360 steps per epoch and ``eval_steps`` 1000, a dev score at
  steps 360, 720, 1000, 1080 and 1440 (step 1000 an extra candidate for the kept model). The smoke / local profiles.
* ``per-epoch``: the step within the epoch, as the 2019 reference code's ``fit()`` counted (sentence-transformers
  v0.2.3 resets ``training_steps`` at each epoch and evaluates when ``training_steps % evaluation_steps == 0``, then
  at the epoch's end): a 4-epoch STSb run of 360 steps per epoch is scored at the epoch ends only. The paper
  profile. (Where ``eval_steps`` divides the steps per epoch, v0.2.3 scores the epoch's last model twice; the
  second score is the same number and cannot change the kept model, so it is taken once here.)
"""

# ------------------------------------------------------------------------------------------ the defaults
EPOCHS = 1
BATCH_SIZE = 16
LR = 2e-5
ADAM_EPS = 1e-6
WEIGHT_DECAY = 0.01
CORRECT_BIAS = False  # pytorch_transformers 1.1 AdamW as the reference code called it
WARMUP_RATIO = 0.1
MAX_GRAD_NORM = 1.0
MAX_SEQ_LENGTH = 128
SEED = 0
EVAL_STEPS = 1000  # a dev score every N steps, and at the end of every epoch
CHECKPOINT_STEPS = 500
LOG_STEPS = 50
KEEP_DEFAULT = "best"  # the model with the best dev score (save_best_model=True)
AMP = "fp32"  # as the 2019 code; bf16 / fp16 only when asked (the record and the table then say so)
SELECT_DEFAULT = "2019"
CROSS_HEAD = "pooler-mse"  # a Stage's to_dict() names its head only when it is not this one (record ids kept)
EVAL_COUNTING = "global"  # a Stage's to_dict() names it only when it is not this one (record ids kept)
TRUNCATION = TRUNCATION_DEFAULT  # of an SBERT stage's encoder; to_dict() names it only when not this one
TRIPLET_MARGIN = 1.0  # the paper's epsilon (sentence-transformers has defaulted to 5 since v0.3.5)

DEFAULTS = {"epochs": EPOCHS, "batch_size": BATCH_SIZE, "lr": LR, "max_seq_length": MAX_SEQ_LENGTH, "seed": SEED,
            "eval_steps": EVAL_STEPS, "checkpoint_steps": CHECKPOINT_STEPS, "keep": KEEP_DEFAULT, "amp": AMP,
            "select": SELECT_DEFAULT, "margin": TRIPLET_MARGIN, "eval_counting": EVAL_COUNTING,
            "truncation": TRUNCATION}
"""A stage's run settings by field name (``sbert-repro train`` reads its option defaults here)."""

# ``Profile.training`` (repro/profiles.py) holds the knobs below for Tables 2 and 6; a missing key means this value.
PAPER_TRAINING = {
    "nli_source": "auto",  # see repro.data.nli.NLI_TRAIN_SOURCES
    "nli_epochs": 1,  # = repro.training.objectives.TRAIN_DATA["nli"].epochs (tested)
    "nli_max_steps": None,
    "stsb_epochs": 4,  # = TRAIN_DATA["stsb-train"].epochs (tested)
    "stsb_max_steps": None,
    "train_limit": None,  # first N training pairs (smoke)
    "dev_limit": None,  # first N STSb dev pairs (smoke)
    "eval_steps": EVAL_STEPS,
    "checkpoint_steps": CHECKPOINT_STEPS,
    "batch_size": BATCH_SIZE,
    "amp": AMP,
    "eval_counting": EVAL_COUNTING,  # SBERT stages: which step count eval_steps is counted on (see EVAL_COUNTINGS)
    "truncation": TRUNCATION,  # SBERT stages: what max_seq_length counts (repro.encoders.base.TRUNCATIONS)
    "select": SELECT_DEFAULT,  # how the dev score picks the kept model (see SELECT); "main": the cosine Spearman only
    "nli_seed": 0,  # the seed of the one NLI model that NLI-then-STSb rows continue
    "body_note": None,  # what stands in for the paper's model, in words (tables)
    "nli_note": None,  # what stands in for SNLI + MultiNLI train, in words (tables)
}


def check_run_settings(s) -> None:
    """``keep``, ``amp``, ``epochs``, ``batch_size`` and ``max_steps`` of ``s``: a ConfigError naming the setting."""
    choose(s.keep, KEEP, "keep")
    choose(s.amp, AMP_MODES, "amp")
    if hasattr(s, "select"):
        choose(s.select, SELECT, "select (how the dev score picks the kept model)")
    choose(getattr(s, "eval_counting", EVAL_COUNTING), EVAL_COUNTINGS, "eval_counting (which step eval_steps counts)")
    for name in ("epochs", "batch_size"):
        if int(getattr(s, name)) < 1:
            raise ConfigError(f"{name} must be >= 1, got {getattr(s, name)}")
    if s.max_steps is not None and s.max_steps < 1:
        raise ConfigError(f"max_steps must be >= 1 or None, got {s.max_steps}")
