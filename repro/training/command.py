"""``sbert-repro train``: one training run from the command line (the same Stage the table pipelines use).

    sbert-repro train --model bert-base-uncased --data nli                         # SBERT-NLI (paper §3.1)
    sbert-repro train --model ./runs/<nli run>/best --data stsb-train --epochs 4   # ... then STSb (§4.2)
    sbert-repro train --model bert-base-uncased --data stsb-train --kind cross --epochs 4   # BERT-STSb baseline

The run folder (``--runs-dir``, default ``./runs``) holds the checkpoints, the JSON log and the kept model; rerun
the same command after an interruption to resume. Settings are checked before any model is loaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_CONCAT = "(u, v, |u-v|)"  # repro.training.losses.DEFAULT_CONCAT (not imported: keeps `--help` torch-free)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="starting model: hub id, local folder, smoke-bert")
    p.add_argument("--data", required=True, help="stsb-train (regression) or nli (classification)")
    p.add_argument("--kind", default="sbert", help="sbert (bi-encoder, default) or cross (cross-encoder)")
    p.add_argument("--objective", help="classification | regression (default: the one the data calls for)")
    p.add_argument("--nli-source", default="auto",
                   help="auto | snli+multinli | allnli | snli-senteval-devtest (see repro/data/nli.py)")
    p.add_argument("--pooling", default="mean", help="mean | max | cls (default mean)")
    p.add_argument("--concat", default=DEFAULT_CONCAT,
                   help="classification features: (u, v) | (|u-v|) | (u*v) | (|u-v|, u*v) | (u, v, u*v) | "
                        f"(u, v, |u-v|) | (u, v, |u-v|, u*v) (default {DEFAULT_CONCAT})")
    p.add_argument("--epochs", type=int, help="default: 1 for nli, 4 for stsb-train (the paper)")
    p.add_argument("--max-steps", type=int, help="stop after this many steps (the schedule fits them)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-steps", type=int, default=1000, help="STSb dev score every N steps and per epoch")
    p.add_argument("--checkpoint-steps", type=int, default=500)
    p.add_argument("--keep", default="best", help="best (dev score, default) or last")
    p.add_argument("--amp", default="auto", help="auto | fp32 | bf16 | fp16 (auto: bf16/fp16 on GPU)")
    p.add_argument("--train-limit", type=int, help="use only the first N training pairs")
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when available)")
    p.add_argument("--runs-dir", default="runs", help="parent folder of run folders (default ./runs)")
    p.add_argument("--test", action="store_true", help="also score the kept model on STSb test")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")


def run(args, echo=print) -> int:
    from repro.training.recipes import Stage, load_trained, run_dir_for, run_stage

    objective = args.objective or ("classification" if args.data == "nli" else "regression")
    epochs = args.epochs or (1 if args.data == "nli" else 4)
    stage = Stage(kind=args.kind, objective=objective, data=args.data, base=args.model, pooling=args.pooling,
                  concat=args.concat, nli_source=args.nli_source, data_limit=args.train_limit, epochs=epochs,
                  max_steps=args.max_steps, seed=args.seed, batch_size=args.batch_size, lr=args.lr,
                  eval_steps=args.eval_steps, checkpoint_steps=args.checkpoint_steps, keep=args.keep, amp=args.amp)
    runs = Path(args.runs_dir)
    echo(f"run folder: {run_dir_for(stage, runs)}")
    result = run_stage(stage, runs, data_root=args.data_root, device=args.device, echo=echo,
                       progress=not args.no_progress)
    dev = "-" if result.score is None else f"{result.score:.2f}"
    echo(f"model: {result.model_dir}  (STSb dev Spearman {dev}, step {result.best_step} of {result.steps})")
    if args.test:
        from repro.data.sts import load_stsb
        from repro.evaluation.sts import spearman_x100
        from repro.training.losses import pair_similarity

        test = load_stsb("test", root=args.data_root)
        model = load_trained(stage, result.model_dir, device=args.device)
        rho = spearman_x100(pair_similarity(model, test.sentences1, test.sentences2), test.scores)
        echo(f"STSb test Spearman {rho:.2f}")
    echo(f"log: {result.log_path}")
    return 0
