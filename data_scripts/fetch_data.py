#!/usr/bin/env python
"""Download, install or verify the datasets of the SBERT reproduction.

Examples::

    python data_scripts/fetch_data.py --verify-only                      # check every dataset in the data root
    python data_scripts/fetch_data.py stsb sick sts                      # download what is missing, then verify
    python data_scripts/fetch_data.py stsb --from-archive Stsbenchmark.tar.gz
    python data_scripts/fetch_data.py all --from-archive SentEval/data/downstream
    python data_scripts/fetch_data.py --list                             # sources, licenses, caveats

Exit status: 0 when every requested dataset verifies, 2 when there is any problem (each one is printed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import repro  # noqa: F401
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:
    from repro.data import manifest
    from repro.errors import ReproError
    from repro.paths import DATA_ENV, data_root
except ImportError as exc:  # e.g. numpy missing: repro.data imports it
    print(f"fetch_data.py: cannot import the repro package ({exc}); install it first: pip install -e .",
          file=sys.stderr)
    sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fetch_data.py",
        description=(
            "Get the datasets of the Sentence-BERT reproduction into the data root and check them against the "
            "manifest (file sizes and sha256). Without --verify-only or --from-archive, datasets that do not "
            "verify yet are downloaded from their canonical public sources."
        ),
        epilog=(
            f"Datasets: {', '.join(manifest.DATASETS)}; 'all' = {', '.join(manifest.DATA_DATASETS)}. "
            f"Data root: --data-root, else ${DATA_ENV}, else the per-user cache. "
            "Exit status 0: all verified; 2: problems (printed one per line)."
        ),
    )
    parser.add_argument(
        "datasets",
        nargs="*",
        metavar="DATASET",
        default=["all"],
        help="dataset names, or 'all' (the default)",
    )
    parser.add_argument("--data-root", metavar="DIR", help=f"data root (default: ${DATA_ENV} or the user cache)")
    parser.add_argument("--verify-only", action="store_true", help="only check the files; download nothing")
    parser.add_argument(
        "--from-archive",
        metavar="FILE_OR_DIR",
        help="install from a downloaded zip / tar.gz / plain file, or a folder of them "
        "(e.g. SentEval's data/downstream or another data root), instead of downloading",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="network timeout in seconds (default 60)")
    parser.add_argument("--list", action="store_true", help="describe the datasets (sources, licenses) and exit")
    return parser


def expand(names: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """Resolve 'all' and reject unknown names (argparse error, exit status 2)."""
    out: list[str] = []
    for name in names:
        if name == "all":
            out.extend(manifest.DATA_DATASETS)
        elif name in manifest.DATASETS:
            out.append(name)
        else:
            parser.error(f"unknown dataset {name!r}; choose from: all, {', '.join(manifest.DATASETS)}")
    return list(dict.fromkeys(out))


def run_one(name: str, root: Path, args: argparse.Namespace) -> list[str]:
    """The problems left for one dataset after the requested action."""
    try:
        if args.verify_only:
            return manifest.verify(name, root)
        if args.from_archive:
            return manifest.install_from_archive(name, args.from_archive, root)
        return manifest.fetch(name, root, timeout=args.timeout)
    except ReproError as exc:
        return [str(exc)]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    names = expand(args.datasets, parser)
    if args.list:
        print("\n\n".join(manifest.describe(name) for name in names))
        return 0
    root = data_root(args.data_root)
    print(f"data root: {root}")
    failed = 0
    for name in names:
        problems = run_one(name, root, args)
        if problems:
            failed += 1
            print(f"FAIL {name}:")
            for problem in problems:
                print(f"  - {problem}")
        else:
            print(f"ok   {name}: {len(manifest.get_dataset(name).files)} files verified")
    print(f"{len(names) - failed} of {len(names)} dataset(s) verified")
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
