"""Loaders for the STS evaluation data of Table 1 (STS12-16, STS benchmark, SICK-R) and STSb training data.

The files are read exactly as released (see the data folder's ``SOURCE.md`` files):

* ``stsb/sts-{train,dev,test}.csv``: UTF-8, tab-separated, no header, 7 columns (9 on some rows, which carry two
  extra source columns); score in column 5, sentences in columns 6 and 7. Sentences contain unbalanced ``"``:
  lines are split on tabs, never with csv quoting.
* ``sick/SICK_{train,trial,test_annotated}.txt``: UTF-8, tab-separated with a header row; the test file has CRLF
  line ends. The score is the ``relatedness_score`` column (found by its header name).
* ``sts/STS1x-en-test/STS.input.<subset>.txt`` + ``STS.gs.<subset>.txt`` (STS16: ``STS2016.input.*`` /
  ``STS2016.gs.*``): line *i* of the gs file scores line *i* of the input file; an empty gs line means "no gold
  score" and the pair is skipped. STS16 inputs have 4 columns (two sentences, two sources).

With ``strict=True`` (the default) every loader also checks the row counts of the canonical release, so a
truncated file or a different version is reported instead of silently changing the numbers.
"""

from __future__ import annotations

from pathlib import Path

from repro.data.io import fetch_hint, parse_score, read_lines, require_dir, require_file, split_columns
from repro.data.manifest import expected_count
from repro.data.records import PairSet, SentencePair, STSTask
from repro.errors import ConfigError, DataError, choose
from repro.paths import data_root

STS_TASKS = ("STS12", "STS13", "STS14", "STS15", "STS16", "STSb", "SICK-R")
"""The seven STS columns of Table 1, in the paper's order."""

SCORE_RANGE = (0.0, 5.0)

STSB_SPLITS = ("train", "dev", "test")
STSB_ROWS = {"train": 5749, "dev": 1500, "test": 1379}
STSB_COLUMNS = (7, 9)

SICK_SPLITS = ("train", "trial", "test")
SICK_FILES = {"train": "SICK_train.txt", "trial": "SICK_trial.txt", "test": "SICK_test_annotated.txt"}
SICK_ROWS = {"train": 4500, "trial": 500, "test": 4927}
SICK_COLUMNS = ("sentence_A", "sentence_B", "relatedness_score")

STS_YEARS = STS_TASKS[:5]  # the SemEval years; STSb and SICK-R are single sets
STS_COUNTS: dict[str, dict[str, tuple[int, int]]] = {
    # year -> subset -> (input lines, pairs with a gold score), from sts/SOURCE.md
    "STS12": {
        "MSRpar": (750, 750),
        "MSRvid": (750, 750),
        "SMTeuroparl": (459, 459),
        "surprise.OnWN": (750, 750),
        "surprise.SMTnews": (399, 399),
    },
    "STS13": {"FNWN": (189, 189), "OnWN": (561, 561), "headlines": (750, 750)},
    "STS14": {
        "deft-forum": (450, 450),
        "deft-news": (300, 300),
        "headlines": (750, 750),
        "images": (750, 750),
        "OnWN": (750, 750),
        "tweet-news": (750, 750),
    },
    "STS15": {
        "answers-forums": (2000, 375),
        "answers-students": (1500, 750),
        "belief": (2000, 375),
        "headlines": (1500, 750),
        "images": (1500, 750),
    },
    "STS16": {
        "answer-answer": (1572, 254),
        "headlines": (1498, 249),
        "plagiarism": (1271, 230),
        "postediting": (3287, 244),
        "question-question": (1555, 209),
    },
}
STS_TOTALS = {year: sum(s for _, s in subsets.values()) for year, subsets in STS_COUNTS.items()}

# File-name prefixes per year, in the order they are tried. STS16 keeps the organizers' "STS2016." names; SentEval's
# download script renames them to "STS." (and cuts the inputs to 2 columns), which is accepted too.
_STS_PREFIXES = {"STS16": ("STS2016.", "STS.")}
_STS_INPUT_COLUMNS = {("STS16", "STS2016."): 4}


# --------------------------------------------------------------------------------------------------- helpers


def _root(root: str | Path | None) -> Path:
    return data_root(root)


def _count_error(what: str, expected: int, found: int, path: Path, dataset: str, root: Path) -> DataError:
    """The strict-mode error for a row/pair count that differs from the canonical release."""
    return DataError(
        f"expected {expected} {what}, found {found}: truncated or a different version? "
        f"re-run `python data_scripts/fetch_data.py {dataset} --data-root {root}` or pass strict=False",
        path,
    )


