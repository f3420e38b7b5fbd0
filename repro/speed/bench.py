"""The speed suite behind ``sbert-repro bench`` and Table 7's task (:mod:`repro.tasks.speed`): measurement only.

Sections (each measured in one process, candidates interleaved, median of ``repeats`` rounds after a warm-up):

- ``encode``: SBERT-base encoding the STS benchmark sentences, tokenisation included: our ``encode()`` without
  smart batching (the paper's "SBERT-base" row) and with it (batch 32, fp32), sentence-transformers' ``encode()``
  on the same weights (the peer), and the fast path (``encode(fast=True)``; bf16 products where they were measured
  faster, and once more in fp32), and InferSent v1's shape (random weights) in the same rounds. Every fast run
  is checked against the fp32 reference of the same run (cosine).
- ``glove``: averaged GloVe vectors (a Python loop with dictionary look-ups and NumPy, as the paper's baseline).
- ``cross``: a BERT-base cross-encoder's pairs per second, plain and fast, and the extrapolated hours for all
  49,995,000 pairs of 10,000 sentences.
- ``e2e``: the most similar pair among 10,000 STSb sentences, measured end to end (text -> embeddings ->
  cosine matrix -> argmax), plain and fast.
- ``sweep`` (optional): token budgets x precisions x (fused stack or the Hugging Face module) for the fast path.

How much is measured: :mod:`repro.speed.presets` (no torch). What a run measured goes into one JSON-able report
(:func:`run_suite`), written as ``<stem>.{json,md,png}`` by :func:`write_report`; the paper's numbers shown
beside ours come from the caller (:class:`Paper`), read from Table 7's reference.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import torch

from repro.paths import atomic_path, atomic_write_text
from repro.errors import ConfigError, ReproError, choose, must_fix
from repro.paths import portable_path
from repro.speed.presets import INFERSENT_LABEL, SECTIONS, Settings
from repro.speed.timing import Timing, environment, hardware_label, loadavg, measure_interleaved


# ============================================================================================ data
def stsb_sentences(data_root=None) -> list[str]:
    """The unique sentences of STSb train + dev + test (15,487), in order of first appearance."""
    from repro.data.sts import load_stsb

    seen: dict[str, None] = {}
    for split in ("train", "dev", "test"):
        for p in load_stsb(split, root=data_root).pairs:
            seen.setdefault(p.s1, None)
            seen.setdefault(p.s2, None)
    return list(seen)


def sample(sentences: list[str], n: int | None, seed: int = 0) -> list[str]:
    """All sentences in file order (``n`` None or >= len) or ``n`` of them drawn at random, in random order."""
    if n is None or n >= len(sentences):
        return list(sentences)
    idx = np.random.default_rng(seed).permutation(len(sentences))[:n]
    return [sentences[i] for i in idx]


# ============================================================================================ helpers
@contextlib.contextmanager
def torch_threads(n: int | None):
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def load_timed_use(handle: str, device: str, threads: int | None):
    """The Universal Sentence Encoder the encode section times (:func:`repro.encoders.use.load_use`), its TensorFlow
    held to the suite's CPU threads (intra-op ``threads``, inter-op 1) where it is not started yet; ``.threads``
    says what TensorFlow runs with (None: its own choice, e.g. on a GPU or when it was already started)."""
    from repro.encoders.use import import_tensorflow, load_use
    from repro.speed.presets import use_label

    tf, _ = import_tensorflow()
    applied = None
    if torch.device(device).type == "cpu" and threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(1)
            applied = int(threads)
        except RuntimeError:  # TensorFlow already ran something in this process: its threads are fixed
            applied = tf.config.threading.get_intra_op_parallelism_threads() or None
    use = load_use(handle, name=use_label(handle), device=device)
    use.threads = applied
    return use


def cosine_rows(a, b):
    """Faithfulness: the same embedding computed two ways; two zero vectors agree (repro.encoders.base)."""
    from repro.encoders.base import cosine_rows as cos

    return cos(a, b, both_zero=1.0)


class _Keep:
    """Wraps a case so the output of its last call is kept (for the faithfulness check)."""

    def __init__(self, fn: Callable[[], object]):
        self.fn, self.last = fn, None

    def __call__(self):
        self.last = self.fn()
        return self.last


def _as_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


# ============================================================================================ sections
def measure_encode(encoder, peer, sentences: list[str], settings: Settings, device: str, echo=print,
                   infersent=None, use=None) -> dict:
    """The SBERT-base encoding rows (and InferSent's and the Universal Sentence Encoder's, when given: another
    model each, strings in), interleaved; returns per case sentences/s, rounds, settings, faithfulness, and each
    case's ratio to smart batching."""
    from repro.encoders import fast

    bs = settings.batch_size
    precision = settings.precision or fast.default_precision(device)
    budget = settings.token_budget or fast.default_token_budget(device)
    cases = {
        "plain": _Keep(lambda: encoder.encode(sentences, batch_size=bs, smart_batching=False)),
        "smart": _Keep(lambda: encoder.encode(sentences, batch_size=bs)),
        "fast": _Keep(lambda: encoder.encode(sentences, fast=True, precision=precision, token_budget=budget)),
    }
    if precision != "fp32":
        cases["fast_fp32"] = _Keep(lambda: encoder.encode(sentences, fast=True, precision="fp32",
                                                          token_budget=budget))
    if peer is not None:
        cases["peer"] = _Keep(lambda: peer.encode(sentences, batch_size=bs, convert_to_numpy=True))
    ibs = settings.infersent_batch_size
    if infersent is not None:
        cases["infersent"] = _Keep(lambda: infersent.encode(sentences, batch_size=ibs))
    if use is not None:
        cases["use"] = _Keep(lambda: use.encode(sentences, batch_size=bs))
    warm = sentences[: settings.warmup_sentences]
    warmup = {
        "plain": lambda: encoder.encode(warm, batch_size=bs, smart_batching=False),
        "smart": lambda: encoder.encode(warm, batch_size=bs),
        "fast": lambda: encoder.encode(warm, fast=True, precision=precision, token_budget=budget),
        "fast_fp32": lambda: encoder.encode(warm, fast=True, precision="fp32", token_budget=budget),
        "peer": lambda: peer.encode(warm, batch_size=bs),
        "infersent": lambda: infersent.encode(warm, batch_size=ibs),
        "use": lambda: use.encode(warm, batch_size=bs),
    }
    echo(f"  encode: {len(sentences):,} sentences, {settings.repeats} rounds, cases {', '.join(cases)}")
    load0 = loadavg()
    timings = measure_interleaved(cases, len(sentences), repeats=settings.repeats, warmup=warmup, device=device,
                                  echo=echo, max_spread=settings.max_spread, retries=settings.retries)
    ref = _as_numpy(cases["smart"].last)
    tok = fast.tokenize_ahead(encoder.tokenizer, sentences, encoder.max_seq_length)
    lengths = tok.lengths
    out = {"n": len(sentences), "tokens": int(lengths.sum()), "mean_tokens": float(lengths.mean()),
           "loadavg_before": load0, "loadavg_after": loadavg(), "cases": {}}
    if torch.device(device).type == "cpu" and not settings.precision:
        from repro.encoders.calibrate import calibrate

        out["calibration"] = calibrate(encoder.transformer.config).to_dict()
    char_order = np.argsort([-len(s) for s in sentences], kind="stable")
    token_order = np.argsort(-lengths, kind="stable")
    padded = {
        "plain": fast.padded_fraction(lengths, [np.arange(s, min(s + bs, len(lengths)))
                                                for s in range(0, len(lengths), bs)]),
        "smart": fast.padded_fraction(lengths, [token_order[s : s + bs] for s in range(0, len(lengths), bs)]),
        "peer": fast.padded_fraction(lengths, [char_order[s : s + bs] for s in range(0, len(lengths), bs)]),
        "fast": fast.padded_fraction(lengths, fast.plan_batches(lengths, budget)),
    }
    padded["fast_fp32"] = padded["fast"]
    if infersent is not None:
        wl = np.array([len(infersent.words_of(s)) for s in sentences])
        worder = np.argsort(-wl, kind="stable")
        padded["infersent"] = fast.padded_fraction(wl, [worder[s : s + ibs] for s in range(0, len(wl), ibs)])
    padded["use"] = None  # its own tokeniser inside the SavedModel: not known here
    desc = {
        "plain": dict(batch_size=bs, dtype="fp32", batching="corpus order, padded per batch"),
        "smart": dict(batch_size=bs, dtype="fp32", batching="sorted by token count, padded per batch"),
        "peer": dict(batch_size=bs, dtype="fp32", batching="sentence-transformers encode(): sorted by characters"),
        "fast": dict(token_budget=budget, dtype=precision,
                     batching="tokenised ahead, sorted by token count, token-budget batches, fused stack"),
        "fast_fp32": dict(token_budget=budget, dtype="fp32",
                          batching="tokenised ahead, sorted by token count, token-budget batches, fused stack"),
        "infersent": dict(batch_size=ibs, dtype="fp32",
                          batching="InferSent v1: words sorted by count, batches of 64, BiLSTM 2x2048, max pooling"),
        "use": dict(batch_size=bs, dtype="fp32", batching="corpus order; strings in (TensorFlow, its own tokeniser)"),
    }
    peer_ps = timings["peer"].per_second if "peer" in timings else None
    smart_ps = timings["smart"].per_second
    for name, t in timings.items():
        emb = _as_numpy(cases[name].last)
        faithful = {}
        if name not in ("infersent", "use"):  # another model: nothing to compare with
            cos = cosine_rows(emb, ref)
            faithful = {"cosine_to_fp32_min": float(cos.min()), "cosine_to_fp32_mean": float(cos.mean()),
                        "max_abs_diff_to_fp32": float(np.abs(emb - ref).max())}
        out["cases"][name] = {
            **t.to_dict(), **desc[name], "padded_fraction": padded[name],
            "vs_peer": (t.per_second / peer_ps) if peer_ps else None,
            "vs_smart": t.per_second / smart_ps if smart_ps else None, **faithful,
        }
    return out


