"""The fast, faithful encode path (``SentenceEncoder.encode(fast=True)``).

What makes it fast, each measured in ``benchmarks/RESULTS.md``:

1. **Tokenising ahead, in parallel**: one pass of the Rust tokenizer over all sentences (a copy of the model's
   own ``backend_tokenizer``, same truncation), split over worker threads (it releases the GIL), into one flat
   id array. Same ids as ``tokenizer(...)``, tested.
2. **Batches by token budget, sorted by token count**: sentences are sorted by their number of WordPiece tokens
   (sentence-transformers sorts by characters, which pads about a third of all tokens on STSb at batch 32) and
   cut into batches of at most ``token_budget`` padded tokens; a batch of equal lengths runs without any mask.
3. **A fused inference-only BERT stack** (:class:`FastStack`): Q, K and V in one matrix product, PyTorch's
   ``scaled_dot_product_attention``, no dropout / head-mask / output plumbing.
4. **bf16 matrix products, fp32 everywhere else** (``precision="bf16"``; on a CPU the default only where
   :mod:`repro.encoders.calibrate` measured bf16 products faster than fp32 ones for this CPU, shape and thread
   count): weights of the linear layers are kept
   as bf16 copies and the products run in bf16 (oneDNN on CPUs with AVX-512 BF16 / AMX, tensor cores on GPUs)
   while the residual stream, LayerNorm, the embeddings and the pooling stay in fp32. Embeddings stay faithful:
   cosine >= 0.999 to the fp32 reference and the same STSb Spearman (tests/test_speed_fast.py).
5. On CUDA, **no synchronisation until the end**: the sentences are processed in chunks, so the CPU tokenises
   and pads chunk k+1 while the GPU still runs chunk k; ids travel once per chunk; results stay on the device
   until one copy back.

Models that are not BERT-family (MPNet, ...) keep steps 1, 2 and 5 and run the Hugging Face module itself
(under autocast for bf16/fp16).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from repro.errors import ConfigError, choose

PRECISIONS = ("fp32", "bf16", "fp16")
_TORCH_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
DEFAULT_TOKEN_BUDGET = {"cpu": 2048, "cuda": 32768}
DEFAULT_CHUNK = {"cpu": None, "cuda": 4096}  # sentences per pipelined chunk (None: all at once)
_BERT_FAMILY = {"bert": 0, "roberta": "roberta", "xlm-roberta": "roberta", "camembert": "roberta"}
_ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x),
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
}


# ============================================================================================ hardware
@lru_cache(maxsize=1)
def cpu_flags() -> frozenset:
    from repro.env import cpuinfo_field

    return frozenset((cpuinfo_field("flags") or "").split())


def cpu_has_fast_bf16() -> bool:
    """True when the CPU multiplies bf16 natively (AVX-512 BF16 or AMX): bf16 products *may* beat fp32 ones there
    (repro/encoders/calibrate.py measures whether they do)."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags()) and torch.backends.mkldnn.is_available()


