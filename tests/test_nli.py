"""NLI loaders: SNLI / MultiNLI as released (jsonl, zipped or extracted), AllNLI.tsv.gz, SentEval format."""

from __future__ import annotations

import gzip
import json
import zipfile

import pytest

from repro.data import manifest
from repro.data.nli import (
    NLI_LABELS,
    load_allnli,
    load_multinli,
    load_nli_train,
    load_senteval_nli,
    load_snli,
    load_snli_senteval,
)
from repro.errors import ConfigError, DataError
from repro.training.data import nli_examples


def jsonl(rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


SNLI_ROWS = [
    {"gold_label": "neutral", "sentence1": "A man sleeps.", "sentence2": "A man dreams.", "genre": "x"},
    {"gold_label": "-", "sentence1": "No majority.", "sentence2": "Skipped.", "genre": "x"},
    {"gold_label": "entailment", "sentence1": "Two dogs run.", "sentence2": "Animals move.", "genre": "x"},
    {"gold_label": "contradiction", "sentence1": "It rains.", "sentence2": "It is \"dry\".", "genre": "x"},
]


@pytest.mark.needs_data
def test_snli_senteval_dev_and_test(data_root):
    dev, test = load_snli_senteval("dev", data_root), load_snli_senteval("test", data_root)
    assert (len(dev), len(test)) == (9842, 9824)  # counts of SOURCE.md
    assert dev.counts() == {"contradiction": 3278, "entailment": 3329, "neutral": 3235}
    assert test.counts() == {"contradiction": 3237, "entailment": 3368, "neutral": 3219}
    assert dev.pairs[0].premise == "Two women are embracing while holding to go packages ."
    assert dev.pairs[0].label == "neutral" and dev.label_ids[:3].tolist() == [2, 1, 0]
    both = load_nli_train("snli-senteval-devtest", data_root)
    assert len(both) == 19666 and len(nli_examples(both)) == 19666


def test_snli_jsonl_zipped_and_extracted(tmp_path):
    root = tmp_path / "zipped"
    (root / "snli").mkdir(parents=True)
    with zipfile.ZipFile(root / "snli" / "snli_1.0.zip", "w") as zf:
        zf.writestr("snli_1.0/snli_1.0_dev.jsonl", jsonl(SNLI_ROWS))
    dev = load_snli("dev", root, strict=False)
    assert [p.label for p in dev.pairs] == ["neutral", "entailment", "contradiction"]  # '-' skipped
    assert dev.pairs[2].hypothesis == 'It is "dry".'
    with pytest.raises(DataError, match=r"SNLI dev: expected 9842 labelled pairs, found 3.*strict=False"):
        load_snli("dev", root)
    with pytest.raises(DataError, match="archive has no member snli_1.0/snli_1.0_test.jsonl"):
        load_snli("test", root, strict=False)

    flat = tmp_path / "extracted"
    (flat / "multinli" / "multinli_1.0").mkdir(parents=True)
    (flat / "multinli" / "multinli_1.0" / "multinli_1.0_dev_matched.jsonl").write_text(jsonl(SNLI_ROWS[:3]))
    assert len(load_multinli("dev_matched", flat, strict=False)) == 2


def test_jsonl_errors_name_file_and_line(tmp_path):
    (tmp_path / "snli" / "snli_1.0").mkdir(parents=True)
    f = tmp_path / "snli" / "snli_1.0" / "snli_1.0_train.jsonl"
    f.write_text(jsonl(SNLI_ROWS[:1]) + '{"gold_label": "maybe", "sentence1": "a", "sentence2": "b"}\n')
    with pytest.raises(DataError, match=rf"{f}, line 2: unknown NLI label 'maybe'; expected one of "
                                        "contradiction, entailment, neutral"):
        load_snli("train", tmp_path)
    f.write_text("{not json\n")
    with pytest.raises(DataError, match=r"line 1: not an NLI jsonl record"):
        load_snli("train", tmp_path)
    with pytest.raises(DataError, match=r"multinli not found .*fetch_data.py multinli"):
        load_multinli("train", tmp_path)
    with pytest.raises(ConfigError, match="unknown MultiNLI split 'dev'; allowed: train, dev_matched, dev_mismatched"):
        load_multinli("dev", tmp_path)


def test_allnli_tsv_gz(tmp_path):
    path = tmp_path / "allnli" / "AllNLI.tsv.gz"
    path.parent.mkdir()
    lines = ["split\tdataset\tfilename\tsentence1\tsentence2\tlabel",
             'train\tSNLI\tsnli_1.0_train.jsonl\tA "quoted\tB\tentailment',
             "dev\tSNLI\tsnli_1.0_dev.jsonl\tC\tD\tneutral",
             "train\tMNLI\tmultinli_1.0_train.jsonl\tE\tF\tcontradiction"]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    train = load_allnli("train", tmp_path)
    assert [(p.premise, p.label) for p in train.pairs] == [('A "quoted', "entailment"), ("E", "contradiction")]
    assert len(load_allnli("dev", tmp_path)) == 1
    assert len(load_nli_train("auto", tmp_path)) == 2  # no SNLI/MultiNLI releases: AllNLI is used
    path.write_bytes(gzip.compress(("\n".join(lines[:2] + ["train\tSNLI\tx\tG\tH\tmaybe"]) + "\n").encode()))
    with pytest.raises(DataError, match=r"AllNLI.tsv.gz, line 3: unknown NLI label 'maybe'"):
        load_allnli("train", tmp_path)
    path.write_bytes(b"not gzip")
    with pytest.raises(DataError, match="damaged or incomplete download"):
        load_allnli("train", tmp_path)


def test_senteval_format_gz_and_mismatched_files(tmp_path):
    for stem, text in (("s1", "a\nb\n"), ("s2", "c\nd\n"), ("labels", "entailment\nneutral\n")):
        (tmp_path / f"{stem}.train.gz").write_bytes(gzip.compress(text.encode()))  # the 2019 datasets/AllNLI/ form
    out = load_senteval_nli(tmp_path, "train")
    assert [(p.premise, p.hypothesis, p.label) for p in out.pairs] == [("a", "c", "entailment"), ("b", "d", "neutral")]
    (tmp_path / "s1.dev").write_text("a\n")
    (tmp_path / "s2.dev").write_text("b\nc\n")
    (tmp_path / "labels.dev").write_text("neutral\n")
    with pytest.raises(DataError, match="one line per pair .*s2.dev: 2 lines"):
        load_senteval_nli(tmp_path, "dev")


def test_missing_training_data_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError, match=r"fetch_data.py snli multinli .*AllNLI.tsv.gz.*snli-senteval-devtest"):
        load_nli_train("auto", tmp_path)
    with pytest.raises(ConfigError, match="allowed: auto, snli\\+multinli, allnli, snli-senteval-devtest"):
        load_nli_train("mnli", tmp_path)
    assert NLI_LABELS == ("contradiction", "entailment", "neutral")


