"""The objective registry (repro/training/objectives.py), the torch-free Stage declaration and the one place for
training defaults (repro/training/settings.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch.nn import functional as F

from repro.errors import ConfigError
from repro.training import settings as S
from repro.training.command import stage_from_args
from repro.training.losses import SiameseLoss, build_objective
from repro.training.objectives import (DEV_SETS, OBJECTIVES, TRAIN_DATA, Objective, get_objective,
                                       register_objective, resolve)
from repro.training.recipes import build_model, load_trained, run_stage, stage_datasets, train_config
from repro.training.stage import Stage
from repro.training.trainer import TrainConfig


class EntailmentCosine(SiameseLoss, Objective):
    """A new objective in one class: on NLI pairs, MSE between cos(u, v) and 1 for entailment, 0 otherwise."""

    name = "test-entailment-cosine"
    data = ("nli",)

    def collate(self, examples) -> dict:
        return {"a": self.encoder.tokenize([e.s1 for e in examples]),
                "b": self.encoder.tokenize([e.s2 for e in examples]),
                "target": torch.tensor([float(e.label == 1) for e in examples])}  # entailment = 1

    def forward(self, batch: dict) -> torch.Tensor:
        cos = F.cosine_similarity(self.encoder(batch["a"]).float(), self.encoder(batch["b"]).float(), dim=-1)
        return F.mse_loss(cos, batch["target"].to(cos.device))


@pytest.fixture
def registered():
    register_objective(EntailmentCosine)
    yield EntailmentCosine
    OBJECTIVES.pop(EntailmentCosine.name)


def _stage(base, **kw) -> Stage:
    return Stage(**{"kind": "sbert", "objective": EntailmentCosine.name, "data": "nli", "base": str(base),
                    "nli_source": "snli-senteval-devtest", **kw})


def test_a_new_objective_is_one_registered_class(registered, smoke_bert, data_root, tmp_path):
    stage = _stage(smoke_bert, data_limit=24, dev_limit=20, max_steps=3, batch_size=8, lr=1e-3, eval_steps=2,
                   checkpoint_steps=2)
    assert stage.name == "sbert-test-entailment-cosine-nli-mean-seed0" and stage.scored
    assert stage_datasets(stage) == ("nli", "stsb")  # its data's and the dev set it declares (STSb dev)
    assert isinstance(build_model(stage, smoke_bert, device="cpu"), EntailmentCosine)
    result = run_stage(stage, tmp_path, data_root=data_root, device="cpu", progress=False, echo=lambda m: None)
    assert result.steps == 3 and [h["step"] for h in result.history if "dev" in h] == [2, 3]
    trained = load_trained(stage, result.model_dir, device="cpu")
    untuned = load_trained(stage, smoke_bert, device="cpu")
    sents = ["a man is playing a guitar.", "two dogs run on the beach."]
    assert not torch.allclose(torch.as_tensor(trained.encode(sents)), torch.as_tensor(untuned.encode(sents)))


def test_an_objective_unknown_or_on_data_it_does_not_accept_is_refused(registered, smoke_bert):
    OBJECTIVES.pop(registered.name)
    with pytest.raises(ConfigError, match="unknown objective 'test-entailment-cosine'; allowed: classification, "
                                          "regression, triplet$"):
        _stage(smoke_bert)
    register_objective(registered)
    with pytest.raises(ConfigError, match=r"training stage sbert-test-entailment-cosine-stsb-train-mean-seed0: "
                                          r"objective 'test-entailment-cosine' does not train a sbert model on data "
                                          r"'stsb-train'; allowed .*: classification on nli \(sbert, cross\); "
                                          r"regression on stsb-train, afs \(sbert, cross\); triplet on wikisec "
                                          r"\(sbert\); test-entailment-cosine on nli \(sbert\)$"):
        Stage(kind="sbert", objective=registered.name, data="stsb-train", base=str(smoke_bert))
    with pytest.raises(ConfigError, match="objective 'test-entailment-cosine' does not train a cross model"):
        _stage(smoke_bert, kind="cross")
    for kind, objective, data in (("sbert", "regression", "nli"), ("sbert", "classification", "stsb-train"),
                                  ("cross", "triplet", "wikisec"), ("sbert", "triplet", "afs")):
        with pytest.raises(ConfigError, match=f"objective '{objective}' does not train a {kind} model on data "
                                              f"'{data}'"):
            Stage(kind=kind, objective=objective, data=data, base="m",
                  fold=(("setting", "cross-topic"), ("fold", "test=DP"), ("kfold", None), ("fold_seed", None),
                        ("limit", None)) if data == "afs" else ())


def test_a_declaration_is_checked_when_registered():
    def declare(**attrs):
        return type("Bad", (Objective,), {"name": "test-bad", "data": ("nli",), **attrs})

    with pytest.raises(ConfigError, match="unknown training data of objective class .*Bad 'sick'; allowed: "
                                          "stsb-train, nli, afs, wikisec"):
        register_objective(declare(data=("sick",)))
    with pytest.raises(ConfigError, match="a cross-encoder objective sets cross_labels"):
        register_objective(declare(kinds=("sbert", "cross")))
    with pytest.raises(ConfigError, match="unknown dev set of objective class .*Bad 'sts12'"):
        register_objective(declare(dev="sts12"))
    with pytest.raises(ConfigError, match="the name 'regression' is taken by Regression"):
        register_objective(declare(name="regression"))
    assert "test-bad" not in OBJECTIVES


def test_built_in_objectives_build_the_paper_modules(smoke_bert):
    from repro.encoders.transformer import SentenceEncoder
    from repro.training.losses import CosineSimilarityLoss, SoftmaxLoss, TripletLoss

    enc = SentenceEncoder(smoke_bert, normalize=False, device="cpu")
    nli = Stage(kind="sbert", objective="classification", data="nli", base="m", concat="(u, v)")
    soft = get_objective("classification").build(nli, enc)
    assert isinstance(soft, SoftmaxLoss) and soft.parts == ("u", "v") and soft.num_labels == 3
    trip = get_objective("triplet").build(Stage(kind="sbert", objective="triplet", data="wikisec", base="m",
                                                margin=0.5), enc)
    assert isinstance(trip, TripletLoss) and (trip.distance, trip.margin) == ("euclidean", 0.5)
    assert isinstance(build_objective("regression", enc), CosineSimilarityLoss)
    # a cross-encoder is scored only through a one-output head; AFS folds have no dev set
    assert get_objective("classification").dev_set("cross") is None
    assert not Stage(kind="cross", objective="classification", data="nli", base="m").scored
    assert Stage(kind="cross", objective="regression", data="stsb-train", base="m").dev_set == "stsb-dev"
    assert Stage(kind="sbert", objective="triplet", data="wikisec", base="m").dev_set == "wikisec-validation"
    # every reference of the declarations resolves (they are imported only when a stage trains)
    refs = [d.examples for d in TRAIN_DATA.values()] + [d.evaluator for d in DEV_SETS.values()]
    assert all(callable(resolve(r)) for r in refs) and len(refs) == len(TRAIN_DATA) + len(DEV_SETS)
    assert all(issubclass(o.module_class(), torch.nn.Module) for o in OBJECTIVES.values())


def test_training_defaults_are_the_2019_settings_everywhere():
    # The values the committed records and run folders were produced with: changing one changes their identity.
    assert S.DEFAULTS == {"epochs": 1, "batch_size": 16, "lr": 2e-5, "max_seq_length": 128, "seed": 0,
                          "eval_steps": 1000, "checkpoint_steps": 500, "keep": "best", "amp": "fp32",
                          "select": "2019", "margin": 1.0, "eval_counting": "global", "truncation": "total"}
    # (eval_counting and truncation: the suite's own, not v0.2.3's; the paper profile sets v0.2.3's per stage)
    stage = Stage(kind="sbert", objective="regression", data="stsb-train", base="m")
    assert {k: getattr(stage, k) for k in S.DEFAULTS} == S.DEFAULTS
    config = TrainConfig()
    assert {k: getattr(config, k) for k in S.DEFAULTS if hasattr(config, k)} == {
        k: v for k, v in S.DEFAULTS.items() if hasattr(config, k)}
    assert train_config(stage) == config
    assert (config.adam_eps, config.weight_decay, config.warmup_ratio, config.max_grad_norm) == (1e-6, 0.01, 0.1, 1.0)
    from repro.cli import build_parser  # the shared flags (--model, --precision, ...) are the command line's

    parser = build_parser()
    args = parser.parse_args(["train", "--model", "m", "--data", "nli"])
    assert (stage_from_args(args).amp, args.batch_size, args.lr, args.seed, args.eval_steps, args.checkpoint_steps,
            args.keep) == ("fp32", 16, 2e-5, 0, 1000, 500, "best")
    assert (args.eval_counting, args.truncation) == (S.EVAL_COUNTING, S.TRUNCATION)
    v023 = stage_from_args(parser.parse_args(["train", "--model", "m", "--data", "stsb-train", "--eval-counting",
                                              "per-epoch", "--truncation", "pieces+2"]))
    assert (v023.eval_counting, v023.truncation) == ("per-epoch", "pieces+2")
    assert (TRAIN_DATA["nli"].epochs, TRAIN_DATA["stsb-train"].epochs) == (
        S.PAPER_TRAINING["nli_epochs"], S.PAPER_TRAINING["stsb_epochs"]) == (1, 4)


def test_the_declaration_imports_no_torch():
    code = ("import sys\n"
            "from repro.training.stage import Stage, nli_stage, stage_datasets\n"
            "import repro.training.recipes, repro.training.command, repro.training.objectives\n"
            "st = nli_stage({}, 'bert-base-uncased')\n"
            "assert stage_datasets(st) == ('snli', 'multinli', 'stsb') and st.scored\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
