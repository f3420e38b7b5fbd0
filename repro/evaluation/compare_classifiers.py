"""Table 5's two SentEval classifiers on the same features: scikit-learn (the local profile's) against PyTorch (the
paper's), one model, the seven tasks.

``python -m repro.evaluation.compare_classifiers [--model sentence-transformers/all-MiniLM-L6-v2] [--tasks MR,CR]
[--out DIR]`` encodes each task once with the model (the profile's Table 5 row of that model, through the embedding
cache), scores the same vectors with both classifiers (:func:`repro.evaluation.senteval.evaluate_task`: the Table 5
protocol; the settings are the Table 5 knobs of ``--profile`` (default ``local``), the classifier apart) and writes

* ``DIR/senteval-classifiers.csv``: one line per (task, classifier): accuracy x100, seconds of the classifier, its
  settings, and the machine, thread count, torch version and time of that cell;
* ``DIR/senteval-classifiers.md``: one table (rows scikit-learn, PyTorch, PyTorch - scikit-learn; columns the tasks
  and Avg), the machine, threads, torch version, dates and the command; where the results folder holds the
  profile's Table 5 records of the model, whether the scikit-learn cells equal them.

Both files are rewritten (atomically) after every cell, and a rerun skips the (task, classifier) cells the CSV
already has, so a killed run loses at most the cell it was computing. Single-threaded runs reproduce to the digit
(``OMP_NUM_THREADS=1``; the PyTorch classifier runs its fits on one thread in any case).
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Sequence

from repro.data.senteval import SENTEVAL_TASKS
from repro.errors import ConfigError, ReproError
from repro.evaluation.senteval import LogRegConfig, encode_task, evaluate_task
from repro.paths import atomic_write_text

log = logging.getLogger(__name__)

STEM = "senteval-classifiers"
FIELDS = ("task", "classifier", "accuracy", "seconds", "settings", "machine", "threads", "torch", "finished_at")
LABELS = {"sklearn": "scikit-learn", "pytorch": "PyTorch"}
"""The classifiers compared, in the table's row order (keys: the Table 5 knob ``classifier``)."""
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


# ------------------------------------------------------------------------------------------------ settings
def classifier_configs(knobs: dict) -> dict:
    """{classifier: config} from Table 5's knobs: scikit-learn with the knobs' solver (one job: the fits are
    the same for any n_jobs), PyTorch with SentEval's paper settings (nhid 0, adam, batch 64, tenacity 5,
    epoch_size 4); both with the knobs' kfold and seed."""
    from repro.evaluation.senteval_pytorch import TorchLogRegConfig

    kfold, seed = int(knobs["kfold"]), int(knobs["seed"])
    return {"sklearn": LogRegConfig(kfold=kfold, seed=seed, solver=knobs["solver"], n_jobs=1),
            "pytorch": TorchLogRegConfig(kfold=kfold, seed=seed)}


def settings_text(cfg) -> str:
    """A config's fields in words (``n_jobs`` left out: it does not change a number)."""
    return " ".join(f"{k}={v}" for k, v in asdict(cfg).items() if k != "n_jobs")


def parse_tasks(text: str | None) -> list[str]:
    """``MR,CR,...`` -> task names in SentEval's spelling; an unknown one is a :class:`ValueError` naming it."""
    if not text:
        return list(SENTEVAL_TASKS)
    known = {t.casefold(): t for t in SENTEVAL_TASKS}
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part.casefold() not in known:
            raise ValueError(f"--tasks: unknown task {part!r}; choose from {','.join(SENTEVAL_TASKS)}")
        if known[part.casefold()] not in out:
            out.append(known[part.casefold()])
    if not out:
        raise ValueError(f"--tasks names no task; choose from {','.join(SENTEVAL_TASKS)}")
    return out


def run_info() -> dict:
    """Machine, threads, torch version and time of a cell (CSV columns)."""
    import torch

    from repro.env import cpu_model
    from repro.results import now_iso

    return {"machine": cpu_model(), "threads": torch.get_num_threads(), "torch": torch.__version__,
            "finished_at": now_iso()}


# ------------------------------------------------------------------------------------------------ files
def read_cells(path: Path) -> list[dict]:
    """The cells a previous run wrote (none when the file is absent); a damaged file raises naming it."""
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for i, r in enumerate(rows, start=2):
        try:
            float(r["accuracy"])
        except (KeyError, TypeError, ValueError):
            raise ReproError(f"{path}:{i}: no accuracy in this line; delete the line (or the file) to score the "
                             "cell again") from None
    return rows