def test_manifest_pins_the_releases_outside_the_shared_data_root(tmp_path):
    snli = manifest.get_dataset("snli")
    assert snli.files[0].path == "snli/snli_1.0.zip" and snli.files[0].size == 94550081
    assert snli.sources[0].url == "https://nlp.stanford.edu/projects/snli/snli_1.0.zip"
    assert "snli" not in manifest.DATA_DATASETS and "multinli" not in manifest.MANIFESTS  # not in "all"
    problems = manifest.verify("multinli", tmp_path)
    assert problems[0].endswith("multinli/multinli_1.0.zip: missing") and "fetch_data.py multinli" in problems[-1]
    # a zip with other bytes is refused (sha256 check), nothing is installed
    dl = tmp_path / "downloads"
    dl.mkdir()
    with zipfile.ZipFile(dl / "snli_1.0.zip", "w") as zf:
        zf.writestr("snli_1.0/snli_1.0_train.jsonl", jsonl(SNLI_ROWS))
    problems = manifest.install_from_archive("snli", dl, tmp_path / "root")
    assert problems and "no member has the expected bytes" in problems[0]
    assert not (tmp_path / "root" / "snli" / "snli_1.0.zip").exists()
    assert "by hand" in manifest.describe("allnli") and manifest.verify("allnli", tmp_path)
