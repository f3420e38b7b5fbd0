"""InferSent v1 in PyTorch (repro/encoders/infersent.py): shapes, max pooling, safe weight loading, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repro.encoders import infersent as inf
from repro.errors import ModelNotAvailable, ReproError


def tiny(max_pad=True, words=("<s>", "</s>", "a", "man", "plays", "guitar", ".", "dog")):
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    return inf.InferSent(list(words), rng.standard_normal((len(words), 4)).astype(np.float32), word_dim=4,
                         lstm_dim=3, max_pad=max_pad)


def test_release_shape_is_bilstm_2x2048_over_300d():
    m = inf.random_infersent(["a", "man", "plays"])
    assert m.dim == 4096 and m.enc_lstm.bidirectional and m.enc_lstm.hidden_size == 2048
    assert m.enc_lstm.input_size == 300 and m.enc_lstm.num_layers == 1
    assert sorted(m.lstm_state()) == sorted(inf.STATE_KEYS)
    out = m.encode(["A man plays.", "a man"], batch_size=2)
    assert out.shape == (2, 4096) and out.dtype == np.float32 and np.isfinite(out).all()


def test_words_are_wrapped_and_unknown_ones_dropped():
    m = tiny()
    assert m.words_of("A man plays guitar.") == [m.index[w] for w in ("<s>", "man", "plays", "guitar", ".", "</s>")]
    assert m.words_of("Zebras!") == [m.index["<s>"], m.index["</s>"]]  # no known word: <s> </s> alone
    assert inf.word_tokenize("He doesn't play, does he?") == ["He", "does", "n't", "play", ",", "does", "he", "?"]
    assert inf.word_tokenize("A man plays guitar.") == ["A", "man", "plays", "guitar", "."]


@pytest.mark.parametrize("max_pad", [True, False])
def test_max_pooling_matches_a_hand_computation(max_pad):
    m = tiny(max_pad=max_pad)
    sents = ["a man plays guitar .", "a dog"]
    got = m.encode(sents, batch_size=2)
    with torch.no_grad():
        for k, s in enumerate(sents):
            ids = m.words_of(s)
            x = m.vectors[ids][:, None, :]  # (T, 1, 4): this sentence alone, no padding
            out, _ = m.enc_lstm(x)
            own = out[:, 0].max(dim=0).values.numpy()
            if max_pad and k == 1:  # v1 as released: padding zeros of the longer batch-mate enter the max
                own = np.maximum(own, 0.0)
            np.testing.assert_allclose(got[k], own, rtol=1e-5, atol=1e-6)
    longest = torch.tensor([[[1.0, -2.0]], [[-3.0, -1.0]], [[0.0, 0.0]]])  # (T=3, B=1, D=2), last row padding
    assert inf.max_pool(longest, torch.tensor([2]), max_pad=False).tolist() == [[1.0, -1.0]]
    assert inf.max_pool(longest, torch.tensor([2]), max_pad=True).tolist() == [[1.0, 0.0]]


def test_encode_keeps_input_order():
    m = tiny(max_pad=False)
    sents = ["a dog", "a man plays guitar .", "man"]
    one_by_one = np.vstack([m.encode([s]) for s in sents])
    np.testing.assert_allclose(m.encode(sents, batch_size=2), one_by_one, rtol=1e-5, atol=1e-6)


def test_weights_only_state_dict_and_safetensors_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path / "cache"))
    m = tiny()
    pkl = tmp_path / "infersent1.pkl"
    torch.save(m.lstm_state(), pkl)  # the release's format: a state dict
    state = inf.read_state_dict(pkl)
    assert sorted(state) == sorted(inf.STATE_KEYS)
    st = inf.to_safetensors(pkl)
    assert st.suffix == ".safetensors" and st.is_file() and inf.to_safetensors(pkl) == st  # converted once
    from safetensors.torch import load_file

    other = tiny()
    with torch.no_grad():
        for p in other.enc_lstm.parameters():
            p.zero_()
    other.load_lstm_state(load_file(str(st)), str(st))
    sents = ["a man plays guitar .", "a dog"]
    np.testing.assert_array_equal(other.encode(sents), m.encode(sents))
    assert other.fingerprint() == m.fingerprint()


def test_a_pickled_module_is_refused_not_run(tmp_path):
    bad = tmp_path / "infersent1.pkl"
    torch.save(torch.nn.LSTM(4, 3), bad)  # a whole pickled module: would run code on load
    with pytest.raises(ModelNotAvailable, match="weights_only=True"):
        inf.read_state_dict(bad)
    wrong = tmp_path / "wrong.pkl"
    torch.save({"enc_lstm.weight_ih_l0": torch.zeros(2, 2)}, wrong)
    with pytest.raises(ModelNotAvailable, match="missing"):
        tiny().load_lstm_state(inf.read_state_dict(wrong), str(wrong))


def test_missing_release_files_say_how_to_get_them(tmp_path):
    with pytest.raises(inf.InferSentNotAvailable) as err:
        inf.load_infersent(tmp_path)
    msg = str(err.value)
    assert isinstance(err.value, ReproError)
    assert "infersent1.pkl" in msg and inf.INFERSENT1_URL in msg and "glove.840B.300d" in msg
    assert inf.GLOVE_840B_URL in msg


def test_table_rows_run_infersent_where_the_files_are(tmp_path):
    from repro.encoders.build import build_encoder
    from repro.profiles import get_profile
    from repro.specs import get_spec

    row = next(r for r in get_spec("1").rows_for(get_profile("local")) if r.paper_row == "InferSent - Glove")
    assert row.kind == "infersent"
    with pytest.raises(inf.InferSentNotAvailable, match="curl -Lo"):
        build_encoder(row, data_root=tmp_path)


def test_load_infersent_from_release_files(tmp_path, monkeypatch):
    """A complete (tiny-vocabulary) release folder loads: weights from the .pkl, vectors from the GloVe text."""
    monkeypatch.setenv("SBERT_REPRO_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(300, 2048, 1, bidirectional=True)
    (tmp_path / "infersent").mkdir()
    torch.save({f"enc_lstm.{k}": v for k, v in lstm.state_dict().items()}, tmp_path / "infersent" / "infersent1.pkl")
    (tmp_path / "glove840b").mkdir()
    rng = np.random.default_rng(0)
    lines = [" ".join([w] + [f"{x:.4f}" for x in rng.standard_normal(300)]) for w in ("<s>", "</s>", "A", "man")]
    (tmp_path / "glove840b" / "glove.840B.300d.txt").write_text("\n".join(lines) + "\n")
    m = inf.load_infersent(tmp_path)
    assert torch.equal(m.enc_lstm.weight_hh_l0_reverse, lstm.weight_hh_l0_reverse)
    assert m.words_of("A man") == [0, 2, 3, 1] and m.encode(["A man"]).shape == (1, 4096)
