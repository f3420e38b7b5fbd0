"""Table 3: Argument Facet Similarity (AFS), Pearson r and Spearman rho x 100, in three settings.

* **unsupervised**: tf-idf cosine, averaged GloVe, InferSent (not available here) and untuned encoders, scored by
  the cosine of two embeddings on all 6,000 pairs.
* **10-fold cross-validation** (within each topic) and **cross-topic** (train on two topics, test on the third):
  SBERT-AFS (the regression objective: MSE between cos(u, v) and score / 5, paper §4.3) and BERT-AFS (the BERT
  cross-encoder with a regression head), trained from scratch on every fold's training pairs; untuned encoders
  are scored on the same test folds for reference.

Folds and metrics: :mod:`repro.evaluation.afs`. Training uses the project's trainer
(:func:`repro.training.trainer.train`) with the 2019 reference code's optimizer settings. Each fold's run lives in
``$SBERT_REPRO_CACHE/runs/<profile>/afs/``; once a fold's test predictions are written there
(``predictions.json``) its model folder is deleted (``settings['table3']['keep_models']`` keeps it), so 33 models
do not fill the disk and a killed run resumes at the next fold.

Profile knobs (``Profile.settings["table3"]``): ``rows`` (tuples, see :class:`AFSRow`), ``limit`` (pairs per
topic; smoke), ``kfold`` (10), ``fold_seed`` (0), ``fold_limit`` (score only the first N folds of each topic; CPU
profiles), ``sbert`` / ``cross`` (training settings: epochs, batch_size,
lr, max_seq_length, max_steps, seed, symmetric), ``keep_models``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from repro.data.afs import AFSCorpus, load_afs
from repro.data.records import PairSet
from repro.encoders.cache import cached
from repro.errors import ConfigError, ModelNotAvailable, choose
from repro.evaluation.afs import (Fold, cosine_scorer, evaluate_folds, evaluate_unsupervised, folds_for,
                                  untrained)
from repro.experiments.registry import pipeline, run_row
from repro.paths import atomic_write_bytes
from repro.paths import cache_dir
from repro.profiles import ModelRow, Profile
from repro.results import ResultRecord, ResultStore, RunSpec, slug
from repro.tables.reference import load_reference_csv
from repro.tables.registry import TableDef, register

log = logging.getLogger(__name__)
TABLE = "3"
GROUPS = {"unsupervised": "unsupervised", "10-fold": "10-fold cross-validation", "cross-topic": "cross-topic"}
KINDS = ("tfidf", "wordvec", "infersent", "transformer", "sbert", "cross", "unavailable")
TRAINED = ("sbert", "cross")

# Training settings; a key missing from settings['table3'][kind] takes these values. The paper gives none for AFS.
DEFAULT_TRAINING = {
    # SBERT-AFS: the reference code's STSb regression recipe (v0.2.3 training_stsbenchmark_bert.py).
    "sbert": {"epochs": 4, "batch_size": 16, "lr": 2e-5, "max_seq_length": 128, "max_steps": None, "seed": 0,
              "symmetric": False},
    # BERT-AFS: the authors' AFS cross-encoder (UKPLab acl2019-BERT-argument-classification-and-clustering,
    # argument-similarity/train_misra.sh: 3 epochs, batch 32, lr 2e-5, max_seq_length 64, both pair orders).
    "cross": {"epochs": 3, "batch_size": 32, "lr": 2e-5, "max_seq_length": 64, "max_steps": None, "seed": 0,
              "symmetric": True},
}


@dataclass(frozen=True)
class AFSRow:
    """One row: ``kind`` tfidf | wordvec | infersent | transformer (untuned, cosine) | sbert | cross | unavailable."""

    row: str
    paper_row: str | None
    kind: str
    model: str
    groups: tuple[str, ...] = ("unsupervised",)
    substitute: str | None = None
    reason: str | None = None
    pooling: str | None = None

    def __post_init__(self):
        choose(self.kind, KINDS, "Table 3 row kind")
        for g in self.groups:
            choose(g, GROUPS, "Table 3 setting")
        if self.kind in TRAINED and "unsupervised" in self.groups:
            raise ConfigError(f"Table 3 row {self.row!r}: a trained row needs folds (10-fold or cross-topic)")
        if self.kind in ("tfidf", "wordvec", "infersent") and self.groups != ("unsupervised",):
            raise ConfigError(f"Table 3 row {self.row!r}: {self.kind} rows are unsupervised only")


def settings(profile: Profile) -> dict:
    return dict(profile.settings.get("table3", {}))


def rows_for(profile: Profile) -> list[AFSRow]:
    return [r if isinstance(r, AFSRow) else AFSRow(*r) for r in settings(profile).get("rows", ())]


def training_settings(profile: Profile, kind: str) -> dict:
    return {**DEFAULT_TRAINING[kind], **settings(profile).get(kind, {})}


def _reference():
    import pandas as pd

    df = load_reference_csv("table3_afs.csv")
    group = df["setting"].map({"unsupervised": GROUPS["unsupervised"], "10-fold_cross_validation": GROUPS["10-fold"],
                               "cross_topic": GROUPS["cross-topic"]})
    column = df["metric"].map({"pearson_r_x100": "r", "spearman_rho_x100": "rho"})
    return pd.DataFrame({"group": group, "paper_row": df["model"], "column": column, "value": df["value"],
                         "std": df["std"]})


def spec_for(row: AFSRow, group: str, profile: Profile) -> RunSpec:
    s = settings(profile)
    params = {"group": GROUPS[group], "setting": group, "kind": row.kind, "pooling": row.pooling,
              "limit": s.get("limit")}
    if group == "10-fold":
        params.update(kfold=int(s.get("kfold", 10)), fold_seed=int(s.get("fold_seed", 0)),
                      fold_limit=s.get("fold_limit"))
    if row.kind in TRAINED:
        params["training"] = training_settings(profile, row.kind)
    return RunSpec.make(table=TABLE, row=row.row, model=row.model, profile=profile.name, task=f"afs-{group}",
                        paper_row=row.paper_row, substitute=row.substitute, params=params)


# ------------------------------------------------------------------------------------------------ encoders
def _base_path(model: str, data_root):
    from repro.models import SMOKE_BERT, resolve_model

    if model == SMOKE_BERT:
        from repro.smoke import smoke_bert_path

        return smoke_bert_path(data_root)
    return resolve_model(model)


def build_untrained(row: AFSRow, corpus: AFSCorpus, data_root=None, device=None, batch_size: int = 32):
    """The scorer of an untrained row: tf-idf fitted on every AFS sentence, or an encoder's cosine."""
    if row.kind == "unavailable":
        raise ModelNotAvailable(f"{row.model}: {row.reason or 'not available in this suite'}")
    if row.kind == "tfidf":
        from repro.encoders.tfidf import TfidfEncoder

        pairs = corpus.pairs
        enc = TfidfEncoder().fit(list(dict.fromkeys(s for p in pairs for s in (p.s1, p.s2))))
        return lambda s1, s2: enc.pair_cosine(s1, s2), enc.describe()
    mrow = ModelRow(row.row, row.model, kind=row.kind if row.kind in ("wordvec", "infersent") else "transformer",
                    pooling=row.pooling)
    from repro.experiments.encoders import build_encoder

    enc = cached(build_encoder(mrow, data_root=data_root, device=device))
    return cosine_scorer(enc, batch_size=batch_size), enc.describe()


