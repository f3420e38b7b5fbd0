"""Wikipedia-sections triplets (Dor et al., 2018) for the paper's Table 4: loader and download.

The triplets are distributed by the sentence-transformers authors as ``wikipedia-sections-triplets.zip``
(:data:`WIKISEC_URLS`), holding ``train.csv`` (about 1.8 million triplets), ``validation.csv`` and ``test.csv``
(222,957 triplets, from Wikipedia articles not used for training). Each is a UTF-8 CSV with a header; the
columns ``Sentence1`` (anchor), ``Sentence2`` (positive: same section as the anchor) and ``Sentence3``
(negative: another section of the same article) are read by name (the file has further columns; the
sentence-transformers v0.2.3 example reads columns 1-3). Layout under the data root: ``wikisec/{train,validation,
test}.csv``.

The data is **not** in this project's data root: no public copy could be fetched here, so no sha256 is pinned
(:data:`WIKISEC_ZIP_SHA256` is None). :func:`fetch_wikisec` (CLI: ``data_scripts/fetch_wikisec.py``) downloads
the zip, checks the header and the test size (222,957, the paper's number), installs the three files atomically
and writes ``wikisec/SHA256SUMS`` with the sha256 of the zip and of each file, which :func:`verify_wikisec` checks
on every later use; pass ``--sha256`` to pin a known digest of the zip.
"""

from __future__ import annotations

import csv
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from repro.data.manifest import expected_count
from repro.errors import DataError, choose
from repro.paths import data_root, file_sha256

WIKISEC_SPLITS = ("train", "validation", "test")
WIKISEC_FOLDER = "wikisec"
WIKISEC_COLUMNS = ("Sentence1", "Sentence2", "Sentence3")  # anchor, positive, negative
WIKISEC_SIZES = {"test": 222_957}  # the paper's number; train "about 1.8 million", validation not stated
WIKISEC_URLS = (
    "https://sbert.net/datasets/wikipedia-sections-triplets.zip",
    "https://public.ukp.informatik.tu-darmstadt.de/reimers/sentence-transformers/datasets/"
    "wikipedia-sections-triplets.zip",
)
WIKISEC_ZIP_SHA256: str | None = None  # unknown: the zip could not be downloaded where this suite was built
SUMS_FILE = "SHA256SUMS"
FETCH_WIKISEC = "data_scripts/fetch_wikisec.py"


def how_to_get(root=None) -> str:
    where = f" --data-root {root}" if root is not None else " [--data-root DIR]"
    return (f"download it with `python {FETCH_WIKISEC}{where}` (or get {WIKISEC_URLS[0]} by hand and run "
            f"`python {FETCH_WIKISEC} --from-archive wikipedia-sections-triplets.zip{where}`)")


@dataclass
class TripletSet:
    """(anchor, positive, negative) sentence triplets of one split."""

    name: str
    anchors: list[str]
    positives: list[str]
    negatives: list[str]
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.anchors)

    def head(self, n: int | None) -> "TripletSet":
        if n is None or n >= len(self):
            return self
        return TripletSet(self.name, self.anchors[:n], self.positives[:n], self.negatives[:n], self.path)

    def __iter__(self):
        return iter(zip(self.anchors, self.positives, self.negatives))


def wikisec_path(split: str, root=None) -> Path:
    split = choose(split, WIKISEC_SPLITS, "Wikipedia-sections split")
    return data_root(root) / WIKISEC_FOLDER / f"{split}.csv"


def _open_checked(path: Path):
    fh = open(path, encoding="utf-8", newline="")
    reader = csv.reader(fh)
    try:
        header = next(reader)
    except StopIteration:
        fh.close()
        raise DataError("empty file; expected a header with Sentence1, Sentence2, Sentence3", path, 1) from None
    except UnicodeDecodeError as e:
        fh.close()
        raise DataError(f"not UTF-8 ({e.reason}); damaged download?", path, 1) from None
    missing = [c for c in WIKISEC_COLUMNS if c not in header]
    if missing:
        fh.close()
        raise DataError(f"header {header} lacks column(s) {', '.join(missing)}; expected the Wikipedia-sections "
                        f"triplet CSV (Sentence1 = anchor, Sentence2 = positive, Sentence3 = negative)", path, 1)
    return fh, reader, [header.index(c) for c in WIKISEC_COLUMNS], len(header)


def load_wikisec(split: str, root=None, limit: int | None = None, strict: bool = True) -> TripletSet:
    """The triplets of ``split``; ``limit`` reads only the first ``limit`` (the size check is then skipped)."""
    path = wikisec_path(split, root)
    if not path.is_file():
        # No absolute path in this message: it ends up in committed result records (not_run reasons).
        raise DataError(f"{WIKISEC_FOLDER}/{split}.csv: Wikipedia-sections triplets not found in the data root (data "
                        f"missing: this dataset is not part of it); {how_to_get()}")
    verify_wikisec(path.parent, only=(path.name,))
    a, p, n = [], [], []
    fh, reader, cols, width = _open_checked(path)
    with fh:
        try:
            for record, row in enumerate(reader, start=2):
                if limit is not None and len(a) >= limit:
                    break
                if len(row) != width:
                    raise DataError(f"CSV record {record}: {len(row)} fields, the header has {width} (file cut off?)",
                                    path)
                a.append(row[cols[0]])
                p.append(row[cols[1]])
                n.append(row[cols[2]])
        except UnicodeDecodeError as e:
            raise DataError(f"CSV record {len(a) + 2}: not UTF-8 ({e.reason}); damaged download?", path) from None
        except csv.Error as e:
            raise DataError(f"CSV record {len(a) + 2}: {e}", path) from None
    want = expected_count(root, f"wikisec:{split}", WIKISEC_SIZES.get(split))
    if strict and limit is None and want is not None and len(a) != want:
        raise DataError(f"{len(a)} triplets, the paper's {split} set has {want} (truncated or "
                        f"another version?)", path)
    return TripletSet(f"wikisec/{split}", a, p, n, path)


