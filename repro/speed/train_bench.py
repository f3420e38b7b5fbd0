"""Training throughput: our trainer's step against sentence-transformers' training loop (``sbert-repro bench
--train``).

Same model folder, same objective (NLI softmax classification over ``(u, v, |u-v|)``, 3 labels), batch 16, the
same SNLI pairs in the same order, fp32, one process, interleaved rounds (repro/speed/timing.py: busy rounds are
flagged and retried). Each round runs ``steps`` optimizer steps of each candidate; both keep training from where
their previous round stopped (their own model copy and optimizer state). Rates are steps per second.

- **ours**: :func:`repro.training.trainer.train_step` as :func:`~repro.training.trainer.train` runs it: sentences
  tokenised ahead (``pretokenize``), the 2019 AdamW (multi-tensor updates on a GPU, in-cache slices on a CPU:
  repro/training/schedule.py), warm-up/linear schedule,
  gradient clipping at 1.0, no host synchronisation per step (the losses are read once per round, as the trainer
  reads them once per logging interval).
- **peer**: ``SentenceTransformer.old_fit`` (sentence-transformers' own loop behind the 2019 reference code's
  ``fit()``: a DataLoader of ``InputExample`` with its ``smart_batching_collate``, ``losses.SoftmaxLoss``, torch
  AdamW, WarmupLinear, clipping at 1.0), ``steps_per_epoch=steps`` per round, no evaluator, nothing saved.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from repro.errors import ConfigError, ModelNotAvailable
from repro.speed.timing import measure_interleaved

BATCH_SIZE = 16
MODELS = ("minilm", "sbert-base", "sbert-large", "smoke-bert")
SHAPE_OF = {"minilm": "small", "sbert-base": "base", "sbert-large": "large", "smoke-bert": "tiny"}
"""The model shape each training model stands for in the plan's cost (repro/cost.py)."""


def train_model_path(which: str, data_root=None):
    """The model folder to train: all-MiniLM-L6-v2 (real weights, the local profile's body) or BERT-base's shape."""
    if which == "minilm":
        from repro.weights import resolve_model

        return resolve_model("sentence-transformers/all-MiniLM-L6-v2"), "all-MiniLM-L6-v2"
    if which == "sbert-base":
        from repro.speed.timed_models import speed_model

        m = speed_model("sbert-base", "auto", data_root=data_root)
        return m.path, m.label
    if which == "sbert-large":  # bert-large's shape, random weights: the same cost per step
        from repro.speed.timed_models import random_bert_base_path

        return random_bert_base_path(shape="large"), "bert-large-uncased shape (random weights)"
    if which == "smoke-bert":  # tests
        from repro.smoke import smoke_bert_path
        from repro.speed.timed_models import st_folder

        return st_folder(smoke_bert_path(data_root)), "smoke-bert (tiny random BERT)"
    raise ConfigError(f"unknown training model {which!r}; allowed: {', '.join(MODELS)}")


def nli_pairs(n: int, data_root=None):
    from repro.data.nli import load_snli_senteval
    from repro.training.data import nli_examples

    ex = nli_examples(load_snli_senteval("dev", root=data_root))
    if n > len(ex):
        ex = ex + nli_examples(load_snli_senteval("test", root=data_root))
    return ex[:n]


class _Ours:
    def __init__(self, path, examples, device: str, total_steps: int):
        from repro.encoders.transformer import SentenceEncoder
        from repro.training.data import epoch_batches
        from repro.training.losses import build_objective
        from repro.training.schedule import make_optimizer, make_scheduler, warmup_steps_for
        from repro.training.trainer import seed_everything

        seed_everything(0)
        self.obj = build_objective("classification", SentenceEncoder(path, device=device, name="ours"))
        self.opt = make_optimizer(self.obj)
        self.sched = make_scheduler(self.opt, warmup_steps_for(total_steps), total_steps)
        self.examples = examples
        self.batches = epoch_batches(len(examples), BATCH_SIZE, 0, 0)
        self.obj.pretokenize(examples)
        self.obj.train()
        self.i = 0

    def run(self, steps: int) -> float:
        from repro.training.data import take
        from repro.training.trainer import train_step

        losses = []
        for _ in range(steps):
            idx = self.batches[self.i % len(self.batches)]
            self.i += 1
            losses.append(train_step(self.obj, self.obj.collate(take(self.examples, idx)), self.opt, self.sched))
        return float(torch.stack(losses).mean())  # one read per round, like one logging interval


