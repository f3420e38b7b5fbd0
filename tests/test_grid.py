"""reproduce --executor processes|slurm: the plan's units as `sbert-repro run ID` processes / Slurm jobs give the
same tables as --executor local, survive workers killed with -9, and never train a run to its end twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from repro.executors.grid import grid_units

REPO = Path(__file__).resolve().parents[1]
TABLES = "2"  # the smoke Table 2: NLI stages, their STSb continuations, the cross-encoder and the scores (20 units)
ONE_SEED = ("--seeds", "0")  # the same table with one seed (12 units): the executors' comparisons, and --seeds
# passed on to every unit's own process / job


def _entry(uid, what="evaluate", status="ready", needs=(), table="2", record="r"):
    return {"id": uid, "what": what, "status": status, "needs": list(needs), "table": table, "label": uid,
            "row": uid, "column": None, "record": record if what == "evaluate" else None}


def test_grid_units_follow_the_plan():
    plan = {"units": [
        _entry("nli", "train"), _entry("stsb", "train", needs=["nli"]), _entry("e1", needs=["stsb"]),
        _entry("done-train", "train", status="done"), _entry("e2", needs=["done-train"]),
        _entry("e3", status="done", needs=["nli"]),
        _entry("no-data", "train", status="needs data"), _entry("after-no-data", "train", needs=["no-data"]),
        _entry("e4", needs=["after-no-data"]),  # runs alone: its record says the data is missing
        _entry("t7a", table="7", record=None), _entry("t7b", table="7", record=None),  # one measurement
    ]}
    units = {u.id: u for u in grid_units(plan)}
    assert list(units) == ["nli", "stsb", "e1", "e2", "e4", "t7a"]
    assert units["stsb"].deps == ("nli",) and units["e1"].deps == ("stsb",)
    assert units["e2"].deps == () and units["e4"].deps == ()
    # --force reruns finished evaluations too
    assert "e3" in {u.id for u in grid_units(plan, force=True)}


def _reproduce(results: Path, tables_dir: Path, cache: Path, *extra, timeout=900, check=True):
    env = {**os.environ, "SBERT_REPRO_CACHE": str(cache), "TOKENIZERS_PARALLELISM": "false"}
    r = subprocess.run([sys.executable, "-m", "repro", "reproduce", "--profile", "smoke", "--tables", TABLES,
                        "--results-dir", str(results), "--tables-dir", str(tables_dir), *extra],
                       capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO)
    if check:
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def _values(tables_dir: Path) -> pd.DataFrame:
    df = pd.read_csv(tables_dir / "smoke" / "table2_stsb_supervised.csv")
    cols = [c for c in df.columns if c in ("group", "row", "column", "ours", "ours_std", "n_runs", "ci_low", "ci_high")]
    return df[cols].sort_values(cols[:3]).reset_index(drop=True)


@pytest.fixture(scope="module")
def local_tables(tmp_path_factory):
    base = tmp_path_factory.mktemp("local")
    _reproduce(base / "results", base / "tables", base / "cache")
    return _values(base / "tables")


@pytest.fixture(scope="module")
def local_tables_one_seed(tmp_path_factory):
    base = tmp_path_factory.mktemp("local1")
    _reproduce(base / "results", base / "tables", base / "cache", *ONE_SEED)
    values = _values(base / "tables")
    assert values["n_runs"].max() == 1  # one record per cell (rows not run here: 0)
    return values


def _finished_lines(cache: Path) -> dict[str, int]:
    return {p.parent.name: len(p.read_text().splitlines()) for p in (cache / "runs").rglob("finished.log")}


def _records_readable(results: Path) -> int:
    from repro.results import ResultStore

    return sum(1 for _ in ResultStore(results))  # a truncated record raises RecordError here


def test_processes_two_workers_give_the_local_tables(local_tables_one_seed, tmp_path):
    r = _reproduce(tmp_path / "results", tmp_path / "tables", tmp_path / "cache", "--executor", "processes",
                   "--workers", "2", "--log-dir", str(tmp_path / "logs"), *ONE_SEED)
    assert "12 unit(s) to run with --executor processes" in r.stdout
    pd.testing.assert_frame_equal(_values(tmp_path / "tables"), local_tables_one_seed)
    assert set(_finished_lines(tmp_path / "cache").values()) == {1}
    assert len(list((tmp_path / "logs").glob("*.log"))) >= 12


@pytest.mark.slurm
def test_slurm_gives_the_local_tables(slurm_cluster, local_tables_one_seed, tmp_path):
    r = _reproduce(tmp_path / "results", tmp_path / "tables", tmp_path / "cache", "--executor", "slurm",
                   "--log-dir", str(tmp_path / "slurm-logs"), "--time-min", "10", "--cpus-per-task", "1",
                   "--mem-gb", "2", *ONE_SEED)
    assert "[slurm] level 0" in r.stdout and "[slurm] final step" in r.stdout
    # the final job built the tables from the records
    pd.testing.assert_frame_equal(_values(tmp_path / "tables"), local_tables_one_seed)
    assert set(_finished_lines(tmp_path / "cache").values()) == {1}


def test_workers_killed_at_random_points_then_rerun(local_tables, tmp_path):
    """kill -9 the executor and its workers at random points, several times; then run to the end."""
    rng = random.Random(13)
    env = {**os.environ, "SBERT_REPRO_CACHE": str(tmp_path / "cache"), "TOKENIZERS_PARALLELISM": "false"}
    argv = [sys.executable, "-m", "repro", "reproduce", "--profile", "smoke", "--tables", TABLES, "--results-dir",
            str(tmp_path / "results"), "--tables-dir", str(tmp_path / "tables"), "--executor", "processes",
            "--workers", "2"]
    kills = 0
    for _ in range(3):
        p = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        time.sleep(rng.uniform(4.0, 14.0))
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)  # the executor and every worker it started
            kills += 1
        p.wait()
    assert kills >= 2, "the grid finished before it could be killed: lengthen the runs or shorten the waits"
    _reproduce(tmp_path / "results", tmp_path / "tables", tmp_path / "cache", "--executor", "processes",
               "--workers", "2")
    pd.testing.assert_frame_equal(_values(tmp_path / "tables"), local_tables)
    assert _records_readable(tmp_path / "results") >= 10
    finished = _finished_lines(tmp_path / "cache")
    assert finished and set(finished.values()) == {1}, finished  # no run trained to its end twice
    logs = [json.loads(p.read_text()) for p in (tmp_path / "cache" / "runs").rglob("log.json")]
    assert all(lg.get("finished") for lg in logs)
