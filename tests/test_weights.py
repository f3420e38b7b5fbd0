"""Model resolution: local folders, packaged copies (sha256-checked), clear failures offline."""

from __future__ import annotations

import time

import pytest

from repro import weights as models
from repro.cli import main
from repro.errors import BrokenModel, ModelNotAvailable


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty Hugging Face cache
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))


def test_unknown_hub_id_offline_fails_fast_with_the_fix(offline):
    t0 = time.perf_counter()
    with pytest.raises(ModelNotAvailable) as e:
        models.resolve_model("bert-base-uncased")
    assert time.perf_counter() - t0 < 5
    msg = str(e.value)
    assert "bert-base-uncased" in msg and "not reachable offline" in msg and "--model-path" in msg


def test_unknown_hub_id_without_offline_flag_does_not_hang(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(models, "hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(ModelNotAvailable, match="model hub is not reachable"):
        models.resolve_model("some-org/some-model")


def test_cli_reports_missing_model_in_one_line(offline, capsys):
    rc = main(["models", "--resolve", "roberta-large"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: roberta-large") and "Traceback" not in err and err.count("\n") == 1


def test_local_folder_without_config_is_refused(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelNotAvailable, match="no config.json"):
        models.resolve_model(tmp_path)


def test_missing_local_path_is_named(tmp_path):
    with pytest.raises(ModelNotAvailable, match="no such folder"):
        models.resolve_model(str(tmp_path / "nope" / "model"))


def test_model_path_override(tmp_path, smoke_bert):
    models.set_model_path("bert-base-uncased", smoke_bert)
    try:
        assert models.resolve_model("bert-base-uncased") == smoke_bert.resolve()
    finally:
        models._OVERRIDES.clear()
    with pytest.raises(ModelNotAvailable, match="no such folder"):
        models.set_model_path("bert-base-uncased", tmp_path / "missing")


@pytest.mark.needs_weights
def test_packaged_minilm_resolves_by_hub_id_and_alias(minilm_path):
    assert models.resolve_model("all-MiniLM-L6-v2") == minilm_path
    assert (minilm_path / "model.safetensors").is_file()


@pytest.mark.needs_weights
def test_packaged_copy_with_wrong_checksum_is_refused(minilm_path, monkeypatch):
    copy = models.KNOWN_LOCAL["sentence-transformers/all-MiniLM-L6-v2"]
    bad = models.LocalCopy(copy.hub_id, copy.package, copy.subdir, copy.pip, {"model.safetensors": "0" * 64})
    monkeypatch.setitem(models.KNOWN_LOCAL, copy.hub_id, bad)
    # broken weights are the user's to fix (reinstall), not "unavailable by design": BrokenModel, a DataError
    with pytest.raises(BrokenModel, match="sha256.*Reinstall"):
        models.resolve_model("sentence-transformers/all-MiniLM-L6-v2")


def test_missing_package_says_what_to_install(monkeypatch):
    fake = models.LocalCopy("org/fake", "no_such_package_xyz", "model", "fake-package==1.0")
    monkeypatch.setitem(models.KNOWN_LOCAL, "org/fake", fake)
    with pytest.raises(ModelNotAvailable, match="install fake-package==1.0"):
        models.resolve_model("org/fake")


def test_a_hub_download_fetches_only_what_is_loaded():
    from repro.weights import files_to_fetch

    bert = ["config.json", "flax_model.msgpack", "model.onnx", "model.safetensors", "pytorch_model.bin",
            "rust_model.ot", "tf_model.h5", "tokenizer.json", "tokenizer_config.json", "vocab.txt", ".gitattributes",
            "README.md", "coreml/fill-mask/float32_model.mlpackage/Data/com.apple.CoreML/model.mlmodel",
            "onnx/model.onnx", "onnx/config.json"]
    assert files_to_fetch(bert) == ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                                    "vocab.txt"]
    # a 2019 sentence-transformers checkpoint with .bin weights only, and its module configs
    st = ["0_BERT/config.json", "1_Pooling/config.json", "config.json", "modules.json", "pytorch_model.bin",
          "sentence_bert_config.json", "tf_model.h5", "vocab.txt", "openvino/openvino_model.xml"]
    assert files_to_fetch(st) == ["0_BERT/config.json", "1_Pooling/config.json", "config.json", "modules.json",
                                  "pytorch_model.bin", "sentence_bert_config.json", "vocab.txt"]
    # sharded safetensors: the shards and their index, no .bin copy
    large = ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
             "model.safetensors.index.json", "pytorch_model-00001-of-00002.bin", "pytorch_model.bin.index.json",
             "merges.txt", "vocab.json", "sentencepiece.bpe.model"]
    assert files_to_fetch(large) == ["config.json", "merges.txt", "model-00001-of-00002.safetensors",
                                     "model-00002-of-00002.safetensors", "model.safetensors.index.json",
                                     "sentencepiece.bpe.model", "vocab.json"]
