"""Miniature data root for the paper-profile rehearsal (issue 20): every input in its released format, small.

:func:`build_data` writes, under ``out_root``, a data root holding every dataset the ``paper`` profile reads, in
the folder layout and file names the suite's loaders expect (``repro/data/*.py``, ``repro/data/manifest.py``,
``repro/encoders/{wordvec,infersent}.py``):

* **sampled** from the real data root where the real files are there (STS12-16, STSb, SICK, SentEval's seven
  tasks, AFS, SNLI dev/test in SentEval's format): a seeded choice of whole lines / CSV records, written back
  byte for byte (headers, BOMs, CRLF or CR line ends, Latin-1 bytes as in the source);
* **synthetic but format-faithful** where the real files are not in the data root: SNLI 1.0 and MultiNLI 1.0
  (their zips with the official jsonl fields, built from real SNLI dev/test pairs), the Wikipedia-sections
  triplets, GloVe 840B-300d, fastText crawl-300d-2M and InferSent's ``infersent1.pkl`` (random values).

Where each format fact comes from is said next to the code that writes it. ``MINIATURES.json`` at the top lists
every file (sha256, size, items) and the item counts the loaders' ``strict`` checks compare against once the
root is accepted with :func:`repro.data.manifest.accept_miniatures`. The build is deterministic for a seed
(same bytes on a rebuild: fixed zip timestamps, sorted JSON, seeded generators keyed by dataset name) and
atomic: everything is written into a temporary sibling folder that replaces ``out_root`` at the end.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import random
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from repro.errors import DataError

MINIATURES_FILE = "MINIATURES.json"
FORMAT_VERSION = 1
MIN_PER_CLASS = 10  # SentEval's 10-fold CV (and the inner CV choosing the penalty) needs >= 10 per class
ZIP_DATE = (2019, 8, 27, 0, 0, 0)  # any fixed timestamp: zip members carry one, and it must not be "now"
WORD_DIM = 300  # GloVe 840B-300d, fastText crawl-300d-2M and InferSent v1's input size
INFERSENT_LSTM = 2048  # InferSent v1: enc_lstm_dim 2048 (facebookresearch/InferSent README / encoder/models.py)

# Tokens of the real glove.840B.300d.txt that contain spaces, so a reader that splits on every space breaks
# (adsieg/text_similarity PR #3 and the OpenNMT forum thread it links: "could not convert string to float: '.'"
# from the token ". . ."; the "name@domain.com" phrases are the other reported ones). A reader must take the
# last 300 fields as the vector (repro/encoders/wordvec.py does).
GLOVE_SPACE_TOKENS = (". . .", "at name@domain.com", "to name@domain.com", "email name@domain.com", ". . . . .")
_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


# ------------------------------------------------------------------------------------------------ helpers
def _rng(seed: int, name: str) -> random.Random:
    """A generator for one dataset: str seeds hash with sha512 in CPython, stable across runs and machines."""
    return random.Random(f"sbert-repro-miniature:{seed}:{name}")


def _split_lines(data: bytes) -> list[bytes]:
    """Lines split on ``\\n`` only, each keeping its terminator (``\\r\\n`` stays whole); a last line without
    a newline is kept as it is."""
    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _join(lines: Sequence[bytes]) -> bytes:
    """Lines back to bytes; a line without a terminator (the source's last) that is not last any more gets the
    terminator of the other lines (``\r\n`` in a CRLF file)."""
    eol = b"\r\n" if lines and lines[0].endswith(b"\r\n") else b"\n"
    out = [ln if ln.endswith(b"\n") or i == len(lines) - 1 else ln + eol for i, ln in enumerate(lines)]
    return b"".join(out)


def _pick(n: int, k: int, rng: random.Random, must: Iterable[int] = ()) -> list[int]:
    """``k`` sorted indices of ``range(n)`` (all when ``n <= k``), ``must`` included."""
    must = sorted({i for i in must if 0 <= i < n})
    if n <= k:
        return list(range(n))
    rest = [i for i in range(n) if i not in set(must)]
    return sorted(must + rng.sample(rest, max(0, k - len(must))))


def _stratified(labels: Sequence, k: int, rng: random.Random, min_per_class: int = MIN_PER_CLASS) -> list[int]:
    """Sorted indices: per class ``max(ceil(k / classes), min_per_class)`` (or all the class has)."""
    by: dict = {}
    for i, lab in enumerate(labels):
        by.setdefault(lab, []).append(i)
    quota = max(math.ceil(k / max(1, len(by))), min_per_class)
    out: list[int] = []
    for lab in sorted(by, key=str):
        idx = by[lab]
        out += idx if len(idx) <= quota else rng.sample(idx, quota)
    return sorted(out)


def _zip(path: Path, members: Sequence[tuple[str, bytes]]) -> None:
    """A zip with fixed timestamps and permissions (same bytes for the same members)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)


