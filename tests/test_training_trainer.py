"""The training loop on the smoke BERT: determinism, resume after a kill, checkpoints, logs, divergence."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from repro.data.sts import load_stsb
from repro.encoders.transformer import SentenceEncoder
from repro.errors import ConfigError, ReproError
from repro.training.data import PairExample, epoch_batches, sts_examples
from repro.training.losses import build_objective
from repro.training.recipes import Stage, stsb_dev_evaluator
from repro.training.schedule import warmup_linear
from repro.training.trainer import TrainConfig, TrainingDiverged, seed_everything, train

# 40 pairs, batch 8: 5 steps per epoch, 2 epochs = 10 steps; a large lr so that every step moves the dev score.
CONFIG = TrainConfig(epochs=2, batch_size=8, lr=1e-3, eval_steps=2, checkpoint_steps=2, log_steps=1, seed=3)


class Kill(Exception):
    pass


@pytest.fixture(scope="module")
def examples(data_root):
    return sts_examples(load_stsb("train", root=data_root).head(40))


@pytest.fixture(scope="module")
def evaluate(data_root):
    return stsb_dev_evaluator(limit=40, data_root=data_root)


def objective(smoke_bert, seed=CONFIG.seed, name="regression", pooling="mean"):
    seed_everything(seed)
    enc = SentenceEncoder(smoke_bert, pooling=pooling, normalize=False, max_seq_length=64, device="cpu")
    return build_objective(name, enc)


def weights(obj) -> dict:
    return {k: v.detach().clone() for k, v in obj.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def dev_scores(result) -> list:
    return [(h["step"], h["dev"]) for h in result.history if "dev" in h]


@pytest.fixture(scope="module")
def reference(smoke_bert, examples, evaluate, tmp_path_factory):
    """One uninterrupted run (keeps the last model so its weights can be compared)."""
    obj = objective(smoke_bert)
    cfg = TrainConfig(**{**CONFIG.to_dict(), "keep": "last"})
    res = train(obj, examples, cfg, tmp_path_factory.mktemp("ref"), evaluate, progress=False, echo=lambda m: None)
    return res, weights(obj)


def test_two_cpu_runs_with_one_seed_are_identical(smoke_bert, examples, evaluate, reference, tmp_path):
    ref, ref_w = reference
    obj = objective(smoke_bert)
    res = train(obj, examples, TrainConfig(**{**CONFIG.to_dict(), "keep": "last"}), tmp_path, evaluate,
                progress=False, echo=lambda m: None)
    assert dev_scores(res) == dev_scores(ref) and len(dev_scores(ref)) == 6  # steps 2, 4, 5 (epoch end), 6, 8, 10
    assert same_weights(weights(obj), ref_w)
    assert len({s for _, s in dev_scores(ref)}) > 1  # training moves the score: the comparison can fail

    other = objective(smoke_bert, seed=4)
    res4 = train(other, examples, TrainConfig(**{**CONFIG.to_dict(), "keep": "last", "seed": 4}), tmp_path / "s4",
                 evaluate, progress=False, echo=lambda m: None)
    assert dev_scores(res4) != dev_scores(ref)  # another seed, another run


def test_killed_mid_epoch_and_resumed_ends_like_an_uninterrupted_run(smoke_bert, examples, evaluate, reference,
                                                                     tmp_path):
    ref, ref_w = reference
    cfg = TrainConfig(**{**CONFIG.to_dict(), "keep": "last"})

    def kill_at_7(step):
        if step == 7:  # epoch 2, batch 2 of 5; the last checkpoint is from step 6
            raise Kill

    with pytest.raises(Kill):
        train(objective(smoke_bert), examples, cfg, tmp_path, evaluate, progress=False, echo=lambda m: None,
              on_step=kill_at_7)
    state = json.loads((tmp_path / "last" / "trainer_state.json").read_text())
    assert state["step"] == 6
    lines = []
    obj = objective(smoke_bert, seed=999)  # other RNG state and head init: the checkpoint must restore all of it
    res = train(obj, examples, cfg, tmp_path, evaluate, progress=False, echo=lines.append)
    assert res.resumed_at == [6] and any("resuming from step 6/10" in m for m in lines)
    assert dev_scores(res) == dev_scores(ref)
    assert res.score == ref.score
    assert same_weights(weights(obj), ref_w)
    assert not (tmp_path / "last").exists()  # the optimizer checkpoint is dropped once the run has finished


def test_sigkilled_process_resumes_to_the_same_result(smoke_bert, examples, evaluate, reference, tmp_path,
                                                      data_root):
    """A real `kill -9` of a training process at an arbitrary moment, then resume in this process."""
    ref, ref_w = reference
    script = f"""
