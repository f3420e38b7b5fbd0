"""`sbert-repro evaluate` / `repro.evaluate` (repro/custom.py): a model of your own through Tables 1, 3, 4, 5.

On the smoke profile's slices (the test-size option: ``profile="smoke"``; the default ``local`` is the full
protocol, run by tests/test_evaluate_full.py in `tox -e evaluate`)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

import repro
from repro.cli import main
from repro.results import ResultStore
from repro.specs import get_spec


class HashedBow:
    """A deterministic signed hashed bag of words: a plain Python object with encode(list[str]) -> array."""

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.calls = 0

    def encode(self, sentences):
        self.calls += 1
        out = np.zeros((len(sentences), self.dim), dtype=np.float32)
        for i, s in enumerate(sentences):
            for w in s.lower().split():
                h = int(hashlib.md5(w.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0 if (h >> 64) % 2 else -1.0
        return out


def _csv_lines(tables_dir, name: str, model: str) -> pd.DataFrame:
    csv = next((tables_dir / "custom-smoke").rglob(name))
    df = pd.read_csv(csv, keep_default_na=False, na_values=[""])
    return df[(df["model"] == model) & (df["profile"] == "custom-smoke")]


def test_a_python_object_through_tables_1_3_5(tmp_path, data_root, capsys):
    res, tab = tmp_path / "res", tmp_path / "tab"
    enc = HashedBow()
    df = repro.evaluate(enc, tables=(1, 3, 5), name="bow64", profile="smoke", data_root=data_root, results_dir=res,
                        tables_dir=tab, compare_with="SBERT-NLI-base")
    cls = f"{HashedBow.__module__}.HashedBow"
    model = f"python:{cls}/bow64"
    assert isinstance(df, pd.DataFrame) and set(df["table"]) == {"1", "3", "5"}
    assert (df["model"] == model).all() and (df["status"] == "ok").all()
    assert set(df[df["table"] == "3"]["group"]) == {"unsupervised", "10-fold cross-validation", "cross-topic"}

    # the DataFrame's numbers are the records' and the CSVs' (the same builder)
    recs = {r.spec.id: r for r in ResultStore(res).load(profile="custom-smoke")}
    assert {r.spec.model for r in recs.values()} == {model} and len(recs) == 1 + 3 + 7
    t1 = next(r for r in recs.values() if r.spec.table == "1")
    assert t1.details["encoder"] == {"model": model, "kind": "python", "class": cls, "name": "bow64"}
    for col in ("STS12", "SICK-R"):
        ours = df[(df["table"] == "1") & (df["column"] == col)]["ours"].item()
        assert ours == pytest.approx(t1.metrics[col]["spearman_all"], abs=1e-12)
        mteb = json.loads(next(tab.rglob(f"{col}.json")).read_text())  # MTEB's names for these two are ours
        assert mteb["scores"]["test"][0]["main_score"] == round(t1.metrics[col]["spearman_all"] / 100, 6)
        assert mteb["task_name"] == col and mteb["dataset_revision"] is None and mteb["mteb_version"] is None
    for name, table in (("table1_sts_unsupervised.csv", "1"), ("table3_afs.csv", "3"), ("table5_senteval.csv", "5")):
        csv = _csv_lines(tab, name, model)
        written = {(g if isinstance(g, str) else "", c): v for g, c, v in zip(csv["group"], csv["column"], csv["ours"])}
        mine = df[df["table"] == table]
        assert written.keys() == set(zip(mine["group"], mine["column"]))
        for g, c, v in zip(mine["group"], mine["column"], mine["ours"]):
            assert written[g, c] == pytest.approx(v, abs=5e-5)  # the CSV keeps 4 decimals
    paper = df[(df["table"] == "5") & (df["column"] == "MR")]["paper"].item()
    ref = get_spec("5").reference()
    assert paper == ref[(ref["paper_row"] == "SBERT-NLI-base") & (ref["column"] == "MR")]["value"].item()
    mr = json.loads(next(tab.rglob("SentEval-MR.json")).read_text())["scores"]["test"][0]
    assert mr["main_score"] == round(df[(df["table"] == "5") & (df["column"] == "MR")]["ours"].item() / 100, 6)
    summary = next(tab.rglob("SUMMARY.md")).read_text()
    assert "bow64" in summary and "paper: SBERT-NLI-base" in summary and cls in summary
    meta = json.loads(next(tab.rglob("model_meta.json")).read_text())
    assert meta["name"] == model and next(tab.rglob("model_meta.json")).parent.name == "no_revision_available"

    # a named object resumes (nothing encoded again) ...
    calls = enc.calls
    again = repro.evaluate(enc, tables=(1,), name="bow64", profile="smoke", data_root=data_root, results_dir=res)
    assert enc.calls == calls and again["ours"].tolist() == df[df["table"] == "1"]["ours"].tolist()
    # ... an unnamed one is evaluated afresh every time (no record or embedding reused)
    capsys.readouterr()
    repro.evaluate(enc, tables=(1,), profile="smoke", data_root=data_root, results_dir=res)
    repro.evaluate(enc, tables=(1,), profile="smoke", data_root=data_root, results_dir=res)
    assert enc.calls == calls + 2 and "[cached]" not in capsys.readouterr().out


def test_a_python_object_is_scored_by_the_code_of_the_declared_rows(tmp_path, data_root):
    """The smoke profile's word vectors handed over as a plain object give exactly the declared row's numbers."""
    from repro.encoders.wordvec import AverageWordEmbeddings
    from repro.profiles import PROFILES
    from repro.runner import run_table
    from repro.specs.table1 import ROWS

    declared = next(r for r in ROWS["smoke"] if r.model == "smoke-glove")
    [rec] = run_table(get_spec("1"), PROFILES["smoke"], ResultStore(tmp_path / "r"), data_root=data_root,
                      rows=[declared], echo=lambda m: None, progress=False)

    class Plain:  # only encode(list[str]); no name, batch_size or describe
        def __init__(self):
            self.inner = AverageWordEmbeddings.load("smoke-glove", data_root=data_root)

        def encode(self, sentences):
            return self.inner.encode(sentences)

    df = repro.evaluate(Plain(), tables="1", profile="smoke", data_root=data_root, results_dir=tmp_path / "r",
                        echo=lambda m: None)
    for col, m in rec.metrics.items():
        assert df[df["column"] == col]["ours"].item() == m["spearman_all"]  # bit for bit


def test_bad_encoder_objects_and_tables_are_named(tmp_path, data_root):
    from repro.errors import ConfigError, ReproError

    class Short:
        def encode(self, sentences):
            return np.zeros((len(sentences) - 1, 4))

    with pytest.raises(ReproError, match=r"nothing ran: .*Short.encode returned shape .* one row per sentence"):
        repro.evaluate(Short(), tables=(1,), profile="smoke", data_root=data_root, results_dir=tmp_path / "r",
                       echo=lambda m: None)
    with pytest.raises(ConfigError, match="needs a method encode"):
        repro.evaluate(object(), tables=(1,), results_dir=tmp_path / "r")
    with pytest.raises(ConfigError, match="allowed: 1, 3, 4, 5"):
        repro.evaluate(HashedBow(), tables=(2,), results_dir=tmp_path / "r")


def test_cli_evaluate_tables_and_mteb_layout(tmp_path, data_root, capsys):
    """The command line on the smoke profile: Table 4 says why it did not run (data missing, with the fetch
    command; exit 3 as `reproduce`), the MTEB folder holds one JSON per finished task."""
    rc = main(["evaluate", "--model", "smoke-glove", "--profile", "smoke", "--tables", "1,4", "--data-root",
               str(data_root), "--results-dir", str(tmp_path / "res"), "--tables-dir", str(tmp_path / "tab")])
    out = capsys.readouterr().out
    if (data_root / "wikisec" / "test.csv").is_file():
        pytest.skip("the Wikipedia-sections triplets are here: Table 4 runs instead")
    assert rc == 3 and "Table 1: STS12" in out and "fetch_wikisec.py" in out
    folder = tmp_path / "tab" / "custom-smoke" / "smoke-glove"
    assert (folder / "table1_sts_unsupervised.md").is_file() and (folder / "table4_wikisec.md").is_file()
    assert "fetch_wikisec.py" in (folder / "table4_wikisec.md").read_text()
    tasks = sorted(p.stem for p in (folder / "mteb" / "smoke-glove" / "no_revision_available").glob("*.json"))
    assert tasks == sorted(["STS12", "STS13", "STS14", "STS15", "STS16", "STSBenchmark", "SICK-R", "model_meta",
                            "sbert-repro"])
