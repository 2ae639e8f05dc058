"""Self-supervised next-event pretraining, for data without an outcome label (e.g. the e-shop
clickstream): the sequence body learns to predict step t+1's features from its state at t, and
``embed`` then gives user representations for segmentation.

Loss: mean squared error between D h_t (a linear decoder, H -> F) and x_{t+1}, over steps where
both t and t+1 are real. The classification head stays untrained (``threshold_`` is NaN).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from xbehavior.errors import DataError
from xbehavior.features.data import SequenceData
from xbehavior.models.common import SequenceClassifier
from xbehavior.models.registry import build_model, make_config
from xbehavior.models.train import EpochLog, TrainedSequenceModel, _context_stats


@dataclass
class PretrainConfig:
    model: object = None  # model config: None, dict of overrides or the dataclass
    lr: float = 1e-3
    batch_size: int = 64
    max_epochs: int = 30
    patience: int = 3
    seed: int = 0


def next_event_loss(model: SequenceClassifier, decoder: nn.Module, x: torch.Tensor,
                    mask: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
    """Mean squared error of predicting x_{t+1} (B, T-1, F) from h_t, on real (t, t+1) pairs."""
    pred = decoder(model.hidden_states(x, mask, ctx)[:, :-1])  # (B, T-1, F)
    pair = (mask[:, :-1] & mask[:, 1:]).unsqueeze(-1)  # (B, T-1, 1)
    err = ((pred - x[:, 1:]) ** 2) * pair
    return err.sum() / (pair.sum() * x.shape[-1]).clamp(min=1)


def _epoch_loss(model, decoder, tensors, batch: int, opt=None, gen=None) -> float:
    x, mask, ctx = tensors
    order = torch.randperm(len(x), generator=gen) if opt is not None else torch.arange(len(x))
    total = 0.0
    for i in range(0, len(x), batch):
        idx = order[i : i + batch]
        with torch.set_grad_enabled(opt is not None):
            loss = next_event_loss(model, decoder, x[idx], mask[idx], ctx[idx])
        if opt is not None:
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        total += loss.item() * len(idx)
    return total / len(x)


def pretrain_next_event(name: str, train: SequenceData, val: SequenceData,
                        cfg: PretrainConfig | None = None) -> TrainedSequenceModel:
    """Train model ``name``'s body on next-event prediction; early-stops on validation MSE.

    ``y`` of the inputs is ignored. Returns a TrainedSequenceModel whose ``embed`` is the
    pretrained representation and whose ``history`` holds the per-epoch MSE.
    """
    cfg = cfg or PretrainConfig()
    if train.x.shape[1] < 2 or len(train) == 0 or len(val) == 0:
        raise DataError("next-event pretraining needs sequences of >= 2 steps in train and val")
    torch.manual_seed(cfg.seed)
    mcfg = make_config(name, cfg.model)
    model = build_model(name, mcfg, train.x.shape[2], train.context.shape[1], train.groups)
    mean, std = _context_stats(np.asarray(train.context, np.float32))
    tm = TrainedSequenceModel(name, model, mcfg, mean, std, list(train.feature_names),
                              list(train.context_names), dict(train.groups), float("nan"))
    width = model.hidden_states(*(t[:1] for t in tm.tensors(train))).shape[-1]
    decoder = nn.Linear(width, train.x.shape[2])
    params = list(model.parameters()) + list(decoder.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    tr, va = tm.tensors(train), tm.tensors(val)
    best, best_state, waited, start = float("inf"), None, 0, time.perf_counter()
    for epoch in range(1, cfg.max_epochs + 1):
        t0 = time.perf_counter()
        model.train()
        train_loss = _epoch_loss(model, decoder, tr, cfg.batch_size, opt, gen)
        model.eval()
        val_loss = _epoch_loss(model, decoder, va, 1024)
        improved = val_loss < best - 1e-6
        if improved:
            best, best_state, waited = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            waited += 1
        tm.history.append(EpochLog(epoch, train_loss, val_loss, time.perf_counter() - t0,
                                   improved))
        if waited >= cfg.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    tm.train_seconds = time.perf_counter() - start
    return tm
