"""Per-item predictions kept beside each result record: ``<record>.preds.npz`` (compressed numpy arrays).

An evaluator returns, besides its metrics, ``predictions = {column: cell_items(...)}``: for each table column the
predicted value per test item (similarity, label), the gold value, optionally the stratum (test fold) and topic
of each item, which statistic the column is, and a key naming the test items (a sha256 of their text), so two
systems can be paired item by item. The pipeline puts that dict into the record's ``details["predictions"]``;
:func:`repro.results.run` takes it out, writes the ``.npz`` atomically *before* the JSON, and leaves in the
JSON only a summary (file name, sha256, columns, item counts). The table builder reads it back with
:func:`load_items`; a record without the file (all records written before this existed) has no interval, and
says so.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from repro.errors import ReproError
from repro.stats.bootstrap import KINDS, Items, item_statistic

SUFFIX = ".preds.npz"
NO_PREDICTIONS = "no interval: the record has no per-item predictions; rerun with --force"
_FIELDS = ("pred", "gold", "strata", "topics")


class PredictionsError(ReproError):
    """A predictions file is missing, corrupt or does not match its record."""


class PredictionsMismatch(PredictionsError):
    """A record's number is not what its stored predictions give: the number cannot be trusted."""


def items_key(*columns: Iterable) -> str:
    """A short sha256 naming a list of test items (e.g. the two sentences of every pair, in order)."""
    h = hashlib.sha256()
    for col in columns:
        for x in col:
            h.update(str(x).encode("utf-8", "surrogatepass"))
            h.update(b"\x1f")
        h.update(b"\x1e")
    return h.hexdigest()[:16]


def cell_items(kind: str, pred, gold, *, strata=None, topics=None, key: str = "", scale: float = 100.0) -> dict:
    """What an evaluator returns for one column (plain arrays; validated by :class:`Items`)."""
    Items(kind, np.asarray(pred), np.asarray(gold), None if strata is None else np.asarray(strata),
          None if topics is None else np.asarray(topics), key, scale)
    out = {"kind": kind, "pred": np.asarray(pred), "gold": np.asarray(gold), "key": key, "scale": float(scale)}
    if strata is not None:
        out["strata"] = np.asarray(strata)
    if topics is not None:
        out["topics"] = np.asarray(topics)
    return out


def predictions_path(record_path: str | Path) -> Path:
    p = Path(record_path)
    return p.with_name(p.name[:-len(".json")] + SUFFIX if p.name.endswith(".json") else p.name + SUFFIX)


def _pack(predictions: Mapping[str, Mapping]) -> dict[str, np.ndarray]:
    arrays = {}
    for col, cell in predictions.items():
        if "|" in col:
            raise ValueError(f"column name {col!r} may not contain '|'")
        kind = cell["kind"]
        if kind not in KINDS:
            raise ValueError(f"column {col!r}: unknown statistic {kind!r}")
        arrays[f"{col}|kind"] = np.array(kind)
        arrays[f"{col}|key"] = np.array(cell.get("key") or "")
        arrays[f"{col}|scale"] = np.array(float(cell.get("scale", 100.0)))
        for f in _FIELDS:
            if cell.get(f) is not None:
                a = np.asarray(cell[f])
                if a.dtype == object:
                    a = a.astype(str)
                arrays[f"{col}|{f}"] = a
    return arrays


def write_predictions(record_path: str | Path, predictions: Mapping[str, Mapping]) -> dict:
    """Write the ``.npz`` beside ``record_path`` atomically; returns the summary kept in the record."""
    from repro.paths import atomic_write_bytes

    buf = io.BytesIO()
    np.savez_compressed(buf, **_pack(predictions))
    data = buf.getvalue()
    path = predictions_path(record_path)
    atomic_write_bytes(path, data)
    return {"file": path.name, "sha256": hashlib.sha256(data).hexdigest(),
            "columns": {c: int(len(np.asarray(v["gold"]))) for c, v in predictions.items()}}


def load_items(record, record_path: str | Path | None = None) -> dict[str, Items] | None:
    """{column: Items} of a record, or None when it has none (a record from before predictions were kept).

    A file that exists but does not match the sha256 the record wrote is an error naming the file.
    """
    record_path = record_path or getattr(record, "source", None)
    summary = (record.details or {}).get("predictions")
    if record_path is None or not isinstance(summary, dict):
        return None
    path = predictions_path(record_path)
    if not path.is_file():
        raise PredictionsError(f"{path}: missing, but its record {Path(record_path).name} says it was written; "
                               "rerun that row with --force (or delete the record) to write both again")
    data = path.read_bytes()
    if summary.get("sha256") and hashlib.sha256(data).hexdigest() != summary["sha256"]:
        raise PredictionsError(f"{path}: its sha256 does not match the one in {Path(record_path).name} (the file "
                               "was changed or belongs to another run); rerun that row with --force")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:
        raise PredictionsError(f"{path}: not a readable predictions file ({e}); rerun that row with --force") from None
    out = {}
    for col in dict.fromkeys(k.split("|", 1)[0] for k in arrays):
        get = arrays.get
        out[col] = Items(str(get(f"{col}|kind")), get(f"{col}|pred"), get(f"{col}|gold"), get(f"{col}|strata"),
                         get(f"{col}|topics"), str(get(f"{col}|key", np.array(""))),
                         float(get(f"{col}|scale", np.array(100.0))))
    return out


def check_predictions(record) -> None:
    """:class:`PredictionsError` naming the files when ``record``'s stored predictions are missing, corrupt or
    disagree with its metrics: each column's statistic recomputed from the items must equal one of the numbers
    the record gives for that column (to the 0.05 of a point that float rounding across machines allows). A
    record whose number was edited by hand is caught here; one without predictions passes (nothing to check)."""
    items = load_items(record)
    if not items:
        return
    for col, it in items.items():
        got = item_statistic(it)
        given = [float(v) for v in ((record.metrics or {}).get(col) or {}).values()
                 if isinstance(v, (int, float)) and not isinstance(v, bool)]
        tol = 0.05 * it.scale / 100.0
        if given and not any(abs(got - v) <= tol for v in given):
            name = str(record.source) if record.source is not None else record.spec.id
            raise PredictionsMismatch(
                f"{name}: its {col} number(s) {', '.join(f'{v:.4g}' for v in given)} disagree with its stored "
                f"predictions ({predictions_path(record.source).name if record.source else 'preds'} give "
                f"{got:.4g}): the record was edited or its predictions belong to another run; rerun that row with "
                "--force")
