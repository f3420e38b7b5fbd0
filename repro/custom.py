"""A model of your own through the paper's unsupervised protocols: ``sbert-repro evaluate`` and ``repro.evaluate``.

    sbert-repro evaluate --model sentence-transformers/all-MiniLM-L6-v2 --tables 1,3,5

    import repro
    df = repro.evaluate("sentence-transformers/all-MiniLM-L6-v2", tables=(1, 5))   # a pandas DataFrame
    df = repro.evaluate(my_object, name="bow-v1")   # any object with encode(list[str]) -> np.ndarray

Every protocol that needs no training (:data:`PROTOCOL_TABLES`): Table 1 (unsupervised STS), Table 3's rows of an
untuned encoder (AFS: unsupervised, 10-fold and cross-topic, scored by cosine on the same folds as the trained
rows), Table 4 (Wikipedia-sections triplets, untuned) and Table 5 (SentEval). The new model becomes one
:class:`repro.specs.Row` per table and runs through the table's own spec, task and runner (:func:`repro.runner.
run_table`) with the knobs of the profile it derives from (``local`` by default: its data sizes, folds, classifier),
so its numbers come from exactly the code that made the profile's rows. Its records go to the profile
``custom-<profile>`` (``results/custom-local/tableN/...``), never mixed with the declared profile's.

What is written, per model, under ``TABLES_DIR/custom-<profile>/<model slug>/``:

- each table (CSV, Markdown, PNG) with the new row beside the paper's rows and the base profile's own rows (its
  records from the same results folder), built by the suite's table builder;
- ``SUMMARY.md``: one page, the new model's numbers per table beside the paper row it is compared with, and what
  did not run and why;
- ``mteb/<model name>/<revision>/<TaskName>.json`` (:func:`write_mteb`): one file per task in MTEB's result layout.

A Python object is run in this process (:mod:`repro.encoders.inprocess`; never pickled). Its records name its class
and, when given, its name; an unnamed object is evaluated afresh on every run (records rewritten, no embedding
cache), a named one resumes like any model.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from repro.errors import ConfigError, RecordError, ReproError

PROTOCOL_TABLES = ("1", "3", "4", "5")
"""The tables whose protocol needs no training of the evaluated model (2 and 6 train; 7 measures speed)."""
AFS_SETTINGS = ("unsupervised", "10-fold", "cross-topic")
FORMATS = ("all", "tables", "mteb")
"""``all``: tables + SUMMARY.md + MTEB JSON; ``tables``: tables + SUMMARY.md; ``mteb``: the MTEB JSON only."""


@dataclass(frozen=True)
class NewModel:
    """The model being evaluated, as the rows of every table see it."""

    model: str  # a hub id, folder or word-vector name; for an object: repro.encoders.inprocess.model_id
    kind: str  # transformer | wordvec | python
    pooling: str | None = None
    layer: int = -1
    max_seq_length: int | None = None
    label: str = ""
    compare_with: str | None = None
    named: bool = True  # False: an unnamed Python object (rerun every time)
    cls: str | None = None  # the class of a Python object

    def row(self, number: str, spec):
        """Its :class:`repro.specs.Row` in Table ``number``: the table's untuned-encoder row shape, compared with
        ``compare_with`` where the paper's table has that row."""
        from repro.specs import Row

        paper_rows = set(spec.reference()["paper_row"])
        paper_row = self.compare_with if self.compare_with in paper_rows else None
        options = {}
        if number == "3":  # scored in every setting an untrained encoder has (word vectors: unsupervised only)
            options = {"settings": ("unsupervised",) if self.kind == "wordvec" else AFS_SETTINGS}
        return Row(self.label, self.model, kind=self.kind, pooling=self.pooling, layer=self.layer,
                   max_seq_length=self.max_seq_length, paper_row=paper_row, options=options,
                   substitute=f"evaluated with `sbert-repro evaluate` ({self.model})")


