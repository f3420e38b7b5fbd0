"""STS loaders (repro.data.sts / repro.data.io): real-data counts and rows, and bad input in miniature."""

from __future__ import annotations

from pathlib import Path

import pytest

from repro.data.io import parse_score, read_lines
from repro.data.sts import (
    SICK_ROWS,
    STS_COUNTS,
    STS_TASKS,
    STS_TOTALS,
    STS_YEARS,
    STSB_ROWS,
    load_sick,
    load_stsb,
    load_sts,
    load_sts_task,
    sts_year,
)
from repro.errors import ConfigError, DataError



# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def real_root(data_root) -> Path:
    """The real data root (conftest's ``data_root``: skips with the reason when it is absent)."""
    return data_root


STSB_ROW = "main-captions\tMSRvid\t2012test\t{id:04d}\t{score}\tA man is {id}.\tA person is {id}."
SICK_HEADER = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment"


def write(path: Path, text: str | bytes) -> Path:
    """Write a miniature data file (bytes verbatim; str as UTF-8 without newline translation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def stsb_lines(n: int) -> list[str]:
    return [STSB_ROW.format(id=i, score=f"{i % 6}.000") for i in range(n)]


# ------------------------------------------------------------------------------------------ real data


@pytest.mark.needs_data
@pytest.mark.parametrize("year", STS_YEARS)
def test_sts_counts(real_root, year):
    task = load_sts(year, real_root)
    assert task.name == year
    assert len(task) == STS_TOTALS[year]
    assert list(task.subsets) == sorted(STS_COUNTS[year])
    for subset, pairs in task.subsets.items():
        assert len(pairs) == STS_COUNTS[year][subset][1]
        assert pairs.name == f"{year}/{subset}"


@pytest.mark.needs_data
def test_sts_totals_match_the_paper_setup(real_root):
    assert {y: len(load_sts(y, real_root)) for y in STS_YEARS} == {
        "STS12": 3108,
        "STS13": 1500,
        "STS14": 3750,
        "STS15": 3000,
        "STS16": 1186,
    }
    assert "SMT" not in load_sts(13, real_root).subsets  # gold file present, inputs never released
    assert "ALL" not in load_sts(12, real_root).subsets  # STS.gs.ALL.txt has no input file


@pytest.mark.needs_data
def test_stsb_and_sick_counts(real_root):
    assert {s: len(load_stsb(s, real_root)) for s in STSB_ROWS} == {"train": 5749, "dev": 1500, "test": 1379}
    assert {s: len(load_sick(s, real_root)) for s in SICK_ROWS} == {"train": 4500, "trial": 500, "test": 4927}


@pytest.mark.needs_data
def test_known_first_rows(real_root):
    first = load_stsb("test", real_root).pairs[0]
    assert (first.s1, first.s2, first.score) == ("A girl is styling her hair.", "A girl is brushing her hair.", 2.5)
    first = load_stsb("train", real_root).pairs[0]
    assert (first.s1, first.s2, first.score) == ("A plane is taking off.", "An air plane is taking off.", 5.0)
    first = load_sick("test", real_root).pairs[0]
    assert first.s1 == "There is no boy playing outdoors and there is no man smiling"
    assert first.score == 3.3
    first = load_sick("train", real_root).pairs[0]
    assert first.s1.startswith("A group of kids is playing in a yard") and first.score == 4.5
    first = load_sts(12, real_root).subsets["MSRpar"].pairs[0]
    assert first.s1.startswith("The problem likely will mean corrective changes") and first.score == 4.4
    # STS15 images: lines 1-3 have no gold score; the first scored pair is line 4
    first = load_sts(2015, real_root).subsets["images"].pairs[0]
    assert first.score == 4.4


@pytest.mark.needs_data
def test_every_score_in_range(real_root):
    for name in STS_TASKS:
        for pairs in load_sts_task(name, real_root).subsets.values():
            scores = pairs.scores
            assert scores.min() >= 0.0 and scores.max() <= 5.0, pairs.name


@pytest.mark.needs_data
def test_sts16_four_columns(real_root):
    path = real_root / "sts/STS16-en-test/STS2016.input.headlines.txt"
    assert len(path.read_text(encoding="utf-8").split("\n")[0].split("\t")) == 4
    headlines = load_sts("STS16", real_root).subsets["headlines"]
    # line 13 is the first scored pair; the source columns are not part of the sentences
    assert headlines.pairs[0].s1 == "Driver backs into stroller with child, drives off"
    assert headlines.pairs[0].s2 == "Driver backs into mom, stroller with child then drives off"
    assert headlines.pairs[0].score == 4.0
    for pairs in load_sts(16, real_root).subsets.values():
        assert not any("\t" in s or "stackexchange.com/users" in s for s in pairs.sentences1 + pairs.sentences2)


@pytest.mark.needs_data
def test_sick_crlf_is_stripped(real_root):
    assert b"\r\n" in (real_root / "sick/SICK_test_annotated.txt").read_bytes()[:200]
    for split in SICK_ROWS:
        pairs = load_sick(split, real_root)
        assert not any("\r" in s for s in pairs.sentences1 + pairs.sentences2), split


@pytest.mark.needs_data
def test_stsb_quotes_kept_verbatim(real_root):
    test = load_stsb("test", real_root)
    # an unbalanced quote (line 649) would swallow following lines under csv quoting
    assert test.pairs[648].s2 == 'I always go by the rule "When in doubt, throw it out!'
    assert sum('"' in s for s in test.sentences1 + test.sentences2) == 79
    # 9-column rows: the sentences are columns 6 and 7, not the trailing source columns
    assert test.pairs[642].s2 == 'My answer to your question is "Probably Not".'
    train = load_stsb("train", real_root)
    assert "Nigeria\\'s" in train.pairs[5719].s2  # a literal backslash, as released


@pytest.mark.needs_data
def test_load_sts_task(real_root):
    assert STS_TASKS == ("STS12", "STS13", "STS14", "STS15", "STS16", "STSb", "SICK-R")
    stsb = load_sts_task("STSb", real_root)
    assert list(stsb.subsets) == ["test"] and stsb.subsets["test"].name == "STSb/test" and len(stsb) == 1379
    sick = load_sts_task("sick-r", real_root)
    assert sick.name == "SICK-R" and sick.subsets["test"].name == "SICK-R/test" and len(sick) == 4927
    assert len(load_sts_task("STS13", real_root).head(10)) == 30


# ----------------------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("year", [12, 2012, "12", "2012", "STS12", "sts12", " STS12 "])
def test_sts_year_aliases(year):
    assert sts_year(year) == "STS12"


@pytest.mark.parametrize("year", [11, 17, "STS17", "foo", True, None])
def test_sts_year_rejects(year):
    with pytest.raises(ConfigError, match="unknown STS year"):
        sts_year(year)


def test_unknown_split_and_task(tmp_path):
    with pytest.raises(ConfigError, match="STSb split"):
        load_stsb("validation", tmp_path)
    with pytest.raises(ConfigError, match="SICK split"):
        load_sick("dev", tmp_path)
    with pytest.raises(ConfigError, match="STS task"):
        load_sts_task("STS17", tmp_path)


# ---------------------------------------------------------------------------------------- bad input


def test_missing_file_names_file_and_fetch_command(tmp_path):
    with pytest.raises(DataError) as err:
        load_stsb("dev", tmp_path)
    msg = str(err.value)
    assert "sts-dev.csv" in msg and "fetch_data.py stsb" in msg and str(tmp_path) in msg and "SBERT_REPRO_DATA" in msg
    with pytest.raises(DataError, match=r"SICK_test_annotated\.txt.*fetch_data\.py sick"):
        load_sick("test", tmp_path)
    with pytest.raises(DataError, match=r"STS14-en-test.*fetch_data\.py sts"):
        load_sts(14, tmp_path)


def test_truncated_file_strict_and_lenient(tmp_path):
    path = write(tmp_path / "stsb/sts-test.csv", "\n".join(stsb_lines(3)) + "\n")
    with pytest.raises(DataError) as err:
        load_stsb("test", tmp_path)
    msg = str(err.value)
    assert str(path) in msg and "expected 1379 rows, found 3" in msg
    assert "fetch_data.py stsb" in msg and "strict=False" in msg
    pairs = load_stsb("test", tmp_path, strict=False)
    assert len(pairs) == 3 and pairs.pairs[2].s1 == "A man is 2." and pairs.pairs[2].score == 2.0


def test_file_cut_mid_line(tmp_path):
    lines = stsb_lines(3)
    lines[2] = lines[2][: lines[2].index("A man")]  # cut right after the score column
    write(tmp_path / "stsb/sts-test.csv", "\n".join(lines))
    with pytest.raises(DataError) as err:
        load_stsb("test", tmp_path, strict=False)
    msg = str(err.value)
    assert "sts-test.csv, line 3" in msg and "expected 7 or 9 tab-separated columns, found 6" in msg


def test_non_numeric_score(tmp_path):
    lines = stsb_lines(3)
    lines[1] = lines[1].replace("1.000", "abc")
    path = write(tmp_path / "stsb/sts-dev.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        load_stsb("dev", tmp_path, strict=False)
    assert str(err.value) == f"{path}, line 2: non-numeric score 'abc'"


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "1_0", "", "5.0.1"])
def test_parse_score_rejects(bad, tmp_path):
    with pytest.raises(DataError, match=r"x\.txt, line 7: "):
        parse_score(bad, tmp_path / "x.txt", 7)


def test_score_out_of_range(tmp_path):
    lines = stsb_lines(3)
    lines[2] = lines[2].replace("2.000", "5.5")
    write(tmp_path / "stsb/sts-train.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"sts-train\.csv, line 3: score '5\.5' is outside \[0, 5\]"):
        load_stsb("train", tmp_path, strict=False)


def test_wrong_column_count_sick(tmp_path):
    rows = [SICK_HEADER, "1\tA dog runs.\tA dog is running.\t4.5\tENTAILMENT", "2\tA cat sleeps.\t3.0\tNEUTRAL"]
    write(tmp_path / "sick/SICK_trial.txt", "\r\n".join(rows) + "\r\n")
    with pytest.raises(DataError) as err:
        load_sick("trial", tmp_path, strict=False)
    msg = str(err.value)
    assert "SICK_trial.txt, line 3" in msg and "expected 5 tab-separated columns, found 4" in msg


def test_sick_header_by_name_and_crlf(tmp_path):
    header = "pair_ID\trelatedness_score\tsentence_B\tsentence_A\tentailment_judgment"  # columns reordered
    write(tmp_path / "sick/SICK_train.txt", f"{header}\r\n7\t2.5\tB text\tA text\tNEUTRAL\r\n")
    pairs = load_sick("train", tmp_path, strict=False)
    assert [(p.s1, p.s2, p.score) for p in pairs.pairs] == [("A text", "B text", 2.5)]
    write(tmp_path / "sick/SICK_test_annotated.txt", "pair_ID\tsentence_A\tsentence_B\tscore\r\n")
    with pytest.raises(DataError, match=r"SICK_test_annotated\.txt, line 1: header lacks column\(s\) relatedness_sc"):
        load_sick("test", tmp_path, strict=False)


def test_undecodable_bytes(tmp_path):
    lines = [line.encode() for line in stsb_lines(3)]
    lines[1] = lines[1].replace(b"A man", b"A m\xffn")
    write(tmp_path / "stsb/sts-test.csv", b"\n".join(lines) + b"\n")
    with pytest.raises(DataError) as err:
        load_stsb("test", tmp_path, strict=False)
    msg = str(err.value)
    assert "sts-test.csv, line 2" in msg and "cannot decode" in msg and "\\xff" in msg


def test_read_lines_endings_and_bom(tmp_path):
    path = write(tmp_path / "x.txt", b"\xef\xbb\xbfone\r\ntwo\x0bstill two\nthree")
    assert list(read_lines(path, "utf-8-sig")) == [(1, "one"), (2, "two\x0bstill two"), (3, "three")]
    path = write(tmp_path / "y.txt", "caf\u00e9\n".encode("latin-1"))
    assert list(read_lines(path, "latin-1")) == [(1, "caf\u00e9")]
    path = write(tmp_path / "z.txt", b"ok\nbroken \xc3")  # truncated multi-byte sequence at end of file
    with pytest.raises(DataError, match=r"z\.txt, line 2: cannot decode"):
        list(read_lines(path, "utf-8"))


def make_sts12(root: Path, subsets: dict[str, tuple[list[str], list[str]]]) -> Path:
    folder = root / "sts/STS12-en-test"
    for name, (inputs, golds) in subsets.items():
        write(folder / f"STS.input.{name}.txt", "".join(f"{line}\n" for line in inputs))
        write(folder / f"STS.gs.{name}.txt", "".join(f"{g}\n" for g in golds))
    return folder


def test_sts_skips_unscored_and_gs_only(tmp_path):
    folder = make_sts12(tmp_path, {"MSRvid": (["a\tb", "c\td", "e\tf"], ["1.5", "", "4"])})
    write(folder / "STS.gs.SMT.txt", "3.0\n")  # gold without input (like STS13 SMT): skipped
    task = load_sts(12, tmp_path, strict=False)
    assert list(task.subsets) == ["MSRvid"]
    assert [(p.s1, p.s2, p.score) for p in task.subsets["MSRvid"].pairs] == [("a", "b", 1.5), ("e", "f", 4.0)]


def test_sts_line_count_mismatch_names_both_files(tmp_path):
    folder = make_sts12(tmp_path, {"MSRpar": (["a\tb", "c\td", "e\tf"], ["1", "2"])})
    with pytest.raises(DataError) as err:
        load_sts(12, tmp_path, strict=False)
    msg = str(err.value)
    assert str(folder / "STS.input.MSRpar.txt") in msg and str(folder / "STS.gs.MSRpar.txt") in msg
    assert "has 3 lines" in msg and "has 2" in msg


def test_sts_wrong_columns_and_bad_gold(tmp_path):
    make_sts12(tmp_path, {"MSRpar": (["a\tb", "only one column"], ["1", "2"])})
    with pytest.raises(DataError, match=r"STS\.input\.MSRpar\.txt, line 2: expected 2 tab-separated columns, found 1"):
        load_sts(12, tmp_path, strict=False)
    make_sts12(tmp_path, {"MSRpar": (["a\tb", "c\td"], ["1", "high"])})
    with pytest.raises(DataError, match=r"STS\.gs\.MSRpar\.txt, line 2: non-numeric score 'high'"):
        load_sts(12, tmp_path, strict=False)


def test_sts16_needs_four_columns(tmp_path):
    folder = tmp_path / "sts/STS16-en-test"
    write(folder / "STS2016.input.headlines.txt", "a\tb\tsrc1\tsrc2\nc\td\tsrc1\n")
    write(folder / "STS2016.gs.headlines.txt", "3\n\n")
    with pytest.raises(DataError, match=r"line 2: expected 4 tab-separated columns, found 3"):
        load_sts(16, tmp_path, strict=False)
    write(folder / "STS2016.input.headlines.txt", "a\tb\tsrc1\tsrc2\nc\td\tsrc1\tsrc2\n")
    pairs = load_sts(16, tmp_path, strict=False).subsets["headlines"]
    assert [(p.s1, p.s2, p.score) for p in pairs.pairs] == [("a", "b", 3.0)]


def test_sts_strict_subsets_and_counts(tmp_path):
    folder = make_sts12(tmp_path, {"MSRpar": (["a\tb"], ["1"])})
    with pytest.raises(DataError, match=r"STS\.input\.MSRvid\.txt.*not found.*fetch_data\.py sts"):
        load_sts(12, tmp_path)
    for name in STS_COUNTS["STS12"]:
        make_sts12(tmp_path, {name: (["a\tb"], ["1"])})
    with pytest.raises(DataError, match=r"STS\.input\.MSRpar\.txt: expected 750 lines, found 1"):
        load_sts(12, tmp_path)
    make_sts12(tmp_path, {"extra": (["a\tb"], ["1"])})
    with pytest.raises(DataError, match="unexpected sub-dataset"):
        load_sts(12, tmp_path)
    assert "extra" in load_sts(12, tmp_path, strict=False).subsets
    assert (folder / "STS.input.extra.txt").is_file()
