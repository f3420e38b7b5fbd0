"""Table 1: unsupervised STS (STS12-16, STSb test, SICK-R test), Spearman x 100 of cosine similarity."""

from __future__ import annotations

import logging

from repro.data.sts import STS_TASKS, load_sts_task
from repro.evaluation.sts import evaluate_sts
from repro.experiments.encoders import build_encoder
from repro.experiments.registry import pipeline, run_row
from repro.profiles import ModelRow, Profile
from repro.results import ResultRecord, ResultStore, RunSpec

log = logging.getLogger(__name__)
TABLE = "1"
TASK = "sts-unsupervised"


def spec_for(row: ModelRow, profile: Profile, dtype: str = "fp32") -> RunSpec:
    return RunSpec.make(
        table=TABLE, row=row.row, model=row.model, profile=profile.name, task=TASK,
        paper_row=row.paper_row, substitute=row.substitute,
        params={**row.params(), "data_limit": profile.data_limit, "dtype": dtype},
    )


def load_tasks(profile: Profile, data_root=None):
    return [load_sts_task(name, root=data_root).head(profile.data_limit) for name in STS_TASKS]


@pipeline(TABLE, datasets=("sts", "stsb", "sick"))
def run_table1(profile: Profile, store: ResultStore, *, data_root=None, device: str | None = None,
               dtype: str = "fp32", force: bool = False, rows: list[ModelRow] | None = None,
               show_progress: bool = True, echo=print) -> list[ResultRecord]:
    """Run every row of the profile's Table 1 (or ``rows``); returns one record per row."""
    tasks = load_tasks(profile, data_root)  # a data problem stops here, before any model is loaded
    rows = list(rows if rows is not None else profile.table1)
    records = []
    for i, row in enumerate(rows, 1):
        spec = spec_for(row, profile, dtype)
        echo(f"[table 1] {i}/{len(rows)} {row.row} ({row.model})")

        def work(spec: RunSpec, row=row):
            from repro.encoders.cache import cached

            # through the embedding cache: the same sentences (STSb test, SICK-R ...) are encoded once across
            # tables and reruns
            inner = build_encoder(row, data_root=data_root, device=device, dtype=dtype)
            encoder = cached(inner)
            res = evaluate_sts(encoder, tasks, batch_size=profile.batch_size, show_progress=show_progress)
            metrics = {name: {k: v for k, v in m.items() if k != "subsets"} for name, m in res.items()}
            details = {"subsets": {name: m["subsets"] for name, m in res.items()},
                       "encoder": inner.describe() if hasattr(inner, "describe") else {}}
            return metrics, details

        records.append(run_row(spec, work, store, device=device, force=force, echo=echo))
    return records
