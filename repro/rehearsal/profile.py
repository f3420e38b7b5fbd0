"""The rehearsal of a profile, derived mechanically: ``paper`` -> ``paper-rehearsal`` (no torch).

A rehearsal runs a profile's own declarations (rows, seeds, dependency graph, protocol choices, code paths) with
each input swapped for a miniature of the same format (:mod:`repro.rehearsal.datasets`, :mod:`.models`) and every
amount capped: data items per dataset, optimizer steps per training run, items per evaluation. Nothing here names a
row or a table: the derived profile keeps the original's rows (``Profile.base``) and its table knobs, and only the
knobs that *are* amounts are capped, wherever any profile of a table declares them (:data:`KNOB_CAPS`, recursively
into nested settings such as Table 3's ``sbert`` / ``cross``). So a row added to the paper profile is rehearsed with
no further work, and a new amount knob needs one entry in :data:`KNOB_CAPS`.

The rehearsal's records carry its own profile name (``paper-rehearsal``): they never mix with the real profile's
records, and its tables go to ``tables/paper-rehearsal/``.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Mapping

SUFFIX = "-rehearsal"
MARK = "REHEARSAL: miniature inputs, numbers meaningless"
"""Written on every table and report of a rehearsal."""

ITEMS = 48
"""Items per (sub-)dataset of the miniatures, and the most any evaluation or training reads."""
STEPS = 2
"""Optimizer steps per training run."""

TRAINING_CAPS = {"train_limit": ITEMS, "dev_limit": ITEMS, "nli_max_steps": STEPS, "stsb_max_steps": STEPS,
                 "eval_steps": 1, "checkpoint_steps": STEPS}
"""Caps on ``Profile.training`` (Tables 2 and 6, and the NLI models other tables score)."""

KNOB_CAPS = {
    # data items
    "limit": ITEMS, "train_limit": ITEMS, "test_limit": ITEMS, "dev_limit": ITEMS,
    # training
    "max_steps": STEPS, "eval_steps": 1, "checkpoint_steps": STEPS,
    # speed measurements (repro.speed.presets.Settings fields)
    "n_sentences": ITEMS, "repeats": 1, "warmup_sentences": 8, "e2e_n": ITEMS, "e2e_repeats": 1, "retries": 0,
    "cross_pairs": {"cpu": 8, "cuda": 8},
}
"""A table knob of one of these names is an amount: the rehearsal caps it wherever a table's declarations (any
profile's) use the name, at its top level or inside a nested settings dict."""

TASK_CAPS = {"senteval": {"kfold": 2}}
"""Amounts of work inside one unit that only a task knows to be amounts, by task (a table's ``evaluator``): the
SentEval classifier's folds (outer and inner cross-validation: 2 x 2 x the penalty grid instead of 10 x 10 x it; the
same code path). Never a knob that decides how many units there are (Table 3's ``kfold`` makes fold units)."""


def is_rehearsal(name: str) -> bool:
    return str(name).endswith(SUFFIX)


def base_name(name: str) -> str:
    """``paper-rehearsal`` -> ``paper``; a plain profile name stays."""
    return name[: -len(SUFFIX)] if is_rehearsal(name) else name


def rehearsal_name(name: str) -> str:
    return f"{base_name(name)}{SUFFIX}"


SKIPPED_WHEN_NONE = ("e2e_n", "cross_pairs")
"""Amounts whose None means "not measured" (a speed preset without the section), not "all": they stay None."""


def _cap(value, cap, name: str = ""):
    """``value`` capped at ``cap``: None ("all", "no limit") becomes the cap, except for :data:`SKIPPED_WHEN_NONE`;
    dicts per key."""
    if value is None and name in SKIPPED_WHEN_NONE:
        return None
    if isinstance(cap, Mapping):
        value = dict(value) if isinstance(value, Mapping) else {}
        return {**value, **{k: _cap(value.get(k), c) for k, c in cap.items()}}
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return cap
    return min(value, cap)


def _declared(spec) -> dict:
    """Every knob name the table declares for any profile, with the nested keys of its dict-valued knobs."""
    out: dict = {}
    for knobs in spec.defaults.values():
        for k, v in knobs.items():
            if isinstance(v, Mapping):
                out.setdefault(k, set()).update(v)
            else:
                out.setdefault(k, None)
    return out


def capped_knobs(spec, profile) -> dict:
    """The overrides that cap ``spec``'s amount knobs for ``profile`` (the profile being rehearsed)."""
    knobs = spec.knobs(profile)
    out: dict = {}
    for name, nested in _declared(spec).items():
        if name in KNOB_CAPS and nested is None:
            out[name] = _cap(knobs.get(name), KNOB_CAPS[name])
        elif nested:
            caps = {k: KNOB_CAPS[k] for k in nested if k in KNOB_CAPS and not isinstance(KNOB_CAPS[k], Mapping)}
            if caps:
                current = dict(knobs.get(name) or {})
                out[name] = {**current, **{k: _cap(current.get(k), c) for k, c in caps.items()}}
    for name, cap in TASK_CAPS.get(spec.evaluator, {}).items():
        out[name] = _cap(knobs.get(name), cap)
    if spec.evaluator == "speed":  # measured with the profile's own preset, its amounts capped
        from repro.speed.presets import PROFILE_PRESET, Settings

        amounts = {f.name for f in fields(Settings)} & set(KNOB_CAPS)
        preset = knobs.get("preset", PROFILE_PRESET.get(profile.name, "local"))
        from repro.speed.presets import preset as get_preset

        settings = get_preset(preset)
        out["preset"] = preset
        out.update({k: _cap(getattr(settings, k), KNOB_CAPS[k], k) for k in sorted(amounts)})
    return out


def derive(profile, specs: Mapping) -> "object":
    """The rehearsal of ``profile`` (a :class:`repro.profiles.Profile`) over the tables ``specs`` (number ->
    declaration): same rows (``base``), seeds and table knobs; the amounts capped (:data:`TRAINING_CAPS`,
    :data:`KNOB_CAPS`, ``data_limit`` = :data:`ITEMS`)."""
    training = {**profile.training, **{k: _cap(profile.training.get(k), c) for k, c in TRAINING_CAPS.items()}}
    out = replace(profile, name=rehearsal_name(profile.name), base=profile.rows_profile,
                  description=f"{MARK}: the '{profile.name}' profile's units on miniature data and tiny random models, "
                              f"{STEPS} steps per training run, at most {ITEMS} items per dataset",
                  data_limit=ITEMS if profile.data_limit is None else min(profile.data_limit, ITEMS),
                  training=training)
    for number, spec in specs.items():
        caps = capped_knobs(spec, profile)
        if caps:
            out = out.with_table(number, **caps)
    return out
