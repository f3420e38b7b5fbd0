"""Experiments as data: a frozen, hashable :class:`RunSpec`; a run writes one JSON :class:`ResultRecord`.

Records are the only thing the table builder reads, so any table can be rebuilt without rerunning anything.
A record's identity (:attr:`RunSpec.id`) is what determines its number: table, model and weights fingerprint,
task, parameters, seed, profile. Row labels, paper rows and substitute texts are not part of it: the table
builder joins them in from the table declarations (``repro/specs``), so rewording a label reruns nothing.
Layout: ``<results dir>/<profile>/table<N>/<model-slug>-<spec id>.json``, written atomically (temporary file +
rename), so a crash never leaves a half-written record and a rerun skips every spec that already has a
finished record (resume for free). Every read checks a record against its file: the id stored in it must be the
id computed from its contents, and it must lie at the path its contents give (so a hand edit, a copy under another
name or a backup folder inside the results folder is refused, naming the file, never averaged in). Records of
an older schema are not read: such a record is reported as unreadable (delete it or ``--force``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from repro.errors import RecordError, ReproError, must_fix
from repro.locks import locked
from repro.paths import atomic_write_bytes

SCHEMA_VERSION = 2
STATUSES = ("ok", "not_run", "failed")


@dataclass(frozen=True)
class RunSpec:
    """One experiment: what a number in a table is the outcome of, and nothing else.

    ``weights`` fingerprints the model's weights where the suite knows them before loading (packaged copies,
    sha256-pinned: see :func:`repro.weights.known_weights`); ``RunSpec.make`` fills it in.
    """

    table: str
    model: str
    profile: str
    task: str
    params: tuple = ()  # sorted (key, value) pairs; build with RunSpec.make(..., params={...})
    seed: int | None = None
    weights: str | None = None

    @classmethod
    def make(cls, *, params: Mapping[str, Any] | None = None, **kw) -> "RunSpec":
        items = tuple(sorted((k, _freeze(v)) for k, v in (params or {}).items()))
        if "weights" not in kw:
            from repro.weights import known_weights

            kw["weights"] = known_weights(kw.get("model", ""))
        return cls(params=items, **kw)

    @property
    def param_dict(self) -> dict:
        return {k: _thaw(v) for k, v in self.params}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["params"] = self.param_dict
        return d

    @property
    def id(self) -> str:
        canon = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, d: Mapping) -> "RunSpec":
        d = dict(d)
        return cls.make(**{**d, "params": d.get("params") or {}, "weights": d.get("weights")})


def _freeze(v):
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return v


def _thaw(v):
    if isinstance(v, tuple) and v and all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) for x in v):
        return {k: _thaw(x) for k, x in v}
    if isinstance(v, tuple):
        return [_thaw(x) for x in v]
    return v


@dataclass
class ResultRecord:
    spec: RunSpec
    status: str  # ok | not_run | failed
    metrics: dict = field(default_factory=dict)  # column -> {metric name -> number}
    reason: str | None = None  # why not run / why failed
    details: dict = field(default_factory=dict)  # anything else worth keeping (per-subset scores, logs)
    env: dict = field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    schema: int = SCHEMA_VERSION
    # Not stored: set by `run` for a not_run record of this process, whether the user must fix its reason
    # (repro.errors.must_fix); None for records read from disk.
    must_fix: bool | None = field(default=None, compare=False, repr=False)
    source: Path | None = field(default=None, compare=False, repr=False)  # the JSON it was read from (not saved)

    @property
    def label(self) -> str:
        """The row label it was run as (``details["row"]``; tables take labels from the declarations)."""
        return ((self.details or {}).get("row") or {}).get("label") or self.spec.model

    def to_dict(self) -> dict:
        return {
            "schema": self.schema,
            "id": self.spec.id,
            "spec": self.spec.to_dict(),
            "status": self.status,
            "reason": self.reason,
            "metrics": self.metrics,
            "details": self.details,
            "env": self.env,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": self.duration_s,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> "ResultRecord":
        if d.get("schema", 1) != SCHEMA_VERSION:
            raise StaleSchema(f"a result record of schema {d.get('schema', 1)}, this suite reads schema "
                              f"{SCHEMA_VERSION}")
        return cls(
            spec=RunSpec.from_dict(d["spec"]),
            status=d["status"],
            metrics=d.get("metrics") or {},
            reason=d.get("reason"),
            details=d.get("details") or {},
            env=d.get("env") or {},
            started_at=d.get("started_at"),
            finished_at=d.get("finished_at"),
            duration_s=d.get("duration_s"),
            schema=d.get("schema", SCHEMA_VERSION),
        )


class StaleSchema(ValueError):
    pass


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:60] or "row"


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def record_filename(spec: RunSpec) -> str:
    return f"{slug(spec.model.rsplit('/', 1)[-1] or spec.task)}-{spec.id}.json"


class ResultStore:
    """A folder of result records."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path_for(self, spec: RunSpec) -> Path:
        return self.root / slug(spec.profile) / f"table{slug(spec.table)}" / record_filename(spec)

    def get(self, spec: RunSpec, *, unreadable_as_missing: bool = False) -> ResultRecord | None:
        """The record of ``spec``, None when there is none. An unreadable record raises :class:`RecordError`
        naming the file, or counts as missing with ``unreadable_as_missing`` (``--force``: it is written anew)."""

        p = self.path_for(spec)
        if not p.is_file():
            return None
        try:
            return read_record(p)
        except RecordError:
            if unreadable_as_missing:
                return None
            raise

    def write(self, record: ResultRecord) -> Path:

        p = self.path_for(record.spec)
        _write_predictions(p, record)
        atomic_write_bytes(p, (json.dumps(record.to_dict(), indent=2, sort_keys=False, default=_json_default)
                               + "\n").encode())
        record.source = p
        return p

    def files(self) -> list[Path]:
        """Every record file under the folder (``*.json``; temporary ``.*.part`` files of a write in flight and
        hidden files are not records)."""
        if not self.root.is_dir():
            return []
        return [p for p in sorted(self.root.rglob("*.json"))
                if not any(part.startswith(".") for part in p.relative_to(self.root).parts)]

    def read(self, path: Path) -> ResultRecord:
        """The record in ``path``, checked against its place: :class:`RecordError` naming the file when it is
        unreadable, when its stored id is not the id computed from its contents (edited by hand), or when it is
        not at the path its contents give (a copy under another name or folder: it would count twice)."""

        rec = read_record(path)
        expected = self.path_for(rec.spec)
        if path.resolve() != expected.resolve():
            raise RecordError(
                f"a record of {rec.spec.model!r} (table {rec.spec.table}, profile {rec.spec.profile}) stored under "
                f"another name or folder than its contents give ({_rel(expected, self.root)}): a copy would be "
                "counted twice; move it out of the results folder (or delete it)", path)
        return rec

    def __iter__(self) -> Iterator[ResultRecord]:
        """Every record, checked (:meth:`read`); the first bad file raises :class:`RecordError` naming it."""
        for p in self.files():
            yield self.read(p)

    def scan(self) -> tuple[list[ResultRecord], list[str]]:
        """Every good record, and one line per file that is not (naming it and the fix) instead of stopping at
        the first, as iteration does. Bad files are never counted in: a table is not built over them."""
        found = self.check()
        return found.records, found.bad

    def check(self) -> "StoreCheck":
        """Every record file read and checked (:meth:`read`), its stored predictions too: a record whose number
        disagrees with its predictions is bad (never counted in); one whose predictions file is missing or
        corrupt is kept but listed in ``damaged`` (its cells lose their interval; ``reproduce`` evaluates the
        row again)."""
        from repro.stats.predictions import PredictionsError, PredictionsMismatch, check_predictions

        out = StoreCheck()
        for p in self.files():
            try:
                rec = self.read(p)
                check_predictions(rec)
            except (RecordError, PredictionsMismatch) as e:
                out.bad.append(str(e))
                continue
            except PredictionsError as e:
                out.damaged.append(str(e))
                out.damaged_ids.add(rec.spec.id)
            out.records.append(rec)
        return out

    def load(self, table: str | None = None, profile: str | None = None) -> list[ResultRecord]:
        return [
            r for r in self
            if (table is None or r.spec.table == table) and (profile is None or r.spec.profile == profile)
        ]