def table_numbers(tables) -> list[str]:
    """``tables`` (None: all of :data:`PROTOCOL_TABLES`; "1,3", "table5", or numbers) checked against them."""
    if tables is None:
        return list(PROTOCOL_TABLES)
    items = tables.split(",") if isinstance(tables, str) else [str(t) for t in tables]
    chosen = [t.strip().removeprefix("table") for t in items if str(t).strip()]
    if not chosen:
        raise ConfigError(f"--tables {tables!r} names no table; give some of {','.join(PROTOCOL_TABLES)} or leave it "
                          "out for all")
    for t in chosen:
        if t not in PROTOCOL_TABLES:
            raise ConfigError(f"--tables: table {t} has no protocol `evaluate` can run on a given model (those need "
                              f"training or measure speed); allowed: {', '.join(PROTOCOL_TABLES)}")
    return list(dict.fromkeys(chosen))


def new_model(model, *, name: str | None = None, kind: str | None = None, pooling: str | None = None,
              layer: int = -1, max_seq_length: int | None = None, label: str | None = None,
              compare_with: str | None = None) -> NewModel:
    """``model`` (a hub id, a folder, a word-vector name, or an object with ``encode``) as a :class:`NewModel`;
    an object is registered in this process (:func:`repro.encoders.inprocess.register`)."""
    if not isinstance(model, (str, Path)):
        from repro.encoders.inprocess import KIND, register

        if kind not in (None, KIND):
            raise ConfigError(f"kind {kind!r}: a Python object is evaluated as kind {KIND!r}")
        if pooling is not None or layer != -1 or max_seq_length is not None:
            raise ConfigError("pooling, layer and max_seq_length apply to transformer models; a Python object's "
                              "encode() decides its own vectors")
        enc = register(model, name)
        return NewModel(enc.name, KIND, label=label or (name or type(model).__name__) + " (Python object)",
                        compare_with=compare_with, named=name is not None, cls=enc.cls)
    if name is not None:
        raise ConfigError("name= is for Python objects; a model given by id or folder is named by it (use label= "
                          "for the table row)")
    model = str(model)
    if kind is None:
        kind = "wordvec" if model.startswith(("glove-", "smoke-glove", "fasttext-")) else "transformer"
    if kind not in ("transformer", "wordvec"):
        raise ConfigError(f"kind {kind!r}: a model given by id or folder is a transformer or wordvec")
    return NewModel(model, kind, pooling=pooling, layer=layer, max_seq_length=max_seq_length,
                    label=label or f"{model} ({pooling or 'default'} pooling)" if kind == "transformer"
                    else label or model, compare_with=compare_with)


def custom_profile(profile: str = "local", profile_name: str | None = None, dtype: str = "fp32"):
    """The profile the new rows run under: ``profile``'s knobs and data sizes, named ``custom-<profile>``."""
    from repro.profiles import get_profile

    base = get_profile(profile)
    prof = base.with_overrides(name=profile_name or f"custom-{base.name}", base=base.rows_profile)
    if prof.name in ("smoke", "local", "paper"):
        raise ConfigError(f"--profile-name {prof.name}: that is a declared profile; custom records need another name")
    return prof.with_table("1", dtype=dtype)


# --------------------------------------------------------------------------------------------- run
def run(new: NewModel, numbers: Sequence[str], prof, store, *, data_root=None, device=None, force: bool = False,
        echo: Callable = print) -> dict[str, list]:
    """Each table's unit(s) of the new row through the one runner; ``{number: records}``. A data problem of a
    table whose data is loaded up front (1, 3, 5) stops here (ReproError); Table 4's missing triplets give a
    not-run record saying how to fetch them, as in the declared profiles."""
    from repro.runner import run_table
    from repro.specs import get_spec

    out = {}
    for number in numbers:
        spec = get_spec(number)
        echo(f"\n== Table {number}: {new.label}")
        out[number] = run_table(spec, prof, store, data_root=data_root, device=device,
                                force=force or not new.named, rows=[new.row(number, spec)], echo=echo)
    return out


