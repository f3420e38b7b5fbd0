"""The training loop, faithful to the paper and its 2019 reference code (sentence-transformers v0.2.3 ``fit()``).

Batch 16; AdamW lr 2e-5, eps 1e-6, weight decay 0.01 except bias/LayerNorm, no bias correction; linear warm-up
over 10% of the steps, then linear decay; gradient clipping at 1.0; dev evaluation every ``eval_steps`` steps
(counted over the run or, ``eval_counting="per-epoch"`` as v0.2.3, within each epoch: :func:`eval_due`) and at the
end of each epoch, keeping the best model (``keep="best"``, as ``save_best_model=True``) or the last one.

A run lives in one folder (``run_dir``)::

    last/        the latest checkpoint: an exported model folder (safetensors; SentenceTransformer(path) loads it)
                 + head.safetensors (objective weights outside the model) + optimizer.pt (optimizer, scheduler,
                 scaler) + rng.pt (torch RNG states) + trainer_state.json (step, best score, history, python and
                 numpy RNG states, the settings)
    best/        the best model so far (exported folder), with keep="best"
    final/       the last model, with keep="last"
    log.json     settings, dev scores and losses over time, outcome (rewritten as the run goes)
    done.json    written last; a finished run is returned from here without training again

A run killed at any point resumes from ``last/`` (model, optimizer, scheduler, data order, RNG) and, on CPU with
the same seed and thread count, ends with exactly the numbers of a run that was never interrupted. The batches of
an epoch are a function of (seed, epoch) only (:func:`repro.training.data.epoch_batches`).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from repro.errors import ConfigError, ReproError
from repro.training import settings as S
from repro.training.data import epoch_batches, steps_per_epoch, take
from repro.training.schedule import make_optimizer, make_scheduler, warmup_steps_for
from repro.training.settings import AMP_MODES, KEEP, check_run_settings  # noqa: F401 (AMP_MODES, KEEP: re-exported)


class TrainingDiverged(ReproError):
    """The loss became NaN or infinite."""


@dataclass(frozen=True)
class TrainConfig:
    """The loop's settings; defaults: :mod:`repro.training.settings` (the 2019 reference code's)."""

    epochs: int = S.EPOCHS
    batch_size: int = S.BATCH_SIZE
    lr: float = S.LR
    adam_eps: float = S.ADAM_EPS
    weight_decay: float = S.WEIGHT_DECAY
    correct_bias: bool = S.CORRECT_BIAS
    warmup_ratio: float = S.WARMUP_RATIO
    max_grad_norm: float = S.MAX_GRAD_NORM
    seed: int = S.SEED
    max_steps: int | None = None  # stop (and fit the schedule) after this many steps
    eval_steps: int = S.EVAL_STEPS  # also at the end of every epoch and of training; 0 = only there
    eval_counting: str = S.EVAL_COUNTING  # eval_steps counted on the global step or within the epoch
    checkpoint_steps: int = S.CHECKPOINT_STEPS  # also at the end of every epoch; 0 = only there
    log_steps: int = S.LOG_STEPS
    keep: str = S.KEEP_DEFAULT
    amp: str = S.AMP  # auto: bf16 (fp16 where bf16 is unsupported) on GPU, fp32 on CPU
    keep_checkpoint: bool = False  # keep last/ (with the optimizer state) once the run has finished

    def __post_init__(self):
        check_run_settings(self)
        if not float(self.lr) > 0.0:
            raise ConfigError(f"learning rate (--lr) must be > 0, got {self.lr}")
        if not 0.0 <= self.warmup_ratio <= 1.0:
            raise ConfigError(f"warmup_ratio must be in [0, 1], got {self.warmup_ratio}")

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["eval_counting"] == S.EVAL_COUNTING:
            del d["eval_counting"]  # added later: checkpoints written before it still resume
        return d


def eval_due(step: int, steps_per_epoch: int, total: int, eval_steps: int, counting: str = S.EVAL_COUNTING) -> bool:
    """Whether the model after ``step`` (1-based, global) gets a dev score: at the end of every epoch and of the
    run, and every ``eval_steps`` steps counted on the global step (``global``) or, as sentence-transformers v0.2.3
    ``fit()``, on the step within the epoch (``per-epoch``; :data:`repro.training.settings.EVAL_COUNTINGS`)."""
    if step % steps_per_epoch == 0 or step == total:
        return True
    if not eval_steps:
        return False
    counted = step if counting == "global" else step - (step - 1) // steps_per_epoch * steps_per_epoch
    return counted % eval_steps == 0


@dataclass
class TrainResult:
    model_dir: Path  # the model kept (best or last), an exported folder
    score: float | None  # its dev score (None without an evaluator)
    best_step: int | None
    steps: int
    history: list = field(default_factory=list)
    resumed_at: list = field(default_factory=list)
    log_path: Path | None = None
    train_seconds: float = 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model_dir"], d["log_path"] = str(self.model_dir), str(self.log_path) if self.log_path else None
        return d


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _autocast_dtype(amp: str, device: torch.device):
    if amp == "fp32" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if amp == "fp16" and device.type != "cuda":
        raise ConfigError("amp=fp16 needs a GPU; use amp=bf16 or fp32 on CPU")
    return torch.bfloat16 if amp == "bf16" else torch.float16


def train_step(objective, batch, optimizer, scheduler, *, amp_dtype=None, scaler=None,
               max_grad_norm: float = 1.0) -> torch.Tensor:
    """One optimizer step on ``batch`` (forward, backward, clipping, AdamW, schedule); returns the loss as a
    detached device tensor (reading it is the caller's choice: no host synchronisation here)."""
    device = next(objective.parameters()).device
    with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        loss = objective(batch)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
    else:
        loss.backward()
    torch.nn.utils.clip_grad_norm_(objective.parameters(), max_grad_norm)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach()


def train(objective, examples: Sequence, config: TrainConfig, run_dir: str | os.PathLike,
          evaluate: Callable | None = None, *, name: str = "train", echo: Callable = print,
          progress: bool = True, on_step: Callable[[int], None] | None = None) -> TrainResult:
    """Train ``objective`` (``collate`` + ``forward -> loss`` + ``export``) on ``examples``; see the module doc.

    ``evaluate(objective) -> float`` is the dev score (higher is better), or a mapping whose ``score`` is it and
    whose other entries (e.g. the Spearman under each similarity) go into the history; ``on_step(step)`` is called after
    every
    step (tests use it to interrupt a run).
    """
    from repro.locks import locked

    run_dir = Path(run_dir)
    # One process trains a run folder at a time; another one waits here and then reuses the finished run.
    with locked(run_dir, what=f"run folder {run_dir.name}", echo=echo):
        return _train_locked(objective, examples, config, run_dir, evaluate, name=name, echo=echo,
                             progress=progress, on_step=on_step)


def _train_locked(objective, examples: Sequence, config: TrainConfig, run_dir: Path, evaluate: Callable | None,
                  *, name: str, echo: Callable, progress: bool, on_step: Callable[[int], None] | None) -> TrainResult:
    run_dir.mkdir(parents=True, exist_ok=True)
    if (done := _read_done(run_dir)) is not None:
        return done
    n = len(examples)
    if n == 0:
        raise ConfigError(f"{name}: no training examples")
    spe = steps_per_epoch(n, config.batch_size)
    total = spe * config.epochs if config.max_steps is None else min(spe * config.epochs, config.max_steps)
    warmup = warmup_steps_for(total, config.warmup_ratio)
    device = next(objective.parameters()).device
    amp_dtype = _autocast_dtype(config.amp, device)
    seed_everything(config.seed)

    optimizer = make_optimizer(objective, config.lr, config.adam_eps, config.weight_decay, config.correct_bias)
    scheduler = make_scheduler(optimizer, warmup, total)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    settings = {"config": config.to_dict(), "n_examples": n, "steps": total, "warmup_steps": warmup,
                "steps_per_epoch": spe, "amp": str(amp_dtype or "fp32"), "device": str(device)}
    state = {"step": 0, "best_score": None, "best_step": None, "history": [], "resumed_at": [], "settings": settings}
    ckpt = _latest_checkpoint(run_dir)
    if ckpt is not None:
        state = _load_checkpoint(ckpt, objective, optimizer, scheduler, scaler, settings, run_dir)
        state["resumed_at"].append(state["step"])
        echo(f"  [{name}] resuming from step {state['step']}/{total} ({ckpt})")
    _write_json(run_dir / "log.json", {"name": name, **state, "finished": False})

    objective.train()
    if hasattr(objective, "pretokenize"):  # tokenise every sentence once, ahead of the loop
        objective.pretokenize(examples)
    step, t0, t_start = state["step"], time.perf_counter(), state["step"]
    window: list = []  # (step, epoch, batch, idx, loss tensor) since the last check: no host sync per step
    cached = (-1, None)
    sync_free = device.type != "cpu"  # on a CPU reading the loss costs nothing: check every step

    def check_window() -> float:
        """Mean loss of the steps since the last check (one host sync); stops at the first non-finite one."""
        losses = torch.stack([w[4] for w in window]).float().cpu()
        bad = torch.nonzero(~torch.isfinite(losses))
        if len(bad):
            k = int(bad[0])
            s_, e_, b_, idx_ = window[k][:4]
            raise TrainingDiverged(
                f"{name}: loss is {float(losses[k])} at step {s_}/{total} (epoch {e_}, batch {b_}/{spe}, "
                f"examples {idx_[:8]}{'...' if len(idx_) > 8 else ''}); run folder {run_dir} keeps the last good "
                f"checkpoint (step {state['step']}). Lower the learning rate, check those examples, or use amp=fp32"
            )
        total_loss = 0.0
        for x in losses.tolist():  # summed as Python floats in step order, as the plain loop did
            total_loss += x
        mean = total_loss / len(window)
        window.clear()
        return mean

    bar = _progress(total, step, name, progress)
    try:
        while step < total:
            epoch, i = divmod(step, spe)
            if cached[0] != epoch:
                cached = (epoch, epoch_batches(n, config.batch_size, config.seed, epoch))
            idx = cached[1][i]
            batch = objective.collate(take(examples, idx))
            loss = train_step(objective, batch, optimizer, scheduler, amp_dtype=amp_dtype, scaler=scaler,
                              max_grad_norm=config.max_grad_norm)
            window.append((step + 1, epoch + 1, i + 1, idx, loss))
            if not sync_free and not math.isfinite(float(loss)):
                check_window()
            step += 1
            end_of_epoch = step % spe == 0 or step == total
            do_eval = evaluate is not None and eval_due(step, spe, total, config.eval_steps, config.eval_counting)
            do_ckpt = step < total and (end_of_epoch or (config.checkpoint_steps
                                                         and step % config.checkpoint_steps == 0))
            if do_eval or step % config.log_steps == 0 or end_of_epoch:
                entry = {"step": step, "epoch": epoch + 1, "loss": check_window(),
                         "lr": scheduler.get_last_lr()[0], "elapsed_s": round(time.perf_counter() - t0, 2)}
                if do_eval:
                    score = evaluate(objective)
                    if isinstance(score, Mapping):  # {"score": the one that picks the model, <its parts>: ...}
                        entry["dev_parts"] = {k: float(v) for k, v in score.items() if k != "score"}
                        score = score["score"]
                    entry["dev"] = float(score)
                    objective.train()
                    if state["best_score"] is None or entry["dev"] > state["best_score"]:
                        state["best_score"], state["best_step"] = entry["dev"], step
                        if config.keep == "best":
                            _atomic_dir(run_dir / "best", objective.export)
                    left = (time.perf_counter() - t0) / max(1, step - t_start) * (total - step)
                    echo(f"  [{name}] step {step}/{total} epoch {epoch + 1} loss {entry['loss']:.4f} "
                         f"dev {entry['dev']:.2f} (best {state['best_score']:.2f} @ {state['best_step']}) "
                         f"{_fmt_time(left)} left")
                state["history"].append(entry)
                bar.set_postfix(loss=f"{entry['loss']:.4f}", dev="-" if state["best_score"] is None
                                else f"{state['best_score']:.2f}")
            if do_ckpt:
                if window and sync_free:  # never checkpoint weights a non-finite loss may have reached
                    _check_finite(window, check_window)
                state["step"] = step
                _save_checkpoint(run_dir, objective, optimizer, scheduler, scaler, state)
                _write_json(run_dir / "log.json", {"name": name, **state, "finished": False})
            bar.update(1)
            if on_step is not None:
                on_step(step)
    except TrainingDiverged as e:
        _write_json(run_dir / "log.json", {"name": name, **state, "finished": False, "error": str(e)})
        raise
    finally:
        bar.close()
    state["step"] = step
    return _finish(run_dir, objective, config, state, evaluate is not None, time.perf_counter() - t0, name)


# ----------------------------------------------------------------------------------------------- finishing


def _check_finite(window: list, check_window) -> None:
    """Raise (through ``check_window``) when a loss of ``window`` is not finite, keeping the window otherwise
    (its mean is logged at the next log step)."""
    losses = torch.stack([w[4] for w in window])
    if not bool(torch.isfinite(losses).all()):
        check_window()


def _finish(run_dir: Path, objective, config: TrainConfig, state: dict, evaluated: bool, seconds: float,
            name: str) -> TrainResult:
    if config.keep == "best" and evaluated and (run_dir / "best").is_dir():
        model_dir, score, best_step = run_dir / "best", state["best_score"], state["best_step"]
    else:
        _atomic_dir(run_dir / "final", objective.export)
        last_dev = next((h["dev"] for h in reversed(state["history"]) if "dev" in h), None)
        model_dir, score, best_step = run_dir / "final", last_dev, state["best_step"]
    result = TrainResult(model_dir=model_dir, score=score, best_step=best_step, steps=state["step"],
                         history=state["history"], resumed_at=state["resumed_at"], log_path=run_dir / "log.json",
                         train_seconds=round(seconds, 2))
    _write_json(run_dir / "log.json", {"name": name, **state, "finished": True, "kept": config.keep,
                                       "model_dir": model_dir.name, "score": score})
    if not config.keep_checkpoint:
        for d in ("last", "last.old"):
            shutil.rmtree(run_dir / d, ignore_errors=True)
    _write_json(run_dir / "done.json", {**result.to_dict(), "model_dir": model_dir.name,
                                        "log_path": "log.json"})
    with open(run_dir / "finished.log", "a") as f:  # append-only: one line per time this run was trained to its end
        f.write(json.dumps({"pid": os.getpid(), "steps": state["step"], "resumed_at": state["resumed_at"],
                            "at": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
    return result


def _read_done(run_dir: Path) -> TrainResult | None:
    p = run_dir / "done.json"
    if not p.is_file():
        return None
    d = json.loads(p.read_text())
    model_dir = run_dir / d["model_dir"]
    if not (model_dir / "config.json").is_file():  # the kept model was deleted: train again
        p.unlink()
        return None
    return TrainResult(model_dir=model_dir, score=d["score"], best_step=d["best_step"], steps=d["steps"],
                       history=d["history"], resumed_at=d["resumed_at"], log_path=run_dir / "log.json",
                       train_seconds=d.get("train_seconds", 0.0))


# --------------------------------------------------------------------------------------------- checkpoints


def _atomic_dir(target: Path, write: Callable[[Path], object]) -> Path:
    """Write a folder with ``write(tmp)`` and swap it in, so ``target`` is always complete (or absent)."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    write(tmp)
    old = target.with_name(f"{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def _rng_state() -> tuple[dict, dict]:
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors["cuda"] = torch.cuda.get_rng_state_all()
    py = random.getstate()
    npy = np.random.get_state()
    plain = {"python": [py[0], list(py[1]), py[2]],
             "numpy": [npy[0], npy[1].tolist(), int(npy[2]), int(npy[3]), float(npy[4])]}
    return tensors, plain


def _set_rng_state(tensors: dict, plain: dict) -> None:
    torch.set_rng_state(tensors["torch"])
    if "cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(tensors["cuda"])
    py = plain["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    npy = plain["numpy"]
    np.random.set_state((npy[0], np.asarray(npy[1], dtype=np.uint32), npy[2], npy[3], npy[4]))


def _save_checkpoint(run_dir: Path, objective, optimizer, scheduler, scaler, state: dict) -> None:
    from safetensors.torch import save_file

    tensors, plain = _rng_state()

    def write(tmp: Path):
        objective.export(tmp)
        head = {k: v.detach().contiguous().cpu() for k, v in objective.head_state().items()}
        if head:
            save_file(head, str(tmp / "head.safetensors"))
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict() if scaler is not None else None}, tmp / "optimizer.pt")
        torch.save(tensors, tmp / "rng.pt")
        _write_json(tmp / "trainer_state.json", {**state, "rng": plain})

    _atomic_dir(run_dir / "last", write)


def _latest_checkpoint(run_dir: Path) -> Path | None:
    for d in (run_dir / "last", run_dir / "last.old"):  # last.old: killed in the middle of swapping folders
        if (d / "trainer_state.json").is_file():
            return d
    return None


def _load_checkpoint(ckpt: Path, objective, optimizer, scheduler, scaler, settings: dict, run_dir: Path) -> dict:
    from safetensors.torch import load_file

    saved = json.loads((ckpt / "trainer_state.json").read_text())
    if saved["settings"]["config"] != settings["config"] or saved["settings"]["n_examples"] != settings["n_examples"]:
        raise ConfigError(
            f"run folder {run_dir} holds a checkpoint of a run with other settings "
            f"({saved['settings']['config']}, {saved['settings']['n_examples']} examples); delete the folder to "
            f"start over or choose another run folder"
        )
    objective.load_exported(ckpt)
    if (ckpt / "head.safetensors").is_file():
        device = next(objective.parameters()).device
        head = load_file(str(ckpt / "head.safetensors"), device=str(device))
        missing = objective.load_state_dict(head, strict=False)
        bad = [k for k in missing.unexpected_keys]
        if bad:
            raise ConfigError(f"{ckpt / 'head.safetensors'}: unexpected tensors {bad}")
    opt = torch.load(ckpt / "optimizer.pt", map_location=next(objective.parameters()).device, weights_only=True)
    optimizer.load_state_dict(opt["optimizer"])
    scheduler.load_state_dict(opt["scheduler"])
    if scaler is not None and opt.get("scaler"):
        scaler.load_state_dict(opt["scaler"])
    _set_rng_state(torch.load(ckpt / "rng.pt", weights_only=True), saved.pop("rng"))
    return saved


# ------------------------------------------------------------------------------------------------- output


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str) + "\n")
    os.replace(tmp, path)


def _fmt_time(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def _progress(total: int, initial: int, name: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=name, unit="step", disable=not enabled, dynamic_ncols=True,
                leave=False, mininterval=2.0)
