"""The ``sbert-repro`` command line: the parser, and one call into :mod:`repro.app` per subcommand.

    sbert-repro reproduce --profile local          # run every pipeline available here, then build the tables
    sbert-repro tables --profile local             # rebuild tables/ from the result records only
    sbert-repro evaluate --model PATH --tables 1,3,5   # a new model through the paper's unsupervised protocols
    sbert-repro plan --profile paper               # every configuration, with its status here (no torch)
    sbert-repro run UNIT-ID --profile local        # one unit of the plan alone
    sbert-repro data verify --profile local        # is every dataset `reproduce` reads here? (exit 3 if not)
    sbert-repro data fetch [DATASET ...]           # download them (sha256-checked)
    sbert-repro models | profiles | records check

Every command takes ``-v`` / ``-vv`` (before or after its name) and ``--data-root`` (default: $SBERT_REPRO_DATA,
else the per-user cache). Errors that are the user's to fix (missing data, unknown model, bad setting) print one
clear line and exit with status 2; ``reproduce`` exits with 3 when it finished but a selected table or row could
not run for a reason the user must fix (data missing or broken), and lists them at the end (the rule:
:mod:`repro.console`); ``data verify`` says the same for data before any run, with the same status.

Nothing but parsing happens here: each option shared by several commands is declared once (:data:`OPTIONS`, given
to the subcommands as parent parsers by :func:`_sub`, which adds ``-v`` to every one), an old spelling of one is
kept hidden in :data:`RENAMED` (it still works, with a one-line hint on stderr), the executors declare their own
flags (:mod:`repro.executors`), and what a command does is :mod:`repro.app`'s. A new shared flag: one entry in
:data:`OPTIONS` (its flags, help and default), its name in the ``_sub(...)`` call of each command that takes it,
and the value passed on in that command's dispatch function.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from repro import __version__, app, executors
from repro.errors import EXIT_NOT_RUN, EXIT_USAGE, ReproError

#: the options several commands share: each declared once, with its help (name -> (flags, argparse keywords))
OPTIONS: dict[str, tuple[tuple[str, ...], dict]] = {
    # SUPPRESS: a subcommand's -v must not reset the count given before the subcommand name
    "verbose": (("-v", "--verbose"), dict(action="count", default=argparse.SUPPRESS, help=(
        "more output, before or after the command: -v info logging (plan: every unit), -vv debug logging"))),
    "data_root": (("--data-root",), dict(
        help="folder with the datasets (default: $SBERT_REPRO_DATA, else the user cache)")),
    "results_dir": (("--results-dir",), dict(
        default=app.DEFAULT_RESULTS, help=f"where JSON result records go (default: ./{app.DEFAULT_RESULTS})")),
    "tables_dir": (("--tables-dir",), dict(
        default=app.DEFAULT_TABLES, help=f"output folder; files go to TABLES_DIR/<profile>/ (default: "
                                         f"./{app.DEFAULT_TABLES})")),
    "profile": (("--profile",), dict(
        default="local", help="smoke | local | paper (default: local; `sbert-repro profiles` lists them); "
                              "`tables` also takes the custom-<profile> names `evaluate` writes")),
    "seeds": (("--seeds",), dict(help=app.SEEDS_HELP)),
    "tables": (("--tables",), dict(help="comma-separated table numbers, e.g. 1,2 (default: all available)")),
    "device": (("--device",), dict(help="cpu, cuda, cuda:1 (default: cuda when available)")),
    "force": (("--force",), dict(
        action="store_true", help="rerun specs that already have a finished record (an unreadable record is "
                                  "written anew); finished training runs in $SBERT_REPRO_CACHE/runs are still "
                                  "reused: point SBERT_REPRO_CACHE at an empty folder to train everything again")),
    "precision": (("--precision",), dict(choices=app.PRECISIONS, help=app.PRECISION_HELP)),
    "kind": (("--kind",), dict(choices=list(app.KINDS), help=f"model kind: {app.KIND_HELP}")),
    "json": (("--json",), dict(action="store_true", help="also print the result as JSON")),
    "model": (("--model",), dict(required=True, help="hub id, local folder, glove-6B-50d, glove-840B-300d, smoke-bert "
                                                     "(train: the model training starts from)")),
    "pooling": (("--pooling",), dict(choices=app.POOLINGS, help="token vectors -> sentence vector (evaluate: default "
                                                                "the model folder's own, else mean; train: mean)")),
    "speed": (("--speed",), dict(choices=app.SPEEDS, default="auto", help=app.SPEED_HELP)),
    "model_path": (("--model-path",), dict(
        action="append", metavar="ID=DIR", help="use local folder DIR for model ID, e.g. "
                                                "bert-base-uncased=/models/bert-base-uncased (repeatable)")),
    "rehearse": (("--rehearse",), dict(action="store_true", help=app.REHEARSE_HELP)),
}


#: old spellings of shared options: still accepted, hidden from --help, a one-line hint on stderr when used
RENAMED = {"--dtype": "precision", "--amp": "precision"}


class _Renamed(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        new = OPTIONS[RENAMED[option_string]][0][-1]
        print(f"note: {option_string} is now {new} (same values); {option_string} will go", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _parents(*names: str) -> list[argparse.ArgumentParser]:
    """Parent parsers carrying the shared options ``names`` (keys of :data:`OPTIONS`) and their old spellings."""
    p = argparse.ArgumentParser(add_help=False)
    for name in names:
        flags, kwargs = OPTIONS[name]
        p.add_argument(*flags, **kwargs)
        for old in (o for o, new in RENAMED.items() if new == name):
            p.add_argument(old, dest=name, action=_Renamed, choices=kwargs.get("choices"), help=argparse.SUPPRESS)
    return [p]


def _sub(sub, name: str, *options: str, **kw) -> argparse.ArgumentParser:
    """The subcommand ``name`` with the shared ``options`` (and -v, which every command takes)."""
    return sub.add_parser(name, parents=_parents("verbose", *options), **kw)


# --------------------------------------------------------------------------------------------- dispatch
def _reproduce(a) -> int:
    return app.reproduce(a.profile, seeds=a.seeds, tables=a.tables, data_root=a.data_root, results_dir=a.results_dir,
                         tables_dir=a.tables_dir, device=a.device, force=a.force, model_paths=a.model_path or (),
                         fetch_missing=a.fetch_missing, dry_run=a.dry_run, keep_models=a.keep_models,
                         executor=executors.from_args(a, app.echo), speed=a.speed, verbose=a.verbose,
                         rehearse=a.rehearse)


def _tables(a) -> int:
    return app.tables(a.profile, tables=a.tables, results_dir=a.results_dir, tables_dir=a.tables_dir,
                      rehearse=a.rehearse)


def _plan(a) -> int:
    return app.plan(a.profile, seeds=a.seeds, tables=a.tables, data_root=a.data_root, results_dir=a.results_dir,
                    as_json=a.json, verbose=a.verbose > 0, rehearse=a.rehearse)


def _run(a) -> int:
    return app.run(a.unit, profile=a.profile, seeds=a.seeds, data_root=a.data_root, results_dir=a.results_dir,
                   device=a.device, force=a.force, speed=a.speed, rehearse=a.rehearse)


def _evaluate(a) -> int:
    return app.evaluate(a.model, tables=a.tables, kind=a.kind, pooling=a.pooling, layer=a.layer,
                        max_seq_length=a.max_seq_length, precision=a.precision, device=a.device, row=a.row,
                        compare_with=a.compare_with, profile=a.profile, profile_name=a.profile_name, force=a.force,
                        as_json=a.json, data_root=a.data_root, results_dir=a.results_dir, tables_dir=a.tables_dir,
                        fmt=a.format)


# --------------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="sbert-repro", parents=_parents("verbose"),
        description="Reproduce and benchmark Sentence-BERT (Reimers & Gurevych, EMNLP 2019): the paper's protocols, "
                    "one JSON record per run, the paper's tables (CSV, Markdown, PNG) with its numbers beside ours.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  sbert-repro reproduce --profile local --data-root ../shared/data\n"
               "  sbert-repro reproduce --profile smoke --tables 1\n"
               "  sbert-repro evaluate --model ./my-model --tables 1,3,5\n"
               "  sbert-repro reproduce --profile paper --model-path bert-base-uncased=/models/bert-base-uncased\n",
    )
    ap.add_argument("--version", action="version", version=f"sbert-repro {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = _sub(sub, "reproduce", "profile", "seeds", "tables", "data_root", "results_dir", "tables_dir", "device",
             "force", "model_path", "speed", "rehearse", help="run the pipelines of a profile and build the tables",
             description="Run every table pipeline available for PROFILE (finished runs are skipped: a rerun resumes), "
                         "then rebuild the tables; an estimate first, a summary at the end. Exit status: 0 when every "
                         "selected table ran (rows not run by design, e.g. a model not reachable offline, and in a run "
                         "over all tables a table whose data has no pinned download, Table 4, still give 0); "
                         f"{EXIT_NOT_RUN} when a row failed, data is broken or fetchable data missing, or a table "
                         "named with --tables could not run (`sbert-repro data verify` says which data, with the same "
                         f"status); {EXIT_USAGE} for a bad setting (unknown profile, out-of-range value) before any "
                         "work.")
    p.add_argument("--fetch-missing", action="store_true",
                   help="first download (sha256-checked) the datasets these tables need and the data root lacks")
    p.add_argument("--dry-run", action="store_true",
                   help=f"print the plan (units, cost, missing inputs) and stop; exit {EXIT_NOT_RUN} when a selected "
                        "table needs data this machine lacks")
    p.add_argument("--keep-models", action="store_true",
                   help="keep the model of every finished training run (default: once every table that needs a "
                        "model has its records, the model is removed; the run's logs stay)")
    executors.add_arguments(p)
    p.set_defaults(fn=_reproduce)

    p = _sub(sub, "tables", "profile", "tables", "data_root", "results_dir", "tables_dir", "rehearse",
             help="rebuild tables from result records (no rerun)",
             description="Rebuild the tables of PROFILE from the JSON result records alone (nothing is rerun): for "
                         "each table a CSV (one line per row and column: ours, the paper's number, the difference, "
                         "std over seeds, status and reason), a Markdown table and a PNG plot, written to "
                         "TABLES_DIR/<profile>/, and REPORT.md.")
    p.set_defaults(fn=_tables)

    p = _sub(sub, "plan", "profile", "seeds", "tables", "data_root", "results_dir", "model_path", "json", "rehearse",
             help="list every configuration a profile runs, with its status here (seconds)",
             description="Every unit PROFILE would run, from the table declarations alone (no torch, nothing "
                         "loaded): each evaluation (row x column x seed) and each training run with what it depends "
                         "on (an NLI model before its STSb continuation), each with a stable id and its status: done "
                         "(a record exists), ready, needs data (which dataset, the fetch command), needs weights "
                         "(which model, how to provide it), not implemented (why). -v lists every unit; --json "
                         "prints the whole plan (one object per unit).")
    p.set_defaults(fn=_plan)

    p = _sub(sub, "run", "profile", "seeds", "data_root", "results_dir", "device", "force", "model_path", "speed",
             "rehearse",
             help="run one unit of the plan alone (by its id from `plan`)",
             description="Run the unit UNIT of PROFILE's plan (ids: `sbert-repro plan -v`): an evaluation writes its "
                         "record, a training run trains its folder (resumable). Prints the unit's main metric per "
                         "column and the path of its record. What one job of a cluster array executes.")
    p.add_argument("unit", help="a unit id from `sbert-repro plan`")
    p.set_defaults(fn=_run)

    p = _sub(sub, "evaluate", "model", "profile", "tables", "data_root", "results_dir", "tables_dir", "device", "force",
             "model_path", "kind", "pooling", "precision", "json",
             help="a model of your own through the paper's protocols that need no training",
             description="MODEL through the paper's unsupervised protocols (--tables, default 1,3,4,5: STS, AFS "
                         "untuned, Wikipedia-sections triplets, SentEval) with PROFILE's knobs and data sizes, by the "
                         "code that makes the profile's rows. Records go under the profile custom-<PROFILE>; "
                         "TABLES_DIR/custom-<PROFILE>/<model>/ gets each table with the new row beside the paper's and "
                         "PROFILE's rows, SUMMARY.md, and mteb/ (MTEB's result layout, one JSON per task). From "
                         "Python: repro.evaluate(model).")
    p.add_argument("--layer", type=int, default=-1, help="hidden layer to pool (-1 last, -2 second-to-last)")
    p.add_argument("--max-seq-length", type=int)
    p.add_argument("--row", help="label for the table row")
    p.add_argument("--compare-with", metavar="PAPER_ROW", help="paper row to put beside it, e.g. SBERT-NLI-base")
    p.add_argument("--profile-name", help="records go under this profile name (default custom-<profile>)")
    p.add_argument("--format", default="all", choices=["all", "tables", "mteb"],
                   help="all (default): tables, SUMMARY.md and MTEB-layout JSON; tables: no JSON; mteb: JSON only")
    p.set_defaults(fn=_evaluate)

    p = _sub(sub, "models", help="which models resolve here without a hub",
             description="List the models that resolve on this machine without a model hub (packaged weights, "
                         "checked by sha256), or resolve one id to its local folder. A hub id such as "
                         "bert-base-uncased resolves through the Hugging Face cache or the hub when reachable; "
                         "offline, pass --model-path ID=DIR to the run commands.")
    p.add_argument("--resolve", metavar="ID", help="print the local folder ID resolves to (or why it cannot)")
    p.set_defaults(fn=lambda a: app.models(a.resolve))

    p = _sub(sub, "profiles", help="list the profiles and what they run",
             description="A profile names the models, data sizes and seeds of a run: smoke (tiny random BERT, small "
                         "slices, minutes on a CPU), local (real data and the weights installable offline, "
                         "CPU-sized), paper (the paper's models from the hub, full data, 10 seeds). This lists each "
                         "profile and the rows it runs.")
    p.set_defaults(fn=lambda a: app.profiles())

    p = _sub(sub, "data", help="check (verify) or download (fetch) the datasets, against the sha256 manifests",
             description="verify: is every dataset `reproduce` reads for PROFILE / TABLES here and unmodified (size "
                         "and sha256)? One line per missing or broken dataset with the command that fixes it; exit "
                         f"{EXIT_NOT_RUN} then, as `reproduce`. fetch: download them (sha256-checked).")
    dsub = p.add_subparsers(dest="action", required=True, metavar="{verify,fetch}")
    v = _sub(dsub, "verify", "profile", "tables", "data_root",
             help="check what `reproduce --profile PROFILE --tables TABLES` reads (or DATASETS)")
    v.add_argument("datasets", nargs="*", help="check these datasets instead (names: `sbert-repro data fetch --help`)")
    v.set_defaults(fn=lambda a: app.verify_data(a.datasets, profile=a.profile, tables=a.tables, data_root=a.data_root))
    v = _sub(dsub, "fetch", "profile", "tables", "data_root", help="download DATASETS (default: what PROFILE lacks)",
             description=app.FETCH_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("datasets", nargs="*", help=f"dataset names or 'all': {', '.join(app.DATASET_NAMES)} "
                                               "(default: those `reproduce --profile PROFILE` needs and lacks)")
    v.add_argument("--from-archive", metavar="FILE_OR_DIR", help="install from a downloaded zip / tar.gz / file, or "
                                                                 "a folder of them, instead of downloading")
    v.add_argument("--timeout", type=float, default=60.0, help="network timeout in seconds (default 60)")
    v.set_defaults(fn=lambda a: app.fetch_data(a.datasets, profile=a.profile, tables=a.tables,
                                               data_root=a.data_root, from_archive=a.from_archive, timeout=a.timeout))

    p = _sub(sub, "records", help="check the result records (copies, hand edits, damaged predictions)",
             description="Read every result record under the results folder and check it: the id stored in it must "
                         "be the id of its contents, it must lie where its contents say (a copy or a backup folder "
                         "inside the results folder would count twice), and its stored per-item predictions must "
                         f"give its numbers. One line per problem with its fix; exit {EXIT_USAGE} when there is any.")
    rsub = p.add_subparsers(dest="action", required=True, metavar="check")
    r = _sub(rsub, "check", "results_dir", help="check every record")
    r.set_defaults(fn=lambda a: app.records_check(a.results_dir))

    # train and bench: their own modules declare (and read) the flags only they take
    p = _sub(sub, "train", "model", "data_root", "model_path", "device", "kind", "pooling", "precision",
             help="train SBERT (or the BERT cross-encoder) with the paper's settings", description=app.TRAIN_DOC,
             formatter_class=argparse.RawDescriptionHelpFormatter)
    app.add_train_arguments(p)
    p.set_defaults(fn=app.train)

    p = _sub(sub, "bench", "profile", "data_root", "results_dir", "tables_dir", "device", "precision", "model_path",
             help="speed benchmarks: Table 7 and the '65 hours vs 5 seconds' claim", description=app.BENCH_DOC,
             formatter_class=argparse.RawDescriptionHelpFormatter)
    app.add_bench_arguments(p)
    p.set_defaults(fn=app.bench)
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    args.verbose = getattr(args, "verbose", 0)  # -v before or after the command name (not summed)
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "fn", None):
        ap.print_help()
        return 0
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        app.set_model_paths(getattr(args, "model_path", None) or ())
        return args.fn(args)
    except ReproError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into head & co.
        return 0
    except OSError as e:
        line = app.os_error_line(e)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; finished runs are saved as records, rerun the same command to resume", file=sys.stderr)
        return 130
