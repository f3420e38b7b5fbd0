"""One-off maintenance: bring result records written by older versions of the suite to the current schema.

Schema 1 -> 2: a record's identity no longer holds its row's words. ``row``, ``paper_row`` and ``substitute``
leave the spec (they are kept, for the record, in ``details["row"]``); the spec gains ``weights`` (the pinned
fingerprint of a packaged model, :func:`repro.weights.known_weights`); the id is recomputed and the file renamed
to ``<model-slug>-<new id>.json``. Metrics, details, env and timings are carried over unchanged, so every table
keeps its numbers. Idempotent: records already at schema 2 are left alone.

    sbert-repro records migrate --results-dir results
"""

from __future__ import annotations

import json
from pathlib import Path

from repro.results import SCHEMA_VERSION, ResultRecord, ResultStore, RunSpec

WORDS = ("row", "paper_row", "substitute")


def migrate_record(d: dict) -> dict:
    """The schema-2 form of one schema-1 record (a dict as read from its JSON)."""
    spec = dict(d["spec"])
    words = {"label": spec.pop("row", None), "paper_row": spec.pop("paper_row", None),
             "substitute": spec.pop("substitute", None)}
    new = RunSpec.from_dict({**spec, "weights": spec.get("weights")}) if "weights" in spec else RunSpec.make(
        **{k: v for k, v in spec.items() if k != "params"}, params=spec.get("params") or {})
    rec = ResultRecord(spec=new, status=d["status"], metrics=d.get("metrics") or {}, reason=d.get("reason"),
                       details={**(d.get("details") or {}), "row": words}, env=d.get("env") or {},
                       started_at=d.get("started_at"), finished_at=d.get("finished_at"),
                       duration_s=d.get("duration_s"), schema=SCHEMA_VERSION)
    return rec.to_dict()


def _move_predictions(old: Path, new: Path) -> None:
    """The per-item predictions beside a renamed record (``<record>.preds.npz``, repro/stats/predictions.py)
    follow it, so its intervals stay readable; the file's bytes (and the sha256 the record keeps) are unchanged."""
    from repro.stats.predictions import predictions_path

    src = predictions_path(old)
    if src.is_file():
        src.replace(predictions_path(new))


def migrate(results_dir: str | Path, echo=print) -> dict:
    """Migrate every record under ``results_dir``; returns counts (migrated, current, other files)."""
    store = ResultStore(results_dir)
    counts = {"migrated": 0, "current": 0, "skipped": 0}
    for p in sorted(Path(results_dir).rglob("*.json")):
        try:
            d = json.loads(p.read_text())
        except ValueError:
            counts["skipped"] += 1
            echo(f"  skipped (not JSON): {p}")
            continue
        if not (isinstance(d, dict) and "spec" in d and "status" in d):
            counts["skipped"] += 1
            continue
        if d.get("schema", 1) >= SCHEMA_VERSION:
            counts["current"] += 1
            continue
        new = ResultRecord.from_dict(migrate_record(d))
        target = store.write(new)
        if target.resolve() != p.resolve():
            _move_predictions(p, target)
            p.unlink()
        counts["migrated"] += 1
    echo(f"records: {counts['migrated']} migrated, {counts['current']} already current, {counts['skipped']} "
         f"other files, under {results_dir}")
    return counts
