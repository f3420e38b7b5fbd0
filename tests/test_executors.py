"""Executors: dependency order, workers, failures, and the real single-node Slurm that .ci/slurm-up starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro.errors import ConfigError
from repro.executors import Unit, get_executor, levels

REPO = Path(__file__).resolve().parents[1]

# A unit's command: append "<id> start <t>" and "<id> end <t>" to a journal, optionally fail or sleep.
_UNIT = r"""
import json, sys, time, os
journal, uid, sleep, fail = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4] == "1"
def note(what):
    with open(journal, "a") as f:
        f.write(json.dumps({"id": uid, "what": what, "t": time.time(), "gpu": os.environ.get("CUDA_VISIBLE_DEVICES"),
                            "task": os.environ.get("SLURM_ARRAY_TASK_ID")}) + "\n")
note("start"); time.sleep(sleep)
if fail:
    sys.exit(3)
note("end")
"""


def _command(journal: Path, sleep=0.0, fail=()):
    def command_for(u: Unit):
        return [sys.executable, "-c", _UNIT, str(journal), u.id, str(sleep), "1" if u.id in fail else "0"]
    return command_for


def _journal(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


GRID = [Unit("nli-0"), Unit("nli-1"), Unit("stsb-after-nli-0", deps=("nli-0",)),
        Unit("stsb-after-nli-1", deps=("nli-1",)), Unit("eval", deps=("stsb-after-nli-0", "stsb-after-nli-1"))]


def test_levels_follow_dependencies():
    lv = [[u.id for u in level] for level in levels(GRID)]
    assert lv == [["nli-0", "nli-1"], ["stsb-after-nli-0", "stsb-after-nli-1"], ["eval"]]
    with pytest.raises(ConfigError, match="cycle"):
        levels([Unit("a", deps=("b",)), Unit("b", deps=("a",))])
    with pytest.raises(ConfigError, match="duplicate"):
        levels([Unit("a"), Unit("a")])


def test_processes_respect_dependencies_and_run_in_parallel(tmp_path):
    journal = tmp_path / "j.jsonl"
    out = get_executor("processes", workers=2, echo=lambda s: None).run(GRID, _command(journal, sleep=0.5))
    assert out.ok and sorted(out.done) == sorted(u.id for u in GRID)
    ev = _journal(journal)
    t = {(e["id"], e["what"]): e["t"] for e in ev}
    for u in GRID:
        for d in u.deps:
            assert t[(u.id, "start")] >= t[(d, "end")], f"{u.id} started before {d} ended"
    # the two NLI units overlapped: two workers really ran at once
    assert t[("nli-1", "start")] < t[("nli-0", "end")]
    assert sum(e["what"] == "end" for e in ev) == len(GRID)  # each unit ran once


def test_a_failed_unit_skips_its_dependents_only(tmp_path):
    journal = tmp_path / "j.jsonl"
    out = get_executor("processes", workers=2, echo=lambda s: None).run(GRID, _command(journal, fail={"nli-0"}))
    assert out.failed == {"nli-0": "exit 3"}
    assert out.skipped == {"stsb-after-nli-0": "nli-0", "eval": "stsb-after-nli-0"}
    assert sorted(out.done) == ["nli-1", "stsb-after-nli-1"]
    assert not out.ok


def test_one_worker_per_gpu(tmp_path):
    journal = tmp_path / "j.jsonl"
    units = [Unit(f"u{i}") for i in range(4)]
    out = get_executor("processes", gpus=["0", "1"], echo=lambda s: None).run(units, _command(journal, sleep=0.3))
    assert out.ok
    gpus = [e["gpu"] for e in _journal(journal) if e["what"] == "start"]
    assert sorted(set(gpus)) == ["0", "1"]
    with pytest.raises(ConfigError, match="one worker per GPU"):
        get_executor("processes", workers=3, gpus=["0", "1"])
    with pytest.raises(ConfigError, match="--workers 0"):
        get_executor("processes", workers=0)
    with pytest.raises(ConfigError, match="unknown --executor"):
        get_executor("kubernetes")


# ------------------------------------------------------------------------------------------------ real Slurm
@pytest.mark.slurm
def test_slurm_job_arrays_in_dependency_order(slurm_cluster, tmp_path):
    journal = tmp_path / "j.jsonl"
    lines = []
    ex = get_executor("slurm", log_dir=tmp_path / "logs", time_min=5, cpus_per_task=1, mem_gb=1, echo=lines.append)
    final = [sys.executable, "-c", _UNIT, str(journal), "final", "0", "0"]
    out = ex.run(GRID, _command(journal), final=final)
    assert out.ok, out
    ev = _journal(journal)
    t = {(e["id"], e["what"]): e["t"] for e in ev}
    for u in GRID:
        for d in u.deps:
            assert t[(u.id, "start")] >= t[(d, "end")]
    assert t[("final", "start")] >= max(t[(u.id, "end")] for u in GRID)
    assert all(e["task"] is not None for e in ev if e["id"].startswith(("nli", "stsb")))  # ran as array tasks
    assert sum(1 for line in lines if "as array" in line) == 3  # one array per level
    assert any((tmp_path / "logs").rglob("*_log.out"))  # logs in one folder


@pytest.mark.slurm
def test_slurm_failure_is_reported(slurm_cluster, tmp_path):
    journal = tmp_path / "j.jsonl"
    ex = get_executor("slurm", log_dir=tmp_path / "logs", time_min=5, cpus_per_task=1, mem_gb=1, echo=lambda s: None)
    out = ex.run([Unit("good"), Unit("bad")], _command(journal, fail={"bad"}))
    assert "bad" in out.failed and "exited 3" in out.failed["bad"]
    assert out.done == ["good"]


@pytest.mark.slurm
def test_slurm_bundles_units_and_names_each_failure(slurm_cluster, tmp_path):
    """--units-per-task 2: the 5 units of GRID's levels run as fewer array tasks, still in dependency order; a
    failing unit is named alone and the other unit of its bundle counts as done."""
    journal = tmp_path / "j.jsonl"
    lines: list[str] = []
    ex = get_executor("slurm", log_dir=tmp_path / "logs", time_min=5, cpus_per_task=1, mem_gb=1, echo=lines.append,
                      units_per_task=2)
    units = [Unit("a"), Unit("b"), Unit("c"), Unit("d", deps=("a",))]
    out = ex.run(units, _command(journal, fail={"b"}))
    assert out.failed == {"b": "exit 3"} and sorted(out.done) == ["a", "c", "d"], (out, lines)
    ev = _journal(journal)
    t = {(e["id"], e["what"]): e["t"] for e in ev}
    assert t[("d", "start")] >= t[("a", "end")]
    tasks = {e["id"]: e["task"] for e in ev if e["what"] == "start"}
    assert tasks["a"] == tasks["b"] != tasks["c"]  # a and b share one array task
    assert any("2 task(s) of up to 2 units" in line for line in lines), lines
    assert any("b failed: exit 3 (log:" in line for line in lines), lines
    with pytest.raises(ConfigError, match="units_per_task=0"):
        get_executor("slurm", units_per_task=0)


@pytest.mark.slurm
def test_slurm_requeued_task_runs_again(slurm_cluster, tmp_path):
    """A task that Slurm requeues (as on preemption) runs its command again; the unit's own checkpoint makes the
    second start resume (here: the journal shows two starts and one end)."""
    journal = tmp_path / "j.jsonl"
    ex = get_executor("slurm", log_dir=tmp_path / "logs", time_min=5, cpus_per_task=1, mem_gb=1, echo=lambda s: None,
                      wait=False)
    jobs = ex.submit([Unit("long")], _command(journal, sleep=6))
    job_id = jobs[0].job_id
    deadline = time.time() + 60
    while not any(e["what"] == "start" for e in _journal(journal)) and time.time() < deadline:
        time.sleep(0.5)
    subprocess.run(["scontrol", "requeue", job_id], check=True, capture_output=True)
    # Slurm holds a requeued batch job back for about two minutes; a test need not wait for that
    for _ in range(60):
        state = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True).stdout
        if state.strip() == "PENDING":
            subprocess.run(["scontrol", "update", f"jobid={job_id}", "StartTime=now"], capture_output=True)
            break
        time.sleep(0.5)
    jobs[0].result()
    ev = _journal(journal)
    assert [e["what"] for e in ev].count("start") == 2
    assert [e["what"] for e in ev].count("end") == 1


def test_the_final_step_runs_after_every_unit_even_a_failed_one(tmp_path):
    from repro.executors import FINAL

    journal = tmp_path / "j.jsonl"
    final = [sys.executable, "-c", _UNIT, str(journal), FINAL, "0", "0"]
    out = get_executor("processes", workers=2, echo=lambda s: None).run(GRID, _command(journal, fail={"nli-0"}),
                                                                        final=final)
    assert FINAL in out.done and "nli-0" in out.failed
    t = {(e["id"], e["what"]): e["t"] for e in _journal(journal)}
    assert t[(FINAL, "start")] >= max(v for (uid, what), v in t.items() if what == "end" and uid != FINAL)
    bad = get_executor("processes", echo=lambda s: None).run([], _command(journal), final=[sys.executable, "-c",
                                                                                      "raise SystemExit(4)"])
    assert bad.failed == {FINAL: "exit 4"}


def test_every_registered_executor_follows_the_protocol():
    """Each executor declares its name, its help and its flags; "local" is no executor (reproduce runs the
    tables in its own process), so the registry does not hand one out."""
    import argparse

    from repro.executors import EXECUTORS, IN_PROCESS, Executor

    for name, cls in EXECUTORS.items():
        assert cls.name == name and cls.help and cls.log_dir_help
        group = argparse.ArgumentParser().add_argument_group(name)
        cls.add_arguments(group)
        assert group._group_actions, f"{name} declares no flag of its own"
        assert all(callable(getattr(cls, m)) for m in ("from_args", "run"))
    assert isinstance(get_executor("processes"), Executor)
    with pytest.raises(ConfigError, match="unknown --executor 'local'"):
        get_executor(IN_PROCESS)


# ------------------------------------------------------------------------------------------ warm start
@pytest.fixture
def warm_module(tmp_path, monkeypatch):
    """The journal unit as a module (``python -m warm_unit ...``: what the warm server forks), light preloads."""
    from repro.executors import processes

    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "warm_unit.py").write_text(
        _UNIT.replace('note("start")', 'print("unit", uid, "says hello", flush=True); note("start")')
        .replace('"task": os.environ.get("SLURM_ARRAY_TASK_ID")',
                 '"task": os.environ.get("SLURM_ARRAY_TASK_ID"), "ppid": os.getppid(), "pid": os.getpid(), '
                 '"threads": os.environ.get("OMP_NUM_THREADS")')
        .replace("if fail:", "if fail and uid.startswith('crash'):\n    os.kill(os.getpid(), 9)\nif fail:"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "mods"), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setattr(processes, "PRELOAD", ("json",))
    for var in processes.THREAD_VARS:
        monkeypatch.delenv(var, raising=False)

    def command(journal: Path, sleep=0.0, fail=()):
        def command_for(u: Unit):
            return [sys.executable, "-m", "warm_unit", str(journal), u.id, str(sleep), "1" if u.id in fail else "0"]
        return command_for
    return command


def test_warm_units_keep_their_order_exit_codes_logs_and_environment(tmp_path, warm_module):
    journal = tmp_path / "journal.jsonl"
    ex = get_executor("processes", gpus=["0", "1"], log_dir=tmp_path / "logs", echo=lambda s: None)
    out = ex.run(GRID, warm_module(journal, sleep=0.3, fail={"nli-1"}))
    assert out.failed == {"nli-1": "exit 3"} and set(out.done) == {"nli-0", "stsb-after-nli-0"}
    assert out.skipped == {"stsb-after-nli-1": "nli-1", "eval": "stsb-after-nli-1"}
    j = _journal(journal)
    assert {e["gpu"] for e in j} == {"0", "1"}
    first = {e["id"]: e for e in j}
    # forked by the warm server, not started by the executor; each unit a process of its own
    assert all(e["ppid"] != os.getpid() for e in j) and len({e["pid"] for e in j}) == len(first)
    assert {e["threads"] for e in j} == {str(max(1, (os.cpu_count() or 1) // 2))}
    assert [e["id"] for e in j if e["what"] == "start"].index("stsb-after-nli-0") > 0
    for uid in ("nli-0", "nli-1", "stsb-after-nli-0"):
        assert f"unit {uid} says hello" in (tmp_path / "logs" / f"{uid}.log").read_text()


def test_a_warm_unit_killed_takes_no_other_down(tmp_path, warm_module):
    journal = tmp_path / "journal.jsonl"
    units = [Unit("crash"), Unit("slow"), Unit("after-crash", deps=("crash",)), Unit("after-slow", deps=("slow",))]
    out = get_executor("processes", workers=2, echo=lambda s: None).run(
        units, warm_module(journal, sleep=1.0, fail={"crash"}))
    assert out.failed == {"crash": "exit -9"} and out.skipped == {"after-crash": "crash"}
    assert sorted(out.done) == ["after-slow", "slow"]


def test_cold_start_runs_every_unit_as_a_fresh_interpreter(tmp_path, warm_module):
    journal = tmp_path / "journal.jsonl"
    out = get_executor("processes", workers=2, warm=False, echo=lambda s: None).run(GRID, warm_module(journal))
    assert out.ok and all(e["ppid"] == os.getpid() for e in _journal(journal))


def test_units_start_cold_when_the_warm_server_is_gone(tmp_path, warm_module, monkeypatch):
    """A server that ends before serving (as it does when CUDA was initialised by an import): every unit still
    runs, each as a fresh interpreter."""
    from repro.executors import processes

    (tmp_path / "mods" / "die_on_import.py").write_text("import os\nos._exit(0)\n")
    monkeypatch.setattr(processes, "PRELOAD", ("die_on_import",))
    journal = tmp_path / "journal.jsonl"
    out = get_executor("processes", workers=2, echo=lambda s: None).run(GRID, warm_module(journal))
    assert out.ok and all(e["ppid"] == os.getpid() for e in _journal(journal))
