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
