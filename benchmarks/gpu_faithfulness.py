"""Faithfulness of every fast path on one device: cosine to the fp32 reference and STSb Spearman.

Run by benchmarks/gpu_run.sh on the GPU machine (``--device cuda``); works on CPU too (``--device cpu``, for
testing the script). Writes one JSON file. The reference is ``SentenceEncoder.encode()`` in fp32 (batch 32,
smart batching; TF32 off, PyTorch's default), on the same device.

Models: all-MiniLM-L6-v2 (real weights; the carried copy stores them in fp16 to fit the transfer limit, and they
are upcast to fp32 here, so the reference is an fp32 computation on those weights) on the STSb test split, and
SBERT-base with random weights on the unique STSb sentences (cosine only: Spearman means nothing for random
weights).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def cos_rows(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def check(enc, sents, precisions, stsb=None, use_stack=(True, False)) -> dict:
    from scipy.stats import spearmanr

    from repro.encoders.fast import fast_encode

    ref = enc.encode(sents)
    out = {"n": len(sents)}
    if stsb is not None:
        row = {s: i for i, s in enumerate(sents)}
        i1 = [row[s] for s in stsb.sentences1]
        i2 = [row[s] for s in stsb.sentences2]

        def rho(e):
            return float(100 * spearmanr(cos_rows(e[i1], e[i2]), stsb.scores).statistic)

        out["spearman_fp32_reference"] = rho(ref)
    for p in precisions:
        for st in use_stack:
            name = f"{p}/{'stack' if st else 'hf-module'}"
            got = fast_encode(enc, sents, precision=p, use_stack=st)
            c = cos_rows(got, ref)
            res = {"cosine_min": float(c.min()), "cosine_mean": float(c.mean()),
                   "max_abs_diff": float(np.abs(got - ref).max())}
            if stsb is not None:
                res["spearman"] = rho(got)
                res["spearman_diff"] = res["spearman"] - out["spearman_fp32_reference"]
            res["faithful"] = bool(res["cosine_min"] >= 0.999 and abs(res.get("spearman_diff", 0.0)) <= 0.1)
            out[name] = res
            print(f"  {name}: {res}", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--minilm", help="all-MiniLM-L6-v2 folder (default: the installed package)")
    ap.add_argument("--data-root")
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit", type=int, help="at most this many sentences per check (testing)")
    args = ap.parse_args()

    import torch

    from repro.data.sts import load_stsb
    from repro.encoders.transformer import SentenceEncoder
    from repro.weights import set_model_path
    from repro.speed.bench import stsb_sentences
    from repro.speed.timed_models import load_encoder, speed_model

    if args.minilm:
        set_model_path("sentence-transformers/all-MiniLM-L6-v2", args.minilm)
    dev = args.device
    gpu = torch.cuda.get_device_name(0) if dev.startswith("cuda") else None
    precisions = ["fp32", "bf16"] + (["fp16"] if dev.startswith("cuda") else [])
    report = {"device": dev, "gpu": gpu, "torch": torch.__version__,
              "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32), "date": time.strftime("%Y-%m-%d %H:%M")}
    t0 = time.time()
    stsb = load_stsb("test", root=args.data_root)
    if args.limit:
        from repro.data.records import PairSet

        stsb = PairSet(stsb.name, stsb.pairs[: args.limit], stsb.path)
    sents = sorted(set(stsb.sentences1) | set(stsb.sentences2))
    mini = SentenceEncoder("sentence-transformers/all-MiniLM-L6-v2", device=dev)
    mini.transformer.float()
    print(f"all-MiniLM-L6-v2 on STSb test ({len(sents)} sentences), {dev}", flush=True)
    report["all-MiniLM-L6-v2"] = check(mini, sents, precisions, stsb)
    del mini
    base = load_encoder(speed_model("sbert-base", data_root=args.data_root), dev)
    allsents = stsb_sentences(args.data_root)[: args.limit or None]
    print(f"SBERT-base (random weights) on {len(allsents)} STSb sentences, {dev}", flush=True)
    report["sbert-base-random"] = check(base, allsents, precisions)
    report["seconds"] = round(time.time() - t0, 1)
    report["all_faithful"] = all(v["faithful"] for m in ("all-MiniLM-L6-v2", "sbert-base-random")
                                 for k, v in report[m].items() if isinstance(v, dict))
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"all faithful: {report['all_faithful']}  ({report['seconds']} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
