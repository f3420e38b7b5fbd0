"""The speed task (Table 7): sentences per second on this machine, and the "65 hours vs 5 seconds" claim.

Speed is a property of hardware, so every record names the hardware it was measured on (its model reads
``<model> on <CPU or GPU>``) and is filed beside the paper's i7-5820K / V100 numbers. All rows come from one
interleaved run of the speed suite (:func:`repro.speed.bench.run_suite`: one process, candidates interleaved,
median of several rounds, tokenisation included), so this task measures the whole table at once: the one runner
calls :meth:`SpeedTask.run_table` instead of the per-unit ``load`` / ``build`` / ``evaluate``. Each row becomes one
record whose ``details`` keep all rounds, batch size, dtype, padding and the faithfulness check, and whose ``env``
keeps hardware and library versions.

Everything the table declares reaches the task through the spec the runner passes, never by importing it: the
rows (a measured row is option ``section`` x option ``case``, its claim group option ``group``; a row of kind
``unavailable`` is written as not run with its reason), the columns this task's metrics must be among, the knobs
(the preset and settings per profile, :func:`repro.speed.presets.settings_for`) and the reference (the paper's
numbers shown in the bench report).
"""

from __future__ import annotations

from pathlib import Path

from repro.errors import ConfigError, ModelNotAvailable, ReproError
from repro.results import ResultRecord, ResultStore, RunSpec, run
from repro.speed.presets import (INFERSENT_LABEL, INFERSENT_SUBSTITUTE, PROFILE_PRESET, QUICK, SPEED_CHOICES, Settings,
                                 glove_substitute, preset, record_profile, setting_suffix, settings_for, use_label)

DEVICE_COLUMN = {"cpu": "CPU", "cuda": "GPU"}  # the column a device's speeds go to
VS_PEER = "{} vs peer"  # a speed divided by sentence-transformers' encode() in the same run
VS_SMART = "vs smart batching"  # InferSent's / USE's speed divided by SBERT-base with smart batching in the same run
OTHER_MODELS = ("infersent", "use")  # encode cases of another model than SBERT: compared with smart batching


class SpeedTask:
    """Table 7's task: the whole table measured in one run (``run_table``), one record per row."""

    name = "speed"

    def settings(self, spec, profile, **overrides) -> Settings:
        """What ``profile`` measures with: the spec's knobs for it (``preset`` and any :class:`Settings` field),
        then ``overrides``."""
        return settings_for(spec.knobs(profile), profile.name, **overrides)

    def choose(self, spec, profile, store: ResultStore, hw: str, speed: str = "auto") -> Settings:
        """The settings ``reproduce --speed`` asks for on the machine labelled ``hw``: ``full`` the profile's own
        (:meth:`settings`), ``quick`` the quick preset (a few minutes), ``auto`` the profile's own where this machine
        already has records of it or the profile is not the local one (smoke is small already, paper measures in
        full), else quick. Quick rows name their setting in the model label, so the two are never mixed."""
        from repro.errors import choose

        full = self.settings(spec, profile)
        choose(speed, SPEED_CHOICES, "--speed")
        if speed == "full" or full.name == QUICK:
            return full
        if speed == "quick":
            return preset(QUICK)
        if PROFILE_PRESET.get(profile.name) != "local" or full.name != "local" or has_records(
                spec, store, record_profile(profile.name, full), hw, full):
            return full
        return preset(QUICK)

    def run_table(self, spec, profile, store: ResultStore, ctx) -> list[ResultRecord]:
        """Measure ``spec``'s rows on ``ctx.device`` (default: CUDA when available, else CPU), one record per row.

        Run options (the one runner's extra keywords, ``ctx.extra``): ``settings`` (a :class:`Settings`; default:
        :meth:`settings`), ``threads`` (CPU threads, default 2), ``report_dir`` (where the bench report
        ``table7_bench_<preset>_<device>.{json,md,png}`` goes; default: none), ``sweep`` (also sweep the fast
        path's settings) and ``command`` (the command line, written into the report).
        """
        return _measure(spec, profile, store, ctx, **ctx.extra)