# ----------------------------------------------------------------------------------------------------- STSb


def stsb_path(split: str, root: str | Path | None = None) -> Path:
    """Where ``load_stsb(split)`` reads from."""
    return _root(root) / "stsb" / f"sts-{split}.csv"


def load_stsb(split: str, root: str | Path | None = None, strict: bool = True) -> PairSet:
    """The STS benchmark ``split`` (``train``/``dev``/``test``) as a PairSet named ``"STSb/<split>"``."""
    choose(split, STSB_SPLITS, "STSb split")
    base = _root(root)
    path = require_file(stsb_path(split, base), "stsb", base)
    pairs = []
    for number, text in read_lines(path, encoding="utf-8"):
        cols = split_columns(text, path, number, STSB_COLUMNS)
        score = parse_score(cols[4], path, number, *SCORE_RANGE)
        pairs.append(SentencePair(cols[5], cols[6], score))
    if strict and len(pairs) != (want := expected_count(base, f"stsb:{split}", STSB_ROWS[split])):
        raise _count_error("rows", want, len(pairs), path, "stsb", base)
    return PairSet(f"STSb/{split}", pairs, path)


# ----------------------------------------------------------------------------------------------------- SICK


def sick_path(split: str, root: str | Path | None = None) -> Path:
    """Where ``load_sick(split)`` reads from."""
    return _root(root) / "sick" / SICK_FILES[split]


def load_sick(split: str, root: str | Path | None = None, strict: bool = True) -> PairSet:
    """SICK ``split`` (``train``/``trial``/``test``) relatedness scores as a PairSet named ``"SICK-R/<split>"``."""
    choose(split, SICK_SPLITS, "SICK split")
    base = _root(root)
    path = require_file(sick_path(split, base), "sick", base)
    lines = read_lines(path, encoding="utf-8")
    header = next(lines, None)
    if header is None:
        raise DataError("empty file (expected a header row)", path, 1)
    index = _sick_header(header[1], path)
    a, b, s = (index[name] for name in SICK_COLUMNS)
    pairs = []
    for number, text in lines:
        cols = split_columns(text, path, number, len(index))
        score = parse_score(cols[s], path, number, *SCORE_RANGE)
        pairs.append(SentencePair(cols[a], cols[b], score))
    if strict and len(pairs) != (want := expected_count(base, f"sick:{split}", SICK_ROWS[split])):
        raise _count_error("rows", want, len(pairs), path, "sick", base)
    return PairSet(f"SICK-R/{split}", pairs, path)


def _sick_header(text: str, path: Path) -> dict[str, int]:
    """Map header names to column indices; raise if a needed column is absent."""
    names = text.split("\t")
    index = {name: i for i, name in enumerate(names)}
    missing = [name for name in SICK_COLUMNS if name not in index]
    if missing:
        raise DataError(
            f"header lacks column(s) {', '.join(missing)} (found: {', '.join(names)}); not a SICK release file?",
            path,
            1,
        )
    return index


# ---------------------------------------------------------------------------------------------- STS12-16


def sts_year(year: int | str) -> str:
    """Normalize ``12``, ``2012``, ``"12"``, ``"sts12"`` or ``"STS12"`` to ``"STS12"``; ConfigError otherwise."""
    number: int | None = None
    if isinstance(year, int) and not isinstance(year, bool):
        number = year
    elif isinstance(year, str):
        text = year.strip().upper()
        text = text[3:] if text.startswith("STS") else text
        number = int(text) if text.isdigit() else None
    if number is not None and number >= 2000:
        number -= 2000
    name = f"STS{number}" if number is not None else None
    if name not in STS_YEARS:
        raise ConfigError(f"unknown STS year {year!r}; allowed: 12-16, 2012-2016 or {', '.join(STS_YEARS)}")
    return name


def sts_folder(year: int | str, root: str | Path | None = None) -> Path:
    """The folder ``load_sts(year)`` reads from."""
    return _root(root) / "sts" / f"{sts_year(year)}-en-test"


