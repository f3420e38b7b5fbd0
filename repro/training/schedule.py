"""Optimizer and learning-rate schedule of the 2019 reference code (sentence-transformers v0.2.3 ``fit()``).

* AdamW as in ``pytorch_transformers`` 1.1: decoupled weight decay applied after the Adam step, and
  ``correct_bias=False`` (no bias correction of the moment estimates) as the reference code passes it;
  lr 2e-5, eps 1e-6, weight decay 0.01 on every parameter except biases and LayerNorm weights.
* ``WarmupLinear``: the learning rate rises linearly from 0 over the warm-up steps (10% of all training steps,
  rounded up), then falls linearly to 0 at the last step. The scheduler is stepped after each optimizer step, so
  the first update uses factor 0 exactly as the reference code did.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
from torch.optim.lr_scheduler import LambdaLR

NO_DECAY = ("bias", "LayerNorm.bias", "LayerNorm.weight")


def warmup_steps_for(total_steps: int, warmup_ratio: float = 0.1) -> int:
    """``ceil(total * ratio)``, as ``training_*.py`` of the reference code computes it."""
    return int(math.ceil(total_steps * warmup_ratio))


def warmup_linear(step: int, warmup_steps: int, total_steps: int) -> float:
    """The learning-rate factor at ``step`` (0-based count of optimizer steps taken so far)."""
    if step < warmup_steps:
        return step / max(1, warmup_steps)
    return max(0.0, (total_steps - step) / max(1.0, total_steps - warmup_steps))


def make_scheduler(optimizer, warmup_steps: int, total_steps: int) -> LambdaLR:
    return LambdaLR(optimizer, lambda step: warmup_linear(step, warmup_steps, total_steps))


def parameter_groups(named_parameters: Iterable[tuple[str, torch.nn.Parameter]], weight_decay: float) -> list[dict]:
    """Two groups: with weight decay, and without it for every name containing one of :data:`NO_DECAY`."""
    decay, no_decay = [], []
    for name, p in named_parameters:
        if p.requires_grad:
            (no_decay if any(nd in name for nd in NO_DECAY) else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class AdamW(torch.optim.Optimizer):
    """Adam with decoupled weight decay, exactly the update of ``pytorch_transformers.AdamW`` (2019).

    Per parameter: ``m = b1 m + (1-b1) g``; ``v = b2 v + (1-b2) g^2``; ``p -= step * m / (sqrt(v) + eps)`` with
    ``step = lr`` (or ``lr * sqrt(1-b2^t) / (1-b1^t)`` with ``correct_bias``); then ``p -= lr * wd * p``.
    """

    def __init__(self, params, lr: float = 2e-5, betas=(0.9, 0.999), eps: float = 1e-6, weight_decay: float = 0.0,
                 correct_bias: bool = False):
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"invalid AdamW settings lr={lr} eps={eps} betas={betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      correct_bias=correct_bias))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                state["step"] += 1
                m.mul_(b1).add_(p.grad, alpha=1.0 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1.0 - b2)
                step_size = group["lr"]
                if group["correct_bias"]:
                    t = state["step"]
                    step_size = step_size * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
                p.addcdiv_(m, v.sqrt().add_(group["eps"]), value=-step_size)
                if group["weight_decay"] > 0.0:
                    p.add_(p, alpha=-group["lr"] * group["weight_decay"])
        return loss


def make_optimizer(model: torch.nn.Module, lr: float = 2e-5, eps: float = 1e-6, weight_decay: float = 0.01,
                   correct_bias: bool = False) -> AdamW:
    return AdamW(parameter_groups(model.named_parameters(), weight_decay), lr=lr, eps=eps,
                 correct_bias=correct_bias)
