"""NLI data (SNLI, MultiNLI): the training data of SBERT-NLI (paper §3.1) in the forms it is released in.

* ``snli``: SNLI 1.0 as released (Bowman et al., 2015): ``snli/snli_1.0.zip`` (the manifest pins its sha256) or the
  extracted ``snli/snli_1.0/snli_1.0_{train,dev,test}.jsonl``. One JSON object per line; ``gold_label``,
  ``sentence1`` (premise), ``sentence2`` (hypothesis). Pairs whose ``gold_label`` is ``-`` (no annotator majority)
  are skipped, as every NLI trainer does.
* ``multinli``: MultiNLI 1.0 as released (Williams et al., 2018): ``multinli/multinli_1.0.zip`` or the extracted
  ``multinli/multinli_1.0/multinli_1.0_{train,dev_matched,dev_mismatched}.jsonl``; same fields.
* ``allnli``: sentence-transformers' combined ``AllNLI.tsv.gz`` (``allnli/AllNLI.tsv.gz``): gzipped, tab-separated,
  header ``split dataset filename sentence1 sentence2 label``; read without csv quoting.
* ``snli-senteval``: what the data root here has: SNLI dev/test in SentEval's format
  (``nli/snli-senteval/{s1,s2,labels}.{dev,test}``, line *i* of each file = premise, hypothesis, label; ``-`` labels
  already removed, sentences PTB-tokenized). The 2019 reference code's ``datasets/AllNLI/`` folder has the same
  layout gzipped (``s1.train.gz``...), which :func:`load_senteval_nli` reads as well.

Labels are the three strings of :data:`NLI_LABELS`; ``NLISet.label_ids`` maps them to 0/1/2 in the order of the
2019 reference code (``contradiction`` 0, ``entailment`` 1, ``neutral`` 2). With ``strict=True`` the pair counts
of the canonical releases are checked (:data:`SNLI_PAIRS`, :data:`MULTINLI_PAIRS`).
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from repro.data.io import fetch_hint, read_lines, require_file
from repro.data.manifest import expected_count
from repro.errors import ConfigError, DataError, choose
from repro.paths import data_root

NLI_LABELS = ("contradiction", "entailment", "neutral")
"""Label ids 0, 1, 2 (sentence-transformers' ``label2int``, 2019 and today)."""

SNLI_SPLITS = ("train", "dev", "test")
SNLI_PAIRS = {"train": 549367, "dev": 9842, "test": 9824}
"""Labelled pairs per split (10,000 dev/test pairs minus 158/176 without a gold label; 550,152 train minus 785)."""

MULTINLI_SPLITS = ("train", "dev_matched", "dev_mismatched")
MULTINLI_PAIRS = {"train": 392702, "dev_matched": 9815, "dev_mismatched": 9832}

SENTEVAL_NLI_PAIRS = {"dev": 9842, "test": 9824}

NLI_TRAIN_SOURCES = ("auto", "snli+multinli", "allnli", "snli-senteval-devtest")
"""What :func:`load_nli_train` can train on: ``snli+multinli`` (the paper: both train splits as released, 942k
pairs), ``allnli`` (the same pairs via AllNLI.tsv.gz), ``snli-senteval-devtest`` (the only NLI data in the data
root here: SNLI dev + test, 19,666 pairs; a substitute, the tables say so), ``auto`` (the first of the first two
that is present)."""

ALLNLI_COLUMNS = ("split", "dataset", "filename", "sentence1", "sentence2", "label")


@dataclass(frozen=True)
class NLIPair:
    premise: str
    hypothesis: str
    label: str  # one of NLI_LABELS


@dataclass
class NLISet:
    """Labelled premise/hypothesis pairs from one or more files."""

    name: str
    pairs: list[NLIPair]
    paths: tuple[Path, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def premises(self) -> list[str]:
        return [p.premise for p in self.pairs]

    @property
    def hypotheses(self) -> list[str]:
        return [p.hypothesis for p in self.pairs]

    @property
    def label_ids(self) -> np.ndarray:
        index = {name: i for i, name in enumerate(NLI_LABELS)}
        return np.asarray([index[p.label] for p in self.pairs], dtype=np.int64)

    def counts(self) -> dict[str, int]:
        c = Counter(p.label for p in self.pairs)
        return {name: c.get(name, 0) for name in NLI_LABELS}

    def head(self, n: int | None) -> "NLISet":
        """The first ``n`` pairs (all when ``n`` is None)."""
        if n is None or n >= len(self.pairs):
            return self
        return NLISet(self.name, self.pairs[:n], self.paths)

    def __add__(self, other: "NLISet") -> "NLISet":
        return NLISet(f"{self.name}+{other.name}", self.pairs + other.pairs, self.paths + other.paths)


def _label(text: str, path: Path, line: int) -> str:
    label = text.strip()
    if label not in NLI_LABELS:
        raise DataError(f"unknown NLI label {text!r}; expected one of {', '.join(NLI_LABELS)}", path, line)
    return label


def _check_count(name: str, expected: int, found: int, path: Path, dataset: str, root: Path) -> None:
    if found != expected:
        raise DataError(
            f"{name}: expected {expected} labelled pairs, found {found}: truncated or a different version? "
            f"{fetch_hint(dataset, root)}, or pass strict=False",
            path,
        )


# ---------------------------------------------------------------------------------------- SentEval format


def load_senteval_nli(folder: str | Path, split: str, name: str | None = None) -> NLISet:
    """``s1.<split>``, ``s2.<split>``, ``labels.<split>`` (or the same names + ``.gz``) from ``folder``."""
    folder = Path(folder)
    files = []
    for stem in ("s1", "s2", "labels"):
        plain, gz = folder / f"{stem}.{split}", folder / f"{stem}.{split}.gz"
        files.append(gz if gz.is_file() and not plain.is_file() else require_file(plain, "nli", folder.parent.parent))
    columns = [list(_lines(p)) for p in files]
    if not len(columns[0]) == len(columns[1]) == len(columns[2]):
        sizes = ", ".join(f"{p.name}: {len(c)} lines" for p, c in zip(files, columns))
        raise DataError(f"the three files of split {split!r} must have one line per pair ({sizes})", folder)
    pairs = [
        NLIPair(s1.strip(), s2.strip(), _label(lab, files[2], i))
        for i, ((_, s1), (_, s2), (_, lab)) in enumerate(zip(*columns), start=1)
    ]
    return NLISet(name or f"NLI/{split}", pairs, tuple(files))


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                yield number, _decode(raw, path, number).rstrip("\r\n")
        return
    yield from read_lines(path)


def _decode(raw: bytes, path: Path, line: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot decode as UTF-8 ({exc.reason}); damaged file?", path, line) from None


def snli_senteval_folder(root: str | Path | None = None) -> Path:
    return data_root(root) / "nli" / "snli-senteval"


def load_snli_senteval(split: str, root: str | Path | None = None, strict: bool = True) -> NLISet:
    """SNLI ``dev``/``test`` in SentEval's format, from ``nli/snli-senteval/`` (what the data root here has)."""
    choose(split, tuple(SENTEVAL_NLI_PAIRS), "SNLI (SentEval format) split")
    base = data_root(root)
    out = load_senteval_nli(snli_senteval_folder(base), split, name=f"SNLI-SentEval/{split}")
    if strict:
        want = expected_count(base, f"snli-senteval:{split}", SENTEVAL_NLI_PAIRS[split])
        _check_count(f"SNLI {split}", want, len(out), out.paths[2], "nli", base)
    return out


# ------------------------------------------------------------------------------------------- jsonl releases


def _release_lines(root: Path, dataset: str, folder: str, member: str) -> tuple[Path, Iterator[tuple[int, str]]]:
    """Lines of ``<folder>/<member>`` from the extracted release, else from the zip the manifest pins."""
    extracted = root / dataset / folder / member
    if extracted.is_file():
        return extracted, read_lines(extracted)
    archive = root / dataset / f"{folder}.zip"
    if not archive.is_file():
        raise DataError(
            f"{dataset} not found (neither {extracted} nor {archive}); {fetch_hint(dataset, root)}", archive
        )
    try:
        zf = zipfile.ZipFile(archive)
        info = zf.getinfo(f"{folder}/{member}")
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"cannot read the archive ({exc}); {fetch_hint(dataset, root)}", archive) from None
    except KeyError:
        raise DataError(f"archive has no member {folder}/{member}; not the released version?", archive) from None
    path = Path(f"{archive}!{folder}/{member}")

    def lines() -> Iterator[tuple[int, str]]:
        with zf, zf.open(info) as raw:
            for number, text in enumerate(io.TextIOWrapper(raw, encoding="utf-8", newline="\n"), start=1):
                yield number, text.rstrip("\r\n")

    return path, lines()


def _read_jsonl(path: Path, lines: Iterator[tuple[int, str]], name: str) -> NLISet:
    pairs = []
    for number, text in lines:
        if not text.strip():
            continue
        try:
            row = json.loads(text)
            gold, s1, s2 = row["gold_label"], row["sentence1"], row["sentence2"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"not an NLI jsonl record ({type(exc).__name__}: {exc})", path, number) from None
        if gold == "-":
            continue
        pairs.append(NLIPair(s1, s2, _label(gold, path, number)))
    return NLISet(name, pairs, (path,))


def _load_release(corpus: str, label: str, split: str, splits, counts: dict, root, strict: bool) -> NLISet:
    """One split of SNLI/MultiNLI 1.0 as released (``<corpus>_1.0/<corpus>_1.0_<split>.jsonl``)."""
    choose(split, splits, f"{label} split")
    base = data_root(root)
    path, lines = _release_lines(base, corpus, f"{corpus}_1.0", f"{corpus}_1.0_{split}.jsonl")
    out = _read_jsonl(path, lines, f"{label}/{split}")
    if strict:
        _check_count(f"{label} {split}", expected_count(base, f"{corpus}:{split}", counts[split]), len(out), path,
                     corpus, base)
    return out


def load_snli(split: str, root: str | Path | None = None, strict: bool = True) -> NLISet:
    """SNLI 1.0 ``train``/``dev``/``test`` as released (jsonl), pairs without a gold label skipped."""
    return _load_release("snli", "SNLI", split, SNLI_SPLITS, SNLI_PAIRS, root, strict)


def load_multinli(split: str, root: str | Path | None = None, strict: bool = True) -> NLISet:
    """MultiNLI 1.0 ``train``/``dev_matched``/``dev_mismatched`` as released (jsonl)."""
    return _load_release("multinli", "MultiNLI", split, MULTINLI_SPLITS, MULTINLI_PAIRS, root, strict)


# ---------------------------------------------------------------------------------------------- AllNLI.tsv.gz


def allnli_path(root: str | Path | None = None) -> Path:
    return data_root(root) / "allnli" / "AllNLI.tsv.gz"


def load_allnli(split: str = "train", root: str | Path | None = None) -> NLISet:
    """The ``split`` rows (``train``/``dev``/``test``) of sentence-transformers' AllNLI.tsv.gz."""
    choose(split, ("train", "dev", "test"), "AllNLI split")
    base = data_root(root)
    path = require_file(allnli_path(base), "allnli", base)
    pairs = []
    try:
        with gzip.open(path, "rb") as fh:
            header = _decode(fh.readline(), path, 1).rstrip("\r\n").split("\t")
            missing = [c for c in ALLNLI_COLUMNS if c not in header]
            if missing:
                raise DataError(f"header lacks column(s) {', '.join(missing)} (found: {', '.join(header)})", path, 1)
            idx = {c: header.index(c) for c in ALLNLI_COLUMNS}
            for number, raw in enumerate(fh, start=2):
                cols = _decode(raw, path, number).rstrip("\r\n").split("\t")
                if len(cols) != len(header):
                    raise DataError(f"expected {len(header)} tab-separated columns, found {len(cols)}", path, number)
                if cols[idx["split"]] != split:
                    continue
                pairs.append(NLIPair(cols[idx["sentence1"]], cols[idx["sentence2"]],
                                     _label(cols[idx["label"]], path, number)))
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"cannot read ({exc}); damaged or incomplete download? {fetch_hint('allnli', base)}",
                        path) from None
    if not pairs:
        raise DataError(f"no rows with split {split!r}", path)
    return NLISet(f"AllNLI/{split}", pairs, (path,))


# --------------------------------------------------------------------------------------------- training data


def _snli_multinli_present(root: Path) -> bool:
    return all((root / d / f"{f}.zip").is_file() or (root / d / f / f"{f}_train.jsonl").is_file()
               for d, f in (("snli", "snli_1.0"), ("multinli", "multinli_1.0")))


def load_nli_train(source: str = "auto", root: str | Path | None = None) -> NLISet:
    """SBERT's NLI training pairs from ``source`` (see :data:`NLI_TRAIN_SOURCES`)."""
    choose(source, NLI_TRAIN_SOURCES, "NLI training source")
    base = data_root(root)
    if source == "auto":
        if _snli_multinli_present(base):
            source = "snli+multinli"
        elif allnli_path(base).is_file():
            source = "allnli"
        else:
            raise DataError(
                "SBERT's NLI training data (SNLI + MultiNLI train) is not in the data root; run "
                f"`python data_scripts/fetch_data.py snli multinli --data-root {base}` (the releases, sha256-checked) "
                "or put sentence-transformers' AllNLI.tsv.gz at allnli/AllNLI.tsv.gz; the `local` profile trains "
                "on SNLI dev+test instead (nli_train: snli-senteval-devtest)",
                base,
            )
    if source == "snli+multinli":
        return load_snli("train", base) + load_multinli("train", base)
    if source == "allnli":
        return load_allnli("train", base)
    if source == "snli-senteval-devtest":
        return load_snli_senteval("dev", base) + load_snli_senteval("test", base)
    raise ConfigError(f"unhandled NLI source {source!r}")  # pragma: no cover
