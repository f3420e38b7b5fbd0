"""The Universal Sentence Encoder (Cer et al., 2018), the paper's TensorFlow baseline (Tables 1 and 5), run through
TensorFlow Hub.

The paper used ``https://tfhub.dev/google/universal-sentence-encoder-large/3``: a TF1 Hub module whose
``default`` signature takes a 1-d ``tf.string`` tensor of sentences and returns ``{"default": float32 [n, 512]}``.
Later versions (``/4``, ``/5``) are TF2 SavedModels called directly (``model(sentences) -> [n, 512]``). Both load
here, from a TF-Hub handle (downloaded once into TF-Hub's cache, ``$TFHUB_CACHE_DIR``) or a local SavedModel
folder; ``--model-path HANDLE=DIR`` points a handle at a folder downloaded elsewhere (the usual way offline).

TensorFlow is an optional extra (``pip install -e '.[use]'`` in the clone: tensorflow + tensorflow-hub), imported only
when a USE row is built, so nothing else in the suite pays for it. Where it is missing the row stops with a
one-line :class:`~repro.errors.ConfigError` saying what to install (the paper profile needs it, so it is the
user's to fix); a handle that cannot be reached offline is :class:`~repro.errors.ModelNotAvailable` (by design,
like the other hub models).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from repro.encoders.base import check_sentences
from repro.errors import BrokenModel, ConfigError, ModelNotAvailable

PAPER_HANDLE = "https://tfhub.dev/google/universal-sentence-encoder-large/3"
"""The release the paper scored (its Table 7 note and the 2019 code's evaluation of USE)."""
INSTALL = "pip install -e '.[use]' (in the clone)"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def _one_line(error: BaseException, limit: int = 300) -> str:
    """TensorFlow's messages run over many lines; a ReproError is one line."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:limit]}{'...' if len(text) > limit else ''}"


def import_tensorflow():
    """``(tensorflow, tensorflow_hub)``, imported now (quietly: TF's C++ log level 2 unless set), with GPU memory
    grown on demand so TensorFlow does not take a GPU that PyTorch shares; a ConfigError naming the extra when
    they are not installed."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf

        with warnings.catch_warnings():  # tensorflow-hub 0.16 imports the deprecated pkg_resources
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
            import tensorflow_hub as hub
    except ImportError as e:
        raise ConfigError(f"the Universal Sentence Encoder needs TensorFlow and TensorFlow Hub ({e.name or e} is not "
                          f"installed); install the extra: {INSTALL}") from None
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised by an earlier model in this process: keep its setting
            pass
    return tf, hub


def is_local(handle: str) -> bool:
    """A folder on this machine rather than a hub handle (URL)."""
    return "://" not in handle


def hub_cache_folder(handle: str) -> Path:
    """Where TF-Hub keeps ``handle`` once downloaded (its resolver's layout: the sha1 of the handle under
    ``$TFHUB_CACHE_DIR``, default ``<tmp>/tfhub_modules``); read without importing TensorFlow (``plan``)."""
    import tempfile

    root = os.environ.get("TFHUB_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "tfhub_modules")
    return Path(root) / hashlib.sha1(handle.encode("utf8")).hexdigest()


def handle_problem(handle: str) -> str | None:
    """Why ``handle`` cannot run here without a download or an install, or None (for ``plan``: no TensorFlow
    import, no network)."""
    import importlib.util

    from repro.weights import model_path_override

    missing = [m for m in ("tensorflow", "tensorflow_hub") if importlib.util.find_spec(m) is None]
    if missing:
        return f"{handle}: {' and '.join(missing)} not installed; install the extra: {INSTALL}"
    if model_path_override(handle) is not None or (is_local(handle) and Path(handle).expanduser().is_dir()):
        return None
    if not is_local(handle) and hub_cache_folder(handle).is_dir():
        return None
    return (f"{handle}: not in TF-Hub's cache ({hub_cache_folder(handle)}) and no --model-path given; it is fetched "
            f"on first use where tfhub.dev is reachable, or pass --model-path {handle}=DIR (the SavedModel folder)")


def check_saved_model(folder: Path, what: str) -> Path:
    """``folder`` if it holds a SavedModel (or a TF1 Hub module, which is one), else ModelNotAvailable."""
    if not folder.exists():
        raise ModelNotAvailable(f"{what}: no such folder")
    if not folder.is_dir():
        raise ModelNotAvailable(f"{what}: is a file; the Universal Sentence Encoder is a SavedModel folder")
    if not any((folder / f).is_file() for f in SAVED_MODEL_FILES):
        raise ModelNotAvailable(f"{what}: folder has no saved_model.pb (not a TensorFlow SavedModel / TF-Hub module)")
    return folder


def resolve_handle(handle: str) -> Path:
    """The local folder of ``handle``: its ``--model-path`` override, the folder itself, or TF-Hub's download (from
    its cache when there). Offline and not cached: ModelNotAvailable saying how to provide it."""
    from repro.weights import model_path_override

    override = model_path_override(handle)
    if override is not None:
        return check_saved_model(override, f"--model-path {handle}={override}")
    if is_local(handle):
        return check_saved_model(Path(handle).expanduser(), handle).resolve()
    _, hub = import_tensorflow()
    try:
        path = Path(hub.resolve(handle))
    except Exception as e:  # urllib / TF-Hub errors: no network, a handle that does not exist
        raise ModelNotAvailable(
            f"{handle}: not reachable offline and not in TF-Hub's cache ({hub_cache_folder(handle)}): "
            f"{_one_line(e, 160)}. Download it where there is internet and pass --model-path {handle}=DIR "
            "(the unpacked SavedModel folder), or fill the cache ($TFHUB_CACHE_DIR)") from None
    return check_saved_model(path, f"{handle} (resolved to {path})")


class UniversalSentenceEncoder:
    """A TF-Hub sentence encoder behind the suite's encoder protocol: ``encode(list[str], batch_size) -> (n, d)``
    float32 in input order.

    Args:
        handle: a TF-Hub handle (``https://tfhub.dev/...``) or a local SavedModel folder.
        name: what records and the embedding cache call it (default: the handle).
        device: ``cpu`` pins TensorFlow to the CPU, ``cuda[:N]`` to GPU N; None: TensorFlow's own placement.
    """

    def __init__(self, handle: str, name: str | None = None, device: str | None = None):
        self.handle = str(handle)
        self.name = name or self.handle
        self.path = resolve_handle(self.handle)
        self._tf, hub = import_tensorflow()
        self._device = _tf_device(device)
        try:
            self._model = hub.load(str(self.path))
        except Exception as e:  # a damaged or foreign SavedModel: TensorFlow's parse / restore errors
            raise BrokenModel(f"{self.handle}: the SavedModel in {self.path} cannot be loaded ({_one_line(e)}); "
                              "download it again") from None
        self._call, self.signature = self._entry_point()
        self._fingerprint: str | None = None
        self.dim: int | None = None

    def _entry_point(self):
        """How to call the model: the TF1 Hub ``default`` signature (the paper's USE-large/3), else the TF2 object
        itself (USE /4 and later), else ``serving_default``; each must map strings to one float matrix."""
        tf = self._tf
        signatures = getattr(self._model, "signatures", None) or {}
        if "default" in signatures:
            return self._signature_call(signatures["default"], "default"), "default"
        if callable(self._model):
            return (lambda batch: self._model(tf.constant(batch, dtype=tf.string))), "__call__"
        if "serving_default" in signatures:
            return self._signature_call(signatures["serving_default"], "serving_default"), "serving_default"
        raise BrokenModel(f"{self.handle}: the SavedModel in {self.path} has no 'default' signature and is not "
                          "callable (not a sentence encoder: strings in, vectors out)")

    def _signature_call(self, fn, key: str):
        inputs = fn.structured_input_signature[1]
        if len(inputs) != 1:
            raise BrokenModel(f"{self.handle}: signature {key!r} takes {sorted(inputs)}, not one string tensor")
        arg = next(iter(inputs))
        tf = self._tf
        return lambda batch: _only_output(fn(**{arg: tf.constant(batch, dtype=tf.string)}), self.handle)

    def describe(self) -> dict:
        return {"model": self.name, "handle": self.handle, "kind": "use", "signature": self.signature,
                "tensorflow": self._tf.__version__}

    def fingerprint(self) -> str:
        """sha256 over the SavedModel's files (names and bytes), so the embedding cache never mixes two downloads
        or two test models under one handle."""
        if self._fingerprint is None:
            h = hashlib.sha256()
            for f in sorted(p for p in self.path.rglob("*") if p.is_file()):
                h.update(str(f.relative_to(self.path)).encode() + b"\0")
                with open(f, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def encode(self, sentences: Sequence[str], batch_size: int = 32, **_: object) -> np.ndarray:
        sentences = check_sentences(sentences)
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        out = []
        with self._tf.device(self._device) if self._device else contextlib.nullcontext():
            for i in range(0, len(sentences), batch_size):
                batch = sentences[i:i + batch_size]
                vecs = np.asarray(self._call(batch), dtype=np.float32)
                if vecs.ndim != 2 or vecs.shape[0] != len(batch):
                    raise BrokenModel(f"{self.handle}: returned shape {vecs.shape} for {len(batch)} sentences "
                                      "(a sentence encoder returns one vector per sentence)")
                out.append(vecs)
        if not out:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        result = np.concatenate(out)
        self.dim = int(result.shape[1])
        return result


def _only_output(outputs, handle: str):
    """The one matrix a signature returns: ``default`` (TF1 Hub) or its only output."""
    if not isinstance(outputs, dict):
        return outputs
    if "default" in outputs:
        return outputs["default"]
    if len(outputs) == 1:
        return next(iter(outputs.values()))
    raise BrokenModel(f"{handle}: the signature returns {sorted(outputs)}; expected 'default' or a single output")


def _tf_device(device: str | None) -> str | None:
    if not device:
        return None
    if device == "cpu":
        return "/CPU:0"
    if device.startswith("cuda"):
        index = device.partition(":")[2] or "0"
        return f"/GPU:{index}"
    raise ConfigError(f"--device {device!r}: the Universal Sentence Encoder runs on 'cpu' or 'cuda[:N]'")


def load_use(handle: str, name: str | None = None, device: str | None = None) -> UniversalSentenceEncoder:
    """The encoder of a ``use`` row (:func:`repro.encoders.build.build_encoder`)."""
    return UniversalSentenceEncoder(handle, name=name, device=device)