# ------------------------------------------------------------------------------------------------ training
def _examples(pairs: PairSet, symmetric: bool):
    from repro.training.data import PairExample

    out = [PairExample(p.s1, p.s2, float(p.score) / 5.0) for p in pairs.pairs]
    if symmetric:
        out += [PairExample(p.s2, p.s1, float(p.score) / 5.0) for p in pairs.pairs]
    return out


def _write_json_atomic(path: Path, obj) -> None:
    atomic_write_bytes(path, json.dumps(obj).encode())


def trained_fit(row: AFSRow, profile: Profile, group: str, data_root=None, device=None, echo=print,
                progress: bool = True):
    """A ``fit(train_pairs, fold) -> scorer`` for :func:`evaluate_folds` that trains ``row`` on each fold.

    Predictions of a finished fold are kept in its run folder and reused on a rerun.
    """
    from repro.training.trainer import TrainConfig, seed_everything, train

    ts = training_settings(profile, row.kind)
    base = _base_path(row.model, data_root)  # a missing model stops here, before any fold
    keep_models = bool(settings(profile).get("keep_models", False))
    runs = cache_dir("runs", profile.name, "afs")
    recipe = json.dumps({"row": row.row, "kind": row.kind, "model": row.model, "base": str(base), "group": group,
                         "training": ts, "limit": settings(profile).get("limit"),
                         "kfold": settings(profile).get("kfold", 10), "fold_seed": settings(profile).get("fold_seed", 0)},
                        sort_keys=True)
    key = hashlib.sha256(recipe.encode()).hexdigest()[:12]

    def fit(train_pairs: PairSet, fold: Fold):
        run_dir = runs / f"{slug(row.row)}-{slug(group)}-{key}" / slug(fold.name)
        pred_file = run_dir / "predictions.json"

        def scorer(s1, s2):
            from repro.locks import locked

            with locked(run_dir, what=f"AFS fold {run_dir.parent.name}/{run_dir.name}"):  # train + predict once
                return _predict(s1, s2)

        def _predict(s1, s2):
            if pred_file.is_file():
                saved = json.loads(pred_file.read_text())
                if saved.get("s1") == list(s1) and saved.get("s2") == list(s2):
                    return np.asarray(saved["pred"], dtype=np.float64)
            model = _train(train_pairs, fold, run_dir)
            from repro.training.losses import pair_similarity

            pred = np.asarray(pair_similarity(model, list(s1), list(s2), batch_size=profile.batch_size))
            _write_json_atomic(pred_file, {"s1": list(s1), "s2": list(s2), "pred": pred.tolist()})
            if not keep_models:
                for sub in ("final", "best", "last", "last.old"):
                    shutil.rmtree(run_dir / sub, ignore_errors=True)
            return pred

        return scorer

    def _train(train_pairs: PairSet, fold: Fold, run_dir: Path):
        examples = _examples(train_pairs, bool(ts["symmetric"]))
        config = TrainConfig(epochs=int(ts["epochs"]), batch_size=int(ts["batch_size"]), lr=float(ts["lr"]),
                             seed=int(ts["seed"]), max_steps=ts["max_steps"], eval_steps=0, checkpoint_steps=200,
                             keep="last")
        seed_everything(int(ts["seed"]))
        if row.kind == "cross":
            from repro.training.cross_encoder import CrossEncoder

            model = CrossEncoder(base, num_labels=1, max_seq_length=int(ts["max_seq_length"]), device=device)
        else:
            from repro.encoders.transformer import SentenceEncoder
            from repro.training.losses import CosineSimilarityLoss

            enc = SentenceEncoder(base, pooling=row.pooling or "mean", max_seq_length=int(ts["max_seq_length"]),
                                  normalize=False, device=device)
            model = CosineSimilarityLoss(enc)
        echo(f"  [{row.row} / {fold.name}] training on {len(examples)} pairs")
        result = train(model, examples, config, run_dir, None, name=f"{row.row} {fold.name}", echo=echo,
                       progress=progress)
        if row.kind == "cross":
            from repro.training.cross_encoder import CrossEncoder

            return CrossEncoder(result.model_dir, num_labels=1, max_seq_length=int(ts["max_seq_length"]),
                                device=device)
        from repro.encoders.transformer import SentenceEncoder

        return SentenceEncoder(result.model_dir, device=device)

    return fit


