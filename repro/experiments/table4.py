"""Table 4: Wikipedia-sections triplets (Dor et al., 2018), accuracy of "is the positive closer to the anchor than
the negative".

SBERT is trained with the triplet objective (Euclidean distance, margin 1) for one epoch on the training triplets
and evaluated on the test triplets (paper §4.4); the reference code (v0.2.3 ``training_wikipedia_sections.py``)
also scored the first 1,000 validation triplets every 1,000 steps and kept the best model, which this pipeline does
too. Accuracy is reported under Euclidean distance (the table's number) and cosine distance.

The triplets are not in this project's data root: without them every row is a ``not_run`` record whose reason
says how to get them (``python data_scripts/fetch_wikisec.py``), and the table shows the paper's numbers only.
The loader, the training step and the metric are tested on a small fixture (``tests/test_wikisec.py``).

Profile knobs (``Profile.settings["table4"]``): ``rows`` (tuples ``(row, paper_row, kind, model, substitute)``,
``kind`` = ``sbert`` (trained) | ``transformer`` (untuned) | ``unavailable``), ``train_limit``, ``test_limit``,
``dev_limit`` (1000), ``epochs`` (1), ``max_steps``, ``batch_size`` (16), ``lr``, ``margin`` (1.0), ``seed``,
``eval_steps`` (1000), ``max_seq_length`` (128).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from repro.data.wikisec import load_wikisec
from repro.errors import ConfigError, ModelNotAvailable, choose
from repro.evaluation.triplets import evaluate_triplets
from repro.experiments.registry import pipeline, run_row
from repro.paths import cache_dir
from repro.profiles import Profile
from repro.results import ResultRecord, ResultStore, RunSpec, slug
from repro.tables.reference import load_reference_csv
from repro.tables.registry import TableDef, register

TABLE = "4"
KINDS = ("sbert", "transformer", "unavailable")
DEFAULTS = {"train_limit": None, "test_limit": None, "dev_limit": 1000, "epochs": 1, "max_steps": None,
            "batch_size": 16, "lr": 2e-5, "margin": 1.0, "seed": 0, "eval_steps": 1000, "max_seq_length": 128,
            "pooling": "mean"}


@dataclass(frozen=True)
class TripletRow:
    row: str
    paper_row: str | None
    kind: str
    model: str
    substitute: str | None = None

    def __post_init__(self):
        choose(self.kind, KINDS, "Table 4 row kind")


def settings(profile: Profile) -> dict:
    return {**DEFAULTS, **{k: v for k, v in profile.settings.get("table4", {}).items() if k != "rows"}}


def rows_for(profile: Profile) -> list[TripletRow]:
    return [r if isinstance(r, TripletRow) else TripletRow(*r) for r in profile.settings.get("table4", {}).get("rows", ())]


def _reference():
    import pandas as pd

    df = load_reference_csv("table4_wikisec.csv")
    return pd.DataFrame({"group": "", "paper_row": df["model"], "column": "Euclidean", "value": df["value"],
                         "std": df["std"]})


def spec_for(row: TripletRow, profile: Profile) -> RunSpec:
    s = settings(profile)
    params = {"kind": row.kind, "test_limit": s["test_limit"]}
    if row.kind == "sbert":
        params["training"] = {k: s[k] for k in DEFAULTS if k != "test_limit"}
    return RunSpec.make(table=TABLE, row=row.row, model=row.model, profile=profile.name, task="wikisec-test",
                        paper_row=row.paper_row, substitute=row.substitute, params=params)


def _base_path(model: str, data_root):
    from repro.models import SMOKE_BERT, resolve_model

    if model == SMOKE_BERT:
        from repro.smoke import smoke_bert_path

        return smoke_bert_path(data_root)
    return resolve_model(model)


def train_triplet_model(base, train, dev, s: dict, run_dir, device=None, echo=print, progress: bool = True):
    """SBERT with the triplet objective on ``train`` (a TripletSet); dev accuracy picks the kept model.

    Returns ``(SentenceEncoder of the kept model, TrainResult)``.
    """
    from repro.encoders.transformer import SentenceEncoder
    from repro.training.data import TripletExample
    from repro.training.losses import TripletLoss
    from repro.training.trainer import TrainConfig, seed_everything, train as train_loop

    examples = [TripletExample(a, p, n) for a, p, n in train]
    if not examples:
        raise ConfigError("no training triplets")
    seed_everything(int(s["seed"]))
    encoder = SentenceEncoder(base, pooling=s["pooling"], max_seq_length=int(s["max_seq_length"]), normalize=False,
                              device=device)
    objective = TripletLoss(encoder, distance="euclidean", margin=float(s["margin"]))

    def evaluate(obj) -> float:
        return 100.0 * evaluate_triplets(obj.encoder, dev.anchors, dev.positives, dev.negatives,
                                         batch_size=32)["accuracy_euclidean"]

    config = TrainConfig(epochs=int(s["epochs"]), batch_size=int(s["batch_size"]), lr=float(s["lr"]),
                         seed=int(s["seed"]), max_steps=s["max_steps"], eval_steps=int(s["eval_steps"]),
                         keep="best" if dev is not None and len(dev) else "last")
    result = train_loop(objective, examples, config, run_dir, evaluate if dev is not None and len(dev) else None,
                        name="wikisec-triplet", echo=echo, progress=progress)
    return SentenceEncoder(result.model_dir, device=device), result


@pipeline(TABLE, datasets=())
def run_table4(profile: Profile, store: ResultStore, *, data_root=None, device: str | None = None,
               force: bool = False, echo=print, rows: list[TripletRow] | None = None,
               progress: bool = True) -> list[ResultRecord]:
    s = settings(profile)
    rows = list(rows if rows is not None else rows_for(profile))
    data: dict = {}

    def get(split: str, limit):
        if split not in data:
            data[split] = load_wikisec(split, root=data_root, limit=limit)
        return data[split]

    records = []
    for i, row in enumerate(rows, 1):
        spec = spec_for(row, profile)
        echo(f"[table 4] {i}/{len(rows)} {row.row} ({row.model})")

        def work(spec: RunSpec, row=row):
            test = get("test", s["test_limit"])  # data missing -> DataError -> not_run, with how to get it
            if row.kind == "unavailable":
                raise ModelNotAvailable(f"{row.model}: not available in this suite")
            base = _base_path(row.model, data_root)
            details: dict = {}
            if row.kind == "sbert":
                train = get("train", s["train_limit"])
                dev = get("validation", s["dev_limit"])
                key = hashlib.sha256(json.dumps({"base": str(base), **spec.param_dict}, sort_keys=True,
                                                default=str).encode()).hexdigest()[:12]
                run_dir = cache_dir("runs", profile.name, "wikisec") / f"{slug(row.row)}-{key}"
                encoder, result = train_triplet_model(base, train, dev, s, run_dir, device, echo, progress)
                details["training"] = {"run": run_dir.name, "dev_accuracy": result.score,
                                       "best_step": result.best_step, "steps": result.steps,
                                       "n_train": len(train), "n_dev": len(dev)}
            else:
                from repro.encoders.transformer import SentenceEncoder

                encoder = SentenceEncoder(base, device=device)
            res = evaluate_triplets(encoder, test.anchors, test.positives, test.negatives,
                                    batch_size=profile.batch_size, show_progress=progress)
            details["n_test"] = res["n_triplets"]
            return ({"Euclidean": {"accuracy": res["accuracy_euclidean"]},
                     "cosine": {"accuracy": res["accuracy_cosine"]},
                     "Manhattan": {"accuracy": res["accuracy_manhattan"]}}, details)

        records.append(run_row(spec, work, store, device=device, force=force, echo=echo,
                               summary=lambda r: f"accuracy: Euclidean {r.metrics['Euclidean']['accuracy']:.4f}, "
                                                 f"cosine {r.metrics['cosine']['accuracy']:.4f}"))
    return records


register(TableDef(
    number=TABLE,
    title="Table 4: Wikipedia-sections triplets, accuracy (is the positive closer to the anchor than the negative?)",
    slug="table4_wikisec",
    columns=["Euclidean", "cosine"],
    metric="accuracy",
    reference=_reference,
    unit="accuracy (fraction)",
    decimals=4,
    notes=[
        "Data: Wikipedia-sections triplets (Dor et al., 2018), test = 222,957 triplets from articles not used for "
        "training. NOT in this project's data root: rows are 'not run: data missing' until "
        "`python data_scripts/fetch_wikisec.py` has installed wikisec/{train,validation,test}.csv (it records "
        "their sha256 in wikisec/SHA256SUMS; no digest is pinned in the suite because the zip could not be "
        "downloaded where it was built).",
        "Training: triplet objective, Euclidean distance, margin 1, one epoch, batch 16, AdamW 2e-5, warm-up 10%; "
        "the model with the best accuracy on the first 1,000 validation triplets (checked every 1,000 steps) is "
        "kept, as in the reference code v0.2.3.",
        "A triplet counts when d(anchor, positive) < d(anchor, negative). The paper does not say which distance its "
        "table uses; its number is put in the Euclidean column (the distance of its triplet objective). Manhattan "
        "accuracy is in the records.",
        "mean-vectors, skip-thoughts-CS and Dor et al. are the paper's numbers for Dor et al.'s systems.",
    ],
))
