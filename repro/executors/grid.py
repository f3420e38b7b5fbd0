"""A profile's plan as executor units (``reproduce --executor processes|slurm``), and the command each one runs.

Every unit of the grid is one ``sbert-repro run ID`` (what a job of an array executes), so a unit behaves the
same alone, in a worker process and on a cluster:

- every evaluation unit that has no finished record (all of them with ``--force``): it writes its record, or a
  ``not_run`` record saying why (data or weights missing), exactly as ``--executor local`` does;
- every training run such an evaluation needs, as its own unit before it (an NLI model before its STSb
  continuation, both before the evaluation), unless it is finished already or cannot run here (data or weights
  missing: then the evaluation alone runs and records why, instead of a chain of failed jobs);
- a table measured all at once (Table 7: its units share one measurement) as a single unit.

No torch here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from repro.executors.base import Unit


def grid_units(plan: dict, *, force: bool = False) -> list[Unit]:
    """The executor units of ``plan`` (see :func:`repro.plan.build_plan`), in plan order."""
    entries = plan["units"]
    by_id = {e["id"]: e for e in entries}
    wanted: dict[str, dict] = {}
    at_once: set[str] = set()

    def add_training(uid: str) -> bool:
        """Add a training unit (and what it continues from) when it can run here; False where it cannot."""
        e = by_id.get(uid)
        if e is None or e["status"] == "done":
            return True
        if uid in wanted:
            return True
        if e["status"] != "ready" or not all([add_training(d) for d in e["needs"]]):
            return False
        wanted[uid] = e
        return True

    for e in entries:
        if e["what"] != "evaluate" or (e["status"] == "done" and not force):
            continue
        if e.get("record") is None:  # measured all at once: one unit per table
            if e["table"] in at_once:
                continue
            at_once.add(e["table"])
        for dep in e["needs"]:
            add_training(dep)
        wanted[e["id"]] = e
    order = [e["id"] for e in entries if e["id"] in wanted]
    return [Unit(id=uid, deps=tuple(d for d in by_id[uid]["needs"] if d in wanted), label=_label(by_id[uid]))
            for uid in order]


def _label(e: dict) -> str:
    what = e["label"] if e["what"] == "train" else f"{e['row']}" + (f" / {e['column']}" if e.get("column") else "")
    return f"Table {e['table']} {e['what']}: {what}"


def unit_command(unit_id: str, *, profile: str, results_dir, data_root, device: str | None = None,
                 force: bool = False, model_paths=(), seeds: str | None = None, speed: str = "auto") -> list[str]:
    """``python -m repro run ID ...``: the argv that runs one unit (absolute paths: a job starts elsewhere)."""
    argv = [sys.executable, "-m", "repro", "run", unit_id, "--profile", profile,
            "--results-dir", str(Path(results_dir).absolute()), "--data-root", str(Path(data_root).absolute())]
    if device:
        argv += ["--device", device]
    if force:
        argv.append("--force")
    for mp in model_paths or ():
        argv += ["--model-path", mp]
    if seeds:
        argv += ["--seeds", str(seeds)]
    if speed != "auto":
        argv += ["--speed", speed]
    return argv


def tables_command(*, profile: str, results_dir, tables_dir, tables) -> list[str]:
    """``python -m repro tables ...``: the last step of a grid (Slurm's final job)."""
    return [sys.executable, "-m", "repro", "tables", "--profile", profile, "--results-dir",
            str(Path(results_dir).absolute()), "--tables-dir", str(Path(tables_dir).absolute()),
            "--tables", ",".join(tables)]
