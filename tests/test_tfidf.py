"""tf-idf baseline (Table 3): hand-computed vectors on a toy corpus, cosine, and the AFS unsupervised score."""

from __future__ import annotations

import math

import numpy as np
import pytest

from repro.encoders.tfidf import TfidfEncoder, tokenize

CORPUS = ["The cat sat.", "the dog sat", "A cat!"]


def idf(n_docs: int, df: int) -> float:
    return math.log((1 + n_docs) / (1 + df)) + 1.0


def test_tokenize_lowercases_words_and_drops_punctuation():
    assert tokenize("The CAT, sat!") == ["the", "cat", "sat"]


def test_vocabulary_and_idf_by_hand():
    enc = TfidfEncoder().fit(CORPUS)
    assert sorted(enc.vocab) == ["a", "cat", "dog", "sat", "the"]
    # df: the 2, cat 2, sat 2, dog 1, a 1 over N = 3 sentences
    for word, df in {"the": 2, "cat": 2, "sat": 2, "dog": 1, "a": 1}.items():
        assert enc.idf[enc.vocab[word]] == pytest.approx(idf(3, df))


def test_vectors_by_hand():
    enc = TfidfEncoder().fit(CORPUS)
    v = enc.encode(["the dog sat", "dog dog"])
    w_the, w_dog, w_sat = idf(3, 2), idf(3, 1), idf(3, 2)
    norm = math.sqrt(w_the**2 + w_dog**2 + w_sat**2)
    assert v[0, enc.vocab["the"]] == pytest.approx(w_the / norm, rel=1e-6)
    assert v[0, enc.vocab["dog"]] == pytest.approx(w_dog / norm, rel=1e-6)
    assert v[0, enc.vocab["cat"]] == 0.0
    # tf = 2 for "dog dog", then L2-normalised: a unit vector on "dog"
    assert v[1, enc.vocab["dog"]] == pytest.approx(1.0)
    assert np.linalg.norm(v, axis=1) == pytest.approx([1.0, 1.0])


def test_pair_cosine_by_hand():
    enc = TfidfEncoder().fit(CORPUS)
    cos = enc.pair_cosine(["The cat sat.", "the cat", "zebra"], ["the dog sat", "the cat", "the cat"])
    w2, w1 = idf(3, 2), idf(3, 1)
    # "the cat sat" = (w2, w2, w2)/|.|, "the dog sat" = (w2, w1, w2)/|.|; shared: the, sat
    expected = (2 * w2 * w2) / (math.sqrt(3 * w2**2) * math.sqrt(2 * w2**2 + w1**2))
    assert cos[0] == pytest.approx(expected, rel=1e-9)
    assert cos[1] == pytest.approx(1.0)
    assert cos[2] == 0.0  # no known token: zero vector, cosine 0 (not NaN)


def test_matches_scikit_learn_tfidf():
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = ["a b b c", "b c d", "d d e a", "e"]
    ours = TfidfEncoder().fit(docs).encode(docs)
    sk = TfidfVectorizer(token_pattern=r"(?u)\b\w+\b").fit(docs)
    theirs = sk.transform(docs).toarray()
    order = [sk.vocabulary_[w] for w in sorted(sk.vocabulary_)]
    np.testing.assert_allclose(ours, theirs[:, order], rtol=1e-6)


def test_unfitted_and_empty():
    with pytest.raises(RuntimeError, match="fit"):
        TfidfEncoder().encode(["x"])
    with pytest.raises(ValueError):
        TfidfEncoder().fit([])
    with pytest.raises(TypeError, match="list of sentences"):
        TfidfEncoder().fit(CORPUS).encode("a string")


def test_tfidf_baseline_on_toy_afs_corpus():
    """The unsupervised AFS protocol with tf-idf: word overlap tracks the toy gold scores."""
    from repro.data.afs import AFSCorpus, AFSTopic
    from repro.data.records import PairSet, SentencePair
    from repro.evaluation.afs import evaluate_unsupervised
    from repro.tasks.afs import build_untrained
    from repro.specs import Row

    pairs = {
        "DP": [("death penalty deters crime", "death penalty deters crime", 5.0),
               ("death penalty deters crime", "the death penalty is cruel", 2.0),
               ("executions cost money", "the death penalty deters crime", 1.0)],
        "GC": [("guns protect families", "guns protect families at home", 4.5),
               ("guns protect families", "cars kill people", 0.5),
               ("guns kill people", "guns protect people", 2.5)],
    }
    corpus = AFSCorpus({t: AFSTopic(t, PairSet(t, [SentencePair(*p) for p in ps]), [f"{t}-{i}" for i in range(3)])
                        for t, ps in pairs.items()})
    scorer, desc = build_untrained(Row("tf-idf", "tfidf", kind="tfidf", paper_row="tf-idf"), corpus)
    assert desc["n_docs"] == len({s for ps in pairs.values() for p in ps for s in p[:2]})
    res = evaluate_unsupervised(scorer, corpus)
    assert res["spearman"] == pytest.approx(100.0)  # overlap order = gold order in each topic
    assert res["per_topic"]["DP"]["spearman"] == pytest.approx(100.0)
    assert -100 <= res["pearson"] <= 100
