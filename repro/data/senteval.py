"""Loaders for the seven SentEval transfer tasks of the paper's Table 5: MR, CR, SUBJ, MPQA, SST (binary), TREC, MRPC.

The files are SentEval's own processed copies (see each folder's ``SOURCE.md``) and are read the way SentEval's
task classes read them (facebookresearch/SentEval ``senteval/{binary,sst,trec,mrpc}.py``): every sentence is split
on whitespace and, since SentEval hands token lists to the encoder's batcher, joined back with single spaces here.

* MR / CR / SUBJ / MPQA: one sentence per line, Latin-1; the label is the file (MR, CR, MPQA: ``pos`` = 1,
  ``neg`` = 0; SUBJ: ``objective`` = 1, ``subjective`` = 0, as SentEval passes them). Blank lines are kept as
  empty sentences: SentEval's sizes (CR 3,775; MPQA 10,606) count them.
* SST (binary): ``sentence<TAB>label``, UTF-8; train / dev / test.
* TREC: ``COARSE:fine question``, Latin-1; the 6 coarse classes (ABBR, DESC, ENTY, HUM, LOC, NUM).
* MRPC: tab-separated with a header row (``Quality #1 ID #2 ID #1 String #2 String``), UTF-8 with BOM.

With ``strict=True`` (the default) the number of examples must equal SentEval's (:data:`SENTEVAL_SIZES`), so a
truncated file or another version is reported instead of silently changing Table 5.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from repro.data.io import read_lines, require_file
from repro.data.manifest import expected_count
from repro.errors import ConfigError, DataError, choose
from repro.paths import data_root

SENTEVAL_TASKS = ("MR", "CR", "SUBJ", "MPQA", "SST", "TREC", "MRPC")
"""Table 5's columns, in the paper's order."""

SENTEVAL_SIZES: dict[str, dict[str, int]] = {
    "MR": {"all": 10662},
    "CR": {"all": 3775},
    "SUBJ": {"all": 10000},
    "MPQA": {"all": 10606},
    "SST": {"train": 67349, "dev": 872, "test": 1821},
    "TREC": {"train": 5452, "test": 500},
    "MRPC": {"train": 4076, "test": 1725},
}
"""Examples per split, as SentEval reports them."""

PROTOCOLS = {"MR": "cv", "CR": "cv", "SUBJ": "cv", "MPQA": "cv", "SST": "dev", "TREC": "train_test",
             "MRPC": "train_test"}
"""How each task is scored: ``cv`` = 10-fold CV with an inner CV for the penalty; ``dev`` = penalty chosen on
the dev split, scored on test; ``train_test`` = penalty chosen by CV on train, scored on test."""

TREC_CLASSES = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")

# task -> (folder under the data root, [(file, label)]) for the single-file-per-class tasks
_BINARY_FILES = {
    "MR": ("mr", (("rt-polarity.pos", 1), ("rt-polarity.neg", 0))),
    "CR": ("cr", (("custrev.pos", 1), ("custrev.neg", 0))),
    "SUBJ": ("subj", (("subj.objective", 1), ("subj.subjective", 0))),
    "MPQA": ("mpqa", (("mpqa.pos", 1), ("mpqa.neg", 0))),
}


def senteval_text(text: str) -> str:
    """A sentence as SentEval's batcher receives it: whitespace-split, joined with single spaces."""
    return " ".join(text.split())


@dataclass
class LabeledSentences:
    """Sentences with integer class labels (one split of a task)."""

    name: str
    sentences: list[str]
    labels: np.ndarray
    paths: tuple[Path, ...] = ()

    def __len__(self) -> int:
        return len(self.sentences)

    @property
    def all_sentences(self) -> list[str]:
        return self.sentences

    def take(self, idx) -> "LabeledSentences":
        idx = np.asarray(idx, dtype=int)
        return LabeledSentences(self.name, [self.sentences[i] for i in idx], self.labels[idx], self.paths)


@dataclass
class LabeledPairs:
    """Sentence pairs with integer labels (MRPC: 1 = paraphrase)."""

    name: str
    sentences1: list[str]
    sentences2: list[str]
    labels: np.ndarray
    paths: tuple[Path, ...] = ()

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def all_sentences(self) -> list[str]:
        return self.sentences1 + self.sentences2

    def take(self, idx) -> "LabeledPairs":
        idx = np.asarray(idx, dtype=int)
        return LabeledPairs(self.name, [self.sentences1[i] for i in idx], [self.sentences2[i] for i in idx],
                            self.labels[idx], self.paths)


@dataclass
class SentEvalTask:
    """One column of Table 5: its splits (``all`` for the CV tasks) and how it is scored."""

    name: str
    splits: dict[str, LabeledSentences | LabeledPairs] = field(default_factory=dict)
    n_classes: int = 2

    @property
    def protocol(self) -> str:
        return PROTOCOLS[self.name]

    @property
    def is_pairs(self) -> bool:
        return self.name == "MRPC"

    def sizes(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.splits.items()}

    def sentences(self) -> list[str]:
        """Every sentence of every split (with repeats), for encoding in one go."""
        return [s for split in self.splits.values() for s in split.all_sentences]

    def head(self, n: int | None) -> "SentEvalTask":
        """At most ``n`` examples of each class in each split (the first ones in file order); all when None.

        Taking the first examples per class keeps every class present (the files are sorted by class), which a
        plain prefix would not.
        """
        if n is None:
            return self
        out = {}
        for name, split in self.splits.items():
            idx = np.concatenate([np.flatnonzero(split.labels == c)[:n] for c in np.unique(split.labels)])
            out[name] = split.take(np.sort(idx))
        return SentEvalTask(self.name, out, self.n_classes)


