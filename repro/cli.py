"""The ``sbert-repro`` command line: the parser, and one call into :mod:`repro.app` per subcommand.

    sbert-repro reproduce --profile local          # run every pipeline available here, then build the tables
    sbert-repro tables --profile local             # rebuild tables/ from the result records only
    sbert-repro evaluate --model PATH --pooling mean   # a new model through the paper's STS protocol
    sbert-repro plan --profile paper               # every configuration, with its status here (no torch)
    sbert-repro run UNIT-ID --profile local        # one unit of the plan alone
    sbert-repro models | profiles | data verify

Every command takes ``--data-root`` (default: $SBERT_REPRO_DATA, else the per-user cache). Errors that are the
user's to fix (missing data, unknown model, bad setting) print one clear line and exit with status 2; ``reproduce``
exits with 3 when it finished but a selected table or row could not run for a reason the user must fix (data
missing or broken), and lists them at the end.

Nothing but parsing happens here: each option shared by several commands is declared once (:data:`OPTIONS`, given
to the subcommands as parent parsers), the executors declare their own flags (:mod:`repro.executors`), and what a
command does is :mod:`repro.app`'s.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys

from repro import __version__, app, executors
from repro.errors import EXIT_NOT_RUN, EXIT_USAGE, ReproError

SEEDS_HELP = ("seeds of the seeded tables (2 and 6), e.g. 0,1 or 0-4 (default: the profile's; local 0, paper 0-9); "
              "records of other seeds already in the results folder are averaged in; `run` needs the seeds of the "
              "plan its unit id comes from")

#: the options several commands share: each declared once, with its help (name -> (flags, argparse keywords))
OPTIONS: dict[str, tuple[tuple[str, ...], dict]] = {
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
    "seeds": (("--seeds",), dict(help=SEEDS_HELP)),
    "tables": (("--tables",), dict(help="comma-separated table numbers, e.g. 1,2 (default: all available)")),
    "device": (("--device",), dict(help="cpu, cuda, cuda:1 (default: cuda when available)")),
    "force": (("--force",), dict(
        action="store_true", help="rerun specs that already have a finished record (an unreadable record is "
                                  "written anew); finished training runs in $SBERT_REPRO_CACHE/runs are still "
                                  "reused: point SBERT_REPRO_CACHE at an empty folder to train everything again")),
    "model_path": (("--model-path",), dict(
        action="append", metavar="ID=DIR", help="use local folder DIR for model ID, e.g. "
                                                "bert-base-uncased=/models/bert-base-uncased (repeatable)")),
    "rehearse": (("--rehearse",), dict(action="store_true", help=app.REHEARSE_HELP)),
}


def _parents(*names: str) -> list[argparse.ArgumentParser]:
    """Parent parsers carrying the shared options ``names`` (keys of :data:`OPTIONS`)."""
    p = argparse.ArgumentParser(add_help=False)
    for name in names:
        flags, kwargs = OPTIONS[name]
        p.add_argument(*flags, **kwargs)
    return [p]


# --------------------------------------------------------------------------------------------- dispatch
def _reproduce(a) -> int:
    return app.reproduce(a.profile, seeds=a.seeds, tables=a.tables, data_root=a.data_root, results_dir=a.results_dir,
                         tables_dir=a.tables_dir, device=a.device, force=a.force, model_paths=a.model_path or (),
                         fetch_missing=a.fetch_missing, dry_run=a.dry_run, keep_models=a.keep_models,
                         executor=executors.from_args(a, app.echo), rehearse=a.rehearse)


def _tables(a) -> int:
    return app.tables(a.profile, tables=a.tables, results_dir=a.results_dir, tables_dir=a.tables_dir,
                      rehearse=a.rehearse)


def _plan(a) -> int:
    return app.plan(a.profile, seeds=a.seeds, tables=a.tables, data_root=a.data_root, results_dir=a.results_dir,
                    as_json=a.json, verbose=a.verbose, rehearse=a.rehearse)


def _run(a) -> int:
    return app.run(a.unit, profile=a.profile, seeds=a.seeds, data_root=a.data_root, results_dir=a.results_dir,
                   device=a.device, force=a.force, rehearse=a.rehearse)


def _evaluate(a) -> int:
    return app.evaluate(a.model, kind=a.kind, pooling=a.pooling, layer=a.layer, max_seq_length=a.max_seq_length,
                        dtype=a.dtype, device=a.device, row=a.row, compare_with=a.compare_with, profile=a.profile,
                        profile_name=a.profile_name, force=a.force, as_json=a.json, data_root=a.data_root,
                        results_dir=a.results_dir)


# --------------------------------------------------------------------------------------------- parser
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
                       parents=_parents("profile", "seeds", "tables", "data_root", "results_dir", "tables_dir",
                                        "device", "force", "model_path", "rehearse"),
                       description="Run every table pipeline available for PROFILE (finished runs are skipped: "
                                   "a rerun resumes), then rebuild the tables. Rows that cannot run here are listed at "
                                   "the end with the reason. Exit status: 0 when every selected table ran (rows "
                                   "not run by design, e.g. a model not reachable offline, still give 0); "
                                   f"{EXIT_NOT_RUN} when a table or row could not run for a reason to fix (data "
                                   f"missing or broken); {EXIT_USAGE} for a bad setting (unknown profile, "
                                   "out-of-range value) before any work.")
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

    p = sub.add_parser("tables", help="rebuild tables from result records (no rerun)",
                       parents=_parents("profile", "tables", "data_root", "results_dir", "tables_dir", "rehearse"),
                       description="Rebuild the tables of PROFILE from the JSON result records alone (nothing is "
                                   "rerun): for each table a CSV (one line per row and column: ours, the paper's "
                                   "number, the difference, std over seeds, status and reason), a Markdown table and "
                                   "a PNG plot, written to TABLES_DIR/<profile>/, and REPORT.md.")
    p.set_defaults(fn=_tables)

    p = sub.add_parser("plan", help="list every configuration a profile runs, with its status here (seconds)",
                       parents=_parents("profile", "seeds", "tables", "data_root", "results_dir", "model_path",
                                        "rehearse"),
                       description="Every unit PROFILE would run, from the table declarations alone (no torch, "
                                   "nothing loaded): each evaluation (row x column x seed) and each training run "
                                   "with what it depends on (an NLI model before its STSb continuation), each with a "
                                   "stable id and its status: done (a record exists), ready, needs data (which "
                                   "dataset, the fetch command), needs weights (which model, how to provide it), "
                                   "not implemented (why).")
    p.add_argument("--json", action="store_true", help="the whole plan as JSON (one object per unit)")
    p.add_argument("--verbose", action="store_true", help="also list every unit")
    p.set_defaults(fn=_plan)

    p = sub.add_parser("run", help="run one unit of the plan alone (by its id from `plan`)",
                       parents=_parents("profile", "seeds", "data_root", "results_dir", "device", "force",
                                        "model_path", "rehearse"),
                       description="Run the unit UNIT of PROFILE's plan (ids: `sbert-repro plan --verbose`): an "
                                   "evaluation writes its record, a training run trains its folder (resumable). "
                                   "What one job of a cluster array executes.")
    p.add_argument("unit", help="a unit id from `sbert-repro plan`")
    p.set_defaults(fn=_run)

    p = sub.add_parser("evaluate", help="evaluate any model with the paper's STS protocol (Table 1 columns)",
                       parents=_parents("profile", "data_root", "results_dir", "device", "force", "model_path"),
                       description="Encode STS12-16, STSb test and SICK-R test with MODEL and report Spearman x100 "
                                   "of cosine similarity, as in the paper's Table 1. Writes a result record under "
                                   "the profile custom-<PROFILE>; PROFILE sets the data sizes (smoke: small slices).")
    p.add_argument("--model", required=True, help="hub id, local folder, glove-6B-50d, glove-840B-300d, smoke-bert")
    p.add_argument("--kind", default="transformer", choices=["transformer", "wordvec"])
    p.add_argument("--pooling", choices=["mean", "max", "cls"], help="default: the model folder's own, else mean")
    p.add_argument("--layer", type=int, default=-1, help="hidden layer to pool (-1 last, -2 second-to-last)")
    p.add_argument("--max-seq-length", type=int)
    p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    p.add_argument("--row", help="label for the table row")
    p.add_argument("--compare-with", metavar="PAPER_ROW", help="paper row to put beside it, e.g. SBERT-NLI-base")
    p.add_argument("--profile-name", help="records go under this profile name (default custom-<profile>)")
    p.add_argument("--json", action="store_true", help="also print the record as JSON")
    p.set_defaults(fn=_evaluate)

    p = sub.add_parser("models", help="which models resolve here without a hub",
                       description="List the models that resolve on this machine without a model hub (packaged "
                                   "weights, checked by sha256), or resolve one id to its local folder. A hub id "
                                   "such as bert-base-uncased resolves through the Hugging Face cache or the hub "
                                   "when reachable; offline, pass --model-path ID=DIR to the run commands.")
    p.add_argument("--resolve", metavar="ID", help="print the local folder ID resolves to (or why it cannot)")
    p.set_defaults(fn=lambda a: app.models(a.resolve))

    p = sub.add_parser("profiles", help="list the profiles and what they run",
                       description="A profile names the models, data sizes and seeds of a run: smoke (tiny random "
                                   "BERT, small slices, minutes on a CPU), local (real data and the weights "
                                   "installable offline, CPU-sized), paper (the paper's models from the hub, full "
                                   "data, 10 seeds). This lists each profile and the rows it runs.")
    p.set_defaults(fn=lambda a: app.profiles())

    p = sub.add_parser("data", help="verify the data root against the sha256 manifests",
                       description="Check every dataset file under the data root against its manifest (size and "
                                   "sha256). Missing or modified files are listed with the command that fetches "
                                   f"them (python data_scripts/fetch_data.py DATASET); exit {EXIT_USAGE} then.")
    dsub = p.add_subparsers(dest="action", required=True, metavar="verify")
    v = dsub.add_parser("verify", parents=_parents("data_root"), help="check the files of DATASETS (default: all)")
    v.add_argument("datasets", nargs="*", help="datasets to verify (default: all)")
    v.set_defaults(fn=lambda a: app.verify_data(a.datasets, data_root=a.data_root))

    p = sub.add_parser("records", help="check the result records (copies, hand edits, damaged predictions)",
                       description="Read every result record under the results folder and check it: the id stored "
                                   "in it must be the id of its contents, it must lie where its contents say (a copy "
                                   "or a backup folder inside the results folder would count twice), and its stored "
                                   "per-item predictions must give its numbers. One line per problem with its fix; "
                                   f"exit {EXIT_USAGE} when there is any.")
    rsub = p.add_subparsers(dest="action", required=True, metavar="check")
    r = rsub.add_parser("check", parents=_parents("results_dir"), help="check every record")
    r.set_defaults(fn=lambda a: app.records_check(a.results_dir))

    # train and bench: their own modules declare (and read) their flags, including --device / --profile
    p = sub.add_parser("train", help="train SBERT (or the BERT cross-encoder) with the paper's settings",
                       parents=_parents("data_root", "model_path"), description=app.TRAIN_DOC,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    app.add_train_arguments(p)
    p.set_defaults(fn=app.train)

    p = sub.add_parser("bench", help="speed benchmarks: Table 7 and the '65 hours vs 5 seconds' claim",
                       parents=_parents("data_root", "results_dir"), description=app.BENCH_DOC,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    app.add_bench_arguments(p)
    p.set_defaults(fn=app.bench)
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
        app.set_model_paths(getattr(args, "model_path", None) or ())
        return args.fn(args)
    except ReproError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into head & co.
        return 0
    except OSError as e:
        line = _os_error_line(e)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; finished runs are saved as records, rerun the same command to resume", file=sys.stderr)
        return 130


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


def _os_error_line(e: OSError) -> str | None:
    """One line for an error of the machine the user can fix (full disk, permissions, a file in place of a folder),
    naming the path; None for any other OSError (a bug: its traceback is wanted)."""
    fix = _OS_FIXES.get(e.errno)
    if fix is None:
        return None
    where = f"{e.filename}: " if e.filename else ""
    return f"{where}{e.strerror or e}; {fix}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
