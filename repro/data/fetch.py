"""Getting the datasets into the data root: download, install from a downloaded archive, or verify.

The one home of the fetch commands. ``sbert-repro data fetch [DATASET ...]`` (:func:`fetch_datasets`, from the
installed package) and the scripts of a checkout (``python data_scripts/fetch_data.py``, :func:`main`;
``python data_scripts/fetch_wikisec.py``, :func:`wikisec_main`) all run the code here; the files and their
checksums are :mod:`repro.data.manifest`'s, the Wikipedia-sections triplets :mod:`repro.data.wikisec`'s.

Examples::

    sbert-repro data fetch stsb sick sts                                 # download what is missing, then verify
    sbert-repro data fetch stsb --from-archive Stsbenchmark.tar.gz
    sbert-repro data fetch wikisec                                       # the zip; its sha256 recorded
    python data_scripts/fetch_data.py --verify-only                      # the script of a checkout: same code
    python data_scripts/fetch_data.py --list                             # sources, licenses, caveats

Exit status of the script: 0 when every requested dataset verifies, 2 when there is any problem (each one is
printed). ``sbert-repro data fetch`` exits like ``data verify`` / ``reproduce``: 3 when data is still missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from repro.data import manifest, wikisec
from repro.errors import ReproError
from repro.paths import DATA_ENV, data_root

FETCH_COMMAND = "sbert-repro data fetch"  # what every "get it:" hint names (works from an installed package)
ALL = "all"


def expand(names: Sequence[str]) -> list[str]:
    """``names`` with 'all' resolved (every dataset of the data root); a ReproError for an unknown name."""
    out: list[str] = []
    for name in names:
        if name == ALL:
            out.extend(manifest.DATA_DATASETS)
        elif name in manifest.DATASETS:
            out.append(name)
        else:
            raise ReproError(f"unknown dataset {name!r}; choose from: {ALL}, {', '.join(manifest.DATASETS)}")
    return list(dict.fromkeys(out))


def fetch_one(name: str, root: Path, *, from_archive=None, timeout: float = 60.0, verify_only: bool = False,
              sha256: str | None = None) -> list[str]:
    """The problems left for one dataset after the requested action (empty: it verifies)."""
    try:
        if verify_only:
            return manifest.verify(name, root)
        if name == "wikisec":  # not pinned: the zip's sha256 is recorded at the first install
            pin = {"expect_sha256": sha256} if sha256 else {}
            if from_archive:
                wikisec.install_wikisec(from_archive, root, **pin)
            else:
                wikisec.fetch_wikisec(root, timeout=timeout, **pin)
            return []
        if from_archive:
            return manifest.install_from_archive(name, from_archive, root)
        return manifest.fetch(name, root, timeout=timeout)
    except ReproError as exc:
        return [str(exc)]


def fetch_datasets(names: Sequence[str], root, *, from_archive=None, timeout: float = 60.0,
                   verify_only: bool = False, echo: Callable[[str], None] = print) -> int:
    """Fetch (or install, or verify) ``names``; print one block per dataset; return how many still have problems."""
    base = data_root(root)
    names = expand(names)
    echo(f"data root: {base}")
    failed = 0
    for name in names:
        problems = fetch_one(name, base, from_archive=from_archive, timeout=timeout, verify_only=verify_only)
        if problems:
            failed += 1
            echo(f"FAIL {name}:")
            for problem in problems:
                echo(f"  - {problem}")
        else:
            files = manifest.get_dataset(name).files
            echo(f"ok   {name}: {len(files)} files verified" if files else f"ok   {name}: installed")
    echo(f"{len(names) - failed} of {len(names)} dataset(s) verified")
    return failed


# ------------------------------------------------------------------------------------- the checkout's scripts
def build_parser() -> argparse.ArgumentParser:
    """The parser of ``data_scripts/fetch_data.py``."""
    parser = argparse.ArgumentParser(
        prog="fetch_data.py",
        description=(
            "Get the datasets of the Sentence-BERT reproduction into the data root and check them against the "
            "manifest (file sizes and sha256). Without --verify-only or --from-archive, datasets that do not "
            f"verify yet are downloaded from their canonical public sources. Same as `{FETCH_COMMAND}`."
        ),
        epilog=(
            f"Datasets: {', '.join(manifest.DATASETS)}; '{ALL}' = {', '.join(manifest.DATA_DATASETS)}. "
            f"Data root: --data-root, else ${DATA_ENV}, else the per-user cache. "
            "Exit status 0: all verified; 2: problems (printed one per line)."
        ),
    )
    parser.add_argument("datasets", nargs="*", metavar="DATASET", default=[ALL],
                        help=f"dataset names, or '{ALL}' (the default)")
    parser.add_argument("--data-root", metavar="DIR", help=f"data root (default: ${DATA_ENV} or the user cache)")
    parser.add_argument("--verify-only", action="store_true", help="only check the files; download nothing")
    parser.add_argument("--from-archive", metavar="FILE_OR_DIR",
                        help="install from a downloaded zip / tar.gz / plain file, or a folder of them "
                             "(e.g. SentEval's data/downstream or another data root), instead of downloading")
    parser.add_argument("--timeout", type=float, default=60.0, help="network timeout in seconds (default 60)")
    parser.add_argument("--list", action="store_true", help="describe the datasets (sources, licenses) and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python data_scripts/fetch_data.py``: exit 0 when all requested datasets verify, 2 otherwise."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        names = expand(args.datasets)
    except ReproError as e:
        parser.error(str(e))
    if args.list:
        print("\n\n".join(manifest.describe(name) for name in names))
        return 0
    failed = fetch_datasets(names, args.data_root, from_archive=args.from_archive, timeout=args.timeout,
                            verify_only=args.verify_only)
    return 2 if failed else 0


def wikisec_main(argv: list[str] | None = None) -> int:
    """``python data_scripts/fetch_wikisec.py``: the Wikipedia-sections triplets (Table 4); 0 installed, 2 not."""
    ap = argparse.ArgumentParser(prog="fetch_wikisec.py",
                                 description="Download the Wikipedia-sections triplets (Dor et al., 2018; the "
                                             "paper's Table 4) into the data root, recording their sha256.")
    ap.add_argument("--data-root", metavar="DIR", help=f"data root (default: ${DATA_ENV} or the user cache)")
    ap.add_argument("--from-archive", metavar="ZIP_OR_DIR", help="install from a downloaded zip or a folder")
    ap.add_argument("--sha256", help="expected sha256 of the zip (refuse anything else)")
    ap.add_argument("--url", action="append",
                    help=f"download from this URL (default: {', '.join(wikisec.WIKISEC_URLS)})")
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args(argv)
    try:
        if args.from_archive:
            folder = wikisec.install_wikisec(args.from_archive, args.data_root, expect_sha256=args.sha256)
        else:
            folder = wikisec.fetch_wikisec(args.data_root, urls=tuple(args.url or wikisec.WIKISEC_URLS),
                                           timeout=args.timeout, expect_sha256=args.sha256)
    except ReproError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"installed into {folder}")
    print((folder / wikisec.SUMS_FILE).read_text(), end="")
    return 0
