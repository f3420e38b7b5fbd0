"""Optimizer and learning-rate schedule of the 2019 reference code."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from repro.training.schedule import (
    AdamW,
    make_optimizer,
    make_scheduler,
    parameter_groups,
    warmup_linear,
    warmup_steps_for,
)


def test_warmup_steps_are_ten_percent_rounded_up():
    assert warmup_steps_for(1440) == 144  # STSb: 360 steps x 4 epochs
    assert warmup_steps_for(1230) == 123
    assert warmup_steps_for(58929) == 5893  # NLI, 942,854 pairs / 16, one epoch
    assert warmup_steps_for(5) == 1


@pytest.mark.parametrize("step,factor", [(0, 0.0), (5, 0.5), (9, 0.9), (10, 1.0), (55, 0.5), (91, 0.1), (100, 0.0),
                                         (120, 0.0)])
def test_warmup_linear_factor(step, factor):
    assert warmup_linear(step, warmup_steps=10, total_steps=100) == pytest.approx(factor)


def test_scheduler_learning_rate_at_chosen_steps():
    model = nn.Linear(2, 2)
    opt = make_optimizer(model, lr=2e-5)
    sched = make_scheduler(opt, warmup_steps=10, total_steps=100)
    seen = {}
    for step in range(101):
        seen[step] = opt.param_groups[0]["lr"]  # the lr the (step+1)-th update uses
        opt.step()
        sched.step()
    assert seen[0] == 0.0  # first update at factor 0, as in the reference code
    assert seen[5] == pytest.approx(1e-5)
    assert seen[10] == pytest.approx(2e-5)  # peak
    assert seen[55] == pytest.approx(1e-5)
    assert seen[100] == 0.0


def test_no_weight_decay_on_bias_and_layernorm():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = nn.Linear(3, 3)
            self.LayerNorm = nn.LayerNorm(3)

    decay, no_decay = parameter_groups(Block().named_parameters(), 0.01)
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    assert len(decay["params"]) == 1 and decay["params"][0].shape == (3, 3)  # dense.weight only
    assert len(no_decay["params"]) == 3  # dense.bias, LayerNorm.weight, LayerNorm.bias
    opt = make_optimizer(Block())
    assert opt.defaults["eps"] == 1e-6 and opt.defaults["lr"] == 2e-5 and opt.defaults["correct_bias"] is False


@pytest.mark.parametrize("correct_bias,expected", [(False, 0.683792 * 0.999), (True, 0.9000032 * 0.999)])
def test_adamw_one_step_by_hand(correct_bias, expected):
    # p = 1, g = 0.5, lr 0.1: m = 0.05, v = 0.00025, sqrt(v) = 0.0158114
    # no bias correction: p = 1 - 0.1 * 0.05 / (0.0158114 + 1e-6) = 0.683792; then decay p -= 0.1 * 0.01 * p
    # with correction:    step 0.1 * sqrt(0.001) / 0.1 = 0.0316228 -> p = 1 - 0.0999968 = 0.9000032
    p = nn.Parameter(torch.ones(1))
    opt = AdamW([p], lr=0.1, eps=1e-6, weight_decay=0.01, correct_bias=correct_bias)
    p.grad = torch.full((1,), 0.5)
    opt.step()
    assert p.item() == pytest.approx(expected, abs=1e-5)