def write_csv(path: Path, cells: Sequence[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    order = {t: i for i, t in enumerate(SENTEVAL_TASKS)}
    names = {n: i for i, n in enumerate(LABELS.values())}
    for c in sorted(cells, key=lambda c: (order.get(c["task"], 99), names.get(c["classifier"], 99))):
        w.writerow(c)
    atomic_write_text(path, buf.getvalue())


def table_rows(cells: Sequence[dict], tasks: Sequence[str]) -> list[list[str]]:
    """[label, one value per task, Avg] for each classifier and their difference (PyTorch - scikit-learn); a
    missing cell is '-', Avg only where every task has a number."""
    acc = {(c["task"], c["classifier"]): float(c["accuracy"]) for c in cells}

    def line(values):
        cols = ["-" if v is None else f"{v:.2f}" for v in values]
        avg = "-" if any(v is None for v in values) else f"{sum(values) / len(values):.2f}"
        return [*cols, avg]

    by = {name: [acc.get((t, name)) for t in tasks] for name in LABELS.values()}
    sk, pt = by[LABELS["sklearn"]], by[LABELS["pytorch"]]
    diff = [None if a is None or b is None else round(b - a, 2) for a, b in zip(sk, pt)]
    rows = [[name, *line(v)] for name, v in by.items()]
    d = ["-" if v is None else f"{v:+.2f}" for v in diff]
    both = "-" not in (rows[0][-1], rows[1][-1])  # the Avg difference is that of the two Avg columns
    d.append(f"{float(rows[1][-1]) - float(rows[0][-1]):+.2f}" if both else "-")
    rows.append([f"difference ({LABELS['pytorch']} - {LABELS['sklearn']})", *d])
    return rows


def render_md(cells: Sequence[dict], tasks: Sequence[str], model: str, command: str,
              settings: dict, records_note: str | None = None) -> str:
    head = ["classifier", *tasks, "Avg"]
    lines = [f"# SentEval: scikit-learn vs PyTorch logistic regression on {model}", "",
             "Accuracy x100, the same features scored by the two SentEval classifiers of Table 5 "
             "(scikit-learn: the local profile's; PyTorch: the paper's). Written by "
             "`repro/evaluation/compare_classifiers.py`.", "",
             "| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(cells, tasks)]
    done = [c for c in cells if c["task"] in tasks]
    total = sum(float(c["seconds"]) for c in done)

    def distinct(key):
        return ", ".join(sorted({str(c.get(key, "")) for c in done})) or "-"

    dates = sorted(c.get("finished_at", "") for c in done)
    lines += ["", f"- cells: {len(done)} of {len(tasks) * len(LABELS)}; classifier time {total / 60:.1f} min "
                  "(encoding not counted)",
              f"- machine: {distinct('machine')}", f"- torch threads: {distinct('threads')}",
              f"- torch: {distinct('torch')}",
              f"- date: {dates[0][:10] + ' .. ' + dates[-1][:10] if dates else '-'}"]
    lines += [f"- {LABELS[k]} settings: {v}" for k, v in settings.items()]
    if records_note:
        lines.append(f"- {records_note}")
    lines += [f"- command: `{command}`", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ the run
def compare(make_encoder: Callable[[], object], load_task: Callable[[str], object], tasks: Sequence[str],
            out_dir, configs: dict, *, model: str = DEFAULT_MODEL, command: str = "", batch_size: int = 32,
            records: Callable[[list[dict]], str | None] | None = None, echo: Callable[[str], None] = print,
            show_progress: bool = False) -> list[dict]:
    """Score ``tasks`` with every classifier of ``configs`` ({knob value: config}), skipping cells already in
    ``out_dir``'s CSV; each task is loaded and encoded once, and only when one of its cells is missing (the
    encoder, from ``make_encoder``, only when one is). Both files are rewritten after each cell. Returns all
    cells of the CSV."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / f"{STEM}.csv", out_dir / f"{STEM}.md"
    cells = read_cells(csv_path)
    settings = {k: settings_text(c) for k, c in configs.items()}

    def save():
        write_csv(csv_path, cells)
        note = records(cells) if records else None
        atomic_write_text(md_path, render_md(cells, tasks, model, command, settings, note))

    encoder = None
    for name in tasks:
        have = {c["classifier"] for c in cells if c["task"] == name}
        todo = [k for k in configs if LABELS[k] not in have]
        if not todo:
            echo(f"{name}: done ({', '.join(LABELS[k] for k in configs)}), skipped")
            continue
        if encoder is None:
            encoder = make_encoder()
        task = load_task(name)
        t0 = time.perf_counter()
        vectors = encode_task(encoder, task, batch_size=batch_size, show_progress=show_progress)
        echo(f"{name}: {len(vectors)} sentences encoded in {time.perf_counter() - t0:.0f} s")
        for k in todo:
            res = evaluate_task(vectors, task, configs[k])
            cells.append({"task": name, "classifier": LABELS[k], "accuracy": f"{res['acc']:.2f}",
                          "seconds": f"{res['seconds']:.1f}", "settings": settings[k], **run_info()})
            save()
            echo(f"{name} {LABELS[k]}: {res['acc']:.2f} ({res['seconds']:.0f} s)")
    save()
    return cells


def model_row(model: str, profile):
    """The profile's Table 5 row of ``model`` (the first one: all-MiniLM-L6-v2's mean pooling), else a mean-pooled
    transformer row."""
    from repro.specs import Row, get_spec

    for row in get_spec("5").rows_for(profile):
        if row.model == model and row.kind != "unavailable":
            return row
    return Row(model, model, pooling="mean")


def records_check(spec, row, profile, store, tasks: Sequence[str]) -> Callable[[list[dict]], str | None]:
    """A function of the cells saying whether the scikit-learn cells equal the profile's Table 5 records of
    ``row`` (same classifier settings: the records' own params), or None where there is no such record."""

    def note(cells):
        ours = {c["task"]: float(c["accuracy"]) for c in cells if c["classifier"] == LABELS["sklearn"]}
        same, differ, absent = [], [], []
        for t in tasks:
            rec = store.get(spec.run_spec(spec, row, profile, task=t), unreadable_as_missing=True)
            if rec is None or rec.status != "ok":
                absent.append(t)
            elif t in ours:
                acc = float(rec.metrics[t]["acc"])
                (same if abs(acc - ours[t]) < 0.005 else differ).append(f"{t} {acc:.2f}")
        if len(absent) == len(tasks):
            return None
        text = (f"scikit-learn cells against the {profile.name} Table 5 records of {row.label}: "
                f"{len(same)} equal" + (f", {len(differ)} differ (records: {', '.join(differ)})" if differ else ""))
        return text + (f"; no record for {', '.join(absent)}" if absent else "")

    return note


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m repro.evaluation.compare_classifiers",
        description="Score one model's SentEval features with Table 5's scikit-learn and PyTorch classifiers and "
                    "write DIR/senteval-classifiers.{csv,md} (resumable: finished cells are skipped).")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"the encoder (default {DEFAULT_MODEL}; the profile's "
                   "Table 5 row of it, else mean pooling)")
    p.add_argument("--tasks", default=None, help=f"comma-separated, default all: {','.join(SENTEVAL_TASKS)}")
    p.add_argument("--out", default="tables/local/senteval-classifiers", help="output folder (default %(default)s)")
    p.add_argument("--profile", default="local", help="whose Table 5 row and knobs (default %(default)s)")
    p.add_argument("--limit", type=int, default=None, help="at most N examples per class and split (a quick try)")
    p.add_argument("--data-root", default=None, help="the datasets (default: $SBERT_REPRO_DATA)")
    p.add_argument("--results", default="results", help="records to compare the scikit-learn cells with "
                   "(default %(default)s)")
    p.add_argument("--device", default=None, help="the encoder's device (default: the encoder's choice)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    prog = "compare_classifiers"
    try:
        tasks = parse_tasks(args.tasks)
    except ValueError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    from repro.profiles import get_profile
    from repro.specs import get_spec

    try:
        profile = get_profile(args.profile)
    except ReproError as e:
        print(f"{prog}: --profile: {e}", file=sys.stderr)
        return 2
    spec = get_spec("5")
    knobs = spec.knobs(profile)
    row = model_row(args.model, profile)
    command = "python -m repro.evaluation.compare_classifiers " + shlex.join(
        sys.argv[1:] if argv is None else list(argv))
    records = None
    if args.limit is None and Path(args.results).is_dir():
        from repro.results import ResultStore

        records = records_check(spec, row, profile, ResultStore(args.results), tasks)

    def make_encoder():
        from repro.encoders.build import build_encoder
        from repro.encoders.cache import cached

        return cached(build_encoder(row, data_root=args.data_root, device=args.device),
                      enabled=knobs.get("cache", True))

    def load_task(name):
        from repro.data.senteval import load_senteval_task
        from repro.paths import data_root

        return load_senteval_task(name, root=data_root(args.data_root)).head(args.limit)

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        compare(make_encoder, load_task, tasks, args.out, classifier_configs(knobs), model=args.model,
                command=command, batch_size=profile.batch_size, records=records,
                echo=lambda m: print(m, flush=True))
    except ReproError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2 if isinstance(e, ConfigError) else 3
    print(f"wrote {Path(args.out) / STEM}.csv and .md")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