def default_precision(device: str | torch.device, config=None) -> str:
    """bf16 on CUDA (fp16 where bf16 is unsupported); on a CPU the precision measured to be fastest for a model
    of ``config``'s shape at the current thread count (:mod:`repro.encoders.calibrate`: bf16 only where it is
    measurably faster than fp32 and faithful; cached per CPU model, shape and thread count)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    from repro.encoders.calibrate import calibrated_precision

    return calibrated_precision(config)


def default_token_budget(device: str | torch.device) -> int:
    return DEFAULT_TOKEN_BUDGET.get(torch.device(device).type, DEFAULT_TOKEN_BUDGET["cpu"])


# ============================================================================================ tokenising
@dataclass
class Tokenized:
    """All inputs' token ids, concatenated: input i is ``ids[offsets[i]:offsets[i+1]]``; ``type_ids`` (same
    layout) only for sentence pairs."""

    ids: np.ndarray  # int64, flat
    offsets: np.ndarray  # int64, (n + 1,)
    type_ids: np.ndarray | None = None

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def row(self, i: int) -> list[int]:
        return self.ids[self.offsets[i] : self.offsets[i + 1]].tolist()


def _backend_copy(tokenizer, max_length: int):
    """A private copy of the fast tokenizer's Rust backend, truncating like ``tokenizer(truncation=True)``
    (made once per tokenizer, length and vocabulary size, kept on the tokenizer; the original is never
    modified)."""
    backend = getattr(tokenizer, "backend_tokenizer", None) if getattr(tokenizer, "is_fast", False) else None
    if backend is None:
        return None
    cache = tokenizer.__dict__.setdefault("_repro_fast_backends", {})
    key = (max_length, len(tokenizer))  # added tokens change the length: then copy again
    if key not in cache:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_str(backend.to_str())
        tok.no_padding()
        tok.enable_truncation(max_length)
        cache.clear()
        cache[key] = tok
    return cache[key]


def _flat(rows, n: int) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.fromiter((t for r in rows for t in r), dtype=np.int64, count=int(offsets[-1]))
    return flat, offsets


def tokenize_ahead(tokenizer, inputs: Sequence, max_length: int, workers: int | None = None) -> Tokenized:
    """Token ids of all ``inputs`` (sentences, or ``(a, b)`` pairs), special tokens added, truncated to
    ``max_length`` (pairs: longest first), no padding.

    Uses the fast tokenizer's Rust backend directly, split over ``workers`` threads (default: one per CPU core;
    the backend releases the GIL). Slow (Python) tokenizers go through ``tokenizer(...)``.
    """
    inputs = list(inputs)
    n = len(inputs)
    pairs = n > 0 and isinstance(inputs[0], (tuple, list))
    backend = _backend_copy(tokenizer, max_length)
    types = None
    if backend is None:
        kw = dict(truncation=True, max_length=max_length, padding=False, return_attention_mask=False,
                  return_token_type_ids=pairs)
        enc = (tokenizer([a for a, _ in inputs], [b for _, b in inputs], **kw) if pairs
               else tokenizer(inputs, **kw)) if n else {"input_ids": [], "token_type_ids": []}
        rows = enc["input_ids"]
        types = enc.get("token_type_ids") if pairs else None
    else:
        encode = getattr(backend, "encode_batch_fast", None) or backend.encode_batch
        workers = max(1, workers or (os.cpu_count() or 1))
        size = max(64, math.ceil(n / workers))
        pieces = [[tuple(x) for x in inputs[i : i + size]] if pairs else inputs[i : i + size]
                  for i in range(0, n, size)]
        if len(pieces) <= 1:
            encs = [encode(p, add_special_tokens=True) for p in pieces]
        else:
            with ThreadPoolExecutor(min(workers, len(pieces))) as pool:
                encs = list(pool.map(lambda p: encode(p, add_special_tokens=True), pieces))
        rows = [e.ids for part in encs for e in part]
        if pairs:
            types = [e.type_ids for part in encs for e in part]
    ids, offsets = _flat(rows, n)
    type_ids = _flat(types, n)[0] if types is not None else None
    return Tokenized(ids, offsets, type_ids)


# ============================================================================================ batching
def plan_batches(lengths: np.ndarray, token_budget: int, max_rows: int | None = None, max_pad: float = 0.05,
                 min_tokens: int | None = None) -> list[np.ndarray]:
    """Input indices per batch, sorted by token count (longest first).

    A batch holds at most ``token_budget`` padded tokens (rows x its longest) and ``max_rows`` rows. Once it
    holds ``min_tokens`` real tokens (default: an eighth of the budget) it also closes before a sentence shorter
    than ``(1 - max_pad)`` x its longest, so the long tail of a corpus is not padded to its few longest
    sentences. Every input appears exactly once.
    """
    if token_budget < 1:
        raise ConfigError(f"token_budget must be >= 1, got {token_budget}")
    lengths = np.asarray(lengths, dtype=np.int64)
    min_tokens = token_budget // 8 if min_tokens is None else int(min_tokens)
    order = np.argsort(-lengths, kind="stable")
    batches, i, n = [], 0, len(order)
    while i < n:
        width = max(int(lengths[order[i]]), 1)
        rows = max(1, token_budget // width)
        if max_rows:
            rows = min(rows, max_rows)
        end = min(i + rows, n)
        if max_pad is not None and end - i > 1:
            short = np.flatnonzero(lengths[order[i:end]] < (1.0 - max_pad) * width)
            if len(short):
                cut = int(short[0])  # first row that would be padded by more than max_pad
                real = np.cumsum(lengths[order[i:end]])
                enough = int(np.searchsorted(real, min_tokens)) + 1  # rows needed to hold min_tokens
                end = i + max(cut, min(enough, end - i))
        batches.append(order[i:end])
        i = end
    return batches


def pad_rows(tok: Tokenized, idx: np.ndarray, pad_id: int, flat: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """(len(idx), longest) padded matrix of the inputs ``idx`` (from ``flat``, default ``tok.ids``) and their
    lengths (vectorised)."""
    flat = tok.ids if flat is None else flat
    lens = tok.lengths[idx]
    width = int(lens.max()) if len(lens) else 0
    out = np.full((len(idx), width), pad_id, dtype=np.int64)
    total = int(lens.sum())
    rows = np.repeat(np.arange(len(idx)), lens)
    within = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
    src = np.repeat(tok.offsets[idx], lens) + within
    out[rows, within] = flat[src]
    return out, lens


def padded_fraction(lengths: np.ndarray, batches: Sequence[np.ndarray]) -> float:
    """Share of computed token positions that are padding, for a batching."""
    lengths = np.asarray(lengths)
    computed = sum(int(lengths[b].max()) * len(b) for b in batches if len(b))
    real = int(lengths.sum())
    return 0.0 if computed == 0 else 1.0 - real / computed


# ============================================================================================ the stack
@dataclass
class _Layer:
    wqkv: torch.Tensor
    bqkv: torch.Tensor
    wo: torch.Tensor
    bo: torch.Tensor
    ln1: tuple
    w1: torch.Tensor
    b1: torch.Tensor
    w2: torch.Tensor
    b2: torch.Tensor
    ln2: tuple


def unsupported_reason(model) -> str | None:
    """Why :class:`FastStack` cannot run ``model`` (None when it can)."""
    cfg = getattr(model, "config", None)
    kind = getattr(cfg, "model_type", None)
    if kind not in _BERT_FAMILY:
        return f"model type {kind!r} is not BERT-family ({', '.join(_BERT_FAMILY)})"
    if getattr(cfg, "position_embedding_type", "absolute") not in (None, "absolute"):
        return f"position_embedding_type {cfg.position_embedding_type!r} (only absolute)"
    if getattr(cfg, "hidden_act", None) not in _ACTIVATIONS:
        return f"activation {getattr(cfg, 'hidden_act', None)!r}"
    if getattr(cfg, "is_decoder", False) or getattr(cfg, "add_cross_attention", False):
        return "decoder / cross-attention models"
    try:
        emb, layer = model.embeddings, model.encoder.layer[0]
        _ = (emb.word_embeddings, emb.position_embeddings, emb.LayerNorm, layer.attention.self.query,
             layer.attention.output.dense, layer.intermediate.dense, layer.output.dense)
    except AttributeError as e:
        return f"unexpected module layout ({e})"
    return None


class FastStack:
    """Inference-only forward of a BERT-family encoder (BertModel, RobertaModel, MiniLM ...), padded input.

    Mathematically the Hugging Face forward in eval mode; ``precision`` sets the dtype of the linear layers'
    weights and inputs (fp32 / bf16 / fp16). The residual stream, LayerNorm, embeddings and the output stay
    fp32, so rounding enters only through the matrix products (and attention). ``n_layers`` transformer layers
    are run (hidden state ``n_layers`` of ``output_hidden_states``).
    """

    def __init__(self, model, precision: str = "fp32", n_layers: int | None = None):
        why = unsupported_reason(model)
        if why:
            raise ConfigError(f"FastStack: {why}")
        self.precision = choose(precision, PRECISIONS, "precision")
        cdt = _TORCH_DTYPES[precision]
        cfg = model.config
        emb = model.embeddings
        f32 = lambda t: t.detach().float()  # noqa: E731  (a view when already fp32)
        low = lambda t: t.detach().to(cdt)  # noqa: E731
        self.dtype = cdt
        self.word = f32(emb.word_embeddings.weight)
        self.pos = f32(emb.position_embeddings.weight)
        tte = getattr(emb, "token_type_embeddings", None)
        self.types = f32(tte.weight) if tte is not None else None
        self.type0 = self.types[0] if tte is not None else None
        self.pos_offset = (int(emb.padding_idx) + 1) if _BERT_FAMILY[cfg.model_type] == "roberta" else 0
        self.emb_ln = (f32(emb.LayerNorm.weight), f32(emb.LayerNorm.bias), float(emb.LayerNorm.eps))
        self.hidden = int(cfg.hidden_size)
        self.heads = int(cfg.num_attention_heads)
        self.act = _ACTIVATIONS[cfg.hidden_act]
        total = len(model.encoder.layer)
        n_layers = total if n_layers is None else int(n_layers)
        if not 0 <= n_layers <= total:
            raise ConfigError(f"n_layers {n_layers} outside 0..{total}")
        self.layers = []
        for layer in list(model.encoder.layer)[:n_layers]:
            att = layer.attention.self
            ln1, ln2 = layer.attention.output.LayerNorm, layer.output.LayerNorm
            self.layers.append(_Layer(
                wqkv=torch.cat([att.query.weight, att.key.weight, att.value.weight]).detach().to(cdt),
                bqkv=torch.cat([att.query.bias, att.key.bias, att.value.bias]).detach().to(cdt),
                wo=low(layer.attention.output.dense.weight), bo=low(layer.attention.output.dense.bias),
                ln1=(f32(ln1.weight), f32(ln1.bias), float(ln1.eps)),
                w1=low(layer.intermediate.dense.weight), b1=low(layer.intermediate.dense.bias),
                w2=low(layer.output.dense.weight), b2=low(layer.output.dense.bias),
                ln2=(f32(ln2.weight), f32(ln2.bias), float(ln2.eps)),
            ))

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor | None = None,
                 type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Token vectors (B, W, hidden) in fp32 for right-padded ``ids`` (B, W); ``mask`` (B, W) bool marks real
        tokens (None: no padding in this batch); ``type_ids`` (B, W) segment ids (None: all 0)."""
        B, W = ids.shape
        d, H = self.hidden, self.heads
        x = F.embedding(ids, self.word) + self.pos[self.pos_offset : self.pos_offset + W]
        if type_ids is not None and self.types is not None:
            x = x + F.embedding(type_ids, self.types)
        elif self.type0 is not None:
            x = x + self.type0
        x = F.layer_norm(x, (d,), *self.emb_ln[:2], self.emb_ln[2])
        attn_mask = None if mask is None else mask[:, None, None, :]
        cdt = self.dtype
        for L in self.layers:
            xc = x if cdt == torch.float32 else x.to(cdt)
            qkv = F.linear(xc, L.wqkv, L.bqkv).view(B, W, 3, H, d // H).permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attn_mask)
            ctx = ctx.transpose(1, 2).reshape(B, W, d)
            o = F.linear(ctx, L.wo, L.bo)
            x = F.layer_norm(x + o.float(), (d,), L.ln1[0], L.ln1[1], L.ln1[2])
            xc = x if cdt == torch.float32 else x.to(cdt)
            h = self.act(F.linear(xc, L.w1, L.b1))
            f = F.linear(h, L.w2, L.b2)
            x = F.layer_norm(x + f.float(), (d,), L.ln2[0], L.ln2[1], L.ln2[2])
        return x


def pool(tokens: torch.Tensor, mask: torch.Tensor | None, lengths: torch.Tensor, mode: str) -> torch.Tensor:
    """Mean / max / CLS pooling of fp32 token vectors, as :class:`repro.encoders.pooling.Pooling`."""
    if mode == "cls":
        return tokens[:, 0]
    if mask is None:
        return tokens.mean(dim=1) if mode == "mean" else tokens.max(dim=1).values
    m = mask.unsqueeze(-1)
    if mode == "mean":
        return (tokens * m).sum(dim=1) / lengths.clamp(min=1).unsqueeze(-1).to(tokens.dtype)
    return tokens.masked_fill(~m, torch.finfo(tokens.dtype).min).max(dim=1).values


# ============================================================================================ driver
def _layers_to_run(encoder) -> int:
    total = int(encoder.transformer.config.num_hidden_layers)
    k = total + 1 + encoder.layer if encoder.layer < 0 else encoder.layer
    if not 0 <= k <= total:
        raise ConfigError(f"layer {encoder.layer} does not exist in a {total}-layer model")
    return k


def _weights_token(module) -> tuple:
    return tuple((p.data_ptr(), p._version) for p in module.parameters())


def get_stack(model, precision: str, n_layers: int | None = None, owner=None) -> FastStack | None:
    """A cached :class:`FastStack` of ``model`` for ``precision`` (rebuilt when the weights changed, e.g. by
    training), or None when the model is not BERT-family. The cache lives on ``owner`` (default the model)."""
    if unsupported_reason(model):
        return None
    owner = model if owner is None else owner
    cache = owner.__dict__.setdefault("_fast_stacks", {})
    key = (precision, str(next(model.parameters()).device), n_layers)
    token = _weights_token(model)
    hit = cache.get(key)
    if hit is None or hit[0] != token:
        cache.clear()  # at most one stack alive: bf16 copies of a large model are not free
        hit = cache[key] = (token, FastStack(model, precision, n_layers=n_layers))
    return hit[1]


@dataclass
class DeviceBatch:
    """One padded batch on the device: input positions ``idx`` (host), ids, lengths, mask (None when the batch
    has no padding) and segment ids (pairs only)."""

    idx: np.ndarray
    dest: torch.Tensor
    ids: torch.Tensor
    lens: torch.Tensor
    mask: torch.Tensor | None
    type_ids: torch.Tensor | None


def _to_device(a: np.ndarray, device: torch.device) -> torch.Tensor:
    t = torch.from_numpy(a)
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t if device.type == "cpu" else t.to(device)


def device_batches(tok: Tokenized, plan: Sequence[np.ndarray], pad_id: int, device: torch.device,
                   offset: int = 0) -> list[DeviceBatch]:
    """Pad every batch of ``plan`` on the host and move all of them to ``device`` in one copy."""
    padded = [pad_rows(tok, b, pad_id) for b in plan]
    types = [pad_rows(tok, b, 0, tok.type_ids)[0] for b in plan] if tok.type_ids is not None else None
    parts = [p.ravel() for p, _ in padded] + [n for _, n in padded] + [b + offset for b in plan]
    if types is not None:
        parts += [t.ravel() for t in types]
    flat = _to_device(np.concatenate(parts) if parts else np.zeros(0, np.int64), device)
    views, pos = [], 0
    for p in parts:
        views.append(flat[pos : pos + p.size])
        pos += p.size
    k = len(plan)
    out = []
    for i, (b, (p, lens_np)) in enumerate(zip(plan, padded)):
        ids = views[i].view(p.shape)
        lens = views[k + i]
        W = p.shape[1]
        mask = None if int(lens_np.min()) == W else torch.arange(W, device=device)[None, :] < lens[:, None]
        tt = views[3 * k + i].view(p.shape) if types is not None else None
        out.append(DeviceBatch(b, views[2 * k + i], ids, lens, mask, tt))
    return out


@torch.inference_mode()
def fast_encode(encoder, sentences: Sequence[str], *, precision: str | None = None, token_budget: int | None = None,
                max_rows: int | None = None, chunk_size: int | None = None, use_stack: bool = True,
                output: str = "numpy", show_progress: bool = False):
    """Embeddings (n, dim) float32 in input order, computed the fast way (see the module docstring).

    ``precision``: fp32 / bf16 / fp16 (default: :func:`default_precision`: bf16 on CUDA; on a CPU bf16 only where
    it was measured faster than fp32 for this model shape and thread count).
    ``token_budget``: padded tokens per batch (default 2048 on CPU, 32768 on CUDA). ``chunk_size``: sentences
    per pipelined chunk (default: all at once on CPU, 4096 on CUDA). ``use_stack=False`` runs the Hugging Face
    module instead of :class:`FastStack` (for comparison; it is also the path for non-BERT models).
    ``output``: ``numpy`` (default) or ``tensor`` (a float32 tensor left on the encoder's device).
    """
    device = torch.device(encoder.device_name)
    precision = choose(precision or default_precision(device, encoder.transformer.config), PRECISIONS, "precision")
    choose(output, ("numpy", "tensor"), "output")
    token_budget = int(token_budget or default_token_budget(device))
    if token_budget < 1:
        raise ConfigError(f"token_budget must be >= 1, got {token_budget}")
    chunk_size = chunk_size if chunk_size is not None else DEFAULT_CHUNK.get(device.type)
    sentences = list(sentences)
    n = len(sentences)
    out = torch.empty((n, encoder.dim), dtype=torch.float32, device=device)
    if n == 0:
        return out if output == "tensor" else out.cpu().numpy()
    was_training = encoder.training
    encoder.eval()
    stack = get_stack(encoder.transformer, precision, _layers_to_run(encoder), owner=encoder) if use_stack else None
    pad_id = encoder.tokenizer.pad_token_id or 0
    mode = encoder.pooling.mode
    chunk = chunk_size or n
    progress = None
    if show_progress:
        from tqdm.auto import tqdm

        progress = tqdm(total=n, desc=f"encode {encoder.name} (fast)", unit="sent", leave=False)
    try:
        for start in range(0, n, chunk):
            tok = tokenize_ahead(encoder.tokenizer, sentences[start : start + chunk], encoder.token_limit)
            plan = plan_batches(tok.lengths, token_budget, max_rows)
            for b in device_batches(tok, plan, pad_id, device, offset=start):
                out.index_copy_(0, b.dest, _embed(encoder, stack, b, precision, mode))
                if progress is not None:
                    progress.update(len(b.idx))
    finally:
        if progress is not None:
            progress.close()
        if was_training:
            encoder.train()
    return out if output == "tensor" else out.cpu().numpy()


def _embed(encoder, stack, b: DeviceBatch, precision: str, mode: str) -> torch.Tensor:
    if stack is not None:
        emb = pool(stack(b.ids, b.mask), b.mask, b.lens, mode)
        return F.normalize(emb, p=2, dim=1) if encoder.normalize else emb
    feats = {"input_ids": b.ids,
             "attention_mask": torch.ones_like(b.ids) if b.mask is None else b.mask.long()}
    if "token_type_ids" in getattr(encoder.tokenizer, "model_input_names", ()):
        feats["token_type_ids"] = torch.zeros_like(b.ids)
    if precision == "fp32":
        return encoder.forward(feats).float()
    with torch.autocast(b.ids.device.type, dtype=_TORCH_DTYPES[precision]):
        return encoder.forward(feats).float()


def flops_per_token(config) -> float:
    """Matrix-product FLOPs per token of a BERT-style encoder forward (2 x weights of the linear layers)."""
    d, ff, n = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    return 2.0 * n * (4 * d * d + 2 * d * ff)