def measure_glove(glove, sentences: list[str], settings: Settings, echo=print) -> dict:
    echo(f"  glove: {len(sentences):,} sentences, {settings.repeats} rounds")
    t = measure_interleaved({"glove": lambda: glove.encode(sentences)}, len(sentences), repeats=settings.repeats,
                            warmup={"glove": lambda: glove.encode(sentences[: settings.warmup_sentences])},
                            echo=echo, max_spread=settings.max_spread, retries=settings.retries)["glove"]
    return {"n": len(sentences), "model": glove.name, "dim": glove.dim, **t.to_dict(),
            "how": "Python loop: regex tokens, dictionary look-ups, NumPy mean"}


def measure_cross(cross, pairs: list[tuple[str, str]], settings: Settings, device: str, n_total: int,
                  echo=print) -> dict:
    from repro.encoders import fast
    from repro.speed.cross import hours_for_all_pairs
    from repro.speed.search import n_pairs

    bs = settings.batch_size
    precision = settings.precision or fast.default_precision(device)
    budget = settings.token_budget or fast.default_token_budget(device)
    cases = {"plain": _Keep(lambda: cross.predict(pairs, batch_size=bs)),
             "fast": _Keep(lambda: cross.predict_fast(pairs, precision=precision, token_budget=budget))}
    warm = pairs[: max(2, settings.warmup_sentences // 2)]
    echo(f"  cross-encoder: {len(pairs):,} pairs, {settings.repeats} rounds")
    timings = measure_interleaved(cases, len(pairs), repeats=settings.repeats, device=device, echo=echo,
                                  max_spread=settings.max_spread, retries=settings.retries,
                                  warmup={"plain": lambda: cross.predict(warm, batch_size=bs),
                                          "fast": lambda: cross.predict_fast(warm, precision=precision,
                                                                             token_budget=budget)})
    ref, got = _as_numpy(cases["plain"].last), _as_numpy(cases["fast"].last)
    from scipy.stats import spearmanr

    out = {"pairs": len(pairs), "n_sentences": n_total, "all_pairs": n_pairs(n_total), "cases": {}}
    desc = {"plain": dict(batch_size=bs, dtype="fp32", batching="batches of pairs in sampled order"),
            "fast": dict(token_budget=budget, dtype=precision, batching="sorted by length, token budget, fused")}
    for name, t in timings.items():
        out["cases"][name] = {**t.to_dict(), **desc[name], "pairs_per_second": t.per_second,
                              "hours_all_pairs": hours_for_all_pairs(t.per_second, n_total)}
    out["cases"]["fast"]["max_abs_diff_to_fp32"] = float(np.abs(got - ref).max())
    out["cases"]["fast"]["score_std_fp32"] = float(ref.std())
    if len(ref) > 2:
        out["cases"]["fast"]["spearman_to_fp32"] = float(spearmanr(ref, got).statistic)
    return out


def measure_e2e(encoder, sentences: list[str], settings: Settings, device: str, echo=print,
                candidates: int = 32) -> dict:
    """Most similar pair among ``sentences``, end to end, fast (and plain when asked).

    Faithfulness of the answer: the fast path's ``candidates`` best pairs are re-scored with fp32 embeddings
    (plain ``encode()``); the found pair must be the fp32 best among them (or within 1e-3 of it). With the plain
    case measured too, its answer (the exact fp32 best) is compared directly.
    """
    from repro.encoders import fast
    from repro.speed.search import end_to_end, top_pairs

    precision = settings.precision or fast.default_precision(device)
    budget = settings.token_budget or fast.default_token_budget(device)
    runs = {"fast": lambda s: fast.fast_encode(encoder, s, precision=precision, token_budget=budget,
                                               output="tensor")}
    if settings.e2e_plain:
        runs["plain"] = lambda s: encoder.encode(s, batch_size=settings.batch_size)
    out = {"n": len(sentences), "cases": {}}
    warm = sentences[: max(2, settings.warmup_sentences)]
    fast_emb = None
    for name, enc in runs.items():
        end_to_end(enc, warm, device=device)  # warm-up
        rounds = []
        for r in range(settings.e2e_repeats):
            res = end_to_end(enc, sentences, device=device, keep=True)
            if name == "fast":
                fast_emb = res["embeddings"]
            res.pop("embeddings")
            rounds.append(res)
            echo(f"    e2e {name} round {r + 1}/{settings.e2e_repeats}: {res['total_s']:.3f} s "
                 f"(encode {res['encode_s']:.3f} s, search {res['search_s']:.4f} s)")
        med = sorted(rounds, key=lambda x: x["total_s"])[len(rounds) // 2]
        out["cases"][name] = {**med, "rounds_s": [x["total_s"] for x in rounds],
                              "dtype": precision if name == "fast" else "fp32",
                              "token_budget": budget if name == "fast" else None,
                              "batch_size": None if name == "fast" else settings.batch_size}
    target = settings.e2e_target
    if target and target > len(sentences):  # the quick setting: encode scales with n, the search with n^2
        f = target / len(sentences)
        out["target_n"] = target
        for c in out["cases"].values():
            c["total_s_target"] = c["encode_s"] * f + c["search_s"] * f * f
            c["extrapolated"] = (f"{target:,} sentences extrapolated from {len(sentences):,} timed: encode x {f:g}, "
                                 f"search x {f * f:g}")
    cands = top_pairs(fast_emb, candidates)
    ids = sorted({i for p in cands for i in (p.i, p.j)})
    ref = encoder.encode([sentences[i] for i in ids], batch_size=settings.batch_size)
    pos = {i: r for r, i in enumerate(ids)}
    fp32 = [float(cosine_rows(ref[[pos[p.i]]], ref[[pos[p.j]]])[0]) for p in cands]
    f = out["cases"]["fast"]
    f.update(fp32_cosine_of_found_pair=fp32[0], fp32_best_cosine_among_candidates=max(fp32),
             candidates_rescored=len(cands))
    if "plain" in out["cases"]:
        f["fp32_best_cosine"] = out["cases"]["plain"]["cosine"]
    return out


def sweep_configs(device: str) -> list[dict]:
    """The fast-path variants :func:`sweep` times on ``device`` (precision, token budget, stack, chunk)."""
    from repro.encoders import fast

    if torch.device(device).type == "cuda":
        low = fast.default_precision(device)
        out = [dict(precision=low, token_budget=b, use_stack=True, chunk_size=c)
               for b in (8192, 32768, 65536) for c in (0, 4096, 8192)]
        out += [dict(precision=low, token_budget=32768, use_stack=False, chunk_size=4096),
                dict(precision="fp16", token_budget=32768, use_stack=True, chunk_size=4096),
                dict(precision="fp32", token_budget=32768, use_stack=True, chunk_size=4096)]
        return out
    precs = list(dict.fromkeys(["fp32", fast.default_precision(device)]))
    out = [dict(precision=p, token_budget=b, use_stack=True, chunk_size=None) for p in precs for b in (512, 2048, 8192)]
    out += [dict(precision=precs[-1], token_budget=2048, use_stack=False, chunk_size=None)]
    return out


def sweep(encoder, sentences: list[str], device: str, *, configs: list[dict] | None = None, repeats: int = 3,
          echo=print) -> dict:
    """Time fast-path variants (:func:`sweep_configs`) interleaved; returns name -> timing (+ the config)."""
    from repro.encoders import fast

    configs = configs or sweep_configs(device)
    cases, meta = {}, {}
    for c in configs:
        name = (f"{c['precision']}/budget={c['token_budget']}/{'stack' if c['use_stack'] else 'hf-module'}"
                f"/chunk={c.get('chunk_size') or 'all'}")
        cases[name] = (lambda c=c, s=sentences: fast.fast_encode(encoder, s, **c))
        meta[name] = c
    for p in dict.fromkeys(c["precision"] for c in configs):  # build each stack once before timing
        fast.fast_encode(encoder, sentences[:64], precision=p)
    timings = measure_interleaved(cases, len(sentences), repeats=repeats, warmup={k: (lambda: None) for k in cases},
                                  device=device, echo=echo)
    return {k: {**t.to_dict(), "config": meta[k]} for k, t in timings.items()}


# ============================================================================================ the suite
def run_suite(settings: Settings, device: str = "cpu", *, data_root=None, threads: int | None = 2,
              sections: tuple | None = None, do_sweep: bool = False, echo: Callable[[str], None] = print) -> dict:
    """Measure the sections of ``settings`` on ``device``; returns one JSON-able report."""
    from repro.speed.timed_models import load_encoder, load_peer, speed_model

    sections = tuple(sections or settings.sections)
    for s in sections:
        choose(s, SECTIONS, "benchmark section")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is visible here (torch.cuda.is_available() is False)")
    report: dict = {"settings": settings.to_dict(), "device": device, "sections": {}}
    with torch_threads(threads if dev.type == "cpu" else None):
        report["env"] = environment(device)
        report["hardware"] = hardware_label(report["env"])
        all_sentences = stsb_sentences(data_root)
        model = speed_model(settings.model, settings.weights, data_root=data_root)
        report["model"] = {"label": model.label, "weights": model.weights, "substitute": model.substitute,
                           "path": portable_path(model.path)}
        echo(f"speed suite '{settings.name}' on {report['hardware']} ({device}); model: {model.label}")
        need_encoder = bool({"encode", "cross", "e2e"} & set(sections))
        encoder = load_encoder(model, device) if need_encoder else None
        if encoder is not None:
            from repro.encoders.fast import flops_per_token

            report["model"]["gflop_per_token"] = flops_per_token(encoder.transformer.config) / 1e9
        not_run = report["not_run"] = {}
        if "encode" in sections:
            sents = sample(all_sentences, settings.n_sentences, settings.seed)
            peer = None
            if settings.peer:
                try:
                    peer = load_peer(model, device)
                except ReproError as e:
                    not_run["encode/peer"] = str(e)
            use = None
            if settings.use:
                try:
                    use = load_timed_use(settings.use, device, threads)
                    report["model"]["use"] = {**use.describe(), "threads": use.threads}
                except ReproError as e:
                    not_run["encode/use"] = str(e)
                    if not must_fix(e):  # e.g. a handle not reachable offline: by design, not the user's to fix
                        report.setdefault("by_design", []).append("encode/use")
            infersent = None
            if settings.infersent:
                from repro.encoders.infersent import random_infersent, word_tokenize

                vocab = sorted({w for s in sents for w in word_tokenize(s)})
                infersent = random_infersent(vocab, seed=settings.seed, device=device)
                report["model"]["infersent"] = infersent.describe()
            report["sections"]["encode"] = measure_encode(encoder, peer, sents, settings, device, echo,
                                                          infersent=infersent, use=use)
            del peer, infersent, use
        if "glove" in sections and settings.glove and dev.type == "cpu":
            from repro.encoders.wordvec import AverageWordEmbeddings

            sents = sample(all_sentences, settings.n_sentences, settings.seed)
            try:
                glove = AverageWordEmbeddings.load(settings.glove, data_root=data_root)
                report["sections"]["glove"] = measure_glove(glove, sents, settings, echo)
            except ReproError as e:
                not_run["glove"] = str(e)
        e2e_sents = all_sentences[: settings.e2e_n] if settings.e2e_n else None
        if "cross" in sections and settings.cross_pairs and dev.type in settings.cross_pairs:
            from repro.speed.cross import CrossEncoder, sample_pairs

            base = e2e_sents or all_sentences
            pairs = sample_pairs(base, int(settings.cross_pairs[dev.type]), settings.seed)
            report["sections"]["cross"] = measure_cross(CrossEncoder.from_encoder(encoder), pairs, settings, device,
                                                        n_total=10_000, echo=echo)
        if "e2e" in sections and e2e_sents:
            report["sections"]["e2e"] = measure_e2e(encoder, e2e_sents, settings, device, echo)
        if do_sweep and encoder is not None:
            sents = sample(all_sentences, settings.n_sentences, settings.seed)
            report["sections"]["sweep"] = sweep(encoder, sents, device, echo=echo)
        report["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    return report


# ============================================================================================ reports
def _fmt(x, d=1) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    return f"{x:,.{d}f}"


def _pct(x) -> str:
    return "-" if x is None else f"{x:.1%}"


def _rounds_text(c: dict) -> str:
    flags = c.get("flagged") or [False] * len(c["seconds"])
    return ", ".join(f"{s:.3f}" + ("*" if f else "") for s, f in zip(c["seconds"], flags))


@dataclass(frozen=True)
class Paper:
    """The paper's numbers a report shows beside ours. The caller reads them from Table 7's reference (the spec's
    ``reference()``, repro/reference/table7_speed.csv): the suite measures, it copies none of the paper's numbers."""

    encode: Mapping[str, float] = field(default_factory=dict)  # bar label -> sentences/s, this device's column
    claim_hours: float | None = None  # a BERT cross-encoder over all pairs of 10,000 sentences
    claim_seconds: float | None = None  # SBERT end to end over the same sentences


def to_markdown(report: dict, command: str | None = None, paper: Paper | None = None) -> str:
    env = report.get("env", {})
    v = env.get("versions", {})
    lines = [f"# Speed suite '{report['settings']['name']}' on {report.get('hardware')}", ""]
    lines += [f"- date: {env.get('date')}; device: `{report['device']}`; torch threads: {env.get('torch_threads')};"
              f" CPU: {env.get('cpu')} ({env.get('cpu_count')} cores, bf16 products: {env.get('cpu_bf16')})"
              + (f"; GPU: {env.get('gpu')} (CUDA {env.get('cuda')})" if env.get("gpu") else ""),
              f"- versions: torch {v.get('torch')}, transformers {v.get('transformers')}, tokenizers "
              f"{v.get('tokenizers')}, sentence-transformers {v.get('sentence-transformers')}, python "
              f"{v.get('python')}, sbert-repro {v.get('sbert-repro')}",
              f"- model: {report['model']['label']}" + (f" ({report['model']['substitute']})"
                                                         if report["model"].get("substitute") else ""),
              f"- load average before: {env.get('loadavg')}"]
    if command:
        lines.append(f"- command: `{command}`")
    lines.append("")
    sec = report["sections"]
    if "encode" in sec:
        e = sec["encode"]
        lines += [f"## Encoding {e['n']:,} STSb sentences ({e['tokens']:,} tokens, mean {e['mean_tokens']:.1f}), "
                  f"tokenisation included", "",
                  "| case | sentences/s | x peer | median s | rounds s | batch | dtype | padded | min cos to fp32 |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name, c in e["cases"].items():
            batch = c.get("batch_size") or f"{c.get('token_budget')} tokens"
            lines.append(f"| {name} | {_fmt(c['per_second'])} | {_fmt(c['vs_peer'], 2)} | {_fmt(c['median_s'], 3)} "
                         f"| {_rounds_text(c)} | {batch} | {c['dtype']} | "
                         f"{_pct(c['padded_fraction'])} | {_fmt(c.get('cosine_to_fp32_min'), 6)} |")
        lines += ["", f"load average before/after: {e['loadavg_before']} / {e['loadavg_after']}; * = a round "
                      "during which other processes kept more than half a core busy (not used for the median)", ""]
        warned = [(n, c["warning"]) for n, c in e["cases"].items() if c.get("warning")]
        if warned:
            lines += ["**Warning: measured on a busy machine or with rounds that disagree** (retried "
                      f"{max(c.get('retried', 0) for c in e['cases'].values())} time(s)):", ""]
            lines += [f"- {n}: {w}" for n, w in warned] + [""]
        if e.get("calibration"):
            cal = e["calibration"]
            lines += [f"Fast-path precision chosen by measurement: **{cal['precision']}** ({cal['reason']})", ""]
    if "glove" in sec:
        g = sec["glove"]
        lines += [f"## Averaged word vectors ({g['model']}, {g['dim']}-d): {_fmt(g['per_second'])} sentences/s "
                  f"over {g['n']:,} sentences", ""]
    if "cross" in sec:
        c = sec["cross"]
        lines += [f"## BERT cross-encoder: {c['pairs']:,} sampled pairs, extrapolated to all {c['all_pairs']:,} "
                  f"pairs of {c['n_sentences']:,} sentences", "",
                  "| case | pairs/s | hours for all pairs | batch | dtype |", "|---|---|---|---|---|"]
        for name, x in c["cases"].items():
            batch = x.get("batch_size") or f"{x.get('token_budget')} tokens"
            lines.append(f"| {name} | {_fmt(x['pairs_per_second'])} | {_fmt(x['hours_all_pairs'], 2)} | {batch} | "
                         f"{x['dtype']} |")
        lines.append("")
    if "e2e" in sec:
        e = sec["e2e"]
        lines += [f"## Most similar pair among {e['n']:,} STSb sentences, end to end", "",
                  "| case | total s | encode s | search s | pair | cosine |", "|---|---|---|---|---|---|"]
        for name, x in e["cases"].items():
            lines.append(f"| {name} | {x['total_s']:.3f} | {x['encode_s']:.3f} | {x['search_s']:.4f} | "
                         f"{tuple(x['pair'])} | {x['cosine']:.5f} |")
            if "total_s_target" in x:
                lines.append(f"| {name}, {x['extrapolated']} | {x['total_s_target']:.3f} | | | | |")
        f = e["cases"]["fast"]
        best = f.get("fp32_best_cosine", f["fp32_best_cosine_among_candidates"])
        how = ("the plain search" if "fp32_best_cosine" in f
               else f"fp32 re-scoring of the fast path's {f['candidates_rescored']} best pairs")
        lines += ["", f"fast path's pair has fp32 cosine {f['fp32_cosine_of_found_pair']:.6f}; the best fp32 pair "
                      f"{best:.6f} (from {how})", ""]
        if "cross" in sec:
            hours = sec["cross"]["cases"]["plain"]["hours_all_pairs"]
            times = hours * 3600 / f.get("total_s_target", f["total_s"])
            said = ""
            if paper is not None and paper.claim_hours and paper.claim_seconds:
                said = (f" (the paper: {paper.claim_hours:,.0f} h vs ~{paper.claim_seconds:,.0f} s on its GPU, "
                        f"~{paper.claim_hours * 3600 / paper.claim_seconds:,.0f} times)")
            lines += [f"The claim on this hardware: a BERT cross-encoder needs {hours:,.1f} h (plain, extrapolated) "
                      f"where SBERT's fast path needs {f['total_s']:.2f} s end to end: {times:,.0f} times less"
                      f"{said}.", ""]
    if "sweep" in sec:
        lines += ["## Sweep of the fast path", "", "| case | sentences/s | median s |", "|---|---|---|"]
        for name, t in sorted(sec["sweep"].items(), key=lambda kv: -kv[1]["per_second"]):
            lines.append(f"| {name} | {_fmt(t['per_second'])} | {_fmt(t['median_s'], 3)} |")
        lines.append("")
    return "\n".join(lines)


CASE_LABELS = {"plain": "ours, no smart batching", "smart": "ours, smart batching (encode())",
               "peer": "sentence-transformers encode()", "fast": "ours, fast path (encode(fast=True))",
               "fast_fp32": "ours, fast path in fp32", "infersent": INFERSENT_LABEL}


def plot_encode(report: dict, path: Path, paper: Paper | None = None) -> Path | None:
    """Bar chart of the encode section: sentences/s per case, ``paper.encode``'s numbers beside."""
    if "encode" not in report.get("sections", {}):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = report["sections"]["encode"]["cases"]
    names = [CASE_LABELS.get(k, k) + f" [{c['dtype']}]" for k, c in cases.items()]
    vals = [c["per_second"] for c in cases.values()]
    theirs = dict(paper.encode) if paper is not None else {}
    names += list(theirs)
    vals += [float(v) for v in theirs.values()]
    colors = ["#1f77b4" if "fast" in k else "#7f7f7f" if k == "peer" else "#aec7e8" for k in cases]
    colors += ["#dddddd"] * len(theirs)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(vals) + 1.2))
    y = np.arange(len(vals))[::-1]
    ax.barh(y, vals, color=colors)
    for yy, v in zip(y, vals):
        ax.text(v, yy, f" {v:,.0f}", va="center", fontsize=8)
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel("sentences per second (tokenisation included)")
    e = report["sections"]["encode"]
    ax.set_title(f"SBERT-base on {report.get('hardware')}: {e['n']:,} STSb sentences", fontsize=9)
    ax.set_xlim(0, max(vals) * 1.18)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def write_report(report: dict, out_dir: str | Path, stem: str, command: str | None = None,
                 paper: Paper | None = None) -> dict:
    """``<stem>.json`` (everything measured), ``<stem>.md`` (readable) and ``<stem>.png`` (encode chart) in
    ``out_dir``; ``paper``: the paper's numbers to show beside ours (none when not given)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / f"{stem}.json", "md": out / f"{stem}.md"}
    atomic_write_text(paths["json"], json.dumps(report, indent=2, default=_json_default) + "\n")
    atomic_write_text(paths["md"], to_markdown(report, command, paper) + "\n")
    png = plot_encode(report, out / f"{stem}.png", paper)
    if png:
        paths["png"] = png
    return paths


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Timing):
        return o.to_dict()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