@dataclass
class Outcome:
    """What one evaluation produced: the model, its records per table, each table's frame, the model's own lines
    (``rows``, what :func:`evaluate` returns) and the folder its files went to (None: no files)."""

    new: NewModel
    records: dict
    frames: dict
    rows: object  # a pandas DataFrame
    out_dir: Path | None = None


def evaluate(model, *, tables=None, **kw):
    """``model`` through the paper's protocols that need no training; returns a pandas DataFrame, one line per
    (table, setting, column) of the new model with the tables' CSV columns: ``ours`` (the table's unit: Spearman
    x100, accuracy x100, ...), ``paper`` (the paper's row it is compared with, ``compare_with``) and ``diff``,
    ``status`` / ``reason`` for what did not run. The same numbers are in its records (``results_dir``, default
    ./results) and, when ``tables_dir`` is given, in the tables, SUMMARY.md and MTEB JSON written there (module
    docstring).

    ``model``: a hub id, a local folder, a word-vector name (glove-6B-50d ...), or any object with
    ``encode(list[str]) -> np.ndarray`` (run in this process; ``name=`` identifies it across runs, else it is
    evaluated afresh each time). ``tables``: some of 1, 3, 4, 5 (default: all). ``profile``: whose knobs and data
    sizes to use: the default ``local`` is the full protocol; ``smoke`` a quick look on small slices (40 STS pairs
    per sub-dataset, 30 SentEval examples per class and split, 30 AFS pairs per topic, 3 folds). Other keywords:
    :func:`evaluate_model`. Raises a :class:`repro.errors.ReproError` when no record finished (the reasons:
    a model that cannot be had, an ``encode`` that returns the wrong shape, data missing); a table that could not run
    while others did is a line with ``status`` not_run and its ``reason``."""
    out = evaluate_model(model, tables=tables, **kw)
    recs = [r for rs in out.records.values() for r in rs]
    if recs and not any(r.status == "ok" for r in recs):
        raise ReproError(f"{out.new.model}: nothing ran: " + "; ".join(dict.fromkeys(r.reason or r.status
                                                                                    for r in recs)))
    return out.rows


def evaluate_model(model, *, tables=None, name: str | None = None, kind: str | None = None,
                   pooling: str | None = None, layer: int = -1, max_seq_length: int | None = None,
                   dtype: str = "fp32", label: str | None = None, compare_with: str | None = None,
                   profile: str = "local", profile_name: str | None = None, results_dir="results", tables_dir=None,
                   fmt: str = "all", data_root=None, device: str | None = None, force: bool = False,
                   echo: Callable | None = None) -> Outcome:
    """:func:`evaluate`, returning everything it made (:class:`Outcome`); ``sbert-repro evaluate`` calls this."""
    from repro.env import check_device
    from repro.results import ResultStore

    echo = echo or (lambda m: print(m, flush=True))
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: allowed {', '.join(FORMATS)}")
    numbers = table_numbers(tables)
    check_device(device)
    new = new_model(model, name=name, kind=kind, pooling=pooling, layer=layer, max_seq_length=max_seq_length,
                    label=label, compare_with=compare_with)
    t0 = time.perf_counter()
    try:
        prof = custom_profile(profile, profile_name, dtype)
        store = ResultStore(results_dir)
        if new.kind == "transformer":
            _check_transformer(new, data_root)
        recs = run(new, numbers, prof, store, data_root=data_root, device=device, force=force, echo=echo)
    finally:
        if new.kind == "python":
            from repro.encoders.inprocess import unregister

            unregister(new.model)
    frames = build(new, recs, prof, store, tables_dir=tables_dir if fmt != "mteb" else None, echo=echo)
    mine = new_rows(frames, new, prof)
    out = None
    if tables_dir is not None:
        out = output_dir(tables_dir, prof, new)
        if fmt != "mteb":
            from repro.paths import atomic_write_text

            atomic_write_text(out / "SUMMARY.md", summary(new, prof, mine, frames, time.perf_counter() - t0))
            echo(f"  summary: {out / 'SUMMARY.md'}")
        if fmt != "tables":
            folder = write_mteb(new, recs, out / "mteb", store=store, data_root=data_root)
            echo(f"  MTEB-layout results: {folder}/")
    return Outcome(new, recs, frames, mine, out)


