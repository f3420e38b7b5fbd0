"""Dataset manifest (repro.data.manifest) and the fetch_data.py CLI: verify, install, atomic writes, fetch."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from repro.data import manifest
from repro.data.manifest import DATA_DATASETS, DATASETS, Source, atomic_write, install_from_archive, verify
from repro.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def real_root(data_root) -> Path:
    """The real data root (conftest's ``data_root``: skips with the reason when it is absent)."""
    return data_root


def copy_dataset(real_root: Path, dataset: str, root: Path) -> Path:
    """A writable copy of one dataset folder under ``root``."""
    shutil.copytree(real_root / dataset, root / dataset, ignore=shutil.ignore_patterns("SOURCE.md"))
    for path in (root / dataset).rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


def build_zip(path: Path, members: dict[str, Path | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in members.items():
            zf.writestr(name, data if isinstance(data, bytes) else data.read_bytes())
    return path


def build_tar(path: Path, members: dict[str, Path | bytes]) -> Path:
    with tarfile.open(path, "w:gz", compresslevel=1) as tf:
        for name, data in members.items():
            raw = data if isinstance(data, bytes) else data.read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tf.addfile(info, io.BytesIO(raw))
    return path


def stsb_members(real_root: Path) -> dict[str, Path]:
    """The members of the canonical Stsbenchmark.tar.gz, taken from the real files."""
    return {f"stsbenchmark/{p.name}": p for p in sorted((real_root / "stsb").iterdir()) if p.name != "SOURCE.md"}


# ------------------------------------------------------------------------------------------- manifest


def test_manifest_shape():
    expected = {"stsb", "sick", "sts", "mr", "cr", "subj", "mpqa", "sst", "trec", "mrpc", "afs", "nli"}
    assert set(DATA_DATASETS) == expected == set(manifest.MANIFESTS)
    assert sum(len(DATASETS[d].files) for d in DATA_DATASETS) == 99
    for ds in DATASETS.values():
        assert ds.sources, ds.name
        assert ds.fetchable or ds.manual, ds.name
        for entry in ds.files:
            assert entry.path.startswith(ds.name + "/")
            # first_use: no sha256 can be pinned (glove840b): the first install's is recorded and checked after
            assert entry.first_use or (len(entry.sha256) == 64 and entry.size > 0)
    assert "wikisec" in DATASETS and not DATASETS["wikisec"].files
    urls = {s.url for d in DATASETS.values() for s in d.sources}
    assert "http://ixa2.si.ehu.es/stswiki/images/4/48/Stsbenchmark.tar.gz" in urls
    with pytest.raises(ConfigError, match="unknown dataset 'nope'"):
        verify("nope")


@pytest.mark.needs_data
def test_verify_real_data(real_root):
    assert manifest.verify_all(real_root) == {name: [] for name in DATA_DATASETS}


def test_verify_reports_wikisec_and_missing(tmp_path):
    assert "not part of the data root" in verify("wikisec", tmp_path)[0]
    problems = verify("stsb", tmp_path)
    assert f"{tmp_path / 'stsb/sts-test.csv'}: missing" in problems
    assert "fetch_data.py stsb" in problems[-1]
    assert "SentEval" in verify("mr", tmp_path)[-1]  # not fetchable: says what to do instead


@pytest.mark.needs_data
def test_verify_detects_modifications(real_root, tmp_path):
    root = copy_dataset(real_root, "stsb", tmp_path)
    test_csv = root / "stsb/sts-test.csv"
    data = bytearray(test_csv.read_bytes())
    data[100] ^= 0x20  # flip the case of one letter: same size, other sha256
    test_csv.write_bytes(bytes(data))
    dev_csv = root / "stsb/sts-dev.csv"
    dev_csv.write_bytes(dev_csv.read_bytes()[:-50])
    (root / "stsb/readme.txt").unlink()
    problems = verify("stsb", root)
    assert any(p.startswith(f"{test_csv}: sha256 ") and "expected affe4592" in p for p in problems)
    assert any(p.startswith(f"{dev_csv}: size 255630 bytes, expected 255680") for p in problems)
    assert f"{root / 'stsb/readme.txt'}: missing" in problems
    assert not any("sts-train.csv" in p for p in problems)


# -------------------------------------------------------------------------------------------- install


@pytest.mark.needs_data
def test_install_stsb_from_tar_gz(real_root, tmp_path):
    archive = build_tar(tmp_path / "Stsbenchmark.tar.gz", stsb_members(real_root))
    root = tmp_path / "root"
    assert install_from_archive("stsb", archive, root) == []
    assert verify("stsb", root) == []
    assert not list((root / "stsb").glob(".*.part"))
    assert install_from_archive("stsb", archive, root) == []  # already there: nothing to do


@pytest.mark.needs_data
def test_install_sick_from_folder_of_zips(real_root, tmp_path):
    sick, downloads = real_root / "sick", tmp_path / "downloads"
    downloads.mkdir()
    train = {"SICK_train.txt": sick / "SICK_train.txt", "readme.txt": sick / "readme.txt"}
    build_zip(downloads / "sick_train.zip", train)
    # every SemEval zip has its own readme.txt: only the one with the pinned bytes may be installed
    build_zip(downloads / "sick_trial.zip", {"SICK_trial.txt": sick / "SICK_trial.txt", "readme.txt": b"trial\n"})
    build_zip(downloads / "sick_test_annotated.zip", {"SICK_test_annotated.txt": sick / "SICK_test_annotated.txt"})
    build_zip(downloads / "SICK.zip", {"SICK.txt": sick / "SICK.txt"})
    root = tmp_path / "root"
    assert install_from_archive("sick", downloads, root) == []
    assert verify("sick", root) == []


@pytest.mark.needs_data
def test_install_sts_from_organizer_zips(real_root, tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    for year, (url, top) in manifest._STS_ZIPS.items():
        folder = real_root / "sts" / f"{year}-en-test"
        members = {f"{top}/{p.name}": p for p in sorted(folder.iterdir())}
        build_zip(downloads / url.rsplit("/", 1)[1], members)
    root = tmp_path / "root"
    assert install_from_archive("sts", downloads, root) == []
    assert verify("sts", root) == []


@pytest.mark.needs_data
def test_install_rejects_other_versions(real_root, tmp_path):
    members = stsb_members(real_root)
    tokenized = members["stsbenchmark/sts-test.csv"].read_bytes().lower()  # like SentEval's lower-cased rewrite
    archive = build_zip(tmp_path / "stsb.zip", {**members, "stsbenchmark/sts-test.csv": tokenized})
    root = tmp_path / "root"
    problems = install_from_archive("stsb", archive, root)
    target = root / "stsb/sts-test.csv"
    assert any(
        p.startswith(f"{target}: no member has the expected bytes") and "sts-test.csv has sha256" in p for p in problems
    )
    assert not target.exists() and not list((root / "stsb").glob(".*.part"))
    assert (root / "stsb/sts-train.csv").is_file()  # the good members were installed


@pytest.mark.needs_data
def test_install_trec_derives_senteval_files(real_root, tmp_path):
    downloads = tmp_path / "downloads"  # what the cogcomp URLs give: the raw files only
    downloads.mkdir()
    for name in ("train_5500.label", "TREC_10.label"):
        shutil.copyfile(real_root / "trec/raw" / name, downloads / name)
    root = tmp_path / "root"
    assert install_from_archive("trec", downloads, root) == []
    assert verify("trec", root) == []


def test_install_reports_missing_members(tmp_path):
    archive = build_zip(tmp_path / "empty.zip", {"unrelated.txt": b"x"})
    problems = install_from_archive("stsb", archive, tmp_path / "root")
    assert any("sts-dev.csv: not found (looked for members named stsbenchmark/sts-dev.csv" in p for p in problems)
    with pytest.raises(DataError, match="not found"):
        install_from_archive("stsb", tmp_path / "nothing-here.zip", tmp_path / "root")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match=r"broken\.zip: cannot read archive"):
        install_from_archive("stsb", tmp_path / "broken.zip", tmp_path / "root")


# ------------------------------------------------------------------------------------- atomic writes


def _interrupted(first: bytes):
    yield first
    raise KeyboardInterrupt("simulated interruption")


def test_atomic_write_interrupted_leaves_nothing(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, _interrupted(b"half of the "))
    assert not target.exists() and list(target.parent.iterdir()) == []
    target.write_bytes(b"old content")
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, _interrupted(b"new"))
    assert target.read_bytes() == b"old content" and list(target.parent.iterdir()) == [target]


def test_atomic_write_checks_sha(tmp_path):
    target = tmp_path / "f"
    with pytest.raises(manifest.ChecksumMismatch):
        atomic_write(target, [b"abc"], expect_sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []
    sha, size = atomic_write(target, [b"ab", b"c"])
    assert size == 3 and sha == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.needs_data
def test_install_interrupted_mid_file(real_root, tmp_path, monkeypatch):
    archive = build_tar(tmp_path / "Stsbenchmark.tar.gz", stsb_members(real_root))

    def chunks(fh):
        yield fh.read(1000)
        raise RuntimeError("simulated crash while copying")

    monkeypatch.setattr(manifest, "_read_chunks", chunks)
    root = tmp_path / "root"
    with pytest.raises(RuntimeError, match="simulated crash"):
        install_from_archive("stsb", archive, root)
    assert list((root / "stsb").iterdir()) == []  # neither a final file nor a leftover .part


# ------------------------------------------------------------------------------------------- fetching


def _with_source(monkeypatch, dataset: str, url: str, filename: str, kind: str) -> None:
    ds = dataclasses.replace(DATASETS[dataset], sources=(Source(url, filename, kind),))
    monkeypatch.setitem(DATASETS, dataset, ds)


def test_fetch_offline_message(monkeypatch, tmp_path):
    _with_source(monkeypatch, "stsb", "http://127.0.0.1:9/Stsbenchmark.tar.gz", "Stsbenchmark.tar.gz", "tar.gz")
    with pytest.raises(DataError) as err:
        manifest.fetch("stsb", tmp_path, timeout=5)
    msg = str(err.value)
    assert msg.startswith("could not reach http://127.0.0.1:9/Stsbenchmark.tar.gz")
    assert "download it by hand" in msg and "fetch_data.py stsb --from-archive FILE" in msg
    assert not (tmp_path / "stsb").exists()


def test_fetch_refuses_processed_datasets(tmp_path):
    with pytest.raises(DataError, match="mr cannot be downloaded as-is: SentEval"):
        manifest.fetch("mr", tmp_path)
    with pytest.raises(DataError, match="afs cannot be downloaded as-is.*nlds"):
        manifest.fetch("afs", tmp_path)


@pytest.mark.needs_data
def test_fetch_downloads_and_installs(real_root, monkeypatch, tmp_path):
    archive = build_tar(tmp_path / "mirror.tar.gz", stsb_members(real_root))
    _with_source(monkeypatch, "stsb", archive.as_uri(), "Stsbenchmark.tar.gz", "tar.gz")
    root = tmp_path / "root"
    assert manifest.fetch("stsb", root) == []
    assert verify("stsb", root) == []
    archive.unlink()
    assert manifest.fetch("stsb", root) == []  # already verified: no download attempted


# ------------------------------------------------------------------------------------------------ CLI


@pytest.fixture(scope="module")
def cli():
    spec = importlib.util.spec_from_file_location("fetch_data", REPO / "data_scripts" / "fetch_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.needs_data
def test_cli_verify_only(cli, real_root, tmp_path, capsys):
    assert cli.main(["stsb", "sick", "--verify-only", "--data-root", str(real_root)]) == 0
    assert "ok   stsb: 5 files verified" in capsys.readouterr().out
    root = copy_dataset(real_root, "stsb", tmp_path)
    (root / "stsb/sts-dev.csv").write_bytes(b"truncated")
    assert cli.main(["stsb", "--verify-only", "--data-root", str(root)]) == 2
    out = capsys.readouterr().out
    assert "FAIL stsb:" in out and f"{root / 'stsb/sts-dev.csv'}: size 9 bytes, expected 255680" in out


@pytest.mark.needs_data
def test_cli_from_archive(cli, real_root, tmp_path, capsys):
    archive = build_tar(tmp_path / "Stsbenchmark.tar.gz", stsb_members(real_root))
    assert cli.main(["stsb", "--from-archive", str(archive), "--data-root", str(tmp_path / "r")]) == 0
    assert cli.main(["sick", "--from-archive", str(archive), "--data-root", str(tmp_path / "r")]) == 2
    assert "SICK_train.txt: not found" in capsys.readouterr().out


def test_cli_help_and_unknown(cli, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--from-archive" in out and "--verify-only" in out and "wikisec" in out
    with pytest.raises(SystemExit) as exit_:
        cli.main(["nosuch"])
    assert exit_.value.code == 2
    assert cli.main(["sts", "--list"]) == 0
    assert "STS2012-en-test.zip" in capsys.readouterr().out


def test_the_script_is_the_package_code(cli):
    """data_scripts/fetch_data.py only calls repro.data.fetch (what `sbert-repro data fetch` runs)."""
    from repro.data import fetch

    assert cli.main is fetch.main and cli.build_parser is fetch.build_parser
    assert fetch.expand(["all", "stsb"]) == list(dict.fromkeys([*manifest.DATA_DATASETS, "stsb"]))
    with pytest.raises(fetch.ReproError, match="unknown dataset 'nosuch'"):
        fetch.expand(["nosuch"])


def test_fetch_one_routes_wikisec_to_its_installer(tmp_path):
    from repro.data import fetch

    problems = fetch.fetch_one("wikisec", tmp_path, from_archive=tmp_path / "missing.zip")
    assert len(problems) == 1 and "missing.zip" in problems[0]
