#!/usr/bin/env python
"""Download, install or verify the datasets of the SBERT reproduction (a checkout's wrapper of
``sbert-repro data fetch``; the code is :mod:`repro.data.fetch`).

Examples::

    python data_scripts/fetch_data.py --verify-only                      # check every dataset in the data root
    python data_scripts/fetch_data.py stsb sick sts                      # download what is missing, then verify
    python data_scripts/fetch_data.py stsb --from-archive Stsbenchmark.tar.gz
    python data_scripts/fetch_data.py all --from-archive SentEval/data/downstream
    python data_scripts/fetch_data.py --list                             # sources, licenses, caveats

Exit status: 0 when every requested dataset verifies, 2 when there is any problem (each one is printed).
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import repro  # noqa: F401
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:
    from repro.data.fetch import build_parser, main  # noqa: F401  (build_parser: for tests and --help)
except ImportError as exc:  # e.g. numpy missing: repro.data imports it
    print(f"fetch_data.py: cannot import the repro package ({exc}); install it first: pip install -e .",
          file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(main())