# ------------------------------------------------------------------------------------------------ pipeline
def limit_folds(folds: list[Fold], fold_limit: int | None) -> list[Fold]:
    """The first ``fold_limit`` folds of each test topic (all when None): a CPU-sized, still unbiased, noisier
    estimate of the 10-fold mean (each kept fold is a full fold: its model trains on the other 90% of the topic)."""
    if not fold_limit:
        return folds
    seen: dict[str, int] = {}
    out = []
    for f in folds:
        seen[f.test_topic] = seen.get(f.test_topic, 0) + 1
        if seen[f.test_topic] <= fold_limit:
            out.append(f)
    return out


def _metrics(res: dict) -> dict:
    return {"r": {"x100": res["pearson"], "pooled": res["pearson_pooled"]},
            "rho": {"x100": res["spearman"], "pooled": res["spearman_pooled"]}}


@pipeline(TABLE, datasets=("afs",))
def run_table3(profile: Profile, store: ResultStore, *, data_root=None, device: str | None = None,
               force: bool = False, echo=print, rows: list[AFSRow] | None = None,
               groups: tuple[str, ...] = tuple(GROUPS), progress: bool = True) -> list[ResultRecord]:
    s = settings(profile)
    rows = list(rows if rows is not None else rows_for(profile))
    if not rows:
        raise ConfigError(f"profile {profile.name!r} has no Table 3 rows (settings['table3']['rows'])")
    corpus = load_afs(root=data_root).head(s.get("limit"))  # a data problem stops here
    kfold, fold_seed = int(s.get("kfold", 10)), int(s.get("fold_seed", 0))
    # Untrained rows first, then SBERT-AFS, then BERT-AFS: the cheap records are written before the long ones.
    order = {"sbert": 1, "cross": 2}
    jobs = sorted(((g, r) for g in groups for r in rows if g in r.groups), key=lambda j: order.get(j[1].kind, 0))
    records = []
    for i, (group, row) in enumerate(jobs, 1):
        spec = spec_for(row, group, profile)
        echo(f"[table 3] {i}/{len(jobs)} {GROUPS[group]}: {row.row} ({row.model})")

        def work(spec: RunSpec, row=row, group=group):
            if row.kind in TRAINED:
                fit = trained_fit(row, profile, group, data_root, device, echo, progress)
                desc = {"model": row.model, "training": training_settings(profile, row.kind)}
            else:
                scorer, desc = build_untrained(row, corpus, data_root, device, profile.batch_size)
                fit = untrained(scorer)
            if group == "unsupervised":
                res = evaluate_unsupervised(scorer, corpus)
            else:
                folds = limit_folds(folds_for(group, corpus, kfold, fold_seed), s.get("fold_limit"))
                res = evaluate_folds(corpus, folds, fit, progress=lambda m: log.info("[table 3] %s", m))
            details = {k: v for k, v in res.items() if k not in ("pearson", "spearman")}
            details["encoder"] = desc
            return _metrics(res), details

        records.append(run_row(spec, work, store, device=device, force=force, echo=echo,
                               summary=lambda r: f"r {r.metrics['r']['x100']:.2f}  rho {r.metrics['rho']['x100']:.2f}"))
    return records