FIX = "delete it (the spec is then rerun) or rerun with --force to write it anew"


@dataclass
class StoreCheck:
    """What :meth:`ResultStore.check` found: good records, bad files (one line each: file, problem, fix) and
    records whose predictions file is missing or corrupt."""

    records: list = field(default_factory=list)
    bad: list = field(default_factory=list)
    damaged: list = field(default_factory=list)
    damaged_ids: set = field(default_factory=set)  # spec ids of the records in ``damaged``


def read_record(path: Path) -> ResultRecord:
    """Read one record file: :class:`RecordError` naming the file and the fix when it is unreadable (truncated,
    not JSON, not a record, missing keys, a status it cannot have) or when the id stored in it is not the id
    computed from its contents (a record edited by hand: its number can no longer be trusted)."""

    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise RecordError(f"not a valid result record ({type(e).__name__}: {e}); {FIX}", path) from None
    except OSError as e:
        raise RecordError(f"cannot be read ({e.strerror or e})", path) from None
    if not isinstance(d, dict) or "spec" not in d or "status" not in d:
        raise RecordError(f"not a result record (no 'spec'/'status'); {FIX}", path)
    try:
        if "schema" not in d:
            raise KeyError("schema")
        rec = ResultRecord.from_dict(d)
    except StaleSchema as e:
        raise RecordError(f"{e}; {FIX}", path) from None
    except (KeyError, TypeError, ValueError) as e:
        raise RecordError(f"incomplete result record ({type(e).__name__}: {e}); {FIX}", path) from None
    if rec.status not in STATUSES:
        raise RecordError(f"status {rec.status!r} is not one of {', '.join(STATUSES)}; {FIX}", path)
    if d.get("id") != rec.spec.id:
        raise RecordError(f"its id {d.get('id')!r} is not the id computed from its contents ({rec.spec.id}): the "
                          f"record was edited by hand; {FIX}", path)
    rec.source = path
    return rec


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _write_predictions(path: Path, record: ResultRecord) -> None:
    """Per-item predictions (``details["predictions"]``: {column: arrays}) go to ``<record>.preds.npz``, written
    before the JSON, which keeps only their summary; a record without them removes a stale file of its spec."""
    from repro.stats.predictions import predictions_path, write_predictions

    preds = record.details.get("predictions") if isinstance(record.details, dict) else None
    if isinstance(preds, dict) and preds and not {"file", "sha256"} <= set(preds):
        record.details = {**record.details, "predictions": write_predictions(path, preds)}
    elif not preds:
        predictions_path(path).unlink(missing_ok=True)


