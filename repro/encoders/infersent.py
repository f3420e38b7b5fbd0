"""InferSent v1 (Conneau et al., 2017), the paper's strongest non-BERT baseline, in PyTorch.

The released model (facebookresearch/InferSent, ``infersent1.pkl``) and its protocol, as its README describes it:

- input: GloVe 840B-300d vectors (cased, no lower-casing), one per word; each sentence is tokenised (NLTK's
  ``word_tokenize`` in the release's ``tokenize=True`` mode), wrapped in ``<s>`` ... ``</s>``; words without a
  vector are dropped (a sentence left empty keeps ``</s>``);
- encoder: one bidirectional LSTM layer with 2,048 units per direction (``enc_lstm_dim=2048``), so 4,096-d
  outputs per word; no dropout at inference;
- pooling: the maximum over time of every output dimension (``pool_type='max'``). Version 1 takes that maximum
  over the zero-padded outputs of the whole batch (``max_pad``), so a negative dimension of a short sentence can
  read 0; ``max_pad=True`` reproduces this, ``max_pad=False`` takes it over the sentence's own words only.

Weights load safely: the released file is a ``state_dict`` pickle read with ``torch.load(weights_only=True)``
(no code runs), converted once to ``safetensors`` in the user cache; later loads read that. Files expected
(:func:`release_paths`): ``<data root>/infersent/infersent1.pkl`` and ``<data root>/glove840b/glove.840B.300d.txt``.
Without them, :class:`InferSentNotAvailable` says where to get them. :func:`random_infersent` builds the same
shape with seeded random weights and random word vectors, for timing (speed does not depend on weight values).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from repro.encoders.base import check_sentences
from repro.errors import ModelNotAvailable

INFERSENT1_URL = "https://dl.fbaipublicfiles.com/infersent/infersent1.pkl"
GLOVE_840B_URL = "https://nlp.stanford.edu/data/glove.840B.300d.zip"
WORD_DIM = 300
LSTM_DIM = 2048
BOS, EOS = "<s>", "</s>"
STATE_KEYS = [f"enc_lstm.{w}_{k}_l0{s}" for s in ("", "_reverse") for w in ("weight", "bias") for k in ("ih", "hh")]


class InferSentNotAvailable(ModelNotAvailable):
    """The release files of InferSent are not on this machine."""


# Treebank-style word tokenisation (what NLTK's word_tokenize does to a sentence; used when NLTK is absent):
# quotes, punctuation and the clitics n't 's 're 've 'll 'd 'm split off; periods split off at the end only.
_PUNCT = re.compile(r"([?!;:,()\[\]{}<>\"`]|--|\.\.\.)")
_CLITIC = re.compile(r"(?i)(\w)(n't|'s|'re|'ve|'ll|'d|'m)\b")
_FINAL = re.compile(r"([^.])\.(\s*[\"')\]]*\s*)$")


def word_tokenize(sentence: str) -> list[str]:
    """NLTK's ``word_tokenize`` when NLTK and its tokenizer data are installed, else the same Treebank rules
    written here (splits punctuation, clitics and the final period)."""
    try:
        from nltk.tokenize import word_tokenize as nltk_word_tokenize

        return nltk_word_tokenize(sentence)
    except (ImportError, LookupError):
        pass
    s = _PUNCT.sub(r" \1 ", sentence)
    s = _FINAL.sub(r"\1 . \2", s)
    s = _CLITIC.sub(r"\1 \2", s)
    s = re.sub(r"(?i)\b(ca|wo|do|does|did|is|are|was|were|have|has|had|could|should|would)n 't\b", r"\1 n't", s)
    return s.split()


class InferSent(nn.Module):
    """The InferSent v1 BiLSTM-max encoder over a word-vector table (``words`` -> rows of ``vectors``)."""

    def __init__(self, words: Sequence[str], vectors: np.ndarray, *, word_dim: int = WORD_DIM,
                 lstm_dim: int = LSTM_DIM, max_pad: bool = True, tokenize: bool = True, name: str = "InferSent",
                 device: str = "cpu"):
        super().__init__()
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != word_dim or len(words) != vectors.shape[0]:
            raise ValueError(f"word vectors must be ({len(words)}, {word_dim}), got {vectors.shape}")
        self.name = name
        self.word_dim, self.lstm_dim = int(word_dim), int(lstm_dim)
        self.max_pad, self.tokenize_words = bool(max_pad), bool(tokenize)
        self.index: dict[str, int] = {}
        for i, w in enumerate(words):
            self.index.setdefault(w, i)
        self.vectors = torch.from_numpy(vectors)
        self.enc_lstm = nn.LSTM(self.word_dim, self.lstm_dim, 1, bidirectional=True, dropout=0.0)
        self.device_name = str(device)
        self.to(device)
        self.eval()

    @property
    def dim(self) -> int:
        return 2 * self.lstm_dim

    def describe(self) -> dict:
        return {"model": self.name, "encoder": f"BiLSTM {self.lstm_dim}x2, max pooling", "word_dim": self.word_dim,
                "vocab_size": len(self.index), "max_pad": self.max_pad}

    def fingerprint(self) -> str:
        """sha256 of the LSTM weights and the word table's identity (name, size; for the embedding cache)."""
        h = hashlib.sha256(f"{self.name}|{tuple(self.vectors.shape)}|{len(self.index)}|{self.max_pad}".encode())
        for k, v in sorted(self.lstm_state().items()):
            h.update(k.encode())
            h.update(v.float().numpy().tobytes())
        return h.hexdigest()

    # ------------------------------------------------------------------ words
    def words_of(self, sentence: str) -> list[int]:
        """Row ids of ``<s> word ... </s>``, words without a vector dropped (``</s>`` alone when none is left)."""
        toks = word_tokenize(sentence) if self.tokenize_words else sentence.split()
        ids = [self.index[w] for w in [BOS, *toks, EOS] if w in self.index]
        if not any(t in self.index for t in toks) and EOS in self.index:
            ids = [self.index[EOS]] if BOS not in self.index else [self.index[BOS], self.index[EOS]]
        return ids

    # ------------------------------------------------------------------ forward
    def forward(self, embedded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(T, B, word_dim) time-major word vectors, zero-padded, and the lengths (B,) -> (B, 2 x lstm_dim)."""
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths.cpu(), enforce_sorted=False)
        out, _ = self.enc_lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=embedded.shape[0])  # (T, B, 2H), 0-padded
        return max_pool(out, lengths, self.max_pad)

    @torch.inference_mode()
    def encode(self, sentences: Sequence[str], batch_size: int = 64, **_: object) -> np.ndarray:
        """Embeddings (n, 4096) in input order; sentences sorted by length into batches (as the release)."""
        sentences = check_sentences(sentences)
        rows = [self.words_of(s) for s in sentences]
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))
        dev = torch.device(self.device_name)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            lens = torch.tensor([max(1, len(rows[i])) for i in idx])
            emb = torch.zeros(int(lens.max()), len(idx), self.word_dim)
            for b, i in enumerate(idx):
                if rows[i]:
                    emb[: len(rows[i]), b] = self.vectors[rows[i]]
            out[idx] = self.forward(emb.to(dev), lens).float().cpu().numpy()
        return out

    # ------------------------------------------------------------------ weights
    def lstm_state(self) -> dict[str, torch.Tensor]:
        return {f"enc_lstm.{k}": v.detach().cpu().contiguous() for k, v in self.enc_lstm.state_dict().items()}

    def load_lstm_state(self, state: dict[str, torch.Tensor], source: str = "state dict") -> None:
        missing = [k for k in STATE_KEYS if k not in state]
        if missing:
            raise ModelNotAvailable(f"{source}: not an InferSent v1 state dict (missing {', '.join(missing[:4])}); "
                                    f"expected the release file {INFERSENT1_URL}")
        want = self.enc_lstm.weight_ih_l0.shape
        if tuple(state["enc_lstm.weight_ih_l0"].shape) != tuple(want):
            raise ModelNotAvailable(f"{source}: enc_lstm.weight_ih_l0 has shape "
                                    f"{tuple(state['enc_lstm.weight_ih_l0'].shape)}, expected {tuple(want)} "
                                    f"(InferSent v1: 300-d GloVe input, 2,048 units per direction)")
        self.enc_lstm.load_state_dict({k[len("enc_lstm."):]: state[k] for k in STATE_KEYS})


def max_pool(out: torch.Tensor, lengths: torch.Tensor, max_pad: bool) -> torch.Tensor:
    """Max over time of (T, B, D) zero-padded outputs: over all T positions (``max_pad``, v1 as released) or over
    each sentence's own ``lengths`` positions."""
    if max_pad:
        return out.max(dim=0).values
    T = out.shape[0]
    pad = torch.arange(T, device=out.device)[:, None] >= lengths.to(out.device)[None, :]
    return out.masked_fill(pad[:, :, None], float("-inf")).max(dim=0).values


# ============================================================================================ weights on disk
def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a saved state dict, read with ``weights_only=True`` (no code in the file is run)."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelNotAvailable(f"{path}: cannot be read as a state dict with torch.load(weights_only=True) "
                                f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); expected the "
                                f"release file {INFERSENT1_URL}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelNotAvailable(f"{path}: holds a {type(state).__name__}, not a state dict of tensors")
    return state


