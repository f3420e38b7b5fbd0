"""The one runner: a table spec x a profile -> its evaluation units -> result records.

For each evaluation unit of ``spec.units(profile)`` (in the spec's order) the runner writes one record through
:func:`repro.results.run` (finished units are skipped: a rerun resumes). The table's task (``spec.evaluator``, a
name of :data:`repro.tasks.TASKS`, see :class:`repro.tasks.base.Task`) loads the data once per table, builds what a
row's units share once per row (only when one of them has to run; a ``ReproError`` there is remembered, so the
row's other units do not retry it), and evaluates each unit into ``{column: {metric: value}}``; or it measures the
whole table at once (``run_table``: speed).

Training units are not run here: the evaluation unit that needs one trains it (resumably, shared between
tables by its run folder), so ``reproduce`` runs everything and ``plan`` lists both.
"""

from __future__ import annotations

from typing import Callable

from repro.errors import ConfigError, ReproError
from repro.results import ResultRecord, ResultStore, finished, run
from repro.tasks import get_task
from repro.tasks.base import Context

__all__ = ["Context", "find_unit", "run_row", "run_table", "run_unit"]


def run_row(spec, work, store, *, device: str | None = None, force: bool = False, echo=print,
            summary: Callable | None = None, label: str = "", row=None):
    """One record: :func:`repro.results.run` with this machine's versions and hardware in the record; echoes one
    line (``summary(record)`` when it finished and it has something to say, else its status and reason)."""
    from repro.env import hardware, versions

    rec = run(spec, work, store, force=force, env=lambda: {"versions": versions(), "hardware": hardware(device)},
              log=echo, label=label or (row or {}).get("label"), row=row)
    prefix = f"  {label}: " if label else "  "
    if rec.status == "ok":
        line = summary(rec) if summary is not None else None
        if line:
            echo(prefix + line)
    else:
        echo(f"{prefix}{rec.status.replace('_', ' ')}: {rec.reason}")
    return rec


def run_table(spec, profile, store: ResultStore, *, data_root=None, device: str | None = None, force: bool = False,
              echo=print, progress: bool = True, rows=None, only=None, on_unit: Callable | None = None,
              **extra) -> list[ResultRecord]:
    """Run every evaluation unit of ``spec`` for ``profile`` (``rows``: only these rows; ``only``: only the units
    with these ids, see ``sbert-repro plan``); returns the records. ``on_unit(i, n)`` is called before the i-th of
    the n units (a progress bar's hook)."""
    if rows is not None:
        profile = profile.with_table(spec.number, rows=tuple(rows))
    progress = extra.pop("show_progress", progress)
    ev = get_task(spec.evaluator)
    ctx = Context(profile=profile, spec=spec, store=store, data_root=data_root, device=device, force=force,
                  echo=echo, progress=progress, extra=extra)
    if hasattr(ev, "run_table"):
        return ev.run_table(spec, profile, store, ctx)
    units = [u for u in spec.units(profile) if u.what == "evaluate"]  # bad rows / knobs fail here
    if only is not None:
        units = [u for u in units if u.id in set(only)]
        ctx.units = units  # the task loads what these units read (a Table 5 unit: its own SentEval task)
    data = ev.load(spec, profile, ctx) if hasattr(ev, "load") else None
    echo(f"[table {spec.number}] {len(units)} runs")
    memo: dict = {}

    def built(row):
        if row not in memo:
            try:
                memo[row] = (True, ev.build(row, data, ctx) if hasattr(ev, "build") else None)
            except ReproError as e:  # remembered: the row's other units do not retry a missing model
                memo[row] = (False, e)
        ok, value = memo[row]
        if not ok:
            raise value
        return value

    def pending(u) -> bool:  # not finished, or its predictions are damaged (evaluated again)
        return force or finished(store, u.run) is None

    records, skipped = [], set()
    summary = getattr(ev, "summary", None)
    for i, u in enumerate(units, 1):
        if on_unit is not None:
            on_unit(i, len(units))
        if u.row in skipped:
            continue
        if spec.row_unavailable is not None and pending(u):
            try:
                built(u.row)
            except ReproError as e:  # one not-run record for the row, not one per column
                skipped.add(u.row)
                records.append(run_row(spec.row_unavailable(spec, u.row, profile), _raise(e), store, device=device,
                                       force=force, echo=echo, row=u.row.describe()))
                continue
        echo(f"[table {spec.number}] {i}/{len(units)} {u.label} ({u.row.model or u.row.kind})")
        records.append(run_row(u.run, lambda s, u=u: ev.evaluate(built(u.row), data, u, ctx), store, device=device,
                               force=force, echo=echo, summary=summary, row=u.row.describe(),
                               label=u.column if spec.row_unavailable is not None else ""))
    return records


def _raise(err: Exception):
    def fn(spec):
        raise err

    return fn


def find_unit(unit_id: str, profile, tables=None):
    """(spec, unit) of the unit called ``unit_id`` in ``profile``'s plan; ConfigError naming the fix otherwise."""
    from repro.specs import load_specs

    for number, spec in load_specs().items():
        if tables and number not in tables:
            continue
        for u in spec.units(profile):
            if u.id == unit_id:
                return spec, u
    raise ConfigError(f"no unit {unit_id!r} in profile {profile.name!r}; list them with "
                      f"`sbert-repro plan --profile {profile.name} --verbose`")


def run_unit(unit_id: str, profile, store, **kw):
    """Run one unit of the plan alone (what one job of a cluster array executes): an evaluation writes its
    record; a training run trains (or reuses) its folder. Returns the record, or the training result."""
    spec, unit = find_unit(unit_id, profile)
    if spec.evaluator != "speed":
        kw.pop("speed", None)  # Table 7's setting (reproduce / run --speed)
    if unit.what == "evaluate":
        if unit.run is None:  # measured all at once (Table 7)
            return run_table(spec, profile, store, **kw)
        return run_table(spec, profile, store, only={unit_id}, **kw)
    if hasattr(unit.stage, "objective"):
        from repro.paths import cache_dir
        from repro.training.recipes import run_stage

        return run_stage(unit.stage, cache_dir("runs", profile.name), data_root=kw.get("data_root"),
                         device=kw.get("device"), echo=kw.get("echo", print))
    raise ConfigError(f"unit {unit_id}: {unit.label} trains inside its evaluation; run the evaluation that needs "
                      "it (listed with `plan --verbose`)")
