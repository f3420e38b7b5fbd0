"""Triplet training (Table 4): SBERT with the triplet objective; dev accuracy picks the kept model."""

from __future__ import annotations

from repro.errors import ConfigError


def train_triplet_model(base, train, dev, s: dict, run_dir, device=None, echo=print, progress: bool = True):
    """SBERT with the triplet objective on ``train`` (a TripletSet); returns ``(SentenceEncoder, TrainResult)``."""
    from repro.encoders.transformer import SentenceEncoder
    from repro.evaluation.triplets import evaluate_triplets
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