SPEED = SpeedTask()


def has_records(spec, store: ResultStore, profile_name: str, hw: str, settings: Settings) -> bool:
    """Whether ``store`` holds a finished record of ``settings`` measured on ``hw`` for the table."""
    tail = f" on {hw}{setting_suffix(settings)}"
    return any(r.status == "ok" and r.spec.model.endswith(tail) and r.spec.param_dict.get("preset") == settings.name
               for r in store.load(table=spec.number, profile=profile_name))


def machine_label(device: str | None = None, threads: int | None = 2) -> str:
    """The hardware label Table 7's records of ``device`` carry (:func:`repro.speed.timing.hardware_label`), without
    measuring anything: the GPU's name, or the CPU model and the thread count the task times with."""
    from repro.env import cpu_model
    from repro.speed.timing import hardware_label

    dev = device or "cpu"
    if dev.startswith("cuda"):
        import torch

        return torch.cuda.get_device_properties(torch.device(dev).index or 0).name
    return hardware_label({"device": "cpu", "cpu": cpu_model(), "torch_threads": threads})


def planned(spec, profile, store: ResultStore, *, device: str | None = None, speed: str = "auto") -> dict:
    """What Table 7 will do on this machine (for the estimate before a run): ``settings`` (its preset), ``hw`` and
    ``reuse`` (records of that setting on this machine exist: nothing is measured unless --force)."""
    import torch

    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    hw = machine_label(dev)
    settings = SPEED.choose(spec, profile, store, hw, speed)
    return {"settings": settings, "hw": hw, "device": dev,
            "reuse": has_records(spec, store, record_profile(profile.name, settings), hw, settings)}


