"""repro/evaluation/compare_classifiers.py on synthetic tasks and a toy encoder: the table's shape, resume after a
finished or a killed run, and the one-line refusal of an unknown task."""

from __future__ import annotations

import csv
import zlib

import numpy as np
import pytest

from repro.data.senteval import LabeledPairs, LabeledSentences, SentEvalTask
from repro.evaluation import compare_classifiers as cc

KNOBS = {"kfold": 3, "seed": 1111, "solver": "liblinear"}  # 3 folds: seconds, not minutes


class ToyEncoder:
    """Sums a fixed random vector per word: the class words make the tasks learnable."""

    name = "toy"

    def __init__(self):
        self.calls = 0

    def encode(self, sentences, batch_size=32, **kw):
        self.calls += 1
        out = np.zeros((len(sentences), 8), dtype=np.float32)
        for i, s in enumerate(sentences):
            for w in s.split():  # the same vector for a word in every encoder
                out[i] += np.random.RandomState(zlib.crc32(w.encode())).randn(8).astype(np.float32)
        return out


def _sentences(n, n_classes, tag):
    rng = np.random.RandomState(len(tag))
    labels = np.arange(n) % n_classes
    return [f"{tag} w{y} filler{rng.randint(5)} item{i}" for i, y in enumerate(labels)], labels


def _task(name):
    if name == "MR":
        s, y = _sentences(60, 2, "mr")
        return SentEvalTask("MR", {"all": LabeledSentences("all", s, y)})
    if name == "SST":
        return SentEvalTask("SST", {k: LabeledSentences(k, *_sentences(n, 2, f"sst{k}"))
                                    for k, n in (("train", 60), ("dev", 20), ("test", 20))})
    if name == "TREC":
        return SentEvalTask("TREC", {k: LabeledSentences(k, *_sentences(n, 3, f"trec{k}"))
                                     for k, n in (("train", 60), ("test", 21))}, n_classes=3)
    if name == "MRPC":
        splits = {}
        for k, n in (("train", 60), ("test", 20)):
            a, y = _sentences(n, 2, f"mrpc{k}")
            b = [s if lab else s.replace("w", "v") for s, lab in zip(a, y)]
            splits[k] = LabeledPairs(k, a, b, y)
        return SentEvalTask("MRPC", splits)
    raise AssertionError(name)


def _run(out, tasks, encoder, loaded=None, **kw):
    def load(name):
        if loaded is not None:
            loaded.append(name)
        return _task(name)

    return cc.compare(lambda: encoder, load, tasks, out, cc.classifier_configs(KNOBS), command="test",
                      echo=lambda m: None, **kw)


def _csv(out):
    with open(out / "senteval-classifiers.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_table_shape_and_resume(tmp_path):
    tasks = ["MR", "SST", "TREC", "MRPC"]
    enc = ToyEncoder()
    cells = _run(tmp_path, tasks, enc)
    assert enc.calls == len(tasks)  # each task encoded once for both classifiers
    rows = _csv(tmp_path)
    assert [(r["task"], r["classifier"]) for r in rows] == [(t, c) for t in tasks for c in ("scikit-learn",
                                                                                            "PyTorch")]
    assert len(cells) == 8 and all(0 <= float(r["accuracy"]) <= 100 for r in rows)
    assert all(r["settings"] and r["torch"] and r["machine"] for r in rows)
    md = (tmp_path / "senteval-classifiers.md").read_text()
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert table[0] == "| classifier | MR | SST | TREC | MRPC | Avg |"
    assert [line.split(" | ")[0] for line in table[2:]] == ["| scikit-learn", "| PyTorch",
                                                            "| difference (PyTorch - scikit-learn)"]
    acc = {(r["task"], r["classifier"]): float(r["accuracy"]) for r in rows}
    sk = table[2].strip("| ").split(" | ")[1:]
    pt = table[3].strip("| ").split(" | ")[1:]
    diff = table[4].strip("| ").split(" | ")[1:]
    assert [float(x) for x in sk[:4]] == [acc[(t, "scikit-learn")] for t in tasks]
    assert float(sk[4]) == pytest.approx(np.mean([acc[(t, "scikit-learn")] for t in tasks]), abs=0.006)
    assert [float(x) for x in diff] == pytest.approx([float(b) - float(a) for a, b in zip(sk, pt)], abs=0.011)
    assert "command: `test`" in md and "torch threads" in md

    # a rerun skips every finished cell: no task loaded, the encoder never built
    before = (tmp_path / "senteval-classifiers.csv").read_text()
    loaded = []
    cc.compare(lambda: pytest.fail("encoder built for finished cells"), lambda n: loaded.append(n), tasks,
               tmp_path, cc.classifier_configs(KNOBS), command="test", echo=lambda m: None)
    assert loaded == [] and (tmp_path / "senteval-classifiers.csv").read_text() == before

    # one cell gone: only that task is loaded and encoded again, and the cell comes back the same
    lines = before.splitlines(keepends=True)
    (tmp_path / "senteval-classifiers.csv").write_text("".join(line for line in lines
                                                               if not line.startswith("TREC,PyTorch,")))
    enc2, loaded = ToyEncoder(), []
    _run(tmp_path, tasks, enc2, loaded)
    assert loaded == ["TREC"] and enc2.calls == 1
    again = {(r["task"], r["classifier"]): r["accuracy"] for r in _csv(tmp_path)}
    assert again == {k: f"{v:.2f}" for k, v in acc.items()}


def test_a_killed_run_keeps_its_finished_cells(tmp_path, monkeypatch):
    real = cc.evaluate_task

    def dies_on_pytorch(vectors, task, cfg, *a, **kw):
        if not isinstance(cfg, cc.LogRegConfig):
            raise KeyboardInterrupt
        return real(vectors, task, cfg, *a, **kw)

    monkeypatch.setattr(cc, "evaluate_task", dies_on_pytorch)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, ["MR", "SST"], ToyEncoder())
    assert [(r["task"], r["classifier"]) for r in _csv(tmp_path)] == [("MR", "scikit-learn")]
    md = (tmp_path / "senteval-classifiers.md").read_text()
    assert "| PyTorch | - | - | - |" in md and "cells: 1 of 4" in md


def test_unknown_task_is_one_line_and_exit_2(tmp_path, capsys):
    assert cc.main(["--tasks", "MR,FOO", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'FOO'" in err and "MR,CR,SUBJ,MPQA,SST,TREC,MRPC" in err
    assert not (tmp_path / "out").exists()


def test_damaged_csv_line_is_named(tmp_path):
    (tmp_path / "senteval-classifiers.csv").write_text(",".join(cc.FIELDS) + "\nMR,PyTorch,oops\n")
    with pytest.raises(cc.ReproError, match=r"senteval-classifiers.csv:2: no accuracy"):
        _run(tmp_path, ["MR"], ToyEncoder())