import time, torch
torch.set_num_threads({torch.get_num_threads()})
from repro.data.sts import load_stsb
from repro.encoders.transformer import SentenceEncoder
from repro.training.data import sts_examples
from repro.training.losses import build_objective
from repro.training.recipes import stsb_dev_evaluator
from repro.training.trainer import TrainConfig, seed_everything, train
seed_everything({CONFIG.seed})
enc = SentenceEncoder({str(smoke_bert)!r}, pooling="mean", normalize=False, max_seq_length=64, device="cpu")
obj = build_objective("regression", enc)
ex = sts_examples(load_stsb("train", root={str(data_root)!r}).head(40))
cfg = TrainConfig(**{{**{CONFIG.to_dict()!r}, "keep": "last"}})
train(obj, ex, cfg, {str(tmp_path)!r}, stsb_dev_evaluator(limit=40, data_root={str(data_root)!r}),
      progress=False, on_step=lambda s: time.sleep(0.4))
"""
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONUNBUFFERED": "1"})
    state_file = tmp_path / "last" / "trainer_state.json"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if state_file.is_file() and json.loads(state_file.read_text())["step"] >= 4:
            time.sleep(0.5)  # somewhere in steps 5-6, possibly while writing a checkpoint
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the training process ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "done.json").exists()
    obj = objective(smoke_bert, seed=1)
    res = train(obj, examples, TrainConfig(**{**CONFIG.to_dict(), "keep": "last"}), tmp_path, evaluate,
                progress=False, echo=lambda m: None)
    assert res.resumed_at and res.resumed_at[0] >= 4
    assert dev_scores(res) == dev_scores(ref)
    assert same_weights(weights(obj), ref_w)


def test_best_checkpoint_kept_and_loadable_by_sentence_transformers(smoke_bert, examples, evaluate, tmp_path):
    st = pytest.importorskip("sentence_transformers")
    obj = objective(smoke_bert, pooling="max")
    res = train(obj, examples, TrainConfig(**{**CONFIG.to_dict(), "keep_checkpoint": True}), tmp_path, evaluate,
                progress=False, echo=lambda m: None)
    scores = dict(dev_scores(res))
    assert res.model_dir == tmp_path / "best" and res.score == max(scores.values())
    assert res.best_step == max(scores, key=scores.get)
    assert (tmp_path / "best" / "model.safetensors").is_file() and (tmp_path / "last" / "model.safetensors").is_file()
    sentences = ["A man is playing a guitar.", "Two dogs run on the beach.", "a"]
    for folder in (tmp_path / "best", tmp_path / "last"):
        ours = SentenceEncoder(folder, device="cpu").encode(sentences)
        theirs = st.SentenceTransformer(str(folder), device="cpu").encode(sentences)
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    # the best folder scores what the log says it scored
    again_scored = evaluate(SentenceEncoder(tmp_path / "best", device="cpu"))
    assert again_scored["score"] == pytest.approx(res.score, abs=1e-4)
    # the 2019 rule: the kept model's score is the largest of its four Spearman correlations, all in the history
    best = next(h for h in res.history if h["step"] == res.best_step)
    assert set(best["dev_parts"]) == {"cosine", "manhattan", "euclidean", "dot"}
    assert best["dev"] == max(best["dev_parts"].values())
    log = json.loads((tmp_path / "log.json").read_text())
    assert log["finished"] and log["kept"] == "best" and log["settings"]["steps"] == 10
    assert log["settings"]["warmup_steps"] == 1
    # the schedule as logged: lr after step s is lr * warmup_linear(s, 1, 10)
    for h in log["history"]:
        assert h["lr"] == pytest.approx(1e-3 * warmup_linear(h["step"], 1, 10))
    # a finished run is returned from its folder without training again
    again = train(objective(smoke_bert), examples, CONFIG, tmp_path, evaluate, progress=False)
    assert again.score == res.score and again.model_dir == res.model_dir


@pytest.mark.parametrize("value,word", [(float("nan"), "nan"), (float("inf"), "inf")])
def test_nan_loss_stops_with_where_it_happened(smoke_bert, examples, evaluate, tmp_path, value, word):
    bad = list(examples)
    bad[13] = PairExample(bad[13].s1, bad[13].s2, value)
    order = [b for e in range(2) for b in epoch_batches(len(bad), 8, CONFIG.seed, e)]
    step = next(i for i, b in enumerate(order, 1) if 13 in b)
    with pytest.raises(TrainingDiverged, match=rf"loss is {word} at step {step}/10 \(epoch 1, batch {step}/5, "
                                               rf"examples \[.*\b13\b.*\]\).*amp=fp32") as err:
        train(objective(smoke_bert), bad, CONFIG, tmp_path, evaluate, progress=False, echo=lambda m: None)
    assert isinstance(err.value, ReproError)
    assert f"loss is {word}" in json.loads((tmp_path / "log.json").read_text())["error"]


def test_bf16_autocast_path_and_fp16_needs_a_gpu(smoke_bert, examples, evaluate, tmp_path):
    cfg = TrainConfig(**{**CONFIG.to_dict(), "amp": "bf16", "max_steps": 2})
    res = train(objective(smoke_bert), examples, cfg, tmp_path, evaluate, progress=False, echo=lambda m: None)
    log = json.loads((tmp_path / "log.json").read_text())
    assert log["settings"]["amp"] == "torch.bfloat16" and res.steps == 2 and np.isfinite(res.score)
    with pytest.raises(ConfigError, match="amp=fp16 needs a GPU"):
        train(objective(smoke_bert), examples, TrainConfig(amp="fp16"), tmp_path / "x", evaluate, progress=False)


def test_bad_settings_fail_before_training(smoke_bert, tmp_path):
    with pytest.raises(ConfigError, match="unknown keep 'first'; allowed: best, last"):
        TrainConfig(keep="first")
    with pytest.raises(ConfigError, match="unknown amp 'fp8'"):
        TrainConfig(amp="fp8")
    with pytest.raises(ConfigError, match="unknown pooling 'avg'; allowed: mean, max, cls"):
        Stage(kind="sbert", objective="regression", data="stsb-train", base=str(smoke_bert), pooling="avg")
    with pytest.raises(ConfigError, match="unknown objective 'mse'; allowed: classification, regression, triplet"):
        Stage(kind="sbert", objective="mse", data="stsb-train", base=str(smoke_bert))
    with pytest.raises(ConfigError, match=r"unknown concatenation 'u-v'; allowed: \(u, v\); \(\|u-v\|\)"):
        Stage(kind="sbert", objective="classification", data="nli", base=str(smoke_bert), concat="u-v")
    with pytest.raises(ConfigError, match="objective 'regression' does not train a sbert model on data 'nli'"):
        Stage(kind="sbert", objective="regression", data="nli", base=str(smoke_bert))


def test_a_run_folder_of_other_settings_is_refused(smoke_bert, examples, evaluate, tmp_path):
    with pytest.raises(Kill):
        train(objective(smoke_bert), examples, CONFIG, tmp_path, evaluate, progress=False, echo=lambda m: None,
              on_step=lambda s: (_ for _ in ()).throw(Kill()) if s == 3 else None)
    with pytest.raises(ConfigError, match="checkpoint of a run with other settings"):
        train(objective(smoke_bert), examples, TrainConfig(**{**CONFIG.to_dict(), "lr": 2e-5}), tmp_path, evaluate,
              progress=False, echo=lambda m: None)


# ------------------------------------------------------------------------------ which steps get a dev score
def v023_fit_evaluations(epochs: int, steps_per_epoch: int, evaluation_steps: int) -> list[int]:
    """The global steps after which sentence-transformers v0.2.3 ``SentenceTransformer.fit`` called its evaluator,
    transcribed from its loop: ``training_steps`` reset to 0 at each epoch, ``+= 1`` after each step, an evaluation
    when ``evaluation_steps > 0 and training_steps % evaluation_steps == 0``, and one after the epoch's last step."""
    out, global_step = [], 0
    for _epoch in range(epochs):
        training_steps = 0
        for _step in range(steps_per_epoch):
            training_steps += 1
            global_step += 1
            if evaluation_steps > 0 and training_steps % evaluation_steps == 0:
                out.append(global_step)
        out.append(global_step)
    return out


