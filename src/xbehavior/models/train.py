"""One training protocol for every sequence model (the paper's: Adam, lr 1e-3, batch 64).

``fit_sequence_model(name, train, val, cfg)``: mini-batch Adam on class-weighted binary
cross-entropy, early stopping on validation loss (best weights restored), the scores
Platt-calibrated on validation (``models.calibration``) and the decision threshold chosen on
validation to maximise F1. Static context is standardised with train statistics
(step features arrive standardised from the features stage).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from xbehavior.errors import DataError
from xbehavior.features.data import SequenceData
from xbehavior.models.calibration import PlattScaling
from xbehavior.models.common import SequenceClassifier
from xbehavior.models.metrics import best_f1_threshold
from xbehavior.models.registry import build_model, make_config


@dataclass
class TrainConfig:
    model: Any = None  # model config: None (defaults), dict of overrides, or the dataclass
    lr: float = 1e-3
    batch_size: int = 64
    max_epochs: int = 100
    patience: int = 10  # epochs without a better validation loss before stopping
    seed: int = 0
    pos_weight: float | str | None = "auto"  # "auto" = n_neg / n_pos on train; None = 1
    weight_decay: float = 0.0
    num_threads: int | None = None  # torch threads while training; None = leave as is
    eval_batch_size: int = 1024


@dataclass
class EpochLog:
    epoch: int
    train_loss: float
    val_loss: float
    seconds: float
    best: bool


@dataclass
class TrainedSequenceModel:
    """A fitted model plus what is needed to apply it to new SequenceData."""

    name: str
    model: SequenceClassifier
    model_config: Any
    context_mean: np.ndarray  # (S,) train statistics used to standardise context
    context_std: np.ndarray  # (S,)
    feature_names: list[str]
    context_names: list[str]
    groups: dict[str, list[int]]
    threshold_: float = 0.5
    calibration: PlattScaling = field(default_factory=PlattScaling)
    history: list[EpochLog] = field(default_factory=list)
    train_seconds: float = 0.0

    def tensors(self, data: SequenceData) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x (N,T,F), mask (N,T), standardised context (N,S)) as torch tensors."""
        if list(data.feature_names) != list(self.feature_names):
            raise DataError("sequence features differ from the ones the model was trained on")
        ctx = (np.asarray(data.context, np.float32) - self.context_mean) / self.context_std
        return (torch.from_numpy(np.ascontiguousarray(data.x, np.float32)),
                torch.from_numpy(np.ascontiguousarray(data.mask, bool)),
                torch.from_numpy(np.ascontiguousarray(ctx, np.float32)))

    @torch.no_grad()
    def _batched(self, data: SequenceData, fn: Callable, batch: int = 1024) -> np.ndarray:
        self.model.eval()
        x, mask, ctx = self.tensors(data)
        parts = [fn(x[i : i + batch], mask[i : i + batch], ctx[i : i + batch])
                 for i in range(0, len(x), batch)]
        return torch.cat(parts).numpy()

    def decision_function(self, data: SequenceData) -> np.ndarray:
        """Logits (N,)."""
        return self._batched(data, self.model)

    def raw_score(self, data: SequenceData) -> np.ndarray:
        """σ(logit) per example, (N,): trained class-weighted, so it ranks but is no
        probability."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(data)))

    def predict_proba(self, data: SequenceData) -> np.ndarray:
        """P(y = 1) per example, (N,): the raw score calibrated on validation."""
        return self.calibration(self.raw_score(data))

    def predict(self, data: SequenceData) -> np.ndarray:
        """0/1 labels at the validation-chosen threshold, (N,)."""
        return (self.predict_proba(data) >= self.threshold_).astype(int)

    def embed(self, data: SequenceData) -> np.ndarray:
        """Representation before the head, (N, D)."""
        return self._batched(data, self.model.embed)


def _context_stats(ctx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = ctx.mean(axis=0).astype(np.float32) if len(ctx) else np.zeros(ctx.shape[1], np.float32)
    std = ctx.std(axis=0).astype(np.float32) if len(ctx) else np.ones(ctx.shape[1], np.float32)
    return mean, np.where(std > 1e-8, std, 1.0).astype(np.float32)  # constant column: keep


def _pos_weight(y: np.ndarray, setting: float | str | None) -> float:
    if setting is None:
        return 1.0
    if setting == "auto":
        n_pos = float(y.sum())
        return (len(y) - n_pos) / n_pos if n_pos > 0 else 1.0
    return float(setting)


def _mean_loss(model: SequenceClassifier, tensors, pos_weight: torch.Tensor, batch: int) -> float:
    x, mask, ctx, y = tensors
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(x[i : i + batch], mask[i : i + batch], ctx[i : i + batch])
            total += F.binary_cross_entropy_with_logits(
                logits, y[i : i + batch], pos_weight=pos_weight, reduction="sum").item()
    return total / max(len(x), 1)


def _train_epoch(model, opt, tensors, pos_weight, batch: int, gen: torch.Generator) -> float:
    x, mask, ctx, y = tensors
    model.train()
    order = torch.randperm(len(x), generator=gen)
    total = 0.0
    for i in range(0, len(x), batch):
        idx = order[i : i + batch]
        opt.zero_grad(set_to_none=True)
        loss = F.binary_cross_entropy_with_logits(
            model(x[idx], mask[idx], ctx[idx]), y[idx], pos_weight=pos_weight)
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    return total / len(x)


def fit_sequence_model(
    name: str, train: SequenceData, val: SequenceData, cfg: TrainConfig | None = None,
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> TrainedSequenceModel:
    """Train model ``name`` ('rnn' | 'lstm' | 'xlstm_paper' | 'xlstm') on ``train``.

    Early-stops on the (class-weighted) validation loss, restores the best epoch's weights,
    fits ``calibration`` and picks ``threshold_`` maximising F1 on ``val``. ``on_epoch`` gets
    an EpochLog after every epoch (e.g. to drive a Rich progress bar). Cost: O(epochs · N · T)
    cell steps.
    """
    cfg = cfg or TrainConfig()
    if len(train) == 0 or len(val) == 0:
        raise DataError("fit_sequence_model: train and validation sets must be non-empty")
    old_threads = torch.get_num_threads()
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    try:
        return _fit(name, train, val, cfg, on_epoch)
    finally:
        torch.set_num_threads(old_threads)


def _fit(name, train, val, cfg: TrainConfig, on_epoch) -> TrainedSequenceModel:
    torch.manual_seed(cfg.seed)
    mcfg = make_config(name, cfg.model)
    model = build_model(name, mcfg, train.x.shape[2], train.context.shape[1], train.groups)
    mean, std = _context_stats(np.asarray(train.context, np.float32))
    tm = TrainedSequenceModel(name, model, mcfg, mean, std, list(train.feature_names),
                              list(train.context_names), dict(train.groups))
    tr = (*tm.tensors(train), torch.as_tensor(train.y, dtype=torch.float32))
    va = (*tm.tensors(val), torch.as_tensor(val.y, dtype=torch.float32))
    pw = torch.tensor(_pos_weight(np.asarray(train.y), cfg.pos_weight))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    best_loss, best_state, waited, start = float("inf"), None, 0, time.perf_counter()
    for epoch in range(1, cfg.max_epochs + 1):
        t0 = time.perf_counter()
        train_loss = _train_epoch(model, opt, tr, pw, cfg.batch_size, gen)
        val_loss = _mean_loss(model, va, pw, cfg.eval_batch_size)
        improved = val_loss < best_loss - 1e-6
        if improved:
            best_loss, best_state, waited = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            waited += 1
        log = EpochLog(epoch, train_loss, val_loss, time.perf_counter() - t0, improved)
        tm.history.append(log)
        if on_epoch is not None:
            on_epoch(log)
        if waited >= cfg.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    tm.train_seconds = time.perf_counter() - start
    tm.calibration = PlattScaling.fit(np.asarray(val.y), tm.raw_score(val))
    tm.threshold_ = best_f1_threshold(np.asarray(val.y), tm.predict_proba(val))
    return tm


def rich_epoch_callback(progress: Any, task_id: Any) -> Callable[[EpochLog], None]:
    """An ``on_epoch`` callback advancing a ``rich.progress.Progress`` task by one epoch."""

    def _cb(log: EpochLog) -> None:
        progress.update(task_id, advance=1,
                        description=f"epoch {log.epoch} val {log.val_loss:.4f}")

    return _cb
