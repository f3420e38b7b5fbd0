"""The fast path's CPU precision is chosen by measuring (repro/encoders/calibrate.py), cached per key."""

from __future__ import annotations

import json

import pytest
import torch

from repro.encoders import calibrate, fast


class FakeTimer:
    """Stands in for time_products: fixed timings, counts its calls."""

    def __init__(self, fp32_s: float, bf16_s: float, min_cosine: float = 0.99999):
        self.result = {"fp32_s": fp32_s, "bf16_s": bf16_s, "min_cosine": min_cosine}
        self.calls = 0

    def __call__(self, hidden, ff):
        self.calls += 1
        return dict(self.result)


@pytest.fixture
def bf16_cpu(monkeypatch, tmp_path):
    """A CPU that claims native bf16, with a fresh user cache."""
    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path))
    monkeypatch.setattr(fast, "cpu_has_fast_bf16", lambda: True)


def test_slow_bf16_gives_fp32(bf16_cpu):
    slow = FakeTimer(fp32_s=1.0, bf16_s=1.22)  # the Xeon-without-AMX case: bf16 0.82x
    cal = calibrate.calibrate(None, threads=2, measure=slow)
    assert cal.precision == "fp32" and slow.calls == 1
    assert cal.speedup == pytest.approx(1 / 1.22)
    assert "0.82x" in cal.reason


def test_bf16_within_the_margin_gives_fp32(bf16_cpu):
    barely = FakeTimer(fp32_s=1.0, bf16_s=1.0 / (calibrate.MARGIN - 0.05))
    assert calibrate.calibrate(None, threads=2, measure=barely).precision == "fp32"


def test_fast_bf16_gives_bf16_and_is_cached(bf16_cpu, tmp_path):
    quick = FakeTimer(fp32_s=1.0, bf16_s=0.39)  # the Zen 4 case: 2.6x
    cal = calibrate.calibrate(None, threads=2, measure=quick)
    assert cal.precision == "bf16" and quick.calls == 1
    again = calibrate.calibrate(None, threads=2, measure=quick)
    assert again == cal and quick.calls == 1  # read back from the cache, not measured again
    data = json.loads((tmp_path / "speed" / "precision.json").read_text())
    assert data["entries"][cal.key]["precision"] == "bf16"
    assert not list((tmp_path / "speed").glob("*.part"))  # atomic write leaves no temporary file
    calibrate.calibrate(None, threads=2, measure=quick, refresh=True)
    assert quick.calls == 2


def test_unfaithful_bf16_gives_fp32(bf16_cpu):
    lossy = FakeTimer(fp32_s=1.0, bf16_s=0.3, min_cosine=0.99)
    cal = calibrate.calibrate(None, threads=2, measure=lossy)
    assert cal.precision == "fp32" and "faithful" in cal.reason


def test_cache_is_keyed_by_threads_and_shape(bf16_cpu):
    quick, slow = FakeTimer(1.0, 0.4), FakeTimer(1.0, 1.3)
    assert calibrate.calibrate(None, threads=2, measure=quick).precision == "bf16"
    assert calibrate.calibrate(None, threads=1, measure=slow).precision == "fp32"  # another key: measured
    assert slow.calls == 1
    small = type("Cfg", (), {"hidden_size": 384, "intermediate_size": 1536})()
    assert calibrate.calibrate(small, threads=2, measure=slow).precision == "fp32"
    assert slow.calls == 2
    assert calibrate.calibrate(None, threads=2, measure=slow).precision == "bf16"  # the first key's entry
    assert slow.calls == 2


def test_no_native_bf16_is_fp32_without_measuring(monkeypatch, tmp_path):
    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path))
    monkeypatch.setattr(fast, "cpu_has_fast_bf16", lambda: False)
    never = FakeTimer(1.0, 0.1)
    assert calibrate.calibrate(None, threads=2, measure=never).precision == "fp32"
    assert never.calls == 0


def test_default_precision_uses_the_calibration(bf16_cpu, monkeypatch):
    monkeypatch.setattr(calibrate, "time_products", FakeTimer(1.0, 2.0))
    assert fast.default_precision("cpu") == "fp32"
    monkeypatch.setattr(calibrate, "time_products", FakeTimer(1.0, 0.3))
    assert fast.default_precision("cpu") == "fp32"  # cached for this key
    calibrate.calibrate(None, refresh=True)
    assert fast.default_precision("cpu") == "bf16"


def test_fast_encode_default_follows_the_calibration(bf16_cpu, monkeypatch, smoke_encoder_sentences):
    enc, sents = smoke_encoder_sentences
    monkeypatch.setattr(calibrate, "time_products", FakeTimer(1.0, 3.0))
    enc.encode(sents, fast=True)
    assert [k[0] for k in enc.__dict__["_fast_stacks"]] == ["fp32"]
    monkeypatch.setattr(calibrate, "time_products", FakeTimer(1.0, 0.2))
    calibrate.calibrate(enc.transformer.config, refresh=True)
    enc.encode(sents, fast=True)
    assert [k[0] for k in enc.__dict__["_fast_stacks"]] == ["bf16"]


def test_time_products_measures_both_and_checks_faithfulness():
    out = calibrate.time_products(64, 128, tokens=32, rounds=2)
    assert out["fp32_s"] > 0 and out["bf16_s"] > 0 and len(out["rounds"]["fp32"]) == 2
    assert 0.99 < out["min_cosine"] <= 1.0 + 1e-6


@pytest.fixture
def smoke_encoder_sentences():
    from transformers import BertConfig, BertModel

    from repro.encoders.transformer import SentenceEncoder
    from repro.speed.timed_models import bert_base_tokenizer

    try:
        tok = bert_base_tokenizer()
    except Exception as e:
        pytest.skip(f"no bert-base vocabulary here: {e}")
    torch.manual_seed(0)
    model = BertModel(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
                      add_pooling_layer=False)
    enc = SentenceEncoder(model, tokenizer=tok, pooling="mean", device="cpu", name="tiny")
    return enc, ["A man plays a guitar.", "Someone plays music.", "A cat sleeps."]