def due_steps(epochs: int, spe: int, eval_steps: int, counting: str) -> list[int]:
    from repro.training.trainer import eval_due

    total = epochs * spe
    return [s for s in range(1, total + 1) if eval_due(s, spe, total, eval_steps, counting)]


@pytest.mark.parametrize("epochs,spe,every", [(3, 5, 4), (4, 360, 1000), (2, 6, 3), (3, 5, 0), (2, 7, 2)])
def test_per_epoch_counting_evaluates_where_v023_fit_did(epochs, spe, every):
    # v0.2.3 scores the epoch's last model twice where eval_steps divides the epoch (the same number): once here.
    assert due_steps(epochs, spe, every, "per-epoch") == sorted(set(v023_fit_evaluations(epochs, spe, every)))


def test_global_and_per_epoch_counting_differ_as_documented():
    assert due_steps(3, 5, 4, "global") == [4, 5, 8, 10, 12, 15]
    assert due_steps(3, 5, 4, "per-epoch") == [4, 5, 9, 10, 14, 15]
    # the paper's STSb runs: 5749 pairs, batch 16 = 360 steps per epoch, 4 epochs, eval_steps 1000
    assert due_steps(4, 360, 1000, "global") == [360, 720, 1000, 1080, 1440]
    assert due_steps(4, 360, 1000, "per-epoch") == [360, 720, 1080, 1440]
    assert v023_fit_evaluations(4, 360, 1000) == [360, 720, 1080, 1440]


def test_the_training_loop_scores_the_steps_its_counting_names(smoke_bert, examples, tmp_path):
    # 40 pairs, batch 8: 5 steps per epoch; 3 epochs; eval_steps 4. The evaluator records the calls itself.
    for counting, want in (("global", [4, 5, 8, 10, 12, 15]), ("per-epoch", [4, 5, 9, 10, 14, 15])):
        calls: list = []

        def evaluate(_obj, calls=calls):
            calls.append(None)
            return float(len(calls))

        cfg = TrainConfig(epochs=3, batch_size=8, lr=1e-4, eval_steps=4, checkpoint_steps=0, log_steps=100, seed=3,
                          eval_counting=counting, keep="last")
        res = train(objective(smoke_bert), examples, cfg, tmp_path / counting, evaluate, progress=False,
                    echo=lambda m: None)
        assert [s for s, _ in dev_scores(res)] == want and len(calls) == len(want)
    assert "eval_counting" not in TrainConfig().to_dict()  # checkpoints written before it still resume
    assert TrainConfig(eval_counting="per-epoch").to_dict()["eval_counting"] == "per-epoch"
    with pytest.raises(ConfigError, match="eval_counting.*allowed: global, per-epoch"):
        TrainConfig(eval_counting="epoch")
