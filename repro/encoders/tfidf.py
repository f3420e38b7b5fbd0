"""Unigram tf-idf vectors: the "tf-idf" baseline of the paper's Table 3 (cosine of tf-idf vectors).

The paper does not say how its tf-idf was built. This one is the common textbook / scikit-learn form:

* tokens: lower-cased runs of word characters (``\\w+``), every length;
* tf: raw count of the token in the sentence;
* idf: ``ln((1 + N) / (1 + df)) + 1`` (smoothed: N = sentences in the fitting corpus, df = sentences that
  contain the token); tokens outside the fitted vocabulary are ignored;
* each vector is L2-normalised (so the dot product of two vectors is their cosine).

``TfidfEncoder.fit(corpus)`` learns vocabulary and idf; ``encode`` then gives dense ``float32`` rows (the
``Encoder`` protocol) and ``transform`` the same as a ``scipy.sparse`` matrix.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from repro.encoders.base import check_sentences

TOKEN_RE = re.compile(r"\w+", re.UNICODE)


def tokenize(sentence: str) -> list[str]:
    return TOKEN_RE.findall(sentence.lower())


class TfidfEncoder:
    def __init__(self, name: str = "tf-idf"):
        self.name = name
        self.vocab: dict[str, int] = {}
        self.idf = np.zeros(0, dtype=np.float64)
        self.n_docs = 0
        self._corpus_sha = None

    # ------------------------------------------------------------------ fitting
    def fit(self, corpus: Iterable[str]) -> "TfidfEncoder":
        docs = check_sentences(list(corpus))
        if not docs:
            raise ValueError("tf-idf needs a non-empty corpus to fit")
        df: Counter = Counter()
        for doc in docs:
            df.update(set(tokenize(doc)))
        words = sorted(df)
        self.vocab = {w: i for i, w in enumerate(words)}
        n = len(docs)
        self.idf = np.asarray([math.log((1 + n) / (1 + df[w])) + 1.0 for w in words], dtype=np.float64)
        self.n_docs = n
        h = hashlib.sha256()
        for d in docs:
            h.update(d.encode("utf-8", "surrogatepass") + b"\0")
        self._corpus_sha = h.hexdigest()
        return self

    @property
    def dim(self) -> int:
        return len(self.vocab)

    def describe(self) -> dict:
        return {"model": self.name, "tokens": r"lower-cased \w+", "tf": "raw count",
                "idf": "ln((1+N)/(1+df))+1", "norm": "l2", "vocab_size": self.dim, "n_docs": self.n_docs,
                "corpus_sha256": self._corpus_sha}

    def _require_fit(self):
        if not self.vocab:
            raise RuntimeError("TfidfEncoder is not fitted: call fit(corpus) first")

    # ------------------------------------------------------------------ transforming
    def transform(self, sentences: Sequence[str]):
        """``scipy.sparse.csr_matrix`` (n, vocab) of L2-normalised tf-idf rows (all-zero rows stay zero)."""
        from scipy import sparse

        self._require_fit()
        sentences = check_sentences(sentences)
        indptr, indices, data = [0], [], []
        for s in sentences:
            counts = Counter(t for t in tokenize(s) if t in self.vocab)
            cols = sorted(self.vocab[t] for t in counts)
            inv = {self.vocab[t]: c for t, c in counts.items()}
            vals = np.asarray([inv[c] * self.idf[c] for c in cols], dtype=np.float64)
            norm = float(np.sqrt((vals ** 2).sum()))
            if norm > 0:
                vals = vals / norm
            indices.extend(cols)
            data.extend(vals.tolist())
            indptr.append(len(indices))
        return sparse.csr_matrix((np.asarray(data), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
                                 shape=(len(sentences), self.dim))

    def encode(self, sentences: Sequence[str], batch_size: int = 32, **_: object) -> np.ndarray:
        return self.transform(sentences).toarray().astype(np.float32)

    def pair_cosine(self, s1: Sequence[str], s2: Sequence[str]) -> np.ndarray:
        """Cosine of the tf-idf vectors of ``s1[i]`` and ``s2[i]`` (0 when either has no known token)."""
        a, b = self.transform(s1), self.transform(s2)
        return np.asarray(a.multiply(b).sum(axis=1)).ravel()