def _measure(spec, profile, store: ResultStore, ctx, *, settings: Settings | None = None, threads: int | None = 2,
             report_dir: str | Path | None = None, sweep: bool = False, command: str | None = None,
             speed: str = "auto") -> list[ResultRecord]:
    import torch

    from repro.encoders import fast
    from repro.speed.bench import run_suite, torch_threads, write_report
    from repro.speed.timing import environment, hardware_label

    echo, force = ctx.echo, ctx.force
    device = ctx.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dev_type = torch.device(device).type
    if dev_type not in DEVICE_COLUMN:
        raise ConfigError(f"--device {device}: Table {spec.number} has CPU and GPU (cuda) columns only")
    col = DEVICE_COLUMN[dev_type]
    missing = [c for c in (col, VS_PEER.format(col), VS_SMART) if c not in spec.columns]
    if missing:
        raise ConfigError(f"Table {spec.number}'s spec declares no column {', '.join(map(repr, missing))}, which the "
                          "speed task writes: add it to the spec's columns")
    measured, not_run_rows = _declared(spec)
    with torch_threads(threads if dev_type == "cpu" else None):
        env = environment(device)
    hw = hardware_label(env)
    settings = settings or SPEED.choose(spec, profile, store, hw, speed)
    profile_name = record_profile(profile.name, settings)
    with torch_threads(threads if dev_type == "cpu" else None):
        precision = settings.precision or fast.default_precision(device)  # measured once per CPU and threads
    records: list[ResultRecord] = []

    # This profile's rows the suite cannot produce: recorded as not run, with the reason.
    own = {r.model for r in spec.rows_for(profile) if r.kind == "unavailable"}
    for row in (r for r in not_run_rows if r.model in own):
        rs = RunSpec.make(table=spec.number, model=row.model, profile=profile_name, task="speed",
                          params={"group": "", "device": device})
        records.append(run(rs, _raise(ModelNotAvailable(row.not_run)), store, force=force, log=echo,
                           row=row.describe()))

    failure: ReproError | None = None
    try:
        from repro.speed.timed_models import speed_model

        model = speed_model(settings.model, settings.weights, data_root=ctx.data_root)
        model_label, substitute = model.label, model.substitute
    except ReproError as e:
        model_label, substitute, model = settings.model, None, None
        failure = e
    sections = _sections_for(settings, dev_type)
    specs, words = {}, {}
    for section in sections:
        for case in _cases(section, settings, precision):
            row = measured.get((section, case))
            if row is None:
                raise ConfigError(f"Table {spec.number}'s spec declares no row for section {section!r}, case "
                                  f"{case!r}, which preset {settings.name!r} measures: add a row with options "
                                  f"section={section!r}, case={case!r}")
            label, sub = model_label, substitute
            if (section, case) == ("encode", "infersent"):
                label, sub = INFERSENT_LABEL, INFERSENT_SUBSTITUTE
            if section == "glove":
                label, sub = settings.glove, glove_substitute(settings.glove)
            if (section, case) == ("encode", "use"):  # the handle timed; another one than the row's is said so
                label = use_label(settings.use)
                sub = None if settings.use == row.model else f"{settings.use} instead of {row.model}"
            specs[(section, case)] = _run_spec(spec.number, row, section, case, profile_name=profile_name,
                                               model_label=label, hw=hw, device=dev_type, settings=settings,
                                               extra={"precision_used": precision if case == "fast" else "fp32"})
            words[(section, case)] = {**row.describe(), "substitute": sub}
    if model is None:
        for key, rs in specs.items():
            records.append(run(rs, _raise(failure), store, force=force, log=echo, row=words[key]))
        return records

    todo = [s for s in sections if force or any(
        (store.get(specs[(s, c)]) is None or store.get(specs[(s, c)]).status != "ok")
        for c in _cases(s, settings, precision))]
    report = None
    if todo:
        echo(f"[table {spec.number}] measuring {', '.join(todo)} on {hw} ({device}), preset '{settings.name}'")
        report = run_suite(settings, device, data_root=ctx.data_root, threads=threads, sections=tuple(todo),
                           do_sweep=sweep, echo=echo)
        if report_dir is not None:
            paths = write_report(report, report_dir, f"table{spec.number}_bench_{settings.name}_{dev_type}",
                                 command, paper=_paper(spec, measured, col))
            echo(f"  report: {paths['md']}")
    not_run = (report or {}).get("not_run", {})
    for (section, case), rs in specs.items():
        if section not in todo:  # finished earlier: the cached record
            records.append(run(rs, _raise(ReproError(f"section {section} was not measured")), store, log=echo,
                               row=words[(section, case)]))
            continue
        sec = report["sections"].get(section)
        why = not_run.get(f"{section}/{case}") or not_run.get(section)
        if why or sec is None or ("cases" in sec and case not in sec["cases"]):
            err = ReproError(why or f"{section}/{case} was not measured on {device}")
            if f"{section}/{case}" in (report or {}).get("by_design", ()):
                err.must_fix = False
            records.append(run(rs, _raise(err), store, force=True, log=echo, row=words[(section, case)]))
            continue
        metrics, details = _row_values(report, section, case, col)
        records.append(run(rs, lambda s, m=metrics, d=details: (m, d), store, force=True, log=echo,
                           env=lambda: {"hardware": report["env"], "versions": report["env"].get("versions")},
                           row=words[(section, case)]))
    return records


def _declared(spec) -> tuple[dict, list]:
    """The spec's measured rows by (section, case) and its rows not run, over every profile's rows: a preset
    other than the profile's own (``bench --preset full`` under the local profile) may measure a row the profile
    does not list."""
    measured, unavailable = {}, {}
    for rows in spec.rows.values():
        for row in rows:
            if row.kind == "measured":
                measured.setdefault((row.opt("section"), row.opt("case")), row)
            elif row.kind == "unavailable":
                unavailable.setdefault(row.model, row)
    return measured, list(unavailable.values())


