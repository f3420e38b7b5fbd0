#!/usr/bin/env python3
"""Download the Wikipedia-sections triplets (Dor et al., 2018; the paper's Table 4) into the data root.

    python data_scripts/fetch_wikisec.py                               # download, install, record sha256
    python data_scripts/fetch_wikisec.py --from-archive wikipedia-sections-triplets.zip
    python data_scripts/fetch_wikisec.py --sha256 <digest of the zip>  # refuse any other zip

Installs ``wikisec/{train,validation,test}.csv`` (each written atomically), checks the header and that the test
split has the paper's 222,957 triplets, and writes ``wikisec/SHA256SUMS`` (sha256 of the zip and of each file),
which every later load checks. No digest is pinned in this project: the zip could not be downloaded where the
suite was built; the digest printed here is the one to pin.

Exit status: 0 installed, 2 on any problem (printed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import repro  # noqa: F401
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repro.data import wikisec
from repro.errors import ReproError
from repro.paths import DATA_ENV


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="fetch_wikisec.py", description=__doc__.split("\n\n")[0])
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


if __name__ == "__main__":
    sys.exit(main())