# ------------------------------------------------------------------------------------------------ loaders
def _read_sentences(path: Path, encoding: str) -> list[str]:
    return [senteval_text(text) for _, text in read_lines(path, encoding=encoding)]


def load_binary(name: str, root=None) -> SentEvalTask:
    """MR, CR, SUBJ or MPQA: all examples in one split ``all`` (positive file first, as SentEval)."""
    folder, files = _BINARY_FILES[name]
    base = data_root(root) / folder
    sentences: list[str] = []
    labels: list[int] = []
    paths = []
    for fname, label in files:
        path = require_file(base / fname, folder, root)
        sents = _read_sentences(path, "latin-1")
        sentences += sents
        labels += [label] * len(sents)
        paths.append(path)
    return SentEvalTask(name, {"all": LabeledSentences(name, sentences, np.asarray(labels), tuple(paths))})


def load_sst(root=None) -> SentEvalTask:
    """SST binary (SentEval's SST2): phrase-level train (67,349), sentence-level dev (872) and test (1,821)."""
    base = data_root(root) / "sst" / "binary"
    splits = {}
    for split in ("train", "dev", "test"):
        path = require_file(base / f"sentiment-{split}", "sst", root)
        sents, labels = [], []
        for lineno, text in read_lines(path, encoding="utf-8"):
            cols = text.strip().split("\t")
            if len(cols) != 2 or cols[1].strip() not in ("0", "1"):
                raise DataError(f"expected '<sentence>\\t<0|1>', found {text[:80]!r}", path, lineno)
            sents.append(senteval_text(cols[0]))
            labels.append(int(cols[1]))
        splits[split] = LabeledSentences(f"SST/{split}", sents, np.asarray(labels), (path,))
    return SentEvalTask("SST", splits)


def load_trec(root=None) -> SentEvalTask:
    """TREC question types: train_5500 (5,452) / TREC_10 (500), 6 coarse classes."""
    base = data_root(root) / "trec"
    splits = {}
    for split, fname in (("train", "train_5500.label"), ("test", "TREC_10.label")):
        path = require_file(base / fname, "trec", root)
        sents, labels = [], []
        for lineno, text in read_lines(path, encoding="latin-1"):
            target, sep, rest = text.strip().partition(":")
            if not sep or target not in TREC_CLASSES or " " not in rest:
                raise DataError(f"expected 'COARSE:fine question' with COARSE in {', '.join(TREC_CLASSES)}, "
                                f"found {text[:60]!r}", path, lineno)
            sents.append(senteval_text(rest.split(" ", 1)[1]))
            labels.append(TREC_CLASSES.index(target))
        splits[split] = LabeledSentences(f"TREC/{split}", sents, np.asarray(labels), (path,))
    return SentEvalTask("TREC", splits, n_classes=len(TREC_CLASSES))


def load_mrpc(root=None) -> SentEvalTask:
    """MRPC: train (4,076) / test (1,725) pairs; label 1 = paraphrase."""
    base = data_root(root) / "mrpc"
    splits = {}
    for split in ("train", "test"):
        path = require_file(base / f"msr_paraphrase_{split}.txt", "mrpc", root)
        s1, s2, labels = [], [], []
        for lineno, text in read_lines(path, encoding="utf-8-sig"):
            if lineno == 1:
                if not text.startswith("Quality"):
                    raise DataError(f"expected the header row 'Quality\\t#1 ID\\t...', found {text[:60]!r}",
                                    path, lineno)
                continue
            cols = text.strip().split("\t")
            if len(cols) != 5 or cols[0] not in ("0", "1"):
                raise DataError(f"expected 5 tab-separated columns starting with 0 or 1, found {len(cols)}",
                                path, lineno)
            labels.append(int(cols[0]))
            s1.append(senteval_text(cols[3]))
            s2.append(senteval_text(cols[4]))
        splits[split] = LabeledPairs(f"MRPC/{split}", s1, s2, np.asarray(labels), (path,))
    return SentEvalTask("MRPC", splits)


def load_senteval_task(name: str, root=None, strict: bool = True) -> SentEvalTask:
    """Load one of :data:`SENTEVAL_TASKS`; with ``strict`` the split sizes must be SentEval's."""
    name = choose(name, SENTEVAL_TASKS, "SentEval task")
    if name in _BINARY_FILES:
        task = load_binary(name, root)
    elif name == "SST":
        task = load_sst(root)
    elif name == "TREC":
        task = load_trec(root)
    else:
        task = load_mrpc(root)
    if strict:
        want = {k: expected_count(root, f"senteval:{name}:{k}", v) for k, v in SENTEVAL_SIZES[name].items()}
        got = task.sizes()
        if got != want:
            split = next(k for k in want if got.get(k) != want[k])
            paths = ", ".join(str(p) for p in task.splits[split].paths)
            raise DataError(f"{name} {split}: {got.get(split)} examples, SentEval's version has {want[split]} "
                            f"(truncated file or another version?); files: {paths}")
    return task


def load_senteval_tasks(names=SENTEVAL_TASKS, root=None, strict: bool = True) -> list[SentEvalTask]:
    if isinstance(names, str):
        raise ConfigError("load_senteval_tasks takes a list of task names")
    return [load_senteval_task(n, root, strict) for n in names]
