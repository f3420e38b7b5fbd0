"""Results that cannot be silently doubled, dropped or torn (issue 22): each hostile case, reproduced as a user
would cause it, must give a clear error naming the file, or the right result."""

from __future__ import annotations

import json
import os
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from repro.errors import BrokenModel, ConfigError, RecordError, ReproError
from repro.results import ResultRecord, ResultStore, RunSpec, read_record, run
from repro.stats.predictions import (PredictionsError, PredictionsMismatch, cell_items, check_predictions,
                                     predictions_path)


def _spec(seed=0, model="toy/model") -> RunSpec:
    return RunSpec.make(table="1", model=model, profile="smoke", task="sts", params={"pooling": "mean"}, seed=seed,
                        weights=None)


def _write(store: ResultStore, seed=0, model="toy/model") -> Path:
    rng = np.random.default_rng(seed)
    gold = rng.normal(size=50)
    pred = gold + rng.normal(scale=0.5, size=50)
    items = cell_items("spearman", pred, gold)
    from repro.stats.bootstrap import Items, item_statistic

    rho = item_statistic(Items(**{k: v for k, v in items.items() if k in ("kind", "pred", "gold")}))
    rec = ResultRecord(spec=_spec(seed, model), status="ok", metrics={"STS12": {"spearman": rho, "pearson": 1.0}},
                       details={"predictions": {"STS12": items}})
    return store.write(rec)


@pytest.fixture
def store(tmp_path) -> ResultStore:
    s = ResultStore(tmp_path / "results")
    _write(s, 0)
    _write(s, 1)
    return s


def test_clean_store_reads_every_record(store):
    found = store.check()
    assert len(found.records) == 2 and found.bad == [] and found.damaged == []
    assert len(list(store)) == 2


def test_backup_folder_inside_results_is_refused_not_doubled(store):
    # case 1: `cp -r results/smoke results/smoke-backup` used to double every row (n_runs=2, std 0)
    shutil.copytree(store.root / "smoke", store.root / "smoke-backup")
    found = store.check()
    assert len(found.records) == 2
    assert len(found.bad) == 2 and all("smoke-backup" in b and "counted twice" in b for b in found.bad)
    with pytest.raises(RecordError, match="smoke-backup"):
        list(store)


def test_copy_under_another_name_is_refused(store):
    p = next((store.root / "smoke" / "table1").glob("*.json"))
    shutil.copy(p, p.with_name(p.stem + " (copy).json"))
    found = store.check()
    assert len(found.records) == 2 and len(found.bad) == 1 and "(copy).json" in found.bad[0]


def test_record_with_changed_seed_under_made_up_id_is_refused(store):
    # case 1: a hand-made record with another seed under a made-up id was averaged in (47.06 +- 12.94)
    p = next((store.root / "smoke" / "table1").glob("*.json"))
    d = json.loads(p.read_text())
    d["spec"]["seed"] = 7
    d["id"] = "0123456789abcdef"
    (p.parent / f"model-{d['id']}.json").write_text(json.dumps(d))
    found = store.check()
    assert len(found.records) == 2 and len(found.bad) == 1
    assert "not the id computed from its contents" in found.bad[0]


def test_empty_json_in_place_of_a_record_is_an_error(store):
    # case 3: a record replaced by {} was dropped by `tables` without a word
    p = next((store.root / "smoke" / "table1").glob("*.json"))
    p.write_text("{}")
    found = store.check()
    assert len(found.records) == 1 and len(found.bad) == 1 and p.name in found.bad[0]
    assert "not a result record" in found.bad[0]


def test_hand_edited_metric_disagrees_with_predictions(store):
    # case 5: 34.12 -> 99.5 was published with only a note
    p = next((store.root / "smoke" / "table1").glob("*.json"))
    d = json.loads(p.read_text())
    d["metrics"]["STS12"]["spearman"] = 99.5
    p.write_text(json.dumps(d))
    with pytest.raises(PredictionsMismatch, match="99.5"):
        check_predictions(read_record(p))
    found = store.check()
    assert len(found.records) == 1 and len(found.bad) == 1 and "disagree" in found.bad[0]