def _run_spec(table: str, row, section: str, case: str, *, profile_name: str, model_label: str, hw: str,
              device: str, settings: Settings, extra: dict | None = None) -> RunSpec:
    """A measured row's record identity: keyed by the hardware (in the model) and what was measured."""
    return RunSpec.make(
        table=table, model=f"{model_label} on {hw}{setting_suffix(settings)}", profile=profile_name,
        task=f"speed-{section}",
        params={"group": row.opt("group"), "device": device, "case": case, "preset": settings.name,
                "n_sentences": settings.n_sentences, "batch_size": settings.batch_size,
                "precision": settings.precision, "token_budget": settings.token_budget,
                "repeats": settings.repeats, "seed": settings.seed, **(extra or {})},
    )


def _sections_for(settings: Settings, device_type: str) -> list[str]:
    out = []
    for s in settings.sections:
        if s == "glove" and (device_type != "cpu" or not settings.glove):
            continue
        if s == "cross" and not (settings.cross_pairs and device_type in settings.cross_pairs):
            continue
        if s == "e2e" and not settings.e2e_n:
            continue
        out.append(s)
    return out


def _cases(section: str, settings: Settings, precision: str) -> list[str]:
    """The cases :func:`repro.speed.bench.run_suite` measures in ``section`` with ``settings``."""
    if section == "encode":
        cases = ["plain", "smart", "fast"] + (["fast_fp32"] if precision != "fp32" else [])
        return (cases + (["peer"] if settings.peer else []) + (["infersent"] if settings.infersent else [])
                + (["use"] if settings.use else []))
    if section == "glove":
        return ["glove"]
    if section == "cross":
        return ["plain", "fast"]
    return ["fast"] + (["plain"] if settings.e2e_plain else [])


def _raise(err: Exception):
    def fn(spec):
        raise err

    return fn


def _row_values(report: dict, section: str, case: str, col: str) -> tuple[dict, dict]:
    sec = report["sections"][section]
    common = {"hardware": report["hardware"], "model": report["model"], "settings": report["settings"]}
    if section == "encode":
        c = sec["cases"][case]
        metrics = {col: {"value": c["per_second"]}}
        if c.get("vs_peer") is not None and case not in OTHER_MODELS:
            metrics[VS_PEER.format(col)] = {"value": c["vs_peer"]}
        if case in OTHER_MODELS and c.get("vs_smart") is not None:
            metrics[VS_SMART] = {"value": c["vs_smart"]}
        details = {**common, "case": c, "n": sec["n"], "tokens": sec["tokens"], "mean_tokens": sec["mean_tokens"],
                   "loadavg": [sec["loadavg_before"], sec["loadavg_after"]]}
        return metrics, details
    if section == "glove":
        return {col: {"value": sec["per_second"]}}, {**common, "case": sec}
    if section == "cross":
        c = sec["cases"][case]
        return ({col: {"value": c["hours_all_pairs"]}},
                {**common, "case": c, "pairs_timed": sec["pairs"], "all_pairs": sec["all_pairs"]})
    c = sec["cases"][case]  # the quick setting: the search over e2e_target sentences, extrapolated (the case says)
    return ({col: {"value": c.get("total_s_target", c["total_s"])}},
            {**common, "case": c, "n": sec["n"], "target_n": sec.get("target_n", sec["n"])})


def _paper(spec, measured: dict, col: str):
    """The paper's numbers for the bench report, from the spec's reference: SBERT-base with and without smart
    batching in ``col``, and the claim's hours and seconds (stated for the GPU)."""
    from repro.speed.bench import Paper

    ref = spec.reference()

    def value(key, column):
        row = measured.get(key)
        if row is None or not row.paper_row:
            return None
        hit = ref[(ref["group"] == (row.opt("group") or "")) & (ref["paper_row"] == row.paper_row)
                  & (ref["column"] == column)]["value"].dropna()
        return float(hit.iloc[0]) if len(hit) else None

    encode = {}
    for key in (("encode", "plain"), ("encode", "smart")):
        v = value(key, col)
        if v is not None:
            encode[f"paper: {measured[key].paper_row} (the paper's {col})"] = v
    return Paper(encode=encode, claim_hours=value(("cross", "plain"), "GPU"),
                 claim_seconds=value(("e2e", "plain"), "GPU"))