register(TableDef(
    number=TABLE,
    title="Table 3: Argument Facet Similarity (AFS), Pearson r and Spearman rho (x100)",
    slug="table3_afs",
    columns=["r", "rho"],
    metric="x100",
    extra_metrics=["pooled"],
    reference=_reference,
    unit="correlation x100",
    notes=[
        "Data: AFS (Misra et al., 2016), 3 topics x 2,000 pairs (death penalty, gun control, gay marriage), gold "
        "0-5; similarity = cosine of the two embeddings (tf-idf: of the unigram tf-idf vectors, idf fitted on all "
        "AFS sentences) or, for BERT-AFS, the cross-encoder's regression output.",
        "Every number is the mean over the three topics: unsupervised = mean of the per-topic correlations; 10-fold "
        "= within each topic, KFold(10, shuffle, seed 0) over pairs, mean over the 10 test folds, then over topics; "
        "cross-topic = train on two topics, test on the third, mean over the three. The correlation of all test "
        "pairs pooled is in the CSV (column pooled). The paper does not say how it averages.",
        "Training (not in the paper): SBERT-AFS = regression objective (MSE of cos(u, v) vs score/5), AdamW 2e-5, "
        "warm-up 10%, batch 16, 4 epochs (the reference code's STSb recipe); BERT-AFS = cross-encoder with a "
        "regression head, both pair orders, batch 32, 3 epochs, 64 tokens (the authors' ACL 2019 AFS script). "
        "Profiles may shorten this; the row's substitute says how.",
        "In the 10-fold setting sentences recur across pairs, so test pairs may contain sentences seen in training "
        "(only the pair is new); the cross-topic setting has no such overlap.",
        "SVR (Misra et al., 2016) is the paper's number only (not implemented here). InferSent runs from its release "
        "files (infersent1.pkl and GloVe 840B-300d in the data root; the row says how to get them when absent).",
    ],
))
