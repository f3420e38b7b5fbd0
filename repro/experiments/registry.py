"""The pipelines ``sbert-repro reproduce`` runs: table number -> function producing result records.

A pipeline is ``fn(profile, store, *, data_root, device, force, echo) -> list[ResultRecord]``. Each table module
registers itself here; ``reproduce`` runs them in order and then rebuilds the tables from the records.
"""

from __future__ import annotations

from typing import Callable

PIPELINES: dict[str, Callable] = {}
DATASETS: dict[str, tuple[str, ...]] = {}  # table -> datasets (manifest names) its pipeline reads


def pipeline(table: str, datasets: tuple[str, ...] = ()):
    """Register ``fn`` as the pipeline of ``table``; ``datasets`` are fetched first by ``--fetch-missing``."""

    def deco(fn):
        PIPELINES[table] = fn
        DATASETS[table] = tuple(datasets)
        return fn

    return deco


def load_all() -> dict[str, Callable]:
    """Import every pipeline module (each registers itself) and return the registry."""
    from repro.experiments import table1  # noqa: F401

    _optional("repro.experiments.table2")
    _optional("repro.experiments.table3")
    _optional("repro.experiments.table4")
    _optional("repro.experiments.table5")
    _optional("repro.experiments.table6")
    _optional("repro.experiments.table7")
    return dict(sorted(PIPELINES.items()))


def _optional(module: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is not None:
        importlib.import_module(module)


def run_row(spec, work, store, *, device: str | None = None, force: bool = False, echo=print,
            summary: Callable | None = None, label: str = ""):
    """Run one table row: ``repro.results.run`` with this machine's versions and hardware in the record.

    Echoes one line: ``summary(record)`` when the row finished, else its status and reason (``label`` prefixes
    both). Returns the record.
    """
    from repro.env import hardware, versions
    from repro.results import run

    rec = run(spec, work, store, force=force, env=lambda: {"versions": versions(), "hardware": hardware(device)},
              log=echo)
    prefix = f"  {label}: " if label else "  "
    if rec.status == "ok":
        if summary is not None:
            echo(prefix + summary(rec))
    else:
        echo(f"{prefix}{rec.status.replace('_', ' ')}: {rec.reason}")
    return rec
