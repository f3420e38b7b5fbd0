"""The paper's "most similar pair" task: among n sentences, the pair (i < j) with the highest cosine similarity.

SBERT needs n embeddings and one n x n similarity matrix (computed in row blocks, upper triangle only, on the
device the embeddings are on); a cross-encoder needs n(n-1)/2 forward passes (see :mod:`repro.speed.cross`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch


@dataclass
class PairResult:
    i: int
    j: int
    cosine: float


def n_pairs(n: int) -> int:
    return n * (n - 1) // 2


def _normalized(embeddings, device) -> torch.Tensor:
    emb = torch.as_tensor(embeddings)
    if device is not None:
        emb = emb.to(device)
    if emb.ndim != 2 or emb.shape[0] < 2:
        raise ValueError(f"need an (n >= 2, d) matrix of embeddings, got shape {tuple(emb.shape)}")
    return torch.nn.functional.normalize(emb.float(), p=2, dim=1)


def top_pairs(embeddings, k: int = 1, block: int = 4096, device: str | torch.device | None = None
              ) -> list[PairResult]:
    """The ``k`` pairs i < j with the largest cosine similarity, best first.

    ``embeddings``: (n, d) numpy array or tensor; computed in fp32 in row blocks on ``device`` (default: where
    the tensor is), upper triangle only; one device synchronisation at the end.
    """
    emb = _normalized(embeddings, device)
    n = emb.shape[0]
    k = max(1, min(int(k), n * (n - 1) // 2))
    vals, rows, cols = [], [], []
    with torch.inference_mode():
        for s in range(0, n - 1, block):
            e = min(s + block, n)
            sims = emb[s:e] @ emb[s:].T  # rows s..e-1 against columns s..n-1
            r = torch.arange(e - s, device=emb.device)[:, None]
            c = torch.arange(n - s, device=emb.device)[None, :]
            sims.masked_fill_(c <= r, -float("inf"))  # keep j > i only
            v, flat = torch.topk(sims.view(-1), min(k, sims.numel()))
            vals.append(v)
            rows.append(flat // (n - s) + s)
            cols.append(flat % (n - s) + s)
        v, order = torch.topk(torch.cat(vals), k)
        i, j = torch.cat(rows)[order], torch.cat(cols)[order]
        v, i, j = v.cpu().tolist(), i.cpu().tolist(), j.cpu().tolist()
    return [PairResult(int(a), int(b), float(x)) for x, a, b in zip(v, i, j) if x > -float("inf")]


def most_similar_pair(embeddings, block: int = 4096, device: str | torch.device | None = None) -> PairResult:
    """The pair i < j with the largest cosine similarity (see :func:`top_pairs`)."""
    return top_pairs(embeddings, 1, block=block, device=device)[0]


def most_similar_pair_bruteforce(embeddings: np.ndarray) -> PairResult:
    """Reference implementation (full matrix, numpy float64) for tests."""
    e = np.asarray(embeddings, dtype=np.float64)
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    sims = e @ e.T
    sims[np.tril_indices(len(e))] = -np.inf
    i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
    return PairResult(int(i), int(j), float(sims[i, j]))


def end_to_end(encode: Callable[[Sequence[str]], object], sentences: Sequence[str],
               device: str | torch.device | None = None, keep: bool = False) -> dict:
    """Time encode + cosine matrix + argmax for ``sentences`` (everything from text to the answer).

    With ``keep`` the embeddings are returned too (key ``embeddings``, not timed separately)."""
    from repro.speed.timing import synchronize

    synchronize(device)
    t0 = time.perf_counter()
    emb = encode(sentences)
    synchronize(device)
    t1 = time.perf_counter()
    pair = most_similar_pair(emb, device=device)
    t2 = time.perf_counter()
    out = {"total_s": t2 - t0, "encode_s": t1 - t0, "search_s": t2 - t1, "n": len(sentences),
           "pair": [pair.i, pair.j], "cosine": pair.cosine}
    if keep:
        out["embeddings"] = emb
    return out
