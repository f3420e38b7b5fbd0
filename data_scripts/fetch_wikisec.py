#!/usr/bin/env python3
"""Download the Wikipedia-sections triplets (Dor et al., 2018; the paper's Table 4) into the data root (a
checkout's wrapper of ``sbert-repro data fetch wikisec``; the code is :func:`repro.data.fetch.wikisec_main`).

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

import sys
from pathlib import Path

try:
    import repro  # noqa: F401
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repro.data.fetch import wikisec_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(wikisec_main())
