"""The GPU check of the training path (issue 10): our trainer on the NLI objective, batch 16, BERT-base and -large
shapes with random weights (speed does not depend on weight values), fp32 and bf16: steps/s, peak GPU memory, and
one kill and resume.

    python benchmarks/gpu_train_check.py --device cuda --steps 300 --out $OUT      # what gpu_train.sh runs
    python benchmarks/gpu_train_check.py --device cpu --shape tiny --steps 12      # a dry run anywhere

Each case trains ``--steps`` steps through :func:`repro.training.trainer.train` (the code the pipelines run; dev
evaluation off, a checkpoint at half way) and reads steps/s from the trainer's own log (steps after the first
20, so CUDA start-up is left out). The kill case runs the fp32 base case in a child process that kills itself with
SIGKILL after the checkpoint at step ``--steps // 2``, then trains the same folder again: it must resume there and
finish. Writes ``gpu_train_check.json`` and ``.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def model_path(shape: str) -> Path:
    if shape == "tiny":
        from repro.smoke import smoke_bert_path

        return smoke_bert_path()
    from repro.speed.timed_models import random_bert_base_path

    return random_bert_base_path(shape=shape)


def examples(n: int):
    from repro.speed.train_bench import nli_pairs

    return nli_pairs(n)


def train_case(shape: str, amp: str, steps: int, device: str, run_dir: Path, kill_at: int | None = None) -> dict:
    import torch

    from repro.encoders.transformer import SentenceEncoder
    from repro.training.losses import build_objective
    from repro.training.trainer import TrainConfig, seed_everything, train

    seed_everything(0)
    enc = SentenceEncoder(model_path(shape), pooling="mean", max_seq_length=128, normalize=False, device=device)
    obj = build_objective("classification", enc, num_labels=3)
    cfg = TrainConfig(epochs=1, batch_size=16, max_steps=steps, eval_steps=0, checkpoint_steps=max(1, steps // 2),
                      keep="last",
                      amp=amp, log_steps=10)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()

    def on_step(step: int) -> None:
        if kill_at is not None and step == kill_at + 1:  # the checkpoint of step kill_at is on disk
            os.kill(os.getpid(), signal.SIGKILL)

    t0 = time.perf_counter()
    res = train(obj, examples(16 * steps), cfg, run_dir, None, name=f"{shape}-{amp}", echo=lambda m: None,
                progress=False, on_step=on_step)
    wall = time.perf_counter() - t0
    hist = [h for h in res.history if "elapsed_s" in h]
    first = next((h for h in hist if h["step"] >= 20), hist[0])
    last = hist[-1]
    rate = (last["step"] - first["step"]) / max(1e-9, last["elapsed_s"] - first["elapsed_s"])
    out = {"shape": shape, "amp": amp, "steps": res.steps, "steps_per_s": round(rate, 2), "wall_s": round(wall, 1),
           "resumed_at": res.resumed_at, "last_loss": last.get("loss")}
    if device.startswith("cuda"):
        out["peak_mem_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        out["gpu"] = torch.cuda.get_device_name(0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--shape", action="append", choices=["tiny", "base", "large"], help="default: base and large")
    ap.add_argument("--amp", action="append", choices=["fp32", "bf16"], help="default: fp32 and bf16")
    ap.add_argument("--out", default=os.environ.get("OUT", str(REPO / ".benchmarks" / "gpu_out")))
    ap.add_argument("--child", nargs=3, metavar=("SHAPE", "RUN_DIR", "KILL_AT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:  # the process that is killed mid-run
        shape, run_dir, kill_at = args.child
        train_case(shape, "fp32", args.steps, args.device, Path(run_dir), kill_at=int(kill_at))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = Path(os.environ.get("SBERT_REPRO_CACHE", "/tmp/sbert-repro-cache")) / "gpu-train-check"
    import shutil

    shutil.rmtree(runs, ignore_errors=True)
    cases = []
    for shape in args.shape or ["base", "large"]:
        for amp in args.amp or ["fp32", "bf16"]:
            c = train_case(shape, amp, args.steps, args.device, runs / f"{shape}-{amp}")
            print(json.dumps(c), flush=True)
            cases.append(c)
    shape = (args.shape or ["base"])[0]
    kill_dir, kill_at = runs / f"{shape}-fp32-killed", args.steps // 2
    child = subprocess.run([sys.executable, __file__, "--device", args.device, "--steps", str(args.steps),
                            "--child", shape, str(kill_dir), str(kill_at)])
    resumed = train_case(shape, "fp32", args.steps, args.device, kill_dir)
    kill = {"child_exit": child.returncode, "killed_by_sigkill": child.returncode == -signal.SIGKILL,
            "resumed_at": resumed["resumed_at"], "steps": resumed["steps"],
            "ok": child.returncode == -signal.SIGKILL and resumed["resumed_at"] == [kill_at]
            and resumed["steps"] == args.steps}
    print(json.dumps({"kill_and_resume": kill}), flush=True)
    rep = {"device": args.device, "steps": args.steps, "cases": cases, "kill_and_resume": kill,
           "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    (out / "gpu_train_check.json").write_text(json.dumps(rep, indent=1) + "\n")
    lines = [f"# Training path on {cases[0].get('gpu', args.device)} ({rep['date']})", "",
             f"NLI softmax (u, v, |u-v|), batch 16, {args.steps} steps, random weights; steps/s after step 20.", "",
             "| shape | precision | steps/s | peak memory (GiB) |", "|---|---|---|---|"]
    lines += [f"| {c['shape']} | {c['amp']} | {c['steps_per_s']} | {c.get('peak_mem_gib', '-')} |" for c in cases]
    lines += ["", f"kill -9 after step {kill_at}, then rerun: resumed at {kill['resumed_at']}, finished "
                  f"{kill['steps']} steps: {'ok' if kill['ok'] else 'FAILED'}"]
    (out / "gpu_train_check.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if kill["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