def _json_default(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def run(spec: RunSpec, fn: Callable[[RunSpec], tuple[dict, dict]], store: ResultStore, *, force: bool = False,
        env: Callable[[], dict] | None = None, log: Callable[[str], None] = print, label: str | None = None,
        row: Mapping | None = None) -> ResultRecord:
    """Run ``fn(spec) -> (metrics, details)`` unless a finished record exists; always write a record.

    A user-side problem (``ReproError``: model or data not available) gives a ``not_run`` record with the
    reason; any other exception a ``failed`` record (with the error) and is re-raised after writing, so no
    result and no failure is ever lost silently.
    """

    if not force:  # a finished, intact record is read without a lock (a read-only results folder works)
        done = finished(store, spec, log=lambda m: None)
        if done is not None:
            log(f"  [cached] {label or spec.model}")
            return done
    # One process runs a spec at a time; another one waits, then finds the finished record (or reruns a not-run).
    with locked(store.path_for(spec), what=f"record {store.path_for(spec).name}", echo=log):
        return _run_locked(spec, fn, store, force=force, env=env, log=log, label=label, row=row)


def finished(store: ResultStore, spec: RunSpec, *, log=lambda m: None) -> ResultRecord | None:
    """The finished record of ``spec`` when it is whole: an ``ok`` record whose predictions file is there and
    agrees with it. A missing, corrupt or disagreeing predictions file is said on the console and the row is
    evaluated again (None)."""
    from repro.stats.predictions import PredictionsError, check_predictions

    try:
        existing = store.get(spec)
    except RecordError:
        return None  # the locked path decides (it raises unless --force)
    if existing is None or existing.status != "ok":
        return None
    try:
        check_predictions(existing)
    except PredictionsError as e:
        log(f"  {e}: evaluating that row again")
        return None
    return existing


def _run_locked(spec: RunSpec, fn, store: ResultStore, *, force: bool, env, log, label=None, row=None) -> ResultRecord:

    if not force:
        done = finished(store, spec, log=log)
        if done is not None:
            log(f"  [cached] {label or spec.model}")
            return done
    existing = store.get(spec, unreadable_as_missing=force)
    started, t0 = now_iso(), time.perf_counter()
    rec = ResultRecord(spec=spec, status="ok", started_at=started)
    try:
        rec.metrics, rec.details = fn(spec)
        if row:
            rec.details = {**rec.details, "row": dict(row)}
    except ReproError as e:
        rec.status, rec.reason, rec.must_fix = "not_run", str(e), must_fix(e)
        rec.details = {"row": dict(row)} if row else {}
    except Exception as e:
        rec.status, rec.reason = "failed", f"{type(e).__name__}: {e}"
        rec.details = {"row": dict(row)} if row else {}
        rec.finished_at, rec.duration_s = now_iso(), round(time.perf_counter() - t0, 3)
        rec.env = env() if env else {}
        store.write(rec)
        raise
    rec.finished_at, rec.duration_s = now_iso(), round(time.perf_counter() - t0, 3)
    if (rec.status == "not_run" and existing is not None and existing.status == "not_run"
            and existing.reason == rec.reason):
        existing.must_fix = rec.must_fix
        return existing  # tried again, same reason: the record on disk already says it (no churn in results/)
    rec.env = env() if env else {}
    store.write(rec)
    return rec