class _Peer:
    def __init__(self, path, examples, device: str):
        try:
            from sentence_transformers import InputExample, SentenceTransformer
            from sentence_transformers.sentence_transformer.losses import SoftmaxLoss
        except ImportError:
            raise ModelNotAvailable("the training peer needs sentence-transformers: pip install -e '.[peer]'"
                                    ) from None
        from torch.utils.data import DataLoader

        from repro.encoders.transformer import _quiet_transformers

        torch.manual_seed(0)
        with _quiet_transformers():
            self.model = SentenceTransformer(str(path), device=device)
        dim = getattr(self.model, "get_embedding_dimension", self.model.get_sentence_embedding_dimension)()
        self.loss = SoftmaxLoss(self.model, embedding_dimension=dim, num_labels=3)
        data = [InputExample(texts=[e.s1, e.s2], label=int(e.label)) for e in examples]
        self.loader = DataLoader(data, batch_size=BATCH_SIZE, shuffle=True, generator=torch.Generator().manual_seed(0))

    def run(self, steps: int) -> None:
        import logging

        logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
        self.model.old_fit(train_objectives=[(self.loader, self.loss)], epochs=1, steps_per_epoch=steps,
                           warmup_steps=max(1, math.ceil(0.1 * steps)), optimizer_params={"lr": 2e-5},
                           weight_decay=0.01, max_grad_norm=1.0, show_progress_bar=False)


def measure_training(model: str = "minilm", *, steps: int = 10, repeats: int = 3, device: str = "cpu",
                     data_root=None, peer: bool = True, threads: int | None = 2,
                     echo: Callable[[str], None] = print) -> dict:
    """Steps per second of ours and of sentence-transformers' loop, interleaved; returns a JSON-able report."""
    from repro.speed.bench import torch_threads
    from repro.speed.timing import environment, hardware_label

    if steps < 1 or repeats < 1:
        raise ConfigError(f"--train-steps and --repeats must be >= 1 (got {steps}, {repeats})")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is visible here (torch.cuda.is_available() is False)")
    with torch_threads(threads if dev.type == "cpu" else None):
        env = environment(device)
        path, label = train_model_path(model, data_root)
        total = (repeats * 3 + 4) * steps + 8  # enough rounds for warm-up and retries, within one schedule
        examples = nli_pairs(max(BATCH_SIZE * (total + 1), 64), data_root)
        echo(f"training throughput on {hardware_label(env)} ({device}): {label}, NLI softmax, batch {BATCH_SIZE}, "
             f"fp32, {steps} steps per round, {repeats} rounds")
        cases: dict = {}
        ours = _Ours(path, examples, device, total)
        cases["ours"] = lambda: ours.run(steps)
        warm = {"ours": lambda: ours.run(2)}
        not_run = {}
        if peer:
            try:
                p = _Peer(path, examples, device)
                cases["peer"] = lambda: p.run(steps)
                warm["peer"] = lambda: p.run(2)
            except ModelNotAvailable as e:
                not_run["peer"] = str(e)
        t = measure_interleaved(cases, steps, repeats=repeats, warmup=warm, device=device, echo=echo)
    out = {"model": label, "device": device, "hardware": hardware_label(env), "env": env, "batch_size": BATCH_SIZE,
           "steps_per_round": steps, "objective": "NLI softmax (u, v, |u-v|), 3 labels", "dtype": "fp32",
           "n_examples": len(examples), "not_run": not_run,
           "cases": {k: {**v.to_dict(), "steps_per_second": v.per_second} for k, v in t.items()}}
    if "peer" in t:
        out["ours_vs_peer"] = t["ours"].per_second / t["peer"].per_second
    return out


def to_markdown(rep: dict) -> str:
    lines = [f"# Training throughput on {rep['hardware']} ({rep['device']})", "",
             f"{rep['model']}, {rep['objective']}, batch {rep['batch_size']}, {rep['dtype']}, "
             f"{rep['steps_per_round']} steps per round; date {rep['env'].get('date')}, load average before "
             f"{rep['env'].get('loadavg')}", "",
             "| case | steps/s | rounds (s) | warning |", "|---|---|---|---|"]
    for k, c in rep["cases"].items():
        rounds = ", ".join(f"{s:.2f}" + ("*" if f else "") for s, f in zip(c["seconds"], c["flagged"]))
        lines.append(f"| {k} | {c['steps_per_second']:.2f} | {rounds} | {c.get('warning') or ''} |")
    if "ours_vs_peer" in rep:
        lines += ["", f"**ours / sentence-transformers: {rep['ours_vs_peer']:.2f}x** (steps/s, same process, "
                      "interleaved)"]
    for k, why in rep.get("not_run", {}).items():
        lines += ["", f"- not run: {k}: {why}"]
    return "\n".join(lines) + "\n"
