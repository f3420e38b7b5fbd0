"""The three SBERT objectives on tiny inputs whose loss is computed by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from repro.errors import ConfigError
from repro.training.data import PairExample, TripletExample
from repro.training.losses import (
    CONCATENATIONS,
    CosineSimilarityLoss,
    SoftmaxLoss,
    TripletLoss,
    build_objective,
    concat_features,
    concat_parts,
)


class LookupEncoder(nn.Module):
    """A stand-in encoder: each sentence maps to a fixed vector (scaled by one trainable weight)."""

    def __init__(self, table: dict[str, list[float]]):
        super().__init__()
        self.names = list(table)
        self.table = torch.tensor([table[n] for n in self.names], dtype=torch.float32)
        self.scale = nn.Parameter(torch.ones(()))
        self.dim = self.table.shape[1]
        self.device_name = "cpu"
        self.calls = 0

    def tokenize(self, sentences):
        return {"ids": torch.tensor([self.names.index(s) for s in sentences])}

    def forward(self, features):
        self.calls += 1
        return self.table[features["ids"]] * self.scale


def test_softmax_loss_by_hand():
    enc = LookupEncoder({"a": [1.0, 0.0], "b": [0.0, 1.0]})
    loss_fn = SoftmaxLoss(enc, num_labels=3, concat="(u, v, |u-v|)")
    assert loss_fn.classifier.in_features == 6  # 3n, n = 2
    with torch.no_grad():
        loss_fn.classifier.weight.zero_()
        loss_fn.classifier.bias.zero_()
        loss_fn.classifier.weight[0, 0] = 1.0  # logit 0 = u[0] = 1; the others 0
    batch = loss_fn.collate([PairExample("a", "b", 0)])
    loss = loss_fn(batch)
    # features (u, v, |u-v|) = (1, 0, 0, 1, 1, 1); logits (1, 0, 0); -log softmax_0 = log(1 + 2/e)
    assert loss.item() == pytest.approx(math.log(1 + 2 / math.e), abs=1e-6)
    assert enc.calls == 2  # both sentences through the one (shared) encoder
    loss.backward()
    assert enc.scale.grad is not None  # the loss reaches the shared weights


def test_regression_loss_by_hand():
    enc = LookupEncoder({"x": [1.0, 0.0], "y": [1.0, 1.0], "z": [-1.0, 0.0]})
    loss_fn = CosineSimilarityLoss(enc)
    batch = loss_fn.collate([PairExample("x", "y", 0.5), PairExample("x", "z", 0.0)])  # gold 2.5/5 and 0/5
    # cos(x, y) = 1/sqrt(2); cos(x, z) = -1
    expected = ((1 / math.sqrt(2) - 0.5) ** 2 + (-1.0 - 0.0) ** 2) / 2
    assert loss_fn(batch).item() == pytest.approx(expected, abs=1e-6)


def test_triplet_loss_by_hand():
    enc = LookupEncoder({"a": [0.0, 0.0], "p": [3.0, 4.0], "far": [6.0, 8.0], "near": [0.0, 1.0]})
    triplets = [TripletExample("a", "p", "far"), TripletExample("a", "p", "near")]
    paper = TripletLoss(enc)  # Euclidean, eps = 1 (the paper)
    assert (paper.distance, paper.margin) == ("euclidean", 1.0)
    # max(5 - 10 + 1, 0) = 0 and max(5 - 1 + 1, 0) = 5 -> mean 2.5
    assert paper(paper.collate(triplets)).item() == pytest.approx(2.5)
    # today's sentence-transformers default margin 5: (max(0, 0) + 9) / 2
    assert TripletLoss(enc, margin=5.0)(paper.collate(triplets)).item() == pytest.approx(4.5)
    # Manhattan: |3| + |4| = 7 to p, 1 to near, 14 to far -> (max(7 - 14 + 1, 0) + (7 - 1 + 1)) / 2
    assert TripletLoss(enc, distance="manhattan")(paper.collate(triplets)).item() == pytest.approx(3.5)
    # cosine distance: 1 - cos; cos(a=0, .) = 0 for the zero anchor -> both distances 1 -> margin stays: 1
    assert TripletLoss(enc, distance="cosine")(paper.collate(triplets)).item() == pytest.approx(1.0)


@pytest.mark.parametrize("name,width", [
    ("(u, v)", 2), ("(|u-v|)", 1), ("(u*v)", 1), ("(|u-v|, u*v)", 2), ("(u, v, u*v)", 3), ("(u, v, |u-v|)", 3),
    ("(u, v, |u-v|, u*v)", 4),
])
def test_seven_concatenations_feature_width(name, width):
    d = 4
    u, v = torch.arange(d, dtype=torch.float32)[None], torch.full((1, d), 2.0)
    feats = concat_features(u, v, concat_parts(name))
    assert feats.shape == (1, width * d)
    enc = LookupEncoder({"a": [0.0] * d})
    assert SoftmaxLoss(enc, concat=name).classifier.in_features == width * d


def test_concatenation_values_and_spellings():
    u, v = torch.tensor([[1.0, -2.0]]), torch.tensor([[3.0, 1.0]])
    out = concat_features(u, v, concat_parts("(u, v, |u-v|, u*v)"))
    assert out.tolist() == [[1.0, -2.0, 3.0, 1.0, 2.0, 3.0, 3.0, -2.0]]
    assert concat_parts("u,v,|u-v|") == concat_parts(("u", "v", "|u-v|")) == CONCATENATIONS["(u, v, |u-v|)"]
    assert len(CONCATENATIONS) == 7


def test_unknown_settings_list_the_allowed_values():
    enc = LookupEncoder({"a": [1.0]})
    with pytest.raises(ConfigError, match=r"unknown concatenation '\(u, w\)'.*\(u, v, \|u-v\|, u\*v\)"):
        SoftmaxLoss(enc, concat="(u, w)")
    with pytest.raises(ConfigError, match="unknown objective 'contrastive'; allowed: classification, regression, "
                                          "triplet"):
        build_objective("contrastive", enc)
    with pytest.raises(ConfigError, match="allowed: euclidean, cosine, manhattan"):
        TripletLoss(enc, distance="chebyshev")