# ------------------------------------------------------------------------------------------------ checksums
def read_sums(folder: Path) -> dict[str, str]:
    sums = {}
    f = folder / SUMS_FILE
    if f.is_file():
        for line in f.read_text().splitlines():
            if line.strip():
                digest, name = line.split(maxsplit=1)
                sums[name.strip()] = digest
    return sums


def verify_wikisec(folder: str | os.PathLike, only: tuple[str, ...] | None = None) -> None:
    """Check the files against ``SHA256SUMS`` (written at install time); DataError on a mismatch.

    Files without an entry (installed by hand) are accepted as they are.
    """
    folder = Path(folder)
    for name, digest in read_sums(folder).items():
        if name.endswith(".zip") or (only is not None and name not in only):
            continue
        path = folder / name
        if path.is_file() and file_sha256(path) != digest:
            raise DataError(f"sha256 differs from the one recorded at install time in {folder / SUMS_FILE} "
                            f"(file modified or damaged); {how_to_get()}", path)


# ------------------------------------------------------------------------------------------------ install
def install_wikisec(archive: str | os.PathLike, root=None, expect_sha256: str | None = WIKISEC_ZIP_SHA256) -> Path:
    """Install ``train/validation/test.csv`` from the zip (or a folder holding them) into ``<root>/wikisec``.

    Every file is written through a temporary file and ``os.replace``; the test split must have 222,957 triplets;
    ``SHA256SUMS`` records what was installed. Returns the folder.
    """
    from repro.data.manifest import atomic_write

    archive = Path(archive)
    target = data_root(root) / WIKISEC_FOLDER
    sums: dict[str, str] = {}
    if archive.is_file():
        zip_sha = file_sha256(archive)
        if expect_sha256 and zip_sha != expect_sha256:
            raise DataError(f"sha256 {zip_sha}, expected {expect_sha256} (damaged download or another version)",
                            archive)
        sums[archive.name] = zip_sha
        try:
            zf = zipfile.ZipFile(archive)
        except (zipfile.BadZipFile, OSError) as e:
            raise DataError(f"not a readable zip ({e}); damaged or incomplete download?", archive) from None
        with zf:
            names = {PurePosixPath(i.filename).name: i for i in zf.infolist() if not i.is_dir()}
            for split in WIKISEC_SPLITS:
                info = names.get(f"{split}.csv")
                if info is None:
                    raise DataError(f"no {split}.csv in the archive (members: {', '.join(sorted(names))})", archive)
                with zf.open(info) as fh:
                    sums[f"{split}.csv"], _ = atomic_write(target / f"{split}.csv", iter(lambda: fh.read(1 << 20), b""))
    elif archive.is_dir():
        for split in WIKISEC_SPLITS:
            src = archive / f"{split}.csv"
            if not src.is_file():
                raise DataError(f"no {split}.csv in this folder", archive)
            with open(src, "rb") as fh:
                sums[f"{split}.csv"], _ = atomic_write(target / f"{split}.csv", iter(lambda: fh.read(1 << 20), b""))
    else:
        raise DataError("archive or folder not found", archive)
    for split in WIKISEC_SPLITS:  # header check on each; size check on test
        fh, *_ = _open_checked(target / f"{split}.csv")
        fh.close()
    load_wikisec("test", root=root, strict=True)
    lines = "".join(f"{d}  {n}\n" for n, d in sums.items())
    atomic_write(target / SUMS_FILE, [lines.encode()])
    return target


def fetch_wikisec(root=None, urls=WIKISEC_URLS, timeout: float = 60.0,
                  expect_sha256: str | None = WIKISEC_ZIP_SHA256, echo=print) -> Path:
    """Download the zip (first URL that answers) into a temporary folder and :func:`install_wikisec` it."""
    import urllib.error
    import urllib.request

    from repro.data.manifest import atomic_write

    errors = []
    with tempfile.TemporaryDirectory(prefix="sbert-repro-wikisec-") as tmp:
        zpath = Path(tmp) / "wikipedia-sections-triplets.zip"
        for url in urls:
            echo(f"downloading {url}")
            try:
                req = urllib.request.Request(url, headers={"User-Agent": "sbert-repro-fetch/0.1"})
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    sha, size = atomic_write(zpath, iter(lambda: resp.read(1 << 20), b""))
                echo(f"  {size:,} bytes, sha256 {sha}")
                break
            except (urllib.error.URLError, OSError, ValueError) as e:
                errors.append(f"{url}: {getattr(e, 'reason', e)}")
        else:
            raise DataError("could not download the Wikipedia-sections triplets: " + "; ".join(errors)
                            + f"; download the zip by hand and run `python {FETCH_WIKISEC} --from-archive FILE`")
        return install_wikisec(zpath, root, expect_sha256)