class _Builder:
    """Writes the miniature files into ``out`` and records what it wrote."""

    def __init__(self, real: Path, out: Path, items: int, seed: int):
        self.real, self.out, self.items, self.seed = real, out, int(items), int(seed)
        self.files: dict[str, dict] = {}
        self.counts: dict[str, object] = {}
        self.sentences: list[str] = []  # every sentence written (vocabulary of the word-vector files)

    # -------------------------------------------------------------- io
    def src(self, rel: str) -> Path:
        path = self.real / rel
        if not path.is_file():
            raise DataError(f"the real data root lacks {rel}, which the miniature samples from; point --real-root "
                            f"at a verified data root (`sbert-repro data verify`)", path)
        return path

    def read(self, rel: str) -> bytes:
        return self.src(rel).read_bytes()

    def write(self, rel: str, data: bytes, items: int | None = None, kind: str = "sampled") -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "kind": kind}
        if items is not None:
            self.files[rel]["items"] = int(items)

    def copy(self, rel: str) -> None:
        """A small companion file (readme, license) copied as it is."""
        self.write(rel, self.read(rel), kind="copied")

    def keep_text(self, texts: Iterable[str]) -> None:
        self.sentences.extend(t for t in texts if t)

    # -------------------------------------------------------------- STSb, SICK, STS12-16
    def stsb(self) -> None:
        # stsb/sts-{train,dev,test}.csv: tab-separated, no header, 7 or 9 columns (repro/data/sts.py docstring,
        # stsb/SOURCE.md). Whole lines are sampled, at least one 9-column line kept where the split has one.
        for rel in ("stsb/LICENSE.txt", "stsb/readme.txt"):
            self.copy(rel)
        for split in ("train", "dev", "test"):
            rel = f"stsb/sts-{split}.csv"
            lines = _split_lines(self.read(rel))
            nine = [i for i, ln in enumerate(lines) if ln.count(b"\t") == 8][:1]
            idx = _pick(len(lines), self.items, _rng(self.seed, rel), must=nine)
            chosen = [lines[i] for i in idx]
            self.write(rel, _join(chosen), len(chosen))
            self.counts[f"stsb:{split}"] = len(chosen)
            for ln in chosen:
                cols = ln.decode("utf-8").rstrip("\r\n").split("\t")
                self.keep_text(cols[5:7])

    def sick(self) -> None:
        # sick/SICK_{train,trial,test_annotated}.txt: tab-separated with a header row, the test file with CRLF
        # line ends (repro/data/sts.py docstring, sick/SOURCE.md); SICK.txt (the full corpus) likewise.
        self.copy("sick/readme.txt")
        for split, name in (("train", "SICK_train.txt"), ("trial", "SICK_trial.txt"),
                            ("test", "SICK_test_annotated.txt"), (None, "SICK.txt")):
            rel = f"sick/{name}"
            header, *rows = _split_lines(self.read(rel))
            idx = _pick(len(rows), self.items, _rng(self.seed, rel))
            chosen = [rows[i] for i in idx]
            self.write(rel, _join([header, *chosen]), len(chosen))
            if split:
                self.counts[f"sick:{split}"] = len(chosen)
                names = header.decode("utf-8").rstrip("\r\n").split("\t")
                a, b = names.index("sentence_A"), names.index("sentence_B")
                for ln in chosen:
                    cols = ln.decode("utf-8").rstrip("\r\n").split("\t")
                    self.keep_text([cols[a], cols[b]])

    def sts(self) -> None:
        # sts/STS1x-en-test/: line i of STS.gs.<subset>.txt scores line i of STS.input.<subset>.txt, an empty gs
        # line = no gold score; STS16 keeps the organizers' STS2016.* names with 4 input columns
        # (repro/data/sts.py docstring, sts/SOURCE.md). Input and gs lines are sampled with the same indices,
        # a few unscored lines kept where the subset has them (STS15, STS16).
        from repro.data.sts import STS_COUNTS

        for year, subsets in STS_COUNTS.items():
            folder = f"sts/{year}-en-test"
            prefix = "STS2016." if year == "STS16" else "STS."
            real_folder = self.real / folder
            if not real_folder.is_dir():
                raise DataError(f"the real data root lacks {folder}", real_folder)
            done = set()
            for subset in sorted(subsets):
                rin, rgs = f"{folder}/{prefix}input.{subset}.txt", f"{folder}/{prefix}gs.{subset}.txt"
                inputs, golds = _split_lines(self.read(rin)), _split_lines(self.read(rgs))
                scored = [i for i, g in enumerate(golds) if g.strip()]
                unscored = [i for i, g in enumerate(golds) if not g.strip()]
                rng = _rng(self.seed, rin)
                idx = sorted(_pick_from(scored, self.items, rng) + _pick_from(unscored, max(1, self.items // 8), rng))
                gs_lines = [golds[i] for i in idx]
                in_lines = [inputs[i] for i in idx]
                n_scored = sum(1 for g in gs_lines if g.strip())
                self.write(rin, _join(in_lines), len(in_lines))
                self.write(rgs, _join(gs_lines), n_scored)
                self.counts[f"sts:{year}/{subset}"] = [len(in_lines), n_scored]
                for ln in in_lines:
                    self.keep_text(ln.decode("utf-8").rstrip("\r\n").split("\t")[:2])
                done |= {rin, rgs}
            for path in sorted(p for p in real_folder.iterdir() if p.is_file()):
                rel = f"{folder}/{path.name}"
                if rel in done:
                    continue
                if path.name.startswith(f"{prefix}gs."):  # a gold file without inputs (STS13 SMT, STS12 ALL)
                    lines = _split_lines(path.read_bytes())
                    idx = _pick(len(lines), self.items, _rng(self.seed, rel))
                    self.write(rel, _join([lines[i] for i in idx]), len(idx))
                elif path.suffix == ".zip":
                    # STS.answers-forums.zip: the license companion of the answers-forums input (manifest:
                    # pinned=False, no loader reads it); here it holds the miniature input file.
                    name = f"{prefix}input.answers-forums.txt"
                    _zip(self.out / rel, [(name, (self.out / folder / name).read_bytes())])
                    data = (self.out / rel).read_bytes()
                    self.files[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                                       "kind": "synthetic"}
                else:
                    self.copy(rel)

    # -------------------------------------------------------------- SentEval's seven tasks
    def senteval(self) -> None:
        # Files and encodings as repro/data/senteval.py reads them (SentEval's own processed copies, read like
        # facebookresearch/SentEval senteval/{binary,sst,trec,mrpc}.py).
        # MR / CR / SUBJ / MPQA: one sentence per line, one file per class, Latin-1; blank lines count as
        # examples in SentEval (CR, MPQA): one is kept where the file has one.
        for task, folder, files in (("MR", "mr", ("rt-polarity.pos", "rt-polarity.neg")),
                                    ("CR", "cr", ("custrev.pos", "custrev.neg")),
                                    ("SUBJ", "subj", ("subj.objective", "subj.subjective")),
                                    ("MPQA", "mpqa", ("mpqa.pos", "mpqa.neg"))):
            total = 0
            for name in files:
                rel = f"{folder}/{name}"
                lines = _split_lines(self.read(rel))
                blank = [i for i, ln in enumerate(lines) if not ln.strip()][:1]
                idx = _pick(len(lines), max(self.items // 2, MIN_PER_CLASS), _rng(self.seed, rel), must=blank)
                chosen = [lines[i] for i in idx]
                self.write(rel, _join(chosen), len(chosen))
                self.keep_text(ln.decode("latin-1").strip() for ln in chosen)
                total += len(chosen)
            self.counts[f"senteval:{task}:all"] = total
        # SST binary: "sentence<TAB>0|1", UTF-8, train/dev/test; fine/: SST5 as "label sentence" (stsa.fine.*,
        # the first field the label 0-4), read by no loader here but part of the manifest.
        for sub in ("binary", "fine"):
            for split in ("train", "dev", "test"):
                rel = f"sst/{sub}/sentiment-{split}"
                lines = _split_lines(self.read(rel))
                labels = [ln.rstrip(b"\r\n").rsplit(b"\t", 1)[-1].strip() if sub == "binary" else ln.split(b" ", 1)[0]
                          for ln in lines]
                idx = _stratified(labels, self.items, _rng(self.seed, rel), min_per_class=MIN_PER_CLASS // 2)
                chosen = [lines[i] for i in idx]
                self.write(rel, _join(chosen), len(chosen))
                if sub == "binary":
                    self.counts[f"senteval:SST:{split}"] = len(chosen)
                    self.keep_text(ln.decode("utf-8").split("\t")[0] for ln in chosen)
        # TREC: "COARSE:fine question", Latin-1; trec/<file> = trec/raw/<file> with every ` and ' deleted
        # (SentEval's get_transfer_data.bash; repro/data/manifest.py derive). Raw lines are sampled and the
        # processed files derived from them, so the derive relation of the manifest still holds.
        for split, name in (("train", "train_5500.label"), ("test", "TREC_10.label")):
            raw_rel, rel = f"trec/raw/{name}", f"trec/{name}"
            lines = _split_lines(self.read(raw_rel))
            labels = [ln.split(b":", 1)[0] for ln in lines]
            min_class = MIN_PER_CLASS if split == "train" else 1
            idx = _stratified(labels, self.items, _rng(self.seed, raw_rel), min_per_class=min_class)
            chosen = [lines[i] for i in idx]
            raw = _join(chosen)
            self.write(raw_rel, raw, len(chosen))
            self.write(rel, raw.replace(b"`", b"").replace(b"'", b""), len(chosen))
            self.counts[f"senteval:TREC:{split}"] = len(chosen)
            self.keep_text(ln.decode("latin-1").split(" ", 1)[-1].strip() for ln in chosen)
        # MRPC: header "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String" after a UTF-8 BOM; the raw MSR files
        # (mrpc/raw/) have the same rows in the same order ("#1ID" header): sampled with the same indices.
        for split in ("train", "test"):
            rel, raw_rel = f"mrpc/msr_paraphrase_{split}.txt", f"mrpc/raw/msr_paraphrase_{split}.txt"
            header, *rows = _split_lines(self.read(rel))
            raw_header, *raw_rows = _split_lines(self.read(raw_rel))
            if len(rows) != len(raw_rows):
                raise DataError(f"{rel} and {raw_rel} differ in rows ({len(rows)} vs {len(raw_rows)})", self.real)
            labels = [r.split(b"\t", 1)[0] for r in rows]
            idx = _stratified(labels, self.items, _rng(self.seed, rel))
            chosen = [rows[i] for i in idx]
            self.write(rel, _join([header, *chosen]), len(chosen))
            self.write(raw_rel, _join([raw_header, *[raw_rows[i] for i in idx]]), len(idx))
            self.counts[f"senteval:MRPC:{split}"] = len(chosen)
            for r in chosen:
                self.keep_text(r.decode("utf-8").rstrip("\r\n").split("\t")[3:5])

    # -------------------------------------------------------------- AFS
    def afs(self) -> None:
        # afs/ArgPairs_{DP,GC,GM}.csv: CSV with the 11-column header, old-Mac CR record ends, no final line end,
        # Latin-1/cp1252 bytes, one LF inside a quoted field of DP (afs/SOURCE.md, repro/data/afs.py). The real
        # files are exactly what csv.writer(lineterminator="\r") writes back minus the last "\r" (checked when this
        # was written), so the sampled records are written the same way; a record with an LF inside is kept.
        from repro.data.afs import AFS_TOPICS

        for topic in AFS_TOPICS:
            rel = f"afs/ArgPairs_{topic}.csv"
            text = self.read(rel).decode("latin-1")
            header, *rows = list(csv.reader(io.StringIO(text, newline="")))
            with_lf = [i for i, r in enumerate(rows) if any("\n" in f for f in r)][:1]
            idx = _pick(len(rows), self.items, _rng(self.seed, rel), must=with_lf)
            chosen = [rows[i] for i in idx]
            buf = io.StringIO(newline="")
            csv.writer(buf, lineterminator="\r").writerows([header, *chosen])
            self.write(rel, buf.getvalue().rstrip("\r").encode("latin-1"), len(chosen))
            self.counts[f"afs:{topic}"] = len(chosen)
            self.keep_text(f.strip() for r in chosen for f in r[9:11])

    # -------------------------------------------------------------- NLI
    def _senteval_nli_pairs(self) -> dict[str, list[tuple[str, str, str]]]:
        out = {}
        for split in ("dev", "test"):
            cols = [_split_lines(self.read(f"nli/snli-senteval/{stem}.{split}")) for stem in ("s1", "s2", "labels")]
            out[split] = [tuple(c.decode("utf-8").strip() for c in row) for row in zip(*cols)]
        return out

    def nli_senteval(self) -> None:
        # nli/snli-senteval/{s1,s2,labels}.{dev,test}: line i of each = premise, hypothesis, label; '-' already
        # removed, PTB-tokenized (SentEval's SNLI files; repro/data/nli.py). Same indices in the three files.
        for split in ("dev", "test"):
            rels = [f"nli/snli-senteval/{stem}.{split}" for stem in ("s1", "s2", "labels")]
            cols = [_split_lines(self.read(r)) for r in rels]
            idx = _stratified([ln.strip() for ln in cols[2]], self.items, _rng(self.seed, rels[0]))
            for rel, lines in zip(rels, cols):
                self.write(rel, _join([lines[i] for i in idx]), len(idx))
            self.counts[f"snli-senteval:{split}"] = len(idx)
            self.keep_text(cols[0][i].decode("utf-8").strip() for i in idx)
            self.keep_text(cols[1][i].decode("utf-8").strip() for i in idx)

    def nli_releases(self) -> None:
        """SNLI 1.0 and MultiNLI 1.0 as released: ``snli/snli_1.0.zip`` and ``multinli/multinli_1.0.zip``.

        Format facts: each zip has a top folder ``snli_1.0/`` / ``multinli_1.0/`` with
        ``<corpus>_1.0_<split>.jsonl`` (repro/data/nli.py reads exactly these members; the SNLI page
        https://nlp.stanford.edu/projects/snli/ and the MultiNLI README describe the fields); one JSON object per
        line with keys ``annotator_labels``, ``captionID`` (SNLI) / ``genre`` + ``promptID`` (MultiNLI),
        ``gold_label``, ``pairID``, ``sentence1``, ``sentence1_binary_parse``, ``sentence1_parse``, ``sentence2``,
        ``sentence2_binary_parse``, ``sentence2_parse`` (keys in this sorted order in the released lines).
        ``gold_label`` is ``-`` where the five annotators reached no majority: SNLI has such pairs in every split,
        MultiNLI in its dev sets only (its 392,702 train pairs are all labelled); the 2019 code
        (sentence-transformers v0.2.3 NLIDataReader over the AllNLI files) never sees them, and repro/data/nli.py
        drops them. Train pairs carry one annotator label, dev/test five (SNLI page; MultiNLI README). MultiNLI's
        genres: fiction, government, slate, telephone, travel (train, dev_matched); facetoface, letters,
        nineeleven, oup, verbatim (dev_mismatched) (Williams et al. 2018, Table 3).

        Synthetic here: the pairs are real SNLI dev/test pairs (SentEval's tokenized copy, light detokenisation),
        the ids and the parse strings are made up in the released shapes (binary parse: nested ``( ... )``;
        parse: a Penn-style ``(ROOT ...)`` tree with placeholder tags).
        """
        pool = self._senteval_nli_pairs()
        pairs = pool["dev"] + pool["test"]
        rng = _rng(self.seed, "nli-releases")
        order = list(range(len(pairs)))
        rng.shuffle(order)
        cursor = 0

        def take(n: int) -> list[tuple[str, str, str]]:
            nonlocal cursor
            chosen = [pairs[i] for i in order[cursor:cursor + n]]
            cursor += n
            return chosen

        n_dash = max(2, self.items // 12)
        genres = {"train": ("fiction", "government", "slate", "telephone", "travel"),
                  "dev_matched": ("fiction", "government", "slate", "telephone", "travel"),
                  "dev_mismatched": ("facetoface", "letters", "nineeleven", "oup", "verbatim")}
        for corpus, splits in (("snli", ("train", "dev", "test")),
                               ("multinli", ("train", "dev_matched", "dev_mismatched"))):
            members = []
            for split in splits:
                dashes = 0 if (corpus == "multinli" and split == "train") else n_dash
                labelled = take(self.items)
                unlabelled = take(dashes)
                rows = [(p, False) for p in labelled] + [(p, True) for p in unlabelled]
                rng.shuffle(rows)
                lines = []
                for k, ((s1, s2, label), dash) in enumerate(rows):
                    rec = _nli_record(corpus, split, k, _detok(s1), _detok(s2), label, dash,
                                      genres.get(split, ()), rng)
                    lines.append(json.dumps(rec, sort_keys=True) + "\n")
                    self.keep_text([rec["sentence1"], rec["sentence2"]])
                data = "".join(lines).encode("utf-8")
                members.append((f"{corpus}_1.0/{corpus}_1.0_{split}.jsonl", data))
                self.counts[f"{corpus}:{split}"] = len(labelled)
                self.counts[f"{corpus}:{split}:gold_dash"] = len(unlabelled)
            rel = f"{corpus}/{corpus}_1.0.zip"
            _zip(self.out / rel, members)
            data = (self.out / rel).read_bytes()
            self.files[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "kind": "synthetic",
                               "items": sum(self.counts[f"{corpus}:{s}"] + self.counts[f"{corpus}:{s}:gold_dash"]
                                            for s in splits)}

    # -------------------------------------------------------------- Wikipedia sections
    def wikisec(self) -> None:
        """``wikisec/{train,validation,test}.csv`` as in ``wikipedia-sections-triplets.zip``.

        Format facts: UTF-8 CSV with a header, comma-delimited, minimal quoting; the anchor, positive and negative
        sentences are columns 1, 2, 3 named ``Sentence1``, ``Sentence2``, ``Sentence3`` (sentence-transformers
        v0.2.3 examples/training_wikipedia_sections.py: ``TripletReader(..., s1_col_idx=1, s2_col_idx=2,
        s3_col_idx=3, delimiter=',', quoting=csv.QUOTE_MINIMAL, has_header=True)``; later versions read
        ``row['Sentence1']`` ... with ``csv.DictReader``). What column 0 holds is not stated in any source found:
        it is written here as an unnamed row-index column (pandas ``to_csv``'s default), an assumption.
        ``SHA256SUMS`` is what ``install_wikisec`` writes from a folder (repro/data/wikisec.py).

        Synthetic: anchor and positive come from the same "section" (the same source corpus of the miniature),
        the negative from another one, all real sentences of the miniature.
        """
        groups = _sentence_groups(self.out)
        names = sorted(groups)
        rng = _rng(self.seed, "wikisec")
        sums = []
        for split in ("train", "validation", "test"):
            rows = []
            for i in range(self.items):
                g, h = rng.sample(names, 2)
                a, p = rng.sample(groups[g], 2)
                n = rng.choice(groups[h])
                rows.append([str(i), a, p, n])
            buf = io.StringIO(newline="")
            writer = csv.writer(buf, delimiter=",", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            writer.writerow(["", "Sentence1", "Sentence2", "Sentence3"])
            writer.writerows(rows)
            data = buf.getvalue().encode("utf-8")
            self.write(f"wikisec/{split}.csv", data, len(rows), kind="synthetic")
            self.counts[f"wikisec:{split}"] = len(rows)
            sums.append(f"{hashlib.sha256(data).hexdigest()}  {split}.csv\n")
        self.write("wikisec/SHA256SUMS", "".join(sums).encode(), kind="synthetic")

    # -------------------------------------------------------------- word vectors, InferSent
    def vocabulary(self) -> list[str]:
        """Cased tokens of every miniature sentence, as the word-vector encoder and InferSent split them."""
        from repro.encoders.infersent import word_tokenize

        words: dict[str, None] = {}
        for s in self.sentences:
            for tok in _TOKEN_RE.findall(s) + word_tokenize(s):
                words.setdefault(tok, None)
        return sorted(words)

    def glove(self, vocab: Sequence[str]) -> None:
        # glove840b/glove.840B.300d.txt: "token v1 ... v300" per line, single spaces, no header, UTF-8, cased
        # (https://nlp.stanford.edu/projects/glove/; repro/encoders/wordvec.py). Values as the release prints them
        # (five significant digits, e.g. "-0.082752 0.67204"); the tokens with spaces of the real file are there.
        rng = np.random.default_rng([self.seed, 840])
        words = [w for w in vocab if w] + [t for t in GLOVE_SPACE_TOKENS if t not in vocab]
        vecs = rng.standard_normal((len(words), WORD_DIM)).astype(np.float32) * 0.4
        lines = [w + " " + " ".join(f"{v:.5g}" for v in row) + "\n" for w, row in zip(words, vecs)]
        self.write("glove840b/glove.840B.300d.txt", "".join(lines).encode("utf-8"), len(lines), kind="synthetic")

    def fasttext(self, vocab: Sequence[str]) -> None:
        # fasttext/crawl-300d-2M.vec: a header line "<count> <dim>" ("2000000 300" in the release), then
        # "word v1 ... v300 " per line: fastText's Vector printer puts a space after every value (fastText
        # src/vector.cc operator<<; https://fasttext.cc/docs/en/english-vectors.html gives the format), 4 decimals.
        rng = np.random.default_rng([self.seed, 2000000])
        words = [w for w in vocab if w and " " not in w]
        vecs = rng.standard_normal((len(words), WORD_DIM)).astype(np.float32) * 0.05
        body = "".join(w + " " + "".join(f"{v:.4f} " for v in row) + "\n" for w, row in zip(words, vecs))
        self.write("fasttext/crawl-300d-2M.vec", f"{len(words)} {WORD_DIM}\n{body}".encode("utf-8"), len(words),
                   kind="synthetic")

    def infersent(self) -> None:
        # infersent/infersent1.pkl: the release is a pickled state dict of the encoder, loaded in the README with
        # `model.load_state_dict(torch.load(MODEL_PATH))`; its keys are the BiLSTM's, enc_lstm.{weight,bias}_
        # {ih,hh}_l0[_reverse] (facebookresearch/InferSent encoder/models.py: self.enc_lstm = nn.LSTM(300, 2048,
        # 1, bidirectional=True)); float32, about 147 MiB. repro/encoders/infersent.py checks the shapes against
        # v1's (300-d input, 2,048 units), so the miniature keeps the real shapes (and size) with random values.
        import torch

        rng = np.random.default_rng([self.seed, 1])
        h, d = INFERSENT_LSTM, WORD_DIM
        shapes = {"weight_ih": (4 * h, d), "weight_hh": (4 * h, h), "bias_ih": (4 * h,), "bias_hh": (4 * h,)}
        state = {}
        for suffix in ("", "_reverse"):
            for key, shape in shapes.items():
                arr = (rng.random(shape, dtype=np.float32) - 0.5) * (2.0 / math.sqrt(h))
                state[f"enc_lstm.{key}_l0{suffix}"] = torch.from_numpy(arr)
        self.write("infersent/infersent1.pkl", _torch_save_deterministic(state), len(state), kind="synthetic")

    # -------------------------------------------------------------- all
    def build(self) -> None:
        self.stsb()
        self.sick()
        self.sts()
        self.senteval()
        self.afs()
        self.nli_senteval()
        self.nli_releases()
        self.wikisec()
        vocab = self.vocabulary()
        self.glove(vocab)
        self.fasttext(vocab)
        self.infersent()

    def manifest(self, real_root: Path) -> dict:
        return {
            "format": FORMAT_VERSION,
            "what": "miniature data root for the paper-profile rehearsal (repro/rehearsal/datasets.py)",
            "seed": self.seed,
            "items": self.items,
            "real_root_files": len([f for f in self.files.values() if f["kind"] != "synthetic"]),
            "files": dict(sorted(self.files.items())),
            "counts": dict(sorted(self.counts.items())),
        }


def _pick_from(pool: Sequence[int], k: int, rng: random.Random) -> list[int]:
    return list(pool) if len(pool) <= k else rng.sample(list(pool), k)


def _detok(text: str) -> str:
    """SentEval's PTB-tokenized SNLI sentence, roughly untokenized (the released sentence1/2 are untokenized)."""
    s = " ".join(text.split())
    s = re.sub(r" ([.,!?;:%)\]}])", r"\1", s)
    s = re.sub(r"([(\[{$]) ", r"\1", s)
    s = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", s)
    return s


def _binary_parse(tokens: Sequence[str]) -> str:
    """A right-branching binary bracketing in the release's ``sentence1_binary_parse`` style."""
    if len(tokens) <= 1:
        return " ".join(tokens)
    out = tokens[-1]
    for tok in reversed(tokens[:-1]):
        out = f"( {tok} {out} )"
    return out


def _parse(tokens: Sequence[str]) -> str:
    """A flat Penn-style tree in the release's ``sentence1_parse`` style (placeholder tag X)."""
    return "(ROOT (S " + " ".join(f"(X {t})" for t in tokens) + "))"


_LETTER = {"entailment": "e", "neutral": "n", "contradiction": "c"}
_OTHERS = {"entailment": ("neutral", "contradiction"), "neutral": ("entailment", "contradiction"),
           "contradiction": ("entailment", "neutral")}


def _nli_record(corpus: str, split: str, k: int, s1: str, s2: str, label: str, dash: bool, genres, rng) -> dict:
    t1, t2 = s1.replace(".", " .").split(), s2.replace(".", " .").split()
    o1, o2 = _OTHERS[label]
    if dash:  # five labels, no majority of three: gold "-"
        annotators = [label, o1, o2, label, o1]
        gold = "-"
    elif split == "train":
        annotators = [label]
        gold = label
    else:
        annotators = [label, label, o1, label, label]
        gold = label
    rec = {"annotator_labels": annotators, "gold_label": gold, "sentence1": s1, "sentence2": s2,
           "sentence1_binary_parse": _binary_parse(t1), "sentence2_binary_parse": _binary_parse(t2),
           "sentence1_parse": _parse(t1), "sentence2_parse": _parse(t2)}
    if corpus == "snli":
        caption = f"{rng.randrange(10**9, 10**10)}.jpg#{rng.randrange(5)}"
        rec["captionID"] = caption
        rec["pairID"] = f"{caption}r1{_LETTER[label]}"
    else:
        prompt = str(rng.randrange(10**5, 10**6))
        rec["promptID"] = prompt
        rec["pairID"] = f"{prompt}{_LETTER[label]}"
        rec["genre"] = genres[k % len(genres)]
    return rec


def _sentence_groups(root: Path) -> dict[str, list[str]]:
    """Sentences of the already written miniature, grouped by corpus (the wikisec "sections")."""
    from repro.data.afs import load_afs_topic
    from repro.data.senteval import load_binary

    groups = {}
    for topic in ("DP", "GC", "GM"):
        groups[f"afs-{topic}"] = sorted({p.s1 for p in load_afs_topic(topic, root, strict=False).pairs.pairs})
    for task in ("MR", "SUBJ"):
        groups[task] = sorted({s for s in load_binary(task, root).splits["all"].sentences if s})
    return {k: v for k, v in groups.items() if len(v) >= 2}


def _torch_save_deterministic(state: dict) -> bytes:
    """``torch.save(state)`` bytes, the same for the same tensors: the zip archive's record names and any
    per-save id (``.data/serialization_id``) are normalised by re-saving with a fixed id where torch writes one."""
    import torch

    buf = io.BytesIO()
    torch.save(state, buf)
    raw = buf.getvalue()
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".data/serialization_id"):
                data = b"0" * len(data)
            new = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            new.compress_type = zipfile.ZIP_STORED
            new.external_attr = info.external_attr
            zf.writestr(new, data)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- public API
def build_data(real_root: Path, out_root: Path, items: int = 48, seed: int = 0) -> Path:
    """Write the miniature data root under ``out_root`` (replacing what is there atomically); return it.

    ``real_root``: a verified data root (``../shared/data``) to sample from. ``items``: examples per split (per
    class where a task needs every class: at least :data:`MIN_PER_CLASS`). Same ``seed`` -> same bytes.
    """
    real_root, out_root = Path(real_root), Path(out_root)
    if int(items) < 4:
        raise DataError(f"items={items}: too few for the evaluators (at least 4; 48 is the default)")
    out_root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_root.name}.", suffix=".part", dir=out_root.parent))
    try:
        builder = _Builder(real_root, tmp, items, seed)
        builder.build()
        manifest = builder.manifest(real_root)
        (tmp / MINIATURES_FILE).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        _replace_dir(tmp, out_root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_root


def _replace_dir(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``: a rename; an existing ``target`` is moved aside first, then removed."""
    os.chmod(new, 0o755)
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        os.replace(target, old / "x")
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)


def miniature_vocabulary(root: Path) -> list[str]:
    """Every evaluation and training sentence of a built miniature root (read with the loaders, counts not
    checked), for the tokenizers of :func:`repro.rehearsal.models.build_models`."""
    from repro.data.nli import load_multinli, load_snli
    from repro.data.senteval import SENTEVAL_TASKS, load_binary, load_mrpc, load_sst, load_trec
    from repro.data.sts import STS_TASKS, load_sts_task, load_stsb
    from repro.data.wikisec import load_wikisec

    root = Path(root)
    out: list[str] = []
    for split in ("train", "dev"):
        out += [s for p in load_stsb(split, root, strict=False).pairs for s in (p.s1, p.s2)]
    for name in STS_TASKS:
        for subset in load_sts_task(name, root, strict=False).subsets.values():
            out += [s for p in subset.pairs for s in (p.s1, p.s2)]
    tasks = [load_binary(t, root) for t in SENTEVAL_TASKS[:4]] + [load_sst(root), load_trec(root), load_mrpc(root)]
    out += [s for task in tasks for s in task.sentences()]
    for name in sorted(groups := _sentence_groups(root)):
        out += groups[name]
    out += [s for p in (load_snli("train", root, strict=False) + load_multinli("train", root, strict=False)).pairs
            for s in (p.premise, p.hypothesis)]
    out += [s for t in load_wikisec("train", root, strict=False) for s in t]
    return sorted(set(out))
