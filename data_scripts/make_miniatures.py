"""Build the miniature data root of the paper-profile rehearsal (issue 20; repro/rehearsal/datasets.py).

    python data_scripts/make_miniatures.py --out DIR [--real-root DATA_ROOT] [--items 48] [--seed 0] [--models]

Samples the real data root (default: $SBERT_REPRO_DATA) into DIR/data, every dataset in its released format,
with DIR/data/MINIATURES.json (files, sha256, item counts); with --models also the tiny random models the paper
profile names, into DIR/models (repro/rehearsal/models.py). The same seed gives the same bytes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="folder to write data/ (and models/) into")
    parser.add_argument("--real-root", type=Path, default=None, help="the real data root (default: $SBERT_REPRO_DATA)")
    parser.add_argument("--items", type=int, default=48, help="examples per split (default 48)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", action="store_true", help="also build the tiny random models")
    args = parser.parse_args(argv)

    from repro.errors import ReproError
    from repro.paths import data_root
    from repro.rehearsal.datasets import build_data, miniature_vocabulary

    try:
        start = time.perf_counter()
        root = build_data(data_root(args.real_root), args.out / "data", items=args.items, seed=args.seed)
        print(f"data: {root} ({time.perf_counter() - start:.1f} s)")
        if args.models:
            from repro.rehearsal.models import build_models

            start = time.perf_counter()
            models = build_models(args.out / "models", seed=args.seed, vocab_text=miniature_vocabulary(root))
            for model_id, folder in sorted(models.items()):
                print(f"model: {model_id} -> {folder}")
            print(f"models: {len(models)} ({time.perf_counter() - start:.1f} s)")
    except ReproError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
