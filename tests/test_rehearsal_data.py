"""The rehearsal's miniature data root (repro/rehearsal/datasets.py, issue 20): every dataset the paper profile
reads, read by the suite's own loaders, in the released formats; deterministic; MINIATURES.json checked only for a
root accepted with manifest.accept_miniatures, never weakening the checks of real data."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from repro.data import afs, manifest, nli, senteval, sts, wikisec
from repro.errors import DataError
from repro.rehearsal.datasets import GLOVE_SPACE_TOKENS, MIN_PER_CLASS, MINIATURES_FILE, build_data

ITEMS = 48
SNLI_KEYS = ["annotator_labels", "captionID", "gold_label", "pairID", "sentence1", "sentence1_binary_parse",
             "sentence1_parse", "sentence2", "sentence2_binary_parse", "sentence2_parse"]
MULTINLI_KEYS = ["annotator_labels", "genre", "gold_label", "pairID", "promptID", "sentence1",
                 "sentence1_binary_parse", "sentence1_parse", "sentence2", "sentence2_binary_parse", "sentence2_parse"]
MATCHED = {"fiction", "government", "slate", "telephone", "travel"}
MISMATCHED = {"facetoface", "letters", "nineeleven", "oup", "verbatim"}


@pytest.fixture(scope="module")
def mini(data_root, tmp_path_factory) -> Path:
    return build_data(data_root, tmp_path_factory.mktemp("rehearsal") / "data", items=ITEMS, seed=0)


@pytest.fixture
def accepted(mini, monkeypatch) -> Path:
    monkeypatch.delenv(manifest.MINIATURES_ENV, raising=False)  # restored after the test
    manifest.accept_miniatures(mini)
    return mini


@pytest.fixture
def not_accepted(monkeypatch):
    monkeypatch.delenv(manifest.MINIATURES_ENV, raising=False)


def _jsonl(zip_path: Path, member: str) -> list[tuple[str, dict]]:
    with zipfile.ZipFile(zip_path) as zf:
        text = zf.read(member).decode("utf-8")
    return [(line, json.loads(line)) for line in text.splitlines()]


# ------------------------------------------------------------------------------ the suite's own loaders
def test_every_paper_dataset_loads_strictly_with_the_suites_loaders(accepted):
    root = accepted
    for name in sts.STS_TASKS:
        task = sts.load_sts_task(name, root)
        assert task.subsets and all(len(s) > 0 for s in task.subsets.values()), name
    assert set(sts.load_sts("STS12", root).subsets) == set(sts.STS_COUNTS["STS12"])
    for name in senteval.SENTEVAL_TASKS:
        task = senteval.load_senteval_task(name, root)
        for split, data in task.splits.items():
            counts = {int(c): int((data.labels == c).sum()) for c in set(data.labels.tolist())}
            assert len(counts) == task.n_classes, (name, split, counts)
            if task.protocol == "cv" or split == "train":  # 10-fold CV (outer or for the penalty) per class
                assert min(counts.values()) >= MIN_PER_CLASS, (name, split, counts)
    corpus = afs.load_afs(root)
    assert [len(t) for t in corpus.topics.values()] == [ITEMS] * 3
    train = nli.load_nli_train("auto", root)  # snli+multinli, the paper's source, from the zips
    assert len(train) == 2 * ITEMS and set(train.counts()) == set(nli.NLI_LABELS)
    assert len(nli.load_snli_senteval("dev", root)) >= ITEMS
    for split in wikisec.WIKISEC_SPLITS:
        assert len(wikisec.load_wikisec(split, root)) == ITEMS
    assert manifest.verify_all(root) == {name: [] for name in manifest.DATA_DATASETS}
    for name in ("snli", "multinli", "glove840b", "infersent", "fasttext"):
        assert manifest.verify(name, root) == [], name


def test_word_vectors_and_infersent_load_through_their_loaders(accepted):
    from repro.encoders.infersent import STATE_KEYS, load_infersent, read_state_dict
    from repro.encoders.wordvec import AverageWordEmbeddings

    glove = AverageWordEmbeddings.load("glove-840B-300d", accepted)
    assert glove.dim == 300 and all(tok in glove.index for tok in GLOVE_SPACE_TOKENS)
    fast = AverageWordEmbeddings.load("fasttext-crawl-300d-2M", accepted)
    assert fast.dim == 300
    stsb = sts.load_stsb("test", accepted)
    assert glove.encode([stsb.pairs[0].s1]).any() and fast.encode([stsb.pairs[0].s1]).any()  # vocabulary covered
    state = read_state_dict(accepted / "infersent" / "infersent1.pkl")  # torch.load(weights_only=True)
    assert sorted(state) == sorted(STATE_KEYS)
    assert tuple(state["enc_lstm.weight_hh_l0"].shape) == (4 * 2048, 2048)
    model = load_infersent(accepted)
    assert model.encode(["A man is playing a guitar."]).shape == (1, 4096)


# ------------------------------------------------------------------------------ released format facts
def test_nli_zips_have_the_official_jsonl_fields_gold_dashes_and_genres(mini):
    for corpus, keys, splits in (("snli", SNLI_KEYS, ("train", "dev", "test")),
                                 ("multinli", MULTINLI_KEYS, ("train", "dev_matched", "dev_mismatched"))):
        zpath = mini / corpus / f"{corpus}_1.0.zip"
        with zipfile.ZipFile(zpath) as zf:
            assert sorted(zf.namelist()) == sorted(f"{corpus}_1.0/{corpus}_1.0_{s}.jsonl" for s in splits)
        for split in splits:
            rows = _jsonl(zpath, f"{corpus}_1.0/{corpus}_1.0_{split}.jsonl")
            for line, row in rows:
                assert list(row) == keys and line == json.dumps(row, sort_keys=True)
                assert row["gold_label"] in (*nli.NLI_LABELS, "-")
                # one label for a train pair, five for dev/test and for a "-" (no majority of five) anywhere
                assert len(row["annotator_labels"]) == (1 if split == "train" and row["gold_label"] != "-" else 5)
            dashes = [r for _, r in rows if r["gold_label"] == "-"]
            if corpus == "multinli" and split == "train":
                assert not dashes  # every MultiNLI train pair is labelled
            else:
                assert dashes and all(max(r["annotator_labels"].count(x) for x in r["annotator_labels"]) < 3
                                      for r in dashes)
            if corpus == "multinli":
                genres = {r["genre"] for _, r in rows}
                assert genres <= (MISMATCHED if split == "dev_mismatched" else MATCHED) and len(genres) > 1
            loader = nli.load_snli if corpus == "snli" else nli.load_multinli
            assert len(loader(split, mini, strict=False)) == len(rows) - len(dashes)  # '-' dropped


def test_csv_headers_line_ends_and_vector_file_headers(mini):
    head = (mini / "wikisec" / "test.csv").read_text(encoding="utf-8").split("\n", 1)[0]
    assert next(csv.reader([head]))[1:4] == list(wikisec.WIKISEC_COLUMNS)  # v0.2.3 reads columns 1-3
    raw = (mini / "afs" / "ArgPairs_DP.csv").read_bytes()
    assert raw.startswith(",".join(afs.AFS_HEADER).encode() + b"\r") and not raw.endswith(b"\r")
    assert (mini / "mrpc" / "msr_paraphrase_train.txt").read_bytes().startswith(b"\xef\xbb\xbfQuality\t#1 ID")
    assert (mini / "mrpc" / "raw" / "msr_paraphrase_train.txt").read_bytes().startswith(b"\xef\xbb\xbfQuality\t#1ID")
    sick = (mini / "sick" / "SICK_test_annotated.txt").read_bytes()
    assert sick.startswith(b"pair_ID\tsentence_A\tsentence_B\t") and sick.count(b"\r\n") == sick.count(b"\n")
    trec_raw = (mini / "trec" / "raw" / "train_5500.label").read_bytes()
    assert (mini / "trec" / "train_5500.label").read_bytes() == trec_raw.replace(b"`", b"").replace(b"'", b"")
    with open(mini / "fasttext" / "crawl-300d-2M.vec", encoding="utf-8") as fh:
        count, dim = fh.readline().split()
        lines = fh.read().split("\n")[:-1]
    assert int(dim) == 300 and int(count) == len(lines) and all(ln.endswith(" ") for ln in lines)
    assert all(len(ln.split(" ")) == 302 for ln in lines)  # word, 300 values, the trailing empty field
    glove = (mini / "glove840b" / "glove.840B.300d.txt").read_text(encoding="utf-8").split("\n")[:-1]
    spaced = [ln for ln in glove if len(ln.split(" ")) > 301]
    assert {" ".join(ln.split(" ")[:-300]) for ln in spaced} == set(GLOVE_SPACE_TOKENS)
    sts16 = (mini / "sts" / "STS16-en-test" / "STS2016.input.headlines.txt").read_text(encoding="utf-8")
    assert all(ln.count("\t") == 3 for ln in sts16.splitlines())
    gs = (mini / "sts" / "STS16-en-test" / "STS2016.gs.headlines.txt").read_text(encoding="utf-8").split("\n")
    assert "" in gs[:-1]  # pairs without a gold score are kept, as in the release


def test_miniature_files_are_sampled_from_the_real_files(mini, data_root):
    real = set((data_root / "stsb" / "sts-train.csv").read_bytes().split(b"\n"))
    assert set((mini / "stsb" / "sts-train.csv").read_bytes().split(b"\n")[:-1]) <= real
    text = (data_root / "afs" / "ArgPairs_GC.csv").read_bytes().decode("latin-1")
    rows = {tuple(r) for r in csv.reader(io.StringIO(text, newline=""))}
    mtext = (mini / "afs" / "ArgPairs_GC.csv").read_bytes().decode("latin-1")
    assert {tuple(r) for r in csv.reader(io.StringIO(mtext, newline=""))} <= rows


# ------------------------------------------------------------------------------ MINIATURES.json
def test_miniatures_json_lists_every_file_with_its_sha256(mini):
    info = json.loads((mini / MINIATURES_FILE).read_text())
    on_disk = {p.relative_to(mini).as_posix() for p in mini.rglob("*") if p.is_file()} - {MINIATURES_FILE}
    assert set(info["files"]) == on_disk
    for rel, f in info["files"].items():
        data = (mini / rel).read_bytes()
        assert f["size"] == len(data) and f["sha256"] == hashlib.sha256(data).hexdigest(), rel
    assert info["counts"]["stsb:test"] == ITEMS and info["counts"]["sts:STS12/MSRpar"][0] >= ITEMS


def test_a_tampered_miniature_file_fails_its_own_manifest(mini, tmp_path, monkeypatch):
    copy = tmp_path / "data"
    shutil.copytree(mini, copy, ignore=shutil.ignore_patterns("infersent", "glove840b", "fasttext"))
    monkeypatch.delenv(manifest.MINIATURES_ENV, raising=False)
    manifest.accept_miniatures(copy)
    assert manifest.verify("stsb", copy) == []
    path = copy / "stsb" / "sts-dev.csv"
    path.write_bytes(path.read_bytes().replace(b"\t", b"\t ", 1))
    (problem,) = manifest.verify("stsb", copy)
    assert "sts-dev.csv" in problem and MINIATURES_FILE in problem


def test_a_root_not_accepted_keeps_the_release_checks(mini, not_accepted):
    assert manifest.miniatures(mini) is None
    with pytest.raises(DataError, match="expected 1379 rows"):
        sts.load_stsb("test", mini)
    assert any("sha256" in p or "size" in p for p in manifest.verify("stsb", mini))


def test_a_tampered_real_root_still_fails_even_with_a_forged_miniatures_json(data_root, mini, tmp_path,
                                                                             monkeypatch):
    real = tmp_path / "real"
    shutil.copytree(data_root / "stsb", real / "stsb")
    target = real / "stsb" / "sts-dev.csv"
    target.write_bytes(b"".join(target.read_bytes().splitlines(keepends=True)[:-3]))  # 3 lines lost
    data = target.read_bytes()
    forged = {"files": {"stsb/sts-dev.csv": {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}},
              "counts": {"stsb:dev": 1}}
    (real / MINIATURES_FILE).write_text(json.dumps(forged))
    monkeypatch.delenv(manifest.MINIATURES_ENV, raising=False)
    manifest.accept_miniatures(mini)  # another root accepted: changes nothing for this one
    problems = manifest.verify("stsb", real)
    assert any("sts-dev.csv" in p and "size" in p for p in problems)
    with pytest.raises(DataError, match="expected 1500 rows"):
        sts.load_stsb("dev", real)


def test_accepting_a_root_without_miniatures_json_is_refused(data_root, monkeypatch):
    monkeypatch.delenv(manifest.MINIATURES_ENV, raising=False)
    with pytest.raises(DataError, match="not a miniature data root"):
        manifest.accept_miniatures(data_root)
    assert manifest.miniatures(data_root) is None


# ------------------------------------------------------------------------------ determinism
def test_the_build_is_byte_identical_for_a_seed_and_differs_for_another(mini, data_root, tmp_path):
    again = build_data(data_root, tmp_path / "again", items=ITEMS, seed=0)
    assert (again / MINIATURES_FILE).read_bytes() == (mini / MINIATURES_FILE).read_bytes()
    other = build_data(data_root, tmp_path / "other", items=ITEMS, seed=1)
    a = json.loads((mini / MINIATURES_FILE).read_text())["files"]
    b = json.loads((other / MINIATURES_FILE).read_text())["files"]
    assert a["stsb/sts-test.csv"]["sha256"] != b["stsb/sts-test.csv"]["sha256"]
    assert a["stsb/LICENSE.txt"] == b["stsb/LICENSE.txt"]  # copied companions stay the same


def test_a_failed_build_leaves_the_old_root_and_no_temporary_folder(mini, tmp_path):
    out = tmp_path / "data"
    shutil.copytree(mini, out, ignore=shutil.ignore_patterns("infersent", "glove840b", "fasttext"))
    before = (out / MINIATURES_FILE).read_bytes()
    broken = tmp_path / "broken-real"
    broken.mkdir()
    with pytest.raises(DataError, match="lacks stsb/LICENSE.txt"):
        build_data(broken, out)
    assert (out / MINIATURES_FILE).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken-real", "data"]


def test_the_vocabulary_for_the_tokenizers_covers_the_miniature(mini):
    from repro.rehearsal.datasets import miniature_vocabulary

    vocab = set(miniature_vocabulary(mini))
    assert {p.s1 for p in sts.load_stsb("dev", mini, strict=False).pairs} <= vocab
    assert {p.premise for p in nli.load_snli("train", mini, strict=False).pairs} <= vocab
    assert set(senteval.load_trec(mini).splits["train"].sentences) <= vocab
