"""The main job's model step: every model on the same split, scored on the same test set."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xbehavior.config import RunConfig
from xbehavior.jobs.data_prep import PreparedData
from xbehavior.jobs.score import save_feature_spec
from xbehavior.models.io import save_sequence_model, save_tabular_model
from xbehavior.models.metrics import binary_metrics
from xbehavior.models.tabular import fit_tabular
from xbehavior.models.train import EpochLog, TrainConfig, fit_sequence_model

#: (model name, max epochs) -> (called after every epoch, called once with a summary at the end)
TrainingHooks = Callable[[str, int], tuple[Callable[[EpochLog], None], Callable[[str], None]]]


@dataclass
class ModelResult:
    """One fitted model's held-out predictions and test metrics."""

    name: str
    kind: str  # "tabular" | "sequence"
    fitted: Any
    val_proba: np.ndarray
    test_proba: np.ndarray
    metrics: dict[str, float]
    train_seconds: float
    epochs: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def train_tabular_models(data: PreparedData, cfg: RunConfig,
                         model_dir: Path | None = None) -> list[ModelResult]:
    """Base rate, logistic regression and LightGBM on the aggregated per-example features;
    each saved to ``model_dir/<name>`` (with the feature spec) when a folder is given."""
    import time

    X, y = data.tabular, data.examples["label"].to_numpy()
    tr, va, te = data.split("train"), data.split("val"), data.split("test")
    if model_dir is not None:  # `xbehavior score` needs it even for a run without sequences
        save_feature_spec(model_dir, data.sequences.vocabulary, cfg.max_len, cfg.dataset,
                          data.plan.horizon_days, data.mapping)
    results = []
    for name in cfg.tabular_models:
        start = time.perf_counter()
        fitted = fit_tabular(name, X[tr], y[tr], X[va], y[va], seed=cfg.seed,
                             num_threads=cfg.threads or 2)
        seconds = time.perf_counter() - start
        if model_dir is not None:
            save_tabular_model(fitted, model_dir / name)
        p_val, p_test = fitted.predict_proba(X[va]), fitted.predict_proba(X[te])
        results.append(ModelResult(
            name, "tabular", fitted, p_val, p_test,
            binary_metrics(y[te], p_test, fitted.threshold_), seconds,
        ))
    return results


def train_sequence_models(
    data: PreparedData,
    cfg: RunConfig,
    model_dir: Path,
    hooks: TrainingHooks | None = None,
) -> list[ModelResult]:
    """Each sequence model under one protocol (Adam, lr, batch, early stopping on val)."""
    seqs = data.sequences
    save_feature_spec(model_dir, seqs.vocabulary, cfg.max_len, cfg.dataset,
                      data.plan.horizon_days, data.mapping)
    train, val, test = (seqs.subset(data.split(s)) for s in ("train", "val", "test"))
    results = []
    for name in cfg.sequence_models:
        tcfg = TrainConfig(
            model={"hidden": cfg.hidden_size}, lr=cfg.learning_rate,
            batch_size=cfg.batch_size, max_epochs=cfg.max_epochs, patience=cfg.patience,
            seed=cfg.seed, num_threads=cfg.threads,
        )
        on_epoch, on_end = hooks(name, cfg.max_epochs) if hooks else (None, None)
        fitted = fit_sequence_model(name, train, val, tcfg, on_epoch=on_epoch)
        save_sequence_model(fitted, model_dir / name)
        p_test = fitted.predict_proba(test)
        results.append(ModelResult(
            name, "sequence", fitted, fitted.predict_proba(val), p_test,
            binary_metrics(test.y, p_test, fitted.threshold_), fitted.train_seconds,
            epochs=len(fitted.history),
        ))
        if on_end:
            on_end(f"{len(fitted.history)} epochs, {test_summary(results[-1])}")
    return results


def test_summary(result: ModelResult) -> str:
    """A model's headline test figures with the base rate they compare against."""
    m = result.metrics
    return (f"test ROC-AUC {m['roc_auc']:.3f}, PR-AUC {m['pr_auc']:.3f} "
            f"(base rate {m['base_rate']:.3f})")


def validation_roc_auc(result: ModelResult, y_val: np.ndarray) -> float:
    """The model's ROC-AUC on the validation split (0 if validation has one class)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y_val, result.val_proba)) if len(np.unique(y_val)) == 2 else 0.0


def best_on_validation(results: list[ModelResult], y_val: np.ndarray) -> ModelResult:
    """The scoring model: highest validation ROC-AUC among the fitted models (base_rate
    excluded). Chosen on validation, not test, so the test figures of the chosen model
    (gains, targeting) are not flattered by the choice."""
    candidates = [r for r in results if r.kind in ("tabular", "sequence")
                  and r.name != "base_rate"]
    return max(candidates, key=lambda r: validation_roc_auc(r, y_val))


def metrics_table(results: list[ModelResult]) -> pd.DataFrame:
    """Model x metric on the test set, best ROC-AUC first; base rate in every row."""
    rows = []
    for r in results:
        m = r.metrics
        rows.append({
            "model": r.name, "kind": r.kind, "roc_auc": m["roc_auc"], "pr_auc": m["pr_auc"],
            "f1": m["f1"], "accuracy": m["accuracy"], "brier": m["brier"],
            "log_loss": m["log_loss"], "base_rate": m["base_rate"], "n_test": m["n"],
            "threshold": m["threshold"], "calibrated": _calibrated(r),
            "epochs": r.epochs, "train_seconds": r.train_seconds,
        })
    table = pd.DataFrame(rows)
    return table.sort_values("roc_auc", ascending=False, kind="mergesort").reset_index(drop=True)


def _calibrated(result: ModelResult) -> bool:
    """Whether the model's scores were mapped by a Platt fit on validation (False for the base
    rate, a probability already, and for a model whose validation scores admit no increasing
    map; see ``models.calibration``)."""
    return not result.fitted.calibration.is_identity
