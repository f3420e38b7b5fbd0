"""Tables as declarations: one :class:`TableSpec` per table, one :class:`Row` type for every table.

A spec says everything about a table that is not code: title, columns, main metric, the paper's reference CSV
and how it maps onto our columns, notes, the datasets it reads, which task scores its rows (a name of
:data:`repro.tasks.TASKS`, imported only when something runs), which training it needs, and its rows and knobs per
profile. Specs import neither torch nor the pipelines, so ``sbert-repro plan``, ``profiles`` and ``tables``
read them in a fraction of a second.

Specs are discovered, not listed by hand: every ``repro/specs/table*.py`` module with a ``SPEC``, plus the
modules named in ``$SBERT_REPRO_SPECS`` (comma-separated; a table of your own, e.g. in a test).

A spec turns a profile into :class:`Unit` s (``spec.units(profile)``, see :func:`row_units`): each evaluation unit
is one result record (its id is the record's id), each training unit one training run with the units it depends
on. The runner (:mod:`repro.runner`) runs evaluation units; ``plan`` lists both.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from repro.errors import ConfigError
from repro.profiles import PROFILES
from repro.results import RunSpec
from repro.tables.declaration import TableDef

TRAINED_KINDS = ("sbert", "cross", "nli-trained")
"""Row kinds whose model is trained here (judged on seed means); the other kinds score a fixed model."""
ROW_KINDS = ("transformer", "wordvec", "infersent", "use", "tfidf", "sbert", "cross", "nli-trained", "unavailable",
             "measured", "python")
"""What produces a row's numbers: an untuned transformer (pooled embeddings), averaged word vectors, InferSent
(its release files), the Universal Sentence Encoder (``use``: a TF-Hub handle or SavedModel folder, with the
optional extra ``sbert-repro[use]``), tf-idf, a
bi-encoder (``sbert``) or cross-encoder (``cross``) trained here, the SBERT-NLI model this profile trains from
``model`` (``nli-trained``: Table 2's NLI stage, scored untuned elsewhere, e.g. Tables 1 and 5), a model the suite
cannot run (``unavailable``, with ``not_run`` saying why), a speed measurement (``measured``, Table 7), or a Python
object with ``encode`` run in this process (``python``: ``repro.evaluate(obj)``, :mod:`repro.encoders.inprocess`)."""


@dataclass(frozen=True)
class Row:
    """One row of one table, in one profile.

    ``label`` is what our table prints; ``paper_row`` the paper's row it is compared with (None: an extra row);
    ``substitute`` says in words what stands in for the paper's set-up: a deviation from the paper's protocol
    (the row is "not comparable"), unless ``faithful``: then the note only says where the weights come from (the
    authors' released checkpoint, a model this suite trains with the paper's recipe) and the row is judged against
    ``paper_row``. None of these is part of a record's identity: rewording them reruns nothing. ``options`` holds
    a table's own choices (e.g. Table 2's training recipe, Table 3's settings), read with :meth:`opt`.
    """

    label: str
    model: str
    kind: str = "transformer"
    pooling: str | None = None  # None: the model folder's own setting (sentence-transformers), else mean
    layer: int = -1
    max_seq_length: int | None = None
    truncation: str = "total"  # what max_seq_length counts (repro.encoders.base.TRUNCATIONS); "pieces+2": v0.2.3
    paper_row: str | None = None
    substitute: str | None = None
    not_run: str | None = None  # kind "unavailable": why the suite cannot produce this row
    faithful: bool = False  # the substitute note names no protocol deviation: judged (repro.tables.verdicts)
    options: Any = ()  # a dict when written; stored as sorted (key, value) pairs

    def __post_init__(self):
        if self.kind not in ROW_KINDS:
            raise ConfigError(f"row {self.label!r}: unknown kind {self.kind!r}; allowed: {', '.join(ROW_KINDS)}")
        if isinstance(self.options, Mapping):
            object.__setattr__(self, "options", tuple(sorted(self.options.items())))

    def opt(self, key: str, default=None):
        return dict(self.options).get(key, default)

    def encoder_params(self) -> dict:
        """What of the row decides its embeddings (a part of the record's identity; ``truncation`` only where it
        is not ``total``, so the records written before it keep theirs)."""
        out = {"kind": self.kind, "pooling": self.pooling, "layer": self.layer,
               "max_seq_length": self.max_seq_length}
        if self.truncation != "total":
            out["truncation"] = self.truncation
        return out

    def describe(self) -> dict:
        """The row's words, kept in each record's details (for records no declaration speaks for any more)."""
        return {"label": self.label, "paper_row": self.paper_row, "substitute": self.substitute}


@dataclass(frozen=True)
class Unit:
    """One thing a profile runs: an evaluation (``run``: the record it writes) or a training (``stage``).

    ``needs``: ids of the units that must finish first; ``datasets``: manifest names it reads; ``models``: the
    weights it loads (hub ids, ``smoke-bert``, word-vector names).
    """

    table: str
    what: str  # "evaluate" | "train"
    row: Row | None = None
    run: RunSpec | None = None
    stage: Any = None  # a repro.training.recipes.Stage (or another frozen object with .name / .to_dict())
    column: str | None = None
    seed: int | None = None
    fold: str | None = None
    needs: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    not_implemented: str | None = None
    uid: str | None = None  # an explicit id, for units whose record identity is known only when run (Table 7)

    @property
    def id(self) -> str:
        """Stable: an evaluation unit's is its record's id; a training unit's the hash of everything it trains
        with (the same run shared by two tables has one id)."""
        if self.uid:
            return self.uid
        if self.run is not None and self.what == "evaluate":
            return f"t{self.table}-{self.run.id}"
        key = getattr(self.stage, "key", None) or _hash(self.stage.to_dict())
        return f"train-{key}"

    @property
    def label(self) -> str:
        if self.what == "train":
            return getattr(self.stage, "name", "training")
        parts = [self.row.label if self.row else (self.run.model if self.run else "")]
        if self.column:
            parts.append(self.column)
        if self.fold:
            parts.append(self.fold)
        if self.seed is not None:
            parts.append(f"seed {self.seed}")
        return " / ".join(parts)


def _hash(obj) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def training_unit(table: str, stage, *, datasets=(), models=(), needs=()) -> Unit:
    return Unit(table=table, what="train", stage=stage, datasets=tuple(datasets), models=tuple(models),
                needs=tuple(needs))


@dataclass(frozen=True)
class Cell:
    """One evaluation of a row (one unit, one record), declared by a spec's ``cells``.

    ``key`` goes, as keywords, to the spec's ``run_spec`` (the record's identity) and ``stages`` (the training the
    unit needs); ``column`` and ``seed`` name the unit in plans and echoes (and tell the task which column it
    scores); ``datasets``: what it reads (None: the spec's ``datasets``).
    """

    key: Any = ()  # a dict when written; stored as sorted (name, value) pairs
    column: str | None = None
    seed: int | None = None
    datasets: tuple[str, ...] | None = None

    def __post_init__(self):
        if isinstance(self.key, Mapping):
            object.__setattr__(self, "key", tuple(sorted(self.key.items())))


def per_column(knob: str = "columns", key: str = "column", datasets: Callable | None = None) -> Callable:
    """``cells`` of a table that scores each column in a record of its own (Table 5: one per SentEval task): the
    columns listed by the knob ``knob`` (default: the spec's columns), each passed to ``run_spec`` as ``key``;
    ``datasets(column)``: what that column reads."""

    def cells(spec, row, profile) -> list[Cell]:
        return [Cell({key: c}, column=c, datasets=tuple(datasets(c)) if datasets else None)
                for c in spec.knobs(profile).get(knob, spec.columns)]

    return cells


def per_seed(seeded: Callable = lambda row: True, column: str | None = None, datasets=None) -> Callable:
    """``cells`` of a table that runs its rows once per seed (knob ``seeds``, default the profile's): rows for which
    ``seeded(row)`` is false have one unit without a seed (seed None)."""

    def cells(spec, row, profile) -> list[Cell]:
        seeds = tuple(spec.knobs(profile).get("seeds", profile.seeds)) if seeded(row) else (None,)
        return [Cell({"seed": s}, column=column, seed=s, datasets=datasets) for s in seeds]

    return cells


@dataclass
class TableSpec(TableDef):
    """A table: how it is built (the :class:`TableDef` fields) and what runs to fill it.

    ``rows``: profile -> rows; ``defaults``: ``{"*": knobs for every profile, "<profile>": overrides}`` (a
    per-table default lives here once). ``evaluator``: the task that scores the rows, a name of
    :data:`repro.tasks.TASKS` (``"module:object"`` for a task of your own). ``training``: which recipe trains its
    rows, in words (``plan`` shows it).

    How a profile becomes units (:func:`row_units`), declared: ``cells(spec, row, profile) -> [Cell]`` (default:
    one unit per row; :func:`per_column`, :func:`per_seed`), ``stages(spec, row, profile, **cell key) -> Stage,
    [Stage] or None`` (the training a unit needs, listed before it with the stages it continues),
    ``check(spec, profile)`` (bad knobs fail before anything runs), ``order(row, cell)`` (a sort key of the units;
    default: row by row). ``make_units(spec, profile) -> [Unit]`` replaces all of that (Table 7: units keyed by
    hardware). ``run_spec(spec, row, profile, **cell key) -> RunSpec`` gives a unit's record identity;
    ``match(row, record) -> bool`` says which declared row a record belongs to (default: same model, same encoder
    settings).
    """

    datasets: tuple[str, ...] = ()
    evaluator: str = ""
    training: str = ""
    rows: Mapping[str, tuple] = field(default_factory=dict)
    defaults: Mapping[str, Mapping] = field(default_factory=dict)  # the table's knobs: {"*": ..., "<profile>": ...}
    cells: Callable | None = None
    stages: Callable | None = None
    check: Callable | None = None
    order: Callable | None = None
    make_units: Callable | None = None
    make_rows: Callable | None = None  # (spec, profile) -> rows, for rows that follow a knob (Table 6's body)
    run_spec: Callable | None = None
    match: Callable | None = None
    substitute: Callable | None = None  # (row, profile) -> text, where it follows the profile (training notes)
    row_unavailable: Callable | None = None  # (spec, row, profile) -> the one RunSpec of a row that cannot run
    # (row) -> bool: the row's model is trained here (its cells are judged on seed means, repro.tables.verdicts);
    # default: its kind is one of TRAINED_KINDS
    is_trained: Callable | None = None
    task: str = ""  # the record's task for the default run_spec

    # ----------------------------------------------------------------------------------------- per profile
    def knobs(self, profile) -> dict:
        """This table's settings for ``profile``: the spec's own (``*``, then the profile's), then the profile's
        per-table overrides (``Profile.tables[number]``)."""
        base = getattr(profile, "base", None) or profile.name
        out = {**self.defaults.get("*", {}), **self.defaults.get(base, {})}
        out.update((getattr(profile, "tables", None) or {}).get(self.number, {}))
        return out

    def rows_for(self, profile) -> list[Row]:
        knobs = self.knobs(profile)
        if "rows" in knobs:
            return list(knobs["rows"])
        if self.make_rows is not None:
            return list(self.make_rows(self, profile))
        base = getattr(profile, "base", None) or profile.name
        return list(self.rows.get(base, ()))

    def units(self, profile) -> list[Unit]:
        if self.make_units is not None:
            return list(self.make_units(self, profile))
        return row_units(self, profile)

    def row_stage(self, row: Row, profile):
        """The training run a row's model comes from, shared by all its units (an ``nli-trained`` row: Table 2's
        NLI stage); None for a model scored as it is. Tasks read it here, at run time."""
        return trained_nli_stage(row, profile) if row.kind == "nli-trained" else None

    def spec_for(self, row: Row, profile, **kw) -> RunSpec:
        if self.run_spec is not None:
            return self.run_spec(self, row, profile, **kw)
        seed = kw.pop("seed", None)  # a cell's seed (per_seed) is the record's seed
        return RunSpec.make(table=self.number, model=row.model, profile=profile.name, task=self.task, seed=seed,
                            params={**row.encoder_params(), **kw})

    def row_of(self, record, profile=None) -> Row | None:
        """The declared row ``record`` belongs to (None: no declaration speaks for it, e.g. ``evaluate``'s
        custom-* records, which keep their own words in ``details["row"]``)."""
        prof = profile or declared_profile(record.spec.profile)
        if prof is None:
            return None
        test = self.match or match_encoder_row
        for row in self.rows_for(prof):
            if test(row, record):
                return row
        return None

    def substitute_of(self, row: Row, profile) -> str | None:
        if self.substitute is not None and profile is not None:
            return self.substitute(row, profile)
        return row.substitute

    def row_words(self, record) -> dict:
        """Label, paper row and substitute of ``record``'s row (what the builder prints): from the declared row
        it belongs to, else (no declaration speaks for it) what the record was run as. A row the suite cannot
        produce (kind ``unavailable``) also gives its reason as declared now (``not_run``), which a not-run record
        of it is shown with (rewording it reruns nothing)."""
        row = self.row_of(record)
        if row is None:
            return super().row_words(record)
        own = (record.details or {}).get("row") or {}
        return {"label": row.label, "paper_row": row.paper_row,
                "substitute": self.substitute_of(row, declared_profile(record.spec.profile)) or own.get("substitute"),
                "faithful": row.faithful, "trained": self.trained_row(row),
                "not_run": row.not_run if row.kind == "unavailable" else None}

    def trained_row(self, row: Row) -> bool:
        return bool(self.is_trained(row)) if self.is_trained is not None else row.kind in TRAINED_KINDS


def declared_profile(name: str):
    """The declared profile a record's profile name stands for: itself, or ``<profile>-<preset>`` (Table 7's
    measurements with another preset); None for custom-* names."""
    if name in PROFILES:
        return PROFILES[name]
    from repro.rehearsal.profile import is_rehearsal
    from repro.speed.presets import PRESETS

    if is_rehearsal(name):  # a rehearsal's records: its derived profile (same rows as the one it rehearses)
        from repro.rehearsal import register

        return register(name) if name[: -len("-rehearsal")] in PROFILES else None
    head, sep, preset = name.rpartition("-")
    return declared_profile(head) if sep and preset in PRESETS and head != "custom" else None


def match_encoder_row(row: Row, record) -> bool:
    p = record.spec.param_dict
    return record.spec.model == row.model and all(p.get(k) == v for k, v in row.encoder_params().items())


def row_units(spec: TableSpec, profile) -> list[Unit]:
    """The units of ``spec`` for ``profile``, from its declarations: every row's cells (default: one per row),
    sorted by ``spec.order`` when given; before each evaluation the training units it needs (``spec.stages`` and
    the stages they continue, each listed once), and those of ``nli-trained`` rows."""
    if spec.check is not None:
        spec.check(spec, profile)
    cells_of = spec.cells or (lambda spec, row, profile: [Cell()])
    pairs = [(row, cell) for row in spec.rows_for(profile) for cell in cells_of(spec, row, profile)]
    if spec.order is not None:
        pairs.sort(key=lambda rc: spec.order(*rc))
    units, seen = [], set()
    for row, cell in pairs:
        key = dict(cell.key)
        found = spec.stages(spec, row, profile, **key) if spec.stages is not None else None
        stages = list(found) if isinstance(found, (list, tuple)) else [] if found is None else [found]
        needs = []
        for stage in stages:
            chain = stage_units(spec.number, stage, models=(row.model,))
            units += [u for u in chain if u.id not in seen]
            seen.update(u.id for u in chain)
            needs.append(chain[-1].id)
        units.append(Unit(table=spec.number, what="evaluate", row=row, run=spec.spec_for(row, profile, **key),
                          stage=None if isinstance(found, (list, tuple)) else found, column=cell.column,
                          seed=cell.seed, needs=tuple(needs),
                          datasets=tuple(spec.datasets) if cell.datasets is None else tuple(cell.datasets),
                          models=row_models(row), not_implemented=row.not_run if row.kind == "unavailable" else None))
    return with_nli_training(spec.number, profile, units)


def stage_units(table: str, stage, models=()) -> list[Unit]:
    """Training units for ``stage`` and the stages it continues from (first the earliest)."""
    from repro.training.recipes import stage_datasets

    chain = []
    while stage is not None and not isinstance(stage, str):
        chain.append(stage)
        stage = stage.base
    out, prev = [], None
    for st in reversed(chain):
        u = training_unit(table, st, datasets=stage_datasets(st), models=models if prev is None else (),
                          needs=(prev.id,) if prev else ())
        out.append(u)
        prev = u
    return out


def trained_nli_stage(row: Row, profile):
    """The NLI stage an ``nli-trained`` row scores: Table 2's SBERT-NLI training of ``row.model`` with the
    profile's training settings and the row's pooling (one run folder, shared with Tables 2 and 6)."""
    from repro.training.recipes import nli_stage

    training = dict(profile.training)
    return nli_stage(training, row.model, pooling=row.pooling or "mean", seed=int(training.get("nli_seed", 0)))


def with_nli_training(table: str, profile, units: list[Unit]) -> list[Unit]:
    """``units`` with the training units of their ``nli-trained`` rows before them (and as their ``needs``)."""
    out, seen = [], set()
    for u in units:
        if u.what == "evaluate" and u.row is not None and u.row.kind == "nli-trained":
            chain = stage_units(table, trained_nli_stage(u.row, profile), models=(u.row.model,))
            out += [t for t in chain if t.id not in seen]
            seen.update(t.id for t in chain)
            u = replace(u, needs=(*u.needs, chain[-1].id), datasets=(*u.datasets, *chain[-1].datasets))
        out.append(u)
    return out


def nli_training_params(row: Row, profile) -> dict:
    """A record-identity part for ``nli-trained`` rows: the training that made the model."""
    return {"training": trained_nli_stage(row, profile).to_dict()} if row.kind == "nli-trained" else {}


def row_models(row: Row) -> tuple[str, ...]:
    return () if row.kind in ("tfidf", "unavailable", "measured") else (row.model,)


# ------------------------------------------------------------------------------------------------ discovery
def spec_modules() -> list[str]:
    import repro.specs as pkg

    own = sorted(f"repro.specs.{m.name}" for m in pkgutil.iter_modules(pkg.__path__) if m.name.startswith("table"))
    extra = [m.strip() for m in os.environ.get("SBERT_REPRO_SPECS", "").split(",") if m.strip()]
    return own + extra


def load_specs(reload: bool = False) -> dict[str, TableSpec]:
    """Every table spec, by number (sorted by number): the suite's one registry of tables. Discovered on every
    call (imports are cached), so a module added to ``$SBERT_REPRO_SPECS`` counts at once and nothing else
    holds a copy to keep in step; ``repro.tables`` gets the declarations it needs as arguments."""
    found: dict[str, TableSpec] = {}
    for name in spec_modules():
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and name.startswith(e.name):
                raise ConfigError(f"$SBERT_REPRO_SPECS names module {name!r}, which cannot be imported ({e}); "
                                  "fix the name or the PYTHONPATH") from None
            raise
        if reload:
            mod = importlib.reload(mod)
        spec = getattr(mod, "SPEC", None)
        if not isinstance(spec, TableSpec):
            raise ConfigError(f"{name}: a table spec module needs SPEC = TableSpec(...)")
        found[spec.number] = spec
    specs = dict(sorted(found.items(), key=lambda kv: _number_key(kv[0])))
    _check_claim_ids(specs)
    return specs


def _check_claim_ids(specs: Mapping[str, TableSpec]) -> None:
    seen: dict[str, str] = {}
    for number, spec in specs.items():
        for claim in spec.claims:
            if claim.id in seen:
                raise ConfigError(f"claim {claim.id!r} is declared by Table {seen[claim.id]} and Table {number}; "
                                  "give each claim its own id")
            seen[claim.id] = number


def get_spec(number: str) -> TableSpec:
    specs = load_specs()
    if number not in specs:
        raise ConfigError(f"unknown table {number!r}; declared: {', '.join(specs)}")
    return specs[number]


def _number_key(n: str):
    return (0, int(n), "") if n.isdigit() else (1, 0, n)


__all__ = ["Cell", "Row", "TableSpec", "Unit", "load_specs", "get_spec", "per_column", "per_seed", "row_units",
           "stage_units", "training_unit", "replace"]
