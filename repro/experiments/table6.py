"""Table 6: ablation (paper §6). Spearman x 100 of cosine similarity on STSb dev, averaged over seeds.

* Pooling (MEAN, MAX, CLS) x objective: the classification objective trained on NLI (column ``NLI``) and the
  regression objective trained on STSb train (column ``STSb``).
* Concatenation (the seven combinations of u, v, |u-v|, u*v) for the classification objective on NLI, MEAN pooling.

The number of a run is the STSb dev score of the model it keeps (the best dev score during training, as the
reference code's ``save_best_model``). ``(u, v, |u-v|)`` with MEAN pooling is the same run as the MEAN / NLI cell
(the training folder is shared, so it is trained once). The profile's ``settings["training"]`` says what is
trained, ``settings["table6"]`` the body and seeds.
"""

from __future__ import annotations

from repro.errors import ConfigError
from repro.experiments.registry import pipeline, run_row
from repro.paths import cache_dir
from repro.profiles import Profile
from repro.results import ResultRecord, ResultStore, RunSpec
from repro.tables.reference import load_reference_csv
from repro.tables.registry import TableDef, register
from repro.training.losses import CONCATENATIONS
from repro.training.recipes import Stage, describe_training, nli_stage, run_details, run_stage, stsb_stage

TABLE = "6"
TASK = "stsb-dev"
POOLING_ROWS = ("mean", "max", "cls")


def jobs_for(profile: Profile) -> list[tuple[str, str, str, Stage, int]]:
    """(group, row, column, stage, seed) for every cell and seed; settings are checked here, before any training."""
    if "training" not in profile.settings or "table6" not in profile.settings:
        raise ConfigError(f"profile {profile.name!r} has no training settings for Table 6")
    training, t6 = profile.settings["training"], profile.settings["table6"]
    body = t6["body"]
    jobs = []
    for seed in tuple(t6.get("seeds", profile.seeds)):
        for pooling in t6.get("poolings", POOLING_ROWS):
            jobs.append(("pooling_strategy", pooling.upper(), "NLI", nli_stage(training, body, pooling=pooling,
                                                                                 seed=seed), seed))
            jobs.append(("pooling_strategy", pooling.upper(), "STSb", stsb_stage(training, body, pooling=pooling,
                                                                                   seed=seed), seed))
        for concat in t6.get("concatenations", tuple(CONCATENATIONS)):
            jobs.append(("concatenation", concat, "NLI", nli_stage(training, body, concat=concat, seed=seed), seed))
    return jobs


def spec_for(profile: Profile, group: str, row: str, column: str, stage: Stage, seed: int) -> RunSpec:
    training = profile.settings["training"]
    substitute = describe_training(training, "nli+stsb" if group == "pooling_strategy" else "nli") or None
    return RunSpec.make(
        table=TABLE, row=row, model=str(profile.settings["table6"]["body"]), profile=profile.name, task=TASK,
        paper_row=row, substitute=substitute, seed=seed,
        params={"group": group, "column": column, "training": stage.to_dict()},
    )


@pipeline(TABLE, datasets=("stsb", "nli"))
def run_table6(profile: Profile, store: ResultStore, *, data_root=None, device: str | None = None,
               force: bool = False, echo=print, progress: bool = True) -> list[ResultRecord]:
    jobs = jobs_for(profile)
    runs_root = cache_dir("runs", profile.name)
    echo(f"[table 6] {len(jobs)} cells x seeds; training runs in {runs_root}")
    records = []
    for i, (group, row, column, stage, seed) in enumerate(jobs, 1):
        spec = spec_for(profile, group, row, column, stage, seed)
        echo(f"[table 6] {i}/{len(jobs)} {group} {row} / {column} seed {seed}")

        def work(spec: RunSpec, stage=stage, column=column):
            result = run_stage(stage, runs_root, data_root=data_root, device=device, echo=echo, progress=progress)
            if result.score is None:
                raise RuntimeError(f"{stage.name}: the run has no dev score")
            return {column: {"spearman": result.score}}, run_details(result)

        records.append(run_row(spec, work, store, device=device, force=force, echo=echo,
                               summary=lambda r, c=column: f"STSb dev Spearman {r.metrics[c]['spearman']:.2f}"))
    return records


# ------------------------------------------------------------------------------------------------- table


def _reference():
    import pandas as pd

    df = load_reference_csv("table6_ablation.csv")
    row = df["pooling"].where(df["section"] == "pooling_strategy", df["concatenation"])
    column = df["training"].map(lambda t: "NLI" if t.startswith("NLI") else "STSb")
    return pd.DataFrame({"group": df["section"], "paper_row": row, "column": column, "value": df["value"],
                         "std": float("nan")})


register(TableDef(
    number=TABLE,
    title="Table 6: pooling and concatenation ablation, Spearman x100 on STSb dev (mean over seeds)",
    slug="table6_ablation",
    columns=["NLI", "STSb"],
    metric="spearman",
    reference=_reference,
    unit="Spearman x100",
    notes=[
        "NLI: classification objective (softmax over the concatenation; (u, v, |u-v|) in the pooling rows) trained "
        "on NLI; STSb: regression objective trained on STSb train. Scored on STSb dev (1,500 pairs) with cosine "
        "similarity; each run keeps its best dev checkpoint, as the reference code did.",
        "Concatenations apply to the softmax classifier only: the paper prints '-' in their STSb column; all use "
        "MEAN pooling. (u, v, |u-v|) is the same run as the MEAN / NLI pooling cell.",
        "The paper averages 10 seeds and prints no standard deviation; ours shows ± std when a profile runs several.",
    ],
))