def load_sts(year: int | str, root: str | Path | None = None, strict: bool = True) -> STSTask:
    """STS ``year`` (12-16) as an STSTask named ``"STS1x"`` with one PairSet per sub-dataset (sorted by name).

    Sub-datasets are discovered from the input files; a gold file without an input file (STS13 SMT, whose inputs
    were never distributed openly) is skipped. Pairs whose gold line is empty have no score and are skipped.
    """
    name = sts_year(year)
    base = _root(root)
    folder = require_dir(sts_folder(name, base), "sts", base)
    prefix, inputs = _discover(name, folder)
    if strict:
        _check_subsets(name, folder, prefix, inputs, base)
    columns = _STS_INPUT_COLUMNS.get((name, prefix), 2)
    subsets = {}
    for subset in sorted(inputs):
        gs = require_file(folder / f"{prefix}gs.{subset}.txt", "sts", base)
        lines, pairs = _read_sts_pairs(inputs[subset], gs, columns)
        if strict:
            _check_sts_counts(name, subset, inputs[subset], gs, lines, len(pairs), base)
        subsets[subset] = PairSet(f"{name}/{subset}", pairs, inputs[subset])
    return STSTask(name, subsets)


def _discover(name: str, folder: Path) -> tuple[str, dict[str, Path]]:
    """Find ``<prefix>input.<subset>.txt`` files; return the prefix used and subset -> input path."""
    for prefix in _STS_PREFIXES.get(name, ("STS.",)):
        head = f"{prefix}input."
        found = {
            p.name[len(head) : -len(".txt")]: p
            for p in folder.iterdir()
            if p.is_file() and p.name.startswith(head) and p.name.endswith(".txt")
        }
        if found:
            return prefix, found
    prefix = _STS_PREFIXES.get(name, ("STS.",))[0]
    raise DataError(f"no {prefix}input.*.txt files in this folder; {fetch_hint('sts', folder.parents[1])}", folder)


def _check_subsets(name: str, folder: Path, prefix: str, inputs: dict[str, Path], root: Path) -> None:
    """Strict mode: the sub-datasets present must be exactly those of the canonical release."""
    expected = STS_COUNTS[name]
    for subset in sorted(expected):
        if subset not in inputs:
            require_file(folder / f"{prefix}input.{subset}.txt", "sts", root)
    extra = sorted(set(inputs) - set(expected))
    if extra:
        raise DataError(
            f"unexpected sub-dataset(s) {', '.join(extra)} (not in the canonical {name} release); "
            f"pass strict=False to load them",
            inputs[extra[0]],
        )


def _read_sts_pairs(input_path: Path, gs_path: Path, columns: int) -> tuple[int, list[SentencePair]]:
    """Read one sub-dataset; return (input line count, scored pairs)."""
    inputs = list(read_lines(input_path, encoding="utf-8"))
    golds = list(read_lines(gs_path, encoding="utf-8"))
    if len(inputs) != len(golds):
        raise DataError(
            f"has {len(inputs)} lines but its gold file {gs_path} has {len(golds)}: the two must match line by "
            f"line (truncated or mixed-up files?)",
            input_path,
        )
    pairs = []
    for (number, text), (_, gold) in zip(inputs, golds):
        cols = split_columns(text, input_path, number, columns)
        if not gold.strip():
            continue  # no gold score for this pair
        score = parse_score(gold, gs_path, number, *SCORE_RANGE)
        pairs.append(SentencePair(cols[0], cols[1], score))
    return len(inputs), pairs


def _check_sts_counts(
    name: str,
    subset: str,
    input_path: Path,
    gs_path: Path,
    lines: int,
    scored: int,
    root: Path,
) -> None:
    """Strict mode: input lines and scored pairs must match the canonical release."""
    want_lines, want_scored = expected_count(root, f"sts:{name}/{subset}", STS_COUNTS[name][subset])
    if lines != want_lines:
        raise _count_error("lines", want_lines, lines, input_path, "sts", root)
    if scored != want_scored:
        raise _count_error("scored pairs", want_scored, scored, gs_path, "sts", root)


# ------------------------------------------------------------------------------------------- Table 1 tasks


def load_sts_task(name: str, root: str | Path | None = None, strict: bool = True) -> STSTask:
    """One Table-1 column by name (see :data:`STS_TASKS`; case-insensitive).

    ``STS12``..``STS16`` have their sub-datasets; ``STSb`` is the STS benchmark test split and ``SICK-R`` the SICK
    test set, each as a single sub-dataset named ``"test"``.
    """
    canonical = {task.lower(): task for task in STS_TASKS}.get(str(name).strip().lower())
    task = choose(canonical or str(name), STS_TASKS, "STS task")
    if task == "STSb":
        return STSTask("STSb", {"test": load_stsb("test", root, strict)})
    if task == "SICK-R":
        return STSTask("SICK-R", {"test": load_sick("test", root, strict)})
    return load_sts(task, root, strict)
