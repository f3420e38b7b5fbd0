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

from repro.data.nli import NLI_TRAIN_SOURCES
from repro.errors import choose
from repro.training import settings as S
from repro.training.objectives import CONCATENATIONS, DEFAULT_CONCAT, KINDS, OBJECTIVES, TRAIN_DATA
from repro.training.stage import Stage

# torch-free: `sbert-repro train --help` and a bad setting need no torch; run() imports it when training.


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options only ``sbert-repro train`` takes; every default is the shared one (:mod:`repro.training.settings`).
    The options it shares with other commands (``--model``, ``--kind``, ``--pooling``, ``--precision``,
    ``--device``, ``--data-root``, ...) are declared once, in :data:`repro.cli.OPTIONS`; :func:`stage_from_args`
    reads them with their defaults (``--kind sbert``, ``--pooling mean``, ``--precision`` = ``settings.AMP``)."""
    data = "; ".join(f"{d.name} ({d.objective}, {d.epochs} epoch{'s' * (d.epochs != 1)})" for d in TRAIN_DATA.values()
                     if d.name != "afs")  # an AFS fold is named by Table 3, not on the command line
    p.add_argument("--data", required=True, help=f"training data (its default objective, the paper's epochs): {data}")
    p.add_argument("--objective", help=f"{' | '.join(OBJECTIVES)} (default: the one the data calls for)")
    p.add_argument("--nli-source", default=S.PAPER_TRAINING["nli_source"],
                   help=f"{' | '.join(NLI_TRAIN_SOURCES)} (see repro/data/nli.py)")
    p.add_argument("--concat", default=DEFAULT_CONCAT,
                   help=f"classification features: {' | '.join(CONCATENATIONS)} (default {DEFAULT_CONCAT})")
    p.add_argument("--epochs", type=int, help="default: the paper's for the data (see --data)")
    p.add_argument("--max-steps", type=int, help="stop after this many steps (the schedule fits them)")
    p.add_argument("--batch-size", type=int, default=S.BATCH_SIZE)
    p.add_argument("--lr", type=float, default=S.LR)
    p.add_argument("--seed", type=int, default=S.SEED)
    p.add_argument("--eval-steps", type=int, default=S.EVAL_STEPS, help="dev score every N steps and per epoch")
    p.add_argument("--eval-counting", default=S.EVAL_COUNTING,
                   help=f"{' | '.join(S.EVAL_COUNTINGS)}: --eval-steps counted over the run (default) or within "
                        "each epoch (per-epoch: as sentence-transformers v0.2.3 fit())")
    p.add_argument("--truncation", default=S.TRUNCATION,
                   help=f"{' | '.join(S.TRUNCATIONS)}: 128 tokens in all (default) or 128 word pieces + [CLS], [SEP] "
                        "(pieces+2: as v0.2.3); bi-encoders only")
    p.add_argument("--checkpoint-steps", type=int, default=S.CHECKPOINT_STEPS)
    p.add_argument("--keep", default=S.KEEP_DEFAULT, help=f"{' | '.join(S.KEEP)} (best: by the dev score; default "
                                                          f"{S.KEEP_DEFAULT})")
    p.add_argument("--train-limit", type=int, help="use only the first N training pairs")
    p.add_argument("--runs-dir", default="runs", help="parent folder of run folders (default ./runs)")
    p.add_argument("--test", action="store_true", help="also score the kept model on STSb test")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")


def stage_from_args(args):
    """The Stage ``args`` name: the objective and epochs the data calls for where none is given."""
    data = TRAIN_DATA[choose(args.data, TRAIN_DATA, "training data")]
    kind, amp = getattr(args, "kind", None) or KINDS[0], getattr(args, "precision", None) or S.AMP
    choose(kind, KINDS, "--kind for `train`")
    choose(amp, S.AMP_MODES, "--precision for `train`")
    pooling = getattr(args, "pooling", None) or "mean"
    return Stage(kind=kind, objective=args.objective or data.objective, data=args.data, base=args.model,
                 pooling=pooling, concat=args.concat, nli_source=args.nli_source, data_limit=args.train_limit,
                 epochs=args.epochs or data.epochs, max_steps=args.max_steps, seed=args.seed,
                 batch_size=args.batch_size, lr=args.lr, eval_steps=args.eval_steps,
                 checkpoint_steps=args.checkpoint_steps, keep=args.keep, amp=amp,
                 eval_counting=args.eval_counting, truncation=args.truncation)


def run(args, echo=print) -> int:
    from repro.training.recipes import load_trained, run_dir_for, run_stage

    stage = stage_from_args(args)
    runs = Path(args.runs_dir)
    echo(f"run folder: {run_dir_for(stage, runs)}")
    result = run_stage(stage, runs, data_root=args.data_root, device=getattr(args, "device", None), echo=echo,
                       progress=not args.no_progress)
    dev = "-" if result.score is None else f"{result.score:.2f}"
    echo(f"model: {result.model_dir}  (STSb dev Spearman {dev}, step {result.best_step} of {result.steps})")
    if args.test:
        from repro.data.sts import load_stsb
        from repro.evaluation.sts import spearman_x100
        from repro.training.losses import pair_similarity

        test = load_stsb("test", root=args.data_root)
        model = load_trained(stage, result.model_dir, device=getattr(args, "device", None))
        rho = spearman_x100(pair_similarity(model, test.sentences1, test.sentences2), test.scores)
        echo(f"STSb test Spearman {rho:.2f}")
    echo(f"log: {result.log_path}")
    return 0
