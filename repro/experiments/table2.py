"""Table 2: supervised STS benchmark. Spearman x 100 on STSb test (1,379 pairs), mean ± std over seeds.

Rows (paper §4.2): SBERT fine-tuned on STSb train with the regression objective (SBERT-STSb); first on NLI with
the classification objective, then on STSb (SBERT-NLI-STSb); and the BERT cross-encoder trained on STSb (BERT-STSb)
or on NLI then STSb (BERT-NLI-STSb). Bi-encoders are scored by the cosine of the two embeddings, the cross-encoder
by its regression output. The profile's ``settings["training"]`` says what is trained (body, data, steps) and
``settings["table2"]`` which rows and seeds; ``untuned`` rows score the starting model itself and ``nli`` rows the
NLI model before STSb (the paper's "not trained for STS" group).

Training runs live in ``$SBERT_REPRO_CACHE/runs/<profile>/`` (see :mod:`repro.training.recipes`): the NLI model of
the NLI-then-STSb rows is trained once (first seed) and continued with every seed, as the reference code continued
from one released NLI model; it is the same run as Table 6's MEAN / NLI cell when the settings agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from repro.data.sts import load_stsb
from repro.errors import ConfigError, choose
from repro.evaluation.sts import pearson_x100, spearman_x100
from repro.experiments.registry import pipeline, run_row
from repro.paths import cache_dir
from repro.profiles import Profile
from repro.results import ResultRecord, ResultStore, RunSpec
from repro.tables.reference import load_reference_csv
from repro.tables.registry import TableDef, register
from repro.training.recipes import (Stage, describe_training, load_trained, nli_stage, run_details, run_stage,
                                    stsb_stage)

TABLE = "2"
TASK = "stsb-test"
RECIPES = ("none", "nli", "stsb", "nli+stsb")
GROUPS = {"none": "not_trained_for_sts", "nli": "not_trained_for_sts", "stsb": "trained_on_stsb",
          "nli+stsb": "trained_on_nli_then_stsb"}


@dataclass(frozen=True)
class Row:
    """One row: ``kind`` sbert | cross; ``recipe`` none | nli | stsb | nli+stsb; ``body`` the starting model."""

    row: str
    paper_row: str | None
    kind: str
    recipe: str
    body: str

    def __post_init__(self):
        choose(self.kind, ("sbert", "cross"), "Table 2 row kind")
        choose(self.recipe, RECIPES, "Table 2 recipe")
        if self.kind == "cross" and self.recipe in ("none", "nli"):
            raise ConfigError(f"Table 2 row {self.row!r}: a cross-encoder needs STSb training (recipe stsb or nli+stsb)")

    @property
    def group(self) -> str:
        return GROUPS[self.recipe]


def rows_for(profile: Profile) -> list[Row]:
    return [Row(*r) for r in profile.settings.get("table2", {}).get("rows", ())]


def stages_for(row: Row, training: dict, seed: int) -> Stage | None:
    """The training the row needs for ``seed`` (None for an untuned row)."""
    if row.recipe == "none":
        return None
    first_seed = training.get("nli_seed", 0)
    nli = nli_stage(training, row.body, seed=first_seed, kind=row.kind) if "nli" in row.recipe else None
    if row.recipe == "nli":
        return nli
    return stsb_stage(training, nli or row.body, seed=seed, kind=row.kind)


def spec_for(row: Row, profile: Profile, stage: Stage | None, seed: int | None) -> RunSpec:
    training = profile.settings["training"]
    substitute = describe_training(training, row.recipe) or None
    if row.recipe == "none":
        substitute = "the starting model as released (its own pooling and normalisation), not trained here"
    return RunSpec.make(
        table=TABLE, row=row.row, model=row.body, profile=profile.name, task=TASK, paper_row=row.paper_row,
        substitute=substitute, seed=seed,
        params={"group": row.group, "kind": row.kind, "recipe": row.recipe, "test_limit": profile.data_limit,
                "training": stage.to_dict() if stage is not None else None},
    )


@pipeline(TABLE, datasets=("stsb", "nli"))
def run_table2(profile: Profile, store: ResultStore, *, data_root=None, device: str | None = None,
               force: bool = False, echo=print, progress: bool = True) -> list[ResultRecord]:
    if "training" not in profile.settings or "table2" not in profile.settings:
        raise ConfigError(f"profile {profile.name!r} has no training settings for Table 2")
    training = profile.settings["training"]
    seeds = tuple(profile.settings["table2"].get("seeds", profile.seeds))
    rows = rows_for(profile)  # bad rows fail here, before any data or model is loaded
    test = load_stsb("test", root=data_root).head(profile.data_limit)
    runs_root = cache_dir("runs", profile.name)
    jobs = []
    for row in rows:
        for seed in (seeds if row.recipe in ("stsb", "nli+stsb") else (None,)):
            stage = stages_for(row, training, seed if seed is not None else training.get("nli_seed", 0))
            jobs.append((row, stage, seed))
    echo(f"[table 2] {len(jobs)} runs; training runs in {runs_root}")
    records = []
    for i, (row, stage, seed) in enumerate(jobs, 1):
        spec = spec_for(row, profile, stage, seed)
        echo(f"[table 2] {i}/{len(jobs)} {row.row}" + (f" seed {seed}" if seed is not None else ""))

        def work(spec: RunSpec, row=row, stage=stage):
            details: dict = {}
            if stage is None:
                from repro.encoders.transformer import SentenceEncoder
                from repro.training.recipes import resolve_base

                model = SentenceEncoder(resolve_base(row.body, data_root), device=device)
            else:
                result = run_stage(stage, runs_root, data_root=data_root, device=device, echo=echo,
                                   progress=progress)
                model = load_trained(stage, result.model_dir, device=device)
                details["training"] = run_details(result)
            from repro.training.losses import pair_similarity

            pred = pair_similarity(model, test.sentences1, test.sentences2, batch_size=profile.batch_size)
            rho, r = spearman_x100(pred, test.scores), pearson_x100(pred, test.scores)
            echo(f"  STSb test Spearman {rho:.2f}")
            return {"STSb": {"spearman": rho, "pearson": r, "n_pairs": len(test)}}, details

        records.append(run_row(spec, work, store, device=device, force=force, echo=echo))
    return records


# ------------------------------------------------------------------------------------------------- table


def _reference():
    import pandas as pd

    df = load_reference_csv("table2_stsb_supervised.csv")
    return pd.DataFrame({"group": df["training_group"], "paper_row": df["model"], "column": "STSb",
                         "value": df["value"], "std": df["std"]})


register(TableDef(
    number=TABLE,
    title="Table 2: supervised STS benchmark, Spearman x100 on STSb test (mean ± std over seeds)",
    slug="table2_stsb_supervised",
    columns=["STSb"],
    metric="spearman",
    reference=_reference,
    unit="Spearman x100",
    notes=[
        "Bi-encoders (SBERT): cosine similarity of the two sentence embeddings; BERT-STSb rows: the cross-encoder's "
        "regression output ([CLS] a [SEP] b [SEP] -> linear head). Spearman rank correlation x100 on the 1,379 test "
        "pairs, mean ± standard deviation over the seeds given in n_runs (the paper: 10 seeds).",
        "Training as the paper and its 2019 code: batch 16, AdamW lr 2e-5 (eps 1e-6, weight decay 0.01 except "
        "bias/LayerNorm), 10% linear warm-up then linear decay, gradient clipping 1, max 128 tokens; regression = "
        "MSE between cos(u, v) and score/5; NLI = 3-way softmax over (u, v, |u-v|); the model with the best STSb "
        "dev score is kept. Deviations of this profile (body, data, steps) are listed under Substitutes.",
        "NLI-then-STSb rows continue one NLI model (first seed) with each seed, as the reference code continued the "
        "released bert-base-nli-mean-tokens.",
        "The not-trained rows of the paper (GloVe, BERT, InferSent, USE) are Table 1's STSb column; see Table 1.",
    ],
))