def to_safetensors(pkl: str | Path) -> Path:
    """The release ``.pkl`` converted once to safetensors in the user cache (keyed by the file's sha256)."""
    from safetensors.torch import save_file

    from repro.paths import cache_dir, file_sha256

    pkl = Path(pkl)
    out = cache_dir("models") / f"infersent1-{file_sha256(pkl)[:16]}.safetensors"
    if not out.is_file():
        state = read_state_dict(pkl)
        tmp = out.with_suffix(f".{__import__('os').getpid()}.part")
        save_file({k: v.contiguous() for k, v in state.items()}, str(tmp))
        tmp.replace(out)
    return out


def release_paths(data_root=None) -> tuple[Path, Path]:
    """The weights and the GloVe file (``glove840b/``, where ``fetch_data.py glove840b`` puts it; ``glove/`` is
    still read)."""
    from repro.paths import data_root as _root

    root = _root(data_root)
    glove = root / GLOVE_IN_ROOT
    legacy = root / "glove" / "glove.840B.300d.txt"
    return root / PKL_IN_ROOT, legacy if (not glove.is_file() and legacy.is_file()) else glove


PKL_IN_ROOT, GLOVE_IN_ROOT = "infersent/infersent1.pkl", "glove840b/glove.840B.300d.txt"


