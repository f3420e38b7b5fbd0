"""Measure Table 7 (speed) and the paper's "65 hours vs 5 seconds" claim on this machine.

Encodes the STS benchmark sentences with SBERT-base (bert-base-uncased shape; real weights when they are on this
machine, else random weights of the same shape: speed does not depend on weight values) with and without smart
batching, sentence-transformers' encode() on the same weights as the peer (same process, interleaved), our fast
path (encode(fast=True)), averaged GloVe vectors, a BERT cross-encoder's pairs per second (extrapolated to all
49,995,000 pairs of 10,000 sentences) and the most-similar-pair search over 10,000 sentences end to end.

Writes one result record per row (results/<profile>/table7/), rebuilds Table 7
(tables/<profile>/table7_speed.{csv,md,png}) and a report with every round, hardware and versions
(tables/<profile>/table7_bench_<preset>_<device>.{json,md,png}).

examples:
  sbert-repro bench                          # local preset: 1,000 sentences, CPU, 2 threads
  sbert-repro bench --full                   # all 15,487 sentences, plain end to end too (profile 'paper')
  sbert-repro bench --preset short           # seconds per case (what CI runs through tox -e bench)
  sbert-repro bench --device cuda --full     # the GPU column
  sbert-repro bench --sections encode --repeats 5 --sweep
  sbert-repro bench --train                  # training steps/s: our trainer vs sentence-transformers' loop
  sbert-repro bench --train --train-model sbert-base --device cuda
"""

from __future__ import annotations

import argparse
import shlex
import sys
from repro.paths import atomic_write_text

TABLE = "7"  # the table `bench` measures (its declaration: repro/specs/table7.py)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options only ``bench`` takes; those it shares (``--profile``, ``--device``, ``--precision``: the fast
    path's, ``--tables-dir``, ``--model-path``, ...) are declared once, in :data:`repro.cli.OPTIONS`."""
    p.add_argument("--preset", choices=["short", "smoke", "local", "full"],
                   help="how much to measure (default: the profile's own: smoke->smoke, local->local, paper->full)")
    p.add_argument("--full", action="store_true", help="the full measurement (= --profile paper --preset full)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for the CPU column (default: 2)")
    p.add_argument("--sections", help="comma-separated subset of encode,glove,cross,e2e (default: all)")
    p.add_argument("--n-sentences", type=int, help="STSb sentences to encode (default: the preset's)")
    p.add_argument("--repeats", type=int, help="timed rounds per case (default: the preset's)")
    p.add_argument("--token-budget", type=int, help="fast path padded tokens per batch (default: 2048 CPU, "
                                                     "32768 CUDA)")
    p.add_argument("--weights", choices=["auto", "random", "real"], default="auto",
                   help="SBERT-base weights: real bert-base-uncased when on this machine (auto), random, or real "
                        "(downloads when the hub is reachable)")
    p.add_argument("--no-peer", action="store_true", help="skip sentence-transformers (not installed)")
    p.add_argument("--sweep", action="store_true", help="also sweep token budget x precision for the fast path")
    p.add_argument("--report-dir", help="where the bench report goes (default: the tables folder of the profile)")
    p.add_argument("--train", action="store_true",
                   help="time training instead: our trainer vs sentence-transformers' loop (steps/s, NLI softmax, "
                        "batch 16, fp32, interleaved); writes table7_train_<model>_<device>.{json,md}")
    p.add_argument("--train-model", choices=["minilm", "sbert-base", "sbert-large", "smoke-bert"], default=None,
                   help="model to train for --train (default: minilm on CPU, sbert-base on CUDA)")
    p.add_argument("--train-steps", type=int, default=10, help="optimizer steps per round for --train (default 10)")


