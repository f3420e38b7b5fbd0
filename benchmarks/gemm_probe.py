"""How fast this machine multiplies BERT-base-shaped matrices in fp32 and bf16 (the ceiling of any encoder).

    python benchmarks/gemm_probe.py [--threads 2] [--device cpu|cuda]

Prints GFLOP/s of ``torch.nn.functional.linear`` for (M x 768) @ (768 x 3072) and (768 x 768), the two shapes of
a BERT-base layer, for M = 256 ... 4096 tokens; the median of 10 calls after 2 warm-ups.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def gflops(m: int, k: int, n: int, dtype, device: str, reps: int = 10) -> float:
    a = torch.randn(m, k, device=device).to(dtype)
    w = torch.randn(n, k, device=device).to(dtype)
    b = torch.randn(n, device=device).to(dtype)
    ts = []
    for i in range(reps + 2):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t = time.perf_counter()
        torch.nn.functional.linear(a, w, b)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if i >= 2:
            ts.append(time.perf_counter() - t)
    return 2 * m * k * n / statistics.median(ts) / 1e9


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.device}, {torch.get_num_threads()} threads")
    print("tokens  fp32 768x3072  bf16 768x3072  fp32 768x768  bf16 768x768   (GFLOP/s)")
    for m in (256, 512, 1024, 2048, 4096):
        row = [gflops(m, 768, 3072, torch.float32, args.device), gflops(m, 768, 3072, torch.bfloat16, args.device),
               gflops(m, 768, 768, torch.float32, args.device), gflops(m, 768, 768, torch.bfloat16, args.device)]
        print(f"{m:6d}  " + "  ".join(f"{x:13.0f}" for x in row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
