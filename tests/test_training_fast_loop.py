"""The faster training loop (tokenised ahead, foreach AdamW, no host sync per step) keeps the math of the plain one."""

from __future__ import annotations

import math

import pytest
import torch

from repro.encoders.transformer import SentenceEncoder
from repro.training.data import epoch_batches, nli_examples, steps_per_epoch, take
from repro.training.losses import build_objective
from repro.training.schedule import AdamW, make_scheduler, parameter_groups, warmup_steps_for
from repro.training.trainer import TrainConfig, seed_everything, train


class PlainAdamW(torch.optim.Optimizer):
    """The 2019 update written out once more, parameter by parameter (the reference for the foreach one)."""

    def __init__(self, params, lr, eps, weight_decay=0.0, correct_bias=False, betas=(0.9, 0.999)):
        super().__init__(params, dict(lr=lr, eps=eps, weight_decay=weight_decay, correct_bias=correct_bias,
                                      betas=betas))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            b1, b2 = g["betas"]
            for p in g["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
                st["step"] += 1
                st["exp_avg"].mul_(b1).add_(p.grad, alpha=1 - b1)
                st["exp_avg_sq"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                lr = g["lr"]
                if g["correct_bias"]:
                    lr = lr * math.sqrt(1 - b2 ** st["step"]) / (1 - b1 ** st["step"])
                p.addcdiv_(st["exp_avg"], st["exp_avg_sq"].sqrt().add_(g["eps"]), value=-lr)
                if g["weight_decay"] > 0:
                    p.add_(p, alpha=-g["lr"] * g["weight_decay"])


@pytest.mark.parametrize("correct_bias", [False, True])
def test_foreach_and_sliced_adamw_are_bit_identical_to_the_loop(correct_bias, monkeypatch):
    import repro.training.schedule as schedule

    monkeypatch.setattr(schedule, "CPU_SLICE", 1000)  # several slices, the last one short
    torch.manual_seed(0)
    shapes = [(7, 5), (5,), (3, 3, 2), (11,), (300, 17)]
    base = [torch.randn(s) for s in shapes]
    runs = []
    for make in (lambda ps: AdamW(ps, lr=1e-2, eps=1e-6, weight_decay=0.01, correct_bias=correct_bias),
                 lambda ps: AdamW(ps, lr=1e-2, eps=1e-6, weight_decay=0.01, correct_bias=correct_bias,
                                  foreach=True),
                 lambda ps: AdamW(ps, lr=1e-2, eps=1e-6, weight_decay=0.01, correct_bias=correct_bias,
                                  foreach=False),
                 lambda ps: PlainAdamW(ps, lr=1e-2, eps=1e-6, weight_decay=0.01, correct_bias=correct_bias)):
        params = [torch.nn.Parameter(b.clone()) for b in base]
        opt = make([{"params": params[:2], "weight_decay": 0.01}, {"params": params[2:], "weight_decay": 0.0}])
        g = torch.Generator().manual_seed(1)
        for step in range(6):
            for i, p in enumerate(params):
                p.grad = None if (step == 2 and i == 3) else torch.randn(p.shape, generator=g)  # a missing grad
            opt.step()
        runs.append(params)
    for a, b, c, d in zip(*runs):
        assert torch.equal(a, b) and torch.equal(a, c) and torch.equal(a, d)
    assert runs[0][4].numel() > 5 * 1000  # the sliced path really ran over several slices


def _plain_loop(encoder_path, examples, cfg: TrainConfig, steps: int) -> list[float]:
    """Today's loop before issue 13, written out: tokenise per batch, per-parameter AdamW, loss read every step."""
    seed_everything(cfg.seed)
    enc = SentenceEncoder(encoder_path, pooling="mean", max_seq_length=64, device="cpu")
    obj = build_objective("classification", enc)
    opt = PlainAdamW(parameter_groups(obj.named_parameters(), cfg.weight_decay), lr=cfg.lr, eps=cfg.adam_eps)
    total = min(steps_per_epoch(len(examples), cfg.batch_size) * cfg.epochs, cfg.max_steps)
    sched = make_scheduler(opt, warmup_steps_for(total, cfg.warmup_ratio), total)
    spe = steps_per_epoch(len(examples), cfg.batch_size)
    seed_everything(cfg.seed)  # the trainer seeds again right before building its optimizer
    obj.train()
    losses = []
    for step in range(total):
        epoch, i = divmod(step, spe)
        idx = epoch_batches(len(examples), cfg.batch_size, cfg.seed, epoch)[i]
        batch = {"a": enc.tokenizer([e.s1 for e in take(examples, idx)], padding=True, truncation=True,
                                    max_length=64, return_tensors="pt"),
                 "b": enc.tokenizer([e.s2 for e in take(examples, idx)], padding=True, truncation=True,
                                    max_length=64, return_tensors="pt"),
                 "labels": torch.as_tensor([e.label for e in take(examples, idx)], dtype=torch.long)}
        loss = obj(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(obj.parameters(), cfg.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return losses


@pytest.mark.needs_data
def test_first_100_losses_equal_the_plain_loop(smoke_bert, data_root, tmp_path):
    from repro.data.nli import load_snli_senteval

    nli = load_snli_senteval("dev", root=data_root)
    examples = nli_examples(nli)[:1600]
    cfg = TrainConfig(batch_size=16, max_steps=100, lr=5e-4, log_steps=1, eval_steps=0, checkpoint_steps=0,
                      keep="last", seed=2)
    ref = _plain_loop(smoke_bert, examples, cfg, 100)
    seed_everything(cfg.seed)
    enc = SentenceEncoder(smoke_bert, pooling="mean", max_seq_length=64, device="cpu")
    obj = build_objective("classification", enc)
    res = train(obj, examples, cfg, tmp_path, progress=False, echo=lambda m: None)
    got = [h["loss"] for h in res.history]
    assert len(got) == len(ref) == 100
    assert got == ref  # exactly: same batches, same tokens, same updates
    assert len(set(round(x, 6) for x in ref)) > 50  # the losses really change (a real training run)


def test_pretokenized_batches_equal_the_tokenizer(smoke_bert):
    enc = SentenceEncoder(smoke_bert, pooling="mean", max_seq_length=12, device="cpu")
    sents = ["A man plays a guitar.", "Someone plays music on a big old stage tonight with friends.", "Hi"]
    want = enc.tokenize(sents)
    assert enc.pretokenize(sents + ["unused"]) == 4
    got = enc.tokenize(sents)
    assert isinstance(got, dict) and set(got) == set(want.keys())
    for k in want:
        assert torch.equal(got[k], want[k]), k
    assert enc.tokenize(["not known"])["input_ids"].shape[0] == 1  # unknown sentences: the tokenizer
    enc.max_seq_length = 6  # another truncation: the cache no longer applies
    assert enc.tokenize(sents)["input_ids"].shape[1] == 6
