"""The BERT cross-encoder baseline on the smoke BERT: input format, training, saving, loading elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repro.data.sts import load_stsb
from repro.errors import ConfigError
from repro.evaluation.sts import spearman_x100
from repro.training.cross_encoder import CrossEncoder
from repro.training.data import PairExample, sts_examples
from repro.training.recipes import stsb_dev_evaluator
from repro.training.trainer import TrainConfig, seed_everything, train


def test_pair_input_is_cls_a_sep_b_sep(smoke_bert):
    ce = CrossEncoder(smoke_bert, device="cpu")
    feats = ce.tokenize(["a man"], ["a dog runs"])
    tok = ce.tokenizer
    ids = feats["input_ids"][0].tolist()
    assert ids[0] == tok.cls_token_id and ids.count(tok.sep_token_id) == 2 and ids[-1] == tok.sep_token_id
    second = ids.index(tok.sep_token_id) + 1
    assert feats["token_type_ids"][0].tolist() == [0] * second + [1] * (len(ids) - second)
    batch = ce.collate([PairExample("a man", "a dog runs", 0.8), PairExample("x", "y", 0.1)])
    assert batch["labels"].dtype == torch.float32
    loss = ce(batch)
    pred = ce.logits(batch["pair"]).squeeze(-1)
    assert loss.item() == pytest.approx(((pred - torch.tensor([0.8, 0.1])) ** 2).mean().item(), abs=1e-6)


def test_train_save_and_load_with_sentence_transformers(smoke_bert, data_root, tmp_path):
    st = pytest.importorskip("sentence_transformers")
    train_pairs = sts_examples(load_stsb("train", root=data_root).head(32))
    dev = load_stsb("dev", root=data_root).head(40)
    seed_everything(0)
    ce = CrossEncoder(smoke_bert, device="cpu")
    cfg = TrainConfig(epochs=2, batch_size=8, lr=1e-3, eval_steps=2, log_steps=1, keep="last")
    res = train(ce, train_pairs, cfg, tmp_path, stsb_dev_evaluator(40, data_root), progress=False,
                echo=lambda m: None)
    assert res.model_dir == tmp_path / "final" and res.steps == 8
    ours = ce.similarity(dev.sentences1, dev.sentences2)
    assert res.score == pytest.approx(spearman_x100(ours, dev.scores))
    reloaded = CrossEncoder(res.model_dir, device="cpu")
    np.testing.assert_allclose(reloaded.similarity(dev.sentences1, dev.sentences2), ours, atol=1e-5)
    theirs = st.CrossEncoder(str(res.model_dir), device="cpu").predict(list(zip(dev.sentences1, dev.sentences2)))
    np.testing.assert_allclose(theirs, 1 / (1 + np.exp(-ours)), atol=1e-5)  # they apply a sigmoid to 1 output


def test_nli_head_is_replaced_for_stsb(smoke_bert, tmp_path):
    seed_everything(0)
    nli = CrossEncoder(smoke_bert, num_labels=3, device="cpu")
    loss = nli(nli.collate([PairExample("a", "b", 2), PairExample("c", "d", 0)]))
    assert loss.ndim == 0 and nli.model.classifier.out_features == 3
    with pytest.raises(ConfigError, match="regression head"):
        nli.similarity(["a"], ["b"])
    nli.export(tmp_path)
    sts = CrossEncoder(tmp_path, num_labels=1, device="cpu")
    assert sts.model.classifier.out_features == 1
    body = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(sts.model.state_dict()[body], nli.model.state_dict()[body])  # the body carries over