def how_to_get() -> str:
    """Where the release files go and where to get them (paths relative to the data root: records stay portable)."""
    return (f"InferSent v1 needs its release files in the data root ($SBERT_REPRO_DATA): {PKL_IN_ROOT} (curl -Lo "
            f"<data root>/{PKL_IN_ROOT} {INFERSENT1_URL}) and {GLOVE_IN_ROOT} (`python data_scripts/fetch_data.py "
            f"glove840b`, or download {GLOVE_840B_URL}, 2 GB, and unzip it into <data root>/glove840b/)")


def load_infersent(data_root=None, *, device: str = "cpu", max_pad: bool = True) -> InferSent:
    """The released InferSent v1 (weights and GloVe 840B-300d from the data root), or a clear error."""
    pkl, glove = release_paths(data_root)
    missing = [rel for rel, p in ((PKL_IN_ROOT, pkl), (GLOVE_IN_ROOT, glove)) if not p.is_file()]
    if missing:
        raise InferSentNotAvailable(f"not found in the data root: {', '.join(missing)}. {how_to_get()}")
    from safetensors.torch import load_file

    from repro.encoders.wordvec import AverageWordEmbeddings

    state = load_file(str(to_safetensors(pkl)))
    wv = AverageWordEmbeddings.from_text_file(glove, name="glove-840B-300d")
    words = sorted(wv.index, key=wv.index.get)
    model = InferSent(words, wv.vectors, max_pad=max_pad, name="InferSent (infersent1.pkl, GloVe 840B-300d)",
                      device="cpu")
    model.load_lstm_state(state, str(pkl))
    return model.to(device)


def random_infersent(words: Sequence[str], seed: int = 0, device: str = "cpu") -> InferSent:
    """InferSent v1's shape with seeded random LSTM weights and random 300-d vectors for ``words`` plus ``<s>``,
    ``</s>`` (for timing: the cost is the same as the released model's)."""
    vocab = [BOS, EOS, *dict.fromkeys(w for w in words if w not in (BOS, EOS))]
    g = np.random.default_rng(seed)
    vectors = g.standard_normal((len(vocab), WORD_DIM)).astype(np.float32) * 0.3
    torch.manual_seed(seed)
    digest = hashlib.sha256("\n".join(vocab).encode()).hexdigest()[:8]
    return InferSent(vocab, vectors, name=f"InferSent v1 shape (random weights, vocab {digest})", device=device)