def console(rows) -> str:
    """The new model's numbers, one line per table (and setting): column value pairs, or why it did not run."""
    if rows is None or rows.empty:
        return "no numbers"
    lines = []
    for (table, group), sub in rows.groupby(["table", "group"], sort=False):
        head = f"Table {table}" + (f" ({group})" if group else "")
        ok = sub[sub["status"] == "ok"]
        if len(ok):
            lines.append(head + ": " + "  ".join(f"{c} {_fmt(v)}" for c, v in zip(ok["column"], ok["ours"])))
        for st, why in sub[sub["status"] != "ok"][["status", "reason"]].drop_duplicates().itertuples(index=False):
            lines.append(f"{head}: {st.replace('_', ' ')}: {why}")
    return "\n".join(lines)


def _check_transformer(new: NewModel, data_root) -> None:
    """Out-of-range settings stop before any model is loaded or record written (exit 2)."""
    from repro.errors import ModelNotAvailable
    from repro.training.recipes import resolve_base
    from repro.weights import check_model_settings, transformer_config

    if new.max_seq_length is not None and new.max_seq_length < 1:
        raise ConfigError(f"--max-seq-length {new.max_seq_length}: allowed 1..the model's maximum positions")
    try:
        folder = resolve_base(new.model, data_root)  # also checks the weight files (truncated: exit 2)
    except ModelNotAvailable:
        return  # recorded as not run, with the reason, by the run itself
    check_model_settings(transformer_config(folder), layer=new.layer, max_seq_length=new.max_seq_length,
                         model=new.model)


# --------------------------------------------------------------------------------------------- tables
def slug_of(new: NewModel) -> str:
    from repro.results import slug

    return slug(new.model.removeprefix("python:").replace("/", "-"))


def output_dir(tables_dir, prof, new: NewModel) -> Path:
    out = Path(tables_dir) / prof.name / slug_of(new)
    out.mkdir(parents=True, exist_ok=True)
    return out


def checked_records(store) -> list:
    """Every record of ``store`` when all are good (a copy, a hand edit or a torn file stops the build)."""
    found = store.check()
    if found.bad:
        raise RecordError("\n".join(found.bad))
    return found.records


def build(new: NewModel, recs: dict, prof, store, *, tables_dir=None, echo: Callable = print) -> dict:
    """Each run table's annotated frame over the paper's rows, the base profile's records and the new model's
    (``{number: frame}``); written as CSV/MD/PNG under :func:`output_dir` when ``tables_dir`` is given."""
    from repro.specs import get_spec
    from repro.tables.builder import build_frame, write_table
    from repro.tables.verdicts import annotate, rule

    every = checked_records(store)
    specs = {n: get_spec(n) for n in recs}
    rule_text = rule(specs.values())
    desc = (f"Profile **{prof.name}**: the model `{new.model}` evaluated with the knobs and data sizes of the "
            f"profile **{prof.rows_profile}**, beside that profile's rows and the paper's.")
    frames = {}
    for number, spec in specs.items():
        table_recs = [r for r in every if r.spec.table == number and (
            r.spec.profile == prof.rows_profile or (r.spec.profile == prof.name and r.spec.model == new.model))]
        if tables_dir is not None:
            collect: dict = {}
            paths = write_table(spec, table_recs, output_dir(tables_dir, prof, new), profile_desc=desc,
                                collect=collect, rule_text=rule_text)
            frames[number] = collect[number][0]
            echo(f"  Table {number}: " + ", ".join(str(p) for p in paths.values()))
        else:
            frames[number] = annotate(spec, build_frame(spec, table_recs), table_recs)
    return frames


