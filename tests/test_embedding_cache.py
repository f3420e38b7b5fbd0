"""Embedding cache: hits, keys (model, pooling, weights, sentences), input order, and safety against partial writes."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from repro.encoders.cache import CachedEncoder, cached, sentences_sha256


class CountingEncoder:
    """Deterministic fake encoder: vector = (len, #vowels, pooling id); counts what it was asked to encode."""

    def __init__(self, name="fake", pooling="mean"):
        self.name = name
        self.pooling = pooling
        self.calls: list[list[str]] = []

    def describe(self):
        return {"model": self.name, "pooling": self.pooling}

    def encode(self, sentences, batch_size=32):
        self.calls.append(list(sentences))
        pid = {"mean": 0.0, "cls": 1.0}[self.pooling]
        return np.asarray([[len(s), sum(c in "aeiou" for c in s), pid] for s in sentences], dtype=np.float32)


SENTS = ["a cat", "the dog", "a cat", "zebra"]


def test_second_call_reads_the_cache(tmp_path):
    enc = CountingEncoder()
    c = CachedEncoder(enc, root=tmp_path)
    first = c.encode(SENTS)
    second = CachedEncoder(CountingEncoder(), root=tmp_path).encode(SENTS)  # a new process would do the same
    np.testing.assert_array_equal(first, second)
    assert len(enc.calls) == 1 and c.misses == 1
    assert list(tmp_path.rglob("*.npy")), "nothing stored"


def test_rows_follow_input_order_and_duplicates_are_encoded_once(tmp_path):
    enc = CountingEncoder()
    out = CachedEncoder(enc, root=tmp_path).encode(SENTS)
    assert enc.calls == [["a cat", "the dog", "zebra"]]
    np.testing.assert_array_equal(out, CountingEncoder().encode(SENTS))


def test_key_depends_on_sentences_pooling_and_model(tmp_path):
    enc = CountingEncoder()
    c = CachedEncoder(enc, root=tmp_path)
    c.encode(SENTS)
    c.encode(SENTS[:2])  # another sentence set
    assert len(enc.calls) == 2
    cls = CountingEncoder(pooling="cls")
    out = CachedEncoder(cls, root=tmp_path).encode(SENTS)  # same model, other pooling: no stale hit
    assert len(cls.calls) == 1 and out[0, 2] == 1.0
    other = CountingEncoder(name="other")
    CachedEncoder(other, root=tmp_path).encode(SENTS)
    assert len(other.calls) == 1


def test_sentence_hash_is_unambiguous():
    assert sentences_sha256(["ab", "c"]) != sentences_sha256(["a", "bc"])
    assert sentences_sha256(["a", "b"]) != sentences_sha256(["b", "a"])


class TinyModule(torch.nn.Module):
    name = "tiny"

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(1, 2)

    def describe(self):
        return {"model": "tiny"}

    def encode(self, sentences, batch_size=32):
        with torch.no_grad():
            x = torch.tensor([[float(len(s))] for s in sentences])
            return self.lin(x).numpy()


def test_changed_weights_change_the_key(tmp_path):
    torch.manual_seed(0)
    model = TinyModule()
    c = CachedEncoder(model, root=tmp_path)
    before = c.encode(["abc"])
    with torch.no_grad():
        model.lin.weight.add_(1.0)  # "trained further" under the same name and description
    after = c.encode(["abc"])
    assert c.misses == 2
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, model.encode(["abc"]))


def test_crash_during_write_leaves_no_entry(tmp_path, monkeypatch):
    enc = CountingEncoder()
    c = CachedEncoder(enc, root=tmp_path)

    def boom(fh, arr, allow_pickle=False):
        fh.write(b"\x93NUMPY partial")
        raise KeyboardInterrupt  # killed mid-write

    monkeypatch.setattr(np, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        c.encode(SENTS)
    monkeypatch.undo()
    assert not list(tmp_path.rglob("*.npy")), "a partial entry was left under its final name"
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part")], "temporary file left behind"
    out = c.encode(SENTS)  # recomputed, then stored
    np.testing.assert_array_equal(out, CountingEncoder().encode(SENTS))
    assert len(enc.calls) == 2 and list(tmp_path.rglob("*.npy"))


def test_damaged_entry_is_recomputed(tmp_path):
    enc = CountingEncoder()
    c = CachedEncoder(enc, root=tmp_path)
    good = c.encode(SENTS)
    (entry,) = list(tmp_path.rglob("*.npy"))
    entry.write_bytes(entry.read_bytes()[:20])  # truncated (e.g. disk full before this cache existed)
    again = c.encode(SENTS)
    np.testing.assert_array_equal(good, again)
    assert len(enc.calls) == 2
    assert np.load(entry).shape == good[[0, 1, 3]].shape  # replaced by a whole entry


def test_disabled_cache_and_wrapping(tmp_path):
    enc = CountingEncoder()
    c = CachedEncoder(enc, root=tmp_path, enabled=False)
    c.encode(SENTS)
    c.encode(SENTS)
    assert len(enc.calls) == 2 and not list(tmp_path.rglob("*.npy"))
    assert cached(c) is c
    assert c.name == "fake" and c.describe()["pooling"] == "mean" and c.pooling == "mean"


def test_default_root_is_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path))
    CachedEncoder(CountingEncoder()).encode(["x"])
    assert list((tmp_path / "embeddings").rglob("*.npy"))
    assert os.path.isdir(tmp_path / "embeddings")