@pytest.mark.parametrize("damage", ["missing", "truncated", "random"])
def test_damaged_predictions_are_reported_and_the_row_evaluated_again(store, damage):
    # case 5: a missing, truncated or random .preds.npz only lost the interval, silently, and was never repaired
    p = next((store.root / "smoke" / "table1").glob("*.json"))
    npz = predictions_path(p)
    if damage == "missing":
        npz.unlink()
    elif damage == "truncated":
        npz.write_bytes(npz.read_bytes()[:40])
    else:
        npz.write_bytes(os.urandom(300))
    found = store.check()
    assert len(found.records) == 2 and len(found.damaged) == 1 and npz.name in found.damaged[0]
    with pytest.raises(PredictionsError):
        check_predictions(read_record(p))
    rec = read_record(p)
    calls, said = [], []

    def evaluate(spec):
        calls.append(spec)
        return _metrics_and_items(spec.seed)

    out = run(rec.spec, evaluate, store, log=said.append)
    assert len(calls) == 1 and out.status == "ok"  # evaluated again, not "[cached]"
    assert any(npz.name in line and "again" in line for line in said)
    assert store.check().damaged == []
    run(rec.spec, evaluate, store, log=said.append)
    assert len(calls) == 1  # now whole: cached


def _metrics_and_items(seed):
    rng = np.random.default_rng(seed)
    gold = rng.normal(size=50)
    pred = gold + rng.normal(scale=0.5, size=50)
    from scipy.stats import spearmanr

    return ({"STS12": {"spearman": 100 * spearmanr(pred, gold)[0]}},
            {"predictions": {"STS12": cell_items("spearman", pred, gold)}})


def test_read_only_results_folder_serves_finished_records(store, monkeypatch):
    # case 6: a read-only results folder failed with a traceback (it created .lock files) even with every record.
    # As root chmod does not stop writes, so any attempt to take a lock fails the test instead.
    from repro import locks

    def no_lock(*a, **k):
        raise AssertionError("a finished record must be read without a lock")

    monkeypatch.setattr(locks, "_acquire", no_lock)
    rec = next(iter(store))
    out = run(rec.spec, lambda s: pytest.fail("must not run"), store, log=lambda m: None)
    assert out.status == "ok" and not list(store.root.rglob("*.lock"))


def test_unwritable_folder_is_one_line_when_a_lock_is_needed(tmp_path, monkeypatch):
    from repro import locks

    target = tmp_path / "a" / "record.json"

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(locks.os, "open", refuse)
    with pytest.raises(ReproError, match="cannot write here.*writable"):
        with locks.locked(target):
            pass


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_honour_the_umask(tmp_path, umask, mode):
    # case 8: records, predictions and kept models were written 0600 whatever the umask
    from repro.paths import atomic_path, atomic_write_bytes

    old = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / "r.json", b"{}")
        with atomic_path(tmp_path / "t.csv") as tmp:
            tmp.write_text("a,b\n")
        store = ResultStore(tmp_path / "res")
        p = _write(store)
    finally:
        os.umask(old)
    for f in (tmp_path / "r.json", tmp_path / "t.csv", p, predictions_path(p)):
        assert stat.S_IMODE(f.stat().st_mode) == mode, f


def test_interrupted_output_leaves_the_old_file(tmp_path):
    # case 4: Ctrl-C during `tables` left a 124-byte unreadable PNG in place of a good one
    from repro.paths import atomic_path

    out = tmp_path / "fig.png"
    out.write_bytes(b"good")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(out) as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert out.read_bytes() == b"good" and sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]