def new_rows(frames: dict, new: NewModel, prof):
    """The new model's lines of every table frame, one DataFrame (columns as the tables' CSVs)."""
    import pandas as pd

    parts = [f[(f["profile"] == prof.name) & (f["model"] == new.model)] for f in frames.values()]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)


def _fmt(x, d=2) -> str:
    try:
        return "" if x is None or x != x else f"{float(x):.{d}f}"
    except (TypeError, ValueError):
        return ""


def summary(new: NewModel, prof, mine, frames: dict, seconds: float) -> str:
    """SUMMARY.md: one page for the model: its numbers per table beside the paper's row it is compared with (and
    the base profile's rows of that paper row), what did not run and why."""
    from repro import __version__
    from repro.specs import get_spec

    if new.kind == "python":
        what = f"a Python object of class `{new.cls}`" + ("" if new.named else ", unnamed: evaluated afresh each run")
    else:
        what = (f"kind {new.kind}, pooling {new.pooling or 'the model folder default'}, layer {new.layer}, "
                f"max_seq_length {new.max_seq_length or 'default'}")
    lines = [f"# {new.label}: the paper's unsupervised protocols", "",
             f"Model `{new.model}` ({what}); profile **{prof.name}** = the knobs and data sizes of "
             f"**{prof.rows_profile}**; sbert-repro {__version__}; {seconds:.0f} s for this call (records already "
             "finished are reused).", "",
             "Ours: this model; paper: the paper's row it is compared with (`--compare-with`), where the table has it. "
             "The full tables beside this file show every paper row and the base profile's rows.", ""]
    if mine is None or mine.empty:
        return "\n".join(lines + ["No record was written.", ""])
    for number in frames:
        spec = get_spec(number)
        sub = mine[mine["table"] == number]
        if sub.empty:
            continue
        lines += [f"## {spec.title}", ""]
        cols = list(dict.fromkeys(sub["column"]))
        has_group = (sub["group"] != "").any()
        head = (["Setting"] if has_group else []) + ["Row"] + cols
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for g, gsub in sub.groupby("group", sort=False):
            by_col = {c: r for c, r in zip(gsub["column"], gsub.to_dict("records"))}
            d = spec.decimals
            ours = [_fmt(by_col[c]["ours"], d) if c in by_col else "" for c in cols]
            lines.append("| " + " | ".join(([g] if has_group else []) + [f"**{new.label}**"]
                                           + [f"**{v}**" if v else "-" for v in ours]) + " |")
            prow = gsub["paper_row"].iloc[0]
            if prow:
                paper = [_fmt(by_col[c]["paper"], d) if c in by_col else "" for c in cols]
                lines.append("| " + " | ".join(([g] if has_group else []) + [f"paper: {prow}"]
                                               + [v or "-" for v in paper]) + " |")
        lines.append("")
        nr = sub[sub["status"].isin(["not_run", "failed"])][["status", "reason"]].drop_duplicates()
        for st, why in nr.itertuples(index=False):
            lines += [f"{'Failed' if st == 'failed' else 'Not run'}: {why}", ""]
    lines += ["## Files", "", "- the tables: `table*.csv|md|png` here (every paper row, the base profile's rows, this "
              "model's row)", "- MTEB layout: `mteb/` (one JSON per task; `mteb/**/sbert-repro.json` says where each "
              "field comes from)", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------- MTEB layout
MTEB_LAYOUT_VERSION = "1.18.6"
"""The MTEB release whose result layout :func:`write_mteb` follows: ``mteb.load_results.task_results.TaskResult``
(embeddings-benchmark/mteb; the fields ``dataset_revision``, ``evaluation_time``, ``kg_co2_emissions``,
``mteb_version``, ``scores`` = ``{split: [{..., "main_score", "hf_subset", "languages"}]}``, ``task_name``, as its
``to_disk`` writes them, scores rounded to 6 decimals) and the results repository's folders
``<model name with / as __>/<revision>/<TaskName>.json`` beside ``model_meta.json`` (``no_revision_available``
where the revision is unknown, MTEB's own folder name for that case)."""
MTEB_STS_TASKS = {"STS12": "STS12", "STS13": "STS13", "STS14": "STS14", "STS15": "STS15", "STS16": "STS16",
                  "STSb": "STSBenchmark", "SICK-R": "SICK-R"}
"""Table 1's columns -> MTEB's task names (the same test sets; MTEB's STS scores are fractions, main score
``cosine_spearman``)."""
MTEB_NOTES = {
    "mteb_version": "null: these numbers were computed by sbert-repro, not by MTEB; the layout followed is MTEB "
                    f"{MTEB_LAYOUT_VERSION}'s (field layout_version here)",
    "dataset_revision": "null: the suite reads its own sha256-checked copies of the datasets (repro/data/manifest.py), "
                        "not MTEB's Hugging Face datasets, so no MTEB dataset revision can be named; MTEB's TaskResult "
                        "declares it a string, so mteb's own loader refuses these files until a value is put in",
    "evaluation_time": "seconds of the record that produced the score; null for Table 1's tasks, which one record "
                       "timed together (its duration_s: field record_seconds per task here)",
    "kg_co2_emissions": "null: not measured",
    "scores": "fractions (our x100 numbers / 100), split 'test', hf_subset 'default', languages ['eng-Latn']; "
              "STS: main_score = cosine_spearman (Spearman of the cosine, the paper's and MTEB's main score), "
              "cosine_pearson; spearman / pearson repeat the cosine ones (the suite scores by cosine only); no "
              "euclidean / manhattan scores (not computed)",
    "STS12-16": "all sub-datasets pooled into one correlation, as MTEB's STS12-16 test sets and the paper; STS13 "
                "without its SMT subset (1,500 pairs, as MTEB's)",
    "SICK-R": "our SICK test split (4,927 pairs), the paper's; MTEB's SICK-R reads mteb/sickr-sts, which we believe "
              "holds all 9,927 SICK pairs (not checked here): compare with care",
    "non-MTEB tasks": "AFS-* (Table 3; main_score cosine_spearman, the paper's rho), WikipediaSectionsTriplets (Table "
                      "4; main_score euclidean_accuracy) and SentEval-* (Table 5; main_score accuracy; MR, CR, SUBJ, "
                      "MPQA are 10-fold cross-validation scores, filed under split 'test') have no MTEB task: they are "
                      "written in the same layout under our own task names, which MTEB's leaderboard does not know",
}


def mteb_model_dir(new: NewModel, data_root=None) -> tuple[str, str]:
    """(model folder name, revision folder name) in the results repository's layout."""
    revision = "no_revision_available"
    if new.kind == "transformer":
        try:
            from repro.training.recipes import resolve_base

            folder = Path(resolve_base(new.model, data_root))
            if folder.parent.name == "snapshots" and re.fullmatch(r"[0-9a-f]{40}", folder.name):
                revision = folder.name  # a Hugging Face cache snapshot: its commit
        except ReproError:
            pass
    # MTEB's model_name_as_path ("/" -> "__", " " -> "_"); other characters a folder name cannot hold everywhere -> "_"
    return re.sub(r"[^A-Za-z0-9._-]", "_", new.model.replace("/", "__")), revision


def mteb_tasks(new: NewModel, recs: dict) -> list[dict]:
    """One MTEB-layout task result per finished cell of the new model's records (a task's dict plus
    ``_record``: the record it came from)."""
    out = []
    langs = {"hf_subset": "default", "languages": ["eng-Latn"]}

    def task(name, scores, rec, seconds):
        out.append({"dataset_revision": None, "evaluation_time": seconds, "kg_co2_emissions": None,
                    "mteb_version": None, "scores": {"test": [{**{k: round(v, 6) for k, v in scores.items()},
                                                               **langs}]},
                    "task_name": name, "_record": rec})

    for number, records in recs.items():
        for rec in records:
            if rec.status != "ok":
                continue
            if number == "1":
                for col, mteb_name in MTEB_STS_TASKS.items():
                    m = rec.metrics.get(col)
                    if m:
                        rho, r = m["spearman_all"] / 100, m["pearson_all"] / 100
                        task(mteb_name, {"cosine_pearson": r, "cosine_spearman": rho, "main_score": rho,
                                         "pearson": r, "spearman": rho}, rec, None)
            elif number == "3":
                rho, r = rec.metrics["rho"]["x100"] / 100, rec.metrics["r"]["x100"] / 100
                setting = rec.spec.param_dict["setting"]
                task(f"AFS-{setting}", {"cosine_pearson": r, "cosine_spearman": rho, "main_score": rho}, rec,
                     rec.duration_s)
            elif number == "4":
                acc = rec.metrics["Euclidean"]["accuracy"]
                task("WikipediaSectionsTriplets", {"euclidean_accuracy": acc, "cosine_accuracy":
                                                   rec.metrics["cosine"]["accuracy"], "main_score": acc}, rec,
                     rec.duration_s)
            elif number == "5":
                for col, m in rec.metrics.items():
                    scores = {"accuracy": m["acc"] / 100, "main_score": m["acc"] / 100}
                    if "f1" in m:
                        scores["f1"] = m["f1"] / 100
                    task(f"SentEval-{col}", scores, rec, rec.duration_s)
    return out


def write_mteb(new: NewModel, recs: dict, root, *, store=None, data_root=None) -> Path:
    """Write the new model's finished numbers in MTEB's result layout under ``root``; returns the revision folder.
    Beside the task files: ``model_meta.json`` (MTEB's ModelMeta fields; unknown ones null) and
    ``sbert-repro.json`` (the layout version, where each field comes from, the record behind each task)."""
    from repro.paths import atomic_write_text

    model_dir, revision = mteb_model_dir(new, data_root)
    folder = Path(root) / model_dir / revision
    folder.mkdir(parents=True, exist_ok=True)
    provenance = {"layout": "MTEB TaskResult + results repository folders", "layout_version": MTEB_LAYOUT_VERSION,
                  "notes": MTEB_NOTES, "tasks": {}}
    for t in mteb_tasks(new, recs):
        rec = t.pop("_record")
        atomic_write_text(folder / f"{t['task_name']}.json", json.dumps(t, indent=2, sort_keys=True) + "\n")
        provenance["tasks"][t["task_name"]] = {
            "table": rec.spec.table, "record": str(store.path_for(rec.spec)) if store is not None else rec.spec.id,
            "record_seconds": rec.duration_s, "mteb_task": t["task_name"] in MTEB_STS_TASKS.values()}
    meta = {"name": new.model, "revision": None if revision == "no_revision_available" else revision,
            "release_date": None, "languages": None, "n_parameters": None, "memory_usage": None,
            "max_tokens": new.max_seq_length, "embed_dim": None, "license": None, "open_source": None,
            "similarity_fn_name": "cosine", "framework": ["PyTorch"] if new.kind == "transformer" else [],
            "loader": None}
    atomic_write_text(folder / "model_meta.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
    atomic_write_text(folder / "sbert-repro.json", json.dumps(provenance, indent=2) + "\n")
    return folder


__all__ = ["PROTOCOL_TABLES", "NewModel", "Outcome", "console", "evaluate", "evaluate_model", "new_model", "run",
           "write_mteb", "mteb_tasks"]
