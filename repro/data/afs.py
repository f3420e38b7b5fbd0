"""The Argument Facet Similarity corpus (Misra, Ecker & Walker, SIGDIAL 2016) for the paper's Table 3.

Three files, one per topic, ``afs/ArgPairs_{DP,GC,GM}.csv`` (death penalty, gun control, gay marriage), 2,000
scored sentence pairs each. Format (see ``afs/SOURCE.md``): CSV with a header, 11 columns, ``regression_label``
(0-5, multiples of 1/3) first, ``sentence_2`` and ``sentence_1`` last; old-Mac CR line ends and cp1252/Latin-1
bytes (one quoted field holds an LF). Read with ``csv`` on a file opened with ``newline=''`` and Latin-1, which
keeps every byte (the authors' own AFS reader, UKPLab acl2019 ``argument-similarity/train.py``, reads ISO-8859-1,
strips each sentence and takes ``sentence_1`` as the first sentence of the pair).

Each pair gets a stable id ``<topic>-<row>`` (row = 0-based data row in its file), which the fold builders and
their tests use to prove that no pair is ever in both train and test.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from repro.data.io import parse_score, require_file
from repro.data.manifest import expected_count
from repro.data.records import PairSet, SentencePair
from repro.errors import DataError, choose
from repro.paths import data_root

AFS_TOPICS = {"DP": "death penalty", "GC": "gun control", "GM": "gay marriage"}
AFS_PAIRS_PER_TOPIC = 2000
AFS_HEADER = ("regression_label", "discussionId_1", "discussionId_2", "postId_1", "postId_2", "datasetId_1",
              "sentenceId_1", "sentenceId_2", "datasetId_2", "sentence_2", "sentence_1")
SCORE_RANGE = (0.0, 5.0)


@dataclass
class AFSTopic:
    """The scored pairs of one topic; ``ids[i]`` identifies ``pairs.pairs[i]`` across the whole corpus."""

    topic: str
    pairs: PairSet
    ids: list[str]

    def __len__(self) -> int:
        return len(self.pairs)

    def head(self, n: int | None) -> "AFSTopic":
        if n is None or n >= len(self):
            return self
        return AFSTopic(self.topic, self.pairs.head(n), self.ids[:n])


@dataclass
class AFSCorpus:
    """All topics; the flat views (``pairs``, ``ids``, ``topics``) list topic after topic in the order given."""

    topics: dict[str, AFSTopic]

    def __len__(self) -> int:
        return sum(len(t) for t in self.topics.values())

    @property
    def pairs(self) -> list[SentencePair]:
        return [p for t in self.topics.values() for p in t.pairs.pairs]

    @property
    def ids(self) -> list[str]:
        return [i for t in self.topics.values() for i in t.ids]

    @property
    def topic_of(self) -> np.ndarray:
        return np.asarray([name for name, t in self.topics.items() for _ in range(len(t))])

    @property
    def scores(self) -> np.ndarray:
        return np.asarray([p.score for p in self.pairs], dtype=np.float64)

    def subset(self, idx) -> PairSet:
        pairs = self.pairs
        return PairSet("AFS/subset", [pairs[i] for i in np.asarray(idx, dtype=int)])

    def head(self, n: int | None) -> "AFSCorpus":
        return AFSCorpus({k: v.head(n) for k, v in self.topics.items()})


def afs_path(topic: str, root=None) -> Path:
    return data_root(root) / "afs" / f"ArgPairs_{topic}.csv"


def load_afs_topic(topic: str, root=None, strict: bool = True) -> AFSTopic:
    """One topic's pairs (``DP``, ``GC`` or ``GM``); with ``strict`` there must be exactly 2,000."""
    topic = choose(topic, AFS_TOPICS, "AFS topic")
    path = require_file(afs_path(topic, root), "afs", root)
    pairs, ids = [], []
    with open(path, encoding="latin-1", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError("empty file; expected the AFS header row", path, 1) from None
        if tuple(h.strip() for h in header) != AFS_HEADER:
            raise DataError(f"unexpected header {header[:3]}...; expected {', '.join(AFS_HEADER)} (is this an "
                            f"ArgPairs_*.csv file of the AFS release?)", path, 1)
        for row_no, row in enumerate(reader):
            record = row_no + 2  # 1-based CSV record number, header = 1 (the file has CR line ends)
            if len(row) != len(AFS_HEADER):
                raise DataError(f"CSV record {record}: expected {len(AFS_HEADER)} fields, found {len(row)} (file "
                                f"cut off, or not opened with newline=''?)", path)
            try:
                score = parse_score(row[0], path, None, *SCORE_RANGE)
            except DataError:
                raise DataError(f"CSV record {record}: regression_label {row[0]!r} is not a number in "
                                f"[{SCORE_RANGE[0]:g}, {SCORE_RANGE[1]:g}]", path) from None
            s1, s2 = row[10].strip(), row[9].strip()
            if not s1 or not s2:
                raise DataError(f"CSV record {record}: empty sentence", path)
            pairs.append(SentencePair(s1, s2, score))
            ids.append(f"{topic}-{row_no}")
    if strict and len(pairs) != (want := expected_count(root, f"afs:{topic}", AFS_PAIRS_PER_TOPIC)):
        raise DataError(f"{len(pairs)} pairs, the AFS release has {want} per topic (truncated file "
                        f"or another version?)", path)
    return AFSTopic(topic, PairSet(f"AFS/{topic}", pairs, path), ids)


def load_afs(root=None, topics=tuple(AFS_TOPICS), strict: bool = True) -> AFSCorpus:
    """All three topics (or ``topics``), in the order DP, GC, GM."""
    return AFSCorpus({t: load_afs_topic(t, root, strict) for t in topics})