def test_seed_ranges_are_bounded_and_fast():
    # case 7: --seeds 0-100000000 hung (quadratic parsing, no bound)
    import time

    from repro.profiles import MAX_SEEDS, parse_seeds

    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=f"more than {MAX_SEEDS} seeds"):
        parse_seeds("0-100000000")
    assert time.perf_counter() - t0 < 0.1
    assert parse_seeds(f"0-{MAX_SEEDS - 1}") == tuple(range(MAX_SEEDS))
    assert parse_seeds("3,1,1-2") == (3, 1, 2)
    with pytest.raises(ConfigError, match="not a seed"):
        parse_seeds("5-3")


def test_truncated_pytorch_checkpoint_is_one_line(tmp_path):
    # case 6: a truncated pytorch_model.bin gave a traceback
    from repro.weights import check_model_files

    good = tmp_path / "good"
    good.mkdir()
    with zipfile.ZipFile(good / "pytorch_model.bin", "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00." * 200)
    check_model_files(good)
    bad = tmp_path / "bad"
    bad.mkdir()
    data = (good / "pytorch_model.bin").read_bytes()
    (bad / "pytorch_model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(BrokenModel, match="pytorch_model.bin.*re-download"):
        check_model_files(bad)
    (bad / "pytorch_model.bin").write_bytes(b"<html>not found</html>")
    with pytest.raises(BrokenModel, match="not a PyTorch checkpoint"):
        check_model_files(bad)


def test_pickled_code_in_weights_is_refused_in_one_line(tmp_path):
    # case 6: a malicious pickle was refused by torch's default, but as a traceback (and torch < 2.6 allowed it)
    import pickle

    import torch

    from repro.weights import loading

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    torch.save({"w": Evil()}, tmp_path / "pytorch_model.bin", pickle_module=pickle)
    with pytest.raises(BrokenModel, match="pickled code"):
        with loading(tmp_path):
            torch.load(tmp_path / "pytorch_model.bin", weights_only=True)


def test_torch_lower_bound_refuses_pickled_code_by_default():
    import tomllib

    deps = tomllib.loads(Path(__file__).parents[1].joinpath("pyproject.toml").read_text())["project"]["dependencies"]
    torch_dep = next(d for d in deps if d.startswith("torch"))
    lower = torch_dep.split(">=")[1].split(",")[0]
    assert tuple(int(x) for x in lower.split(".")[:2]) >= (2, 6), torch_dep


def _prune(run_dir, q):
    from repro.training.recipes import prune_model

    try:
        q.put(prune_model(Path(run_dir)))
    except Exception as e:
        q.put(repr(e))


def test_two_runs_pruning_the_same_models_at_once(tmp_path):
    # case 2: two concurrent `reproduce --tables 2` pruned the same finished models: FileNotFoundError, exit 1
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    for attempt in range(5):
        run_dir = tmp_path / f"run{attempt}"
        for sub in ("best", "final"):
            (run_dir / sub).mkdir(parents=True)
            for i in range(50):
                (run_dir / sub / f"w{i}.bin").write_bytes(b"x" * 1000)
        (run_dir / "done.json").write_text("{}")
        q = ctx.Queue()
        procs = [ctx.Process(target=_prune, args=(str(run_dir), q)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
        got = sorted([q.get(timeout=5), q.get(timeout=5)], key=str)
        assert all(isinstance(g, int) for g in got), got
        assert sum(got) == 2 * 50 * 1000  # every byte freed once, by whichever process won each folder
        assert sorted(p.name for p in run_dir.iterdir()) == ["done.json"]


def test_ctrl_c_while_tables_are_written_leaves_the_old_files(tmp_path, monkeypatch):
    # case 4: Ctrl-C during `tables` left a 124-byte unreadable PNG in place of a good one
    from matplotlib.figure import Figure

    from repro.cli import main

    results = Path(__file__).parents[1] / "results"
    args = ["tables", "--profile", "local", "--tables", "6", "--results-dir", str(results), "--tables-dir",
            str(tmp_path)]
    assert main(args) == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "local").iterdir()}

    def torn(self, fname, *a, **k):
        Path(fname).write_bytes(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", torn)
    assert main(args) == 130
    after = {p.name: p.read_bytes() for p in (tmp_path / "local").iterdir()}
    assert after == before  # no torn PNG, no leftover temporary file


def test_folder_options_naming_a_file_are_one_line(tmp_path, capsys):
    # case 6: `--results-dir` pointing at a file
    from repro.cli import main

    f = tmp_path / "afile"
    f.write_text("")
    for cmd in (["reproduce", "--profile", "smoke", "--tables", "1", "--results-dir", str(f)],
                ["tables", "--profile", "smoke", "--results-dir", str(tmp_path), "--tables-dir", str(f)]):
        assert main(cmd) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and str(f) in err and "not a folder" in err, err


def test_slurm_without_sbatch_is_one_line(monkeypatch):
    # case 6: `--executor slurm` with no sbatch on PATH gave a traceback
    import shutil

    from repro.executors.slurm import SlurmExecutor

    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    with pytest.raises(ConfigError, match="no sbatch on PATH.*--executor processes"):
        SlurmExecutor(log_dir="x").run([], lambda u: [])


def test_os_errors_the_user_can_fix_are_one_line(capsys, monkeypatch):
    # case 6: a full disk (and the like) gave a traceback
    import errno

    from repro import app
    from repro.cli import main

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/results/x.json")

    monkeypatch.setattr(app, "profiles", full)
    assert main(["profiles"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "/data/results/x.json" in err and "free some disk space" in err

    def bug(*a, **k):
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(app, "profiles", bug)
    with pytest.raises(OSError):  # not the user's to fix: the traceback is kept
        main(["profiles"])


def test_empty_tables_option_is_refused(capsys):
    # case 7: `--tables ''` silently meant all tables
    from repro.cli import main

    assert main(["plan", "--profile", "smoke", "--tables", ""]) == 2
    assert "names no table" in capsys.readouterr().err


def test_records_check_lists_bad_files_and_exits_2(store, capsys):
    from repro.cli import main

    assert main(["records", "check", "--results-dir", str(store.root)]) == 0
    shutil.copytree(store.root / "smoke", store.root / "smoke-backup")
    capsys.readouterr()
    assert main(["records", "check", "--results-dir", str(store.root)]) == 2
    out = capsys.readouterr().out
    assert out.count("bad:") == 2 and "--force" in out


def test_data_verify_takes_options_before_the_datasets(capsys):
    # drift (case 9): `sbert-repro data verify --data-root X sts` failed on argument order
    from repro.cli import build_parser

    args = build_parser().parse_args(["data", "verify", "--data-root", "/x", "sts", "stsb"])
    assert args.datasets == ["sts", "stsb"] and args.data_root == "/x"


def test_dry_run_checks_executor_flags_too(capsys):
    # case 7: `--dry-run` accepted `--workers 0`
    from repro.cli import main

    assert main(["reproduce", "--profile", "smoke", "--dry-run", "--executor", "processes", "--workers", "0"]) == 2
    assert "--workers 0: must be 1 or more" in capsys.readouterr().err


def test_readme_profiles_table_states_the_declared_seeds():
    # drift (case 9): README and `profiles` said smoke runs one seed while smoke Table 2 runs seeds 0 and 1;
    # the profiles table now lives in docs/profiles.md
    from repro.profiles import PROFILES
    from repro.specs import load_specs

    readme = (Path(__file__).parents[1] / "docs" / "profiles.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): line.split("|")[4].strip()
            for line in readme.splitlines() if line.startswith("| `")}
    specs = load_specs()
    for name, prof in PROFILES.items():
        other = {n: len(spec.knobs(prof)["seeds"]) for n, spec in specs.items()
                 if "seeds" in spec.knobs(prof) and len(spec.knobs(prof)["seeds"]) != len(prof.seeds)}
        expected = f"{len(prof.seeds)}" + "".join(f" (Table {n}: {k})" for n, k in other.items())
        assert rows[name] == expected, (name, rows[name], expected)