def run(args, *, run_table, echo=print, build_tables=None) -> int:
    """``sbert-repro bench`` (or ``--train``): the options -> a Table 7 run through the one runner (``run_table``,
    passed in by the application, so Table 7 has one way to run) -> Table 7 rebuilt
    (``build_tables(store, profile, tables_dir, numbers)``)."""
    from pathlib import Path

    from repro.errors import ConfigError
    from repro.profiles import get_profile
    from repro.results import ResultStore
    from repro.specs import get_spec
    from repro.speed.presets import SECTIONS, preset, record_profile, settings_for

    if getattr(args, "train", False):
        return run_train(args, echo)
    profile_name = "paper" if args.full else args.profile
    profile = get_profile(profile_name)
    spec = get_spec(TABLE)
    overrides = {}
    if args.n_sentences is not None:
        if args.n_sentences < 2:
            raise ConfigError(f"--n-sentences must be >= 2, got {args.n_sentences}")
        overrides["n_sentences"] = args.n_sentences
    if args.repeats is not None:
        if args.repeats < 1:
            raise ConfigError(f"--repeats must be >= 1, got {args.repeats}")
        overrides["repeats"] = args.repeats
    if args.precision not in (None, "auto"):  # auto: measured per CPU (the preset's default)
        overrides["precision"] = args.precision
    if args.token_budget is not None:
        if args.token_budget < 1:
            raise ConfigError(f"--token-budget must be >= 1, got {args.token_budget}")
        overrides["token_budget"] = args.token_budget
    if args.weights != "auto":
        overrides["weights"] = args.weights
    if args.no_peer:
        overrides["peer"] = False
    if args.sections:
        wanted = tuple(s.strip() for s in args.sections.split(",") if s.strip())
        bad = [s for s in wanted if s not in SECTIONS]
        if bad:
            raise ConfigError(f"--sections: unknown {', '.join(bad)}; allowed: {', '.join(SECTIONS)}")
        overrides["sections"] = wanted
    if args.preset or args.full:
        settings = preset("full" if args.full and not args.preset else args.preset, **overrides)
    else:
        settings = settings_for(spec.knobs(profile), profile.name, **overrides)
    store = ResultStore(args.results_dir)
    filed_under = record_profile(profile.name, settings)
    report_dir = Path(args.report_dir) if args.report_dir else Path(args.tables_dir) / filed_under
    command = "sbert-repro " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else None
    recs = run_table(spec, profile, store, data_root=args.data_root, device=args.device, force=True, echo=echo,
                     settings=settings, threads=args.threads, report_dir=report_dir, sweep=args.sweep,
                     command=command)
    if build_tables is not None:
        build_tables(store, filed_under, args.tables_dir, [TABLE])
    bad = [r for r in recs if r.status != "ok" and r.label not in ("InferSent", "Universal Sentence Encoder")]
    for r in bad:
        echo(f"  not run: {r.label}: {r.reason}")
    return 0


def run_train(args, echo=print) -> int:
    """``sbert-repro bench --train``: training throughput, ours vs sentence-transformers (a report, no record)."""
    import json
    from pathlib import Path

    import torch

    from repro.speed.bench import _json_default
    from repro.speed.train_bench import measure_training, to_markdown

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = args.train_model or ("sbert-base" if device.startswith("cuda") else "minilm")
    rep = measure_training(model, steps=args.train_steps, repeats=args.repeats or 3, device=device,
                           data_root=args.data_root, peer=not args.no_peer, threads=args.threads, echo=echo)
    out = Path(args.report_dir) if args.report_dir else Path(args.tables_dir) / args.profile
    out.mkdir(parents=True, exist_ok=True)
    stem = f"table7_train_{model}_{torch.device(device).type}"
    atomic_write_text(out / f"{stem}.json", json.dumps(rep, indent=2, default=_json_default) + "\n")
    from repro.cost import record_speed
    from repro.speed.train_bench import SHAPE_OF

    ours = rep["cases"]["ours"]
    if not ours.get("warning"):  # a busy or spread measurement is reported, not used for the plan's cost
        record_speed(torch.device(device).type, SHAPE_OF[model], ours["steps_per_second"], rep["hardware"],
                     str(rep["env"].get("date")))
        echo(f"  kept for `sbert-repro plan`'s cost: {SHAPE_OF[model]} shape on {rep['hardware']}: "
             f"{ours['steps_per_second']:.2f} steps/s")
    md = to_markdown(rep)
    atomic_write_text(out / f"{stem}.md", md)
    echo(md)
    echo(f"  report: {out / (stem + '.md')}")
    return 0
