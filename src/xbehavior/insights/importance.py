"""Which inputs drive a model's purchase prediction: permutation importance and integrated
gradients, headless (DataFrames in, DataFrames out; drawing lives elsewhere).

Permutation importance = drop in test ROC-AUC when one input is shuffled across examples
(mean and std over ``n_repeats`` shuffles). For a sequence model a *step* feature is shuffled
as a whole series (all steps together, padded steps re-zeroed), a *context* feature as a
column; for a tabular model a column. Integrated gradients (Sundararajan et al. 2017) attribute
the logit to inputs along the straight path from a baseline (0 = the standardised mean).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from xbehavior.errors import DataError
from xbehavior.features.data import SequenceData

COLUMNS = ["feature", "kind", "importance_mean", "importance_std", "baseline_roc_auc",
           "metric", "n", "n_pos", "n_repeats"]


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    if np.min(y) == np.max(y):
        raise DataError("permutation importance needs both classes in the evaluation set")
    return float(roc_auc_score(y, p))


def _drops(score: Callable[[np.random.Generator], float], base: float, n_repeats: int,
           rng: np.random.Generator) -> tuple[float, float]:
    d = np.array([base - score(rng) for _ in range(n_repeats)])
    return float(d.mean()), float(d.std(ddof=1)) if n_repeats > 1 else 0.0


def _permute_step(data: SequenceData, j: int, rng: np.random.Generator) -> SequenceData:
    x = data.x.copy()
    x[:, :, j] = data.x[rng.permutation(len(data)), :, j]
    x[~data.mask] = 0.0  # keep the padding contract: padded steps are 0
    return replace(data, x=x)


def _permute_context(data: SequenceData, j: int, rng: np.random.Generator) -> SequenceData:
    ctx = data.context.copy()
    ctx[:, j] = data.context[rng.permutation(len(data)), j]
    return replace(data, context=ctx)


def sequence_permutation_importance(model: Any, data: SequenceData, n_repeats: int = 5,
                                    seed: int = 0) -> pd.DataFrame:
    """Permutation importance of every step and context feature of a TrainedSequenceModel.

    Returns one row per feature (COLUMNS), sorted by importance_mean, descending.
    Cost: (F + S) · n_repeats predictions over ``data``.
    """
    y, rng = np.asarray(data.y), np.random.default_rng(seed)
    base = _auc(y, model.predict_proba(data))
    rows = []
    for kind, names, perm in (("step", data.feature_names, _permute_step),
                              ("context", data.context_names, _permute_context)):
        for j, name in enumerate(names):
            def score(r, j=j, perm=perm):
                return _auc(y, model.predict_proba(perm(data, j, r)))
            mean, std = _drops(score, base, n_repeats, rng)
            rows.append((name, kind, mean, std))
    return _frame(rows, base, y, n_repeats)


def tabular_permutation_importance(model: Any, X: pd.DataFrame, y, n_repeats: int = 5,
                                   seed: int = 0) -> pd.DataFrame:
    """Permutation importance of every column for a model with ``predict_proba(X) -> (N,)``."""
    y, rng = np.asarray(y), np.random.default_rng(seed)
    base = _auc(y, model.predict_proba(X))
    rows = []
    for col in X.columns:
        def score(r, col=col):
            Xp = X.copy()
            Xp[col] = X[col].to_numpy()[r.permutation(len(X))]
            return _auc(y, model.predict_proba(Xp))
        mean, std = _drops(score, base, n_repeats, rng)
        rows.append((col, "column", mean, std))
    return _frame(rows, base, y, n_repeats)


def _frame(rows, base: float, y: np.ndarray, n_repeats: int) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["feature", "kind", "importance_mean", "importance_std"])
    df["baseline_roc_auc"], df["metric"] = base, "roc_auc_drop"
    df["n"], df["n_pos"], df["n_repeats"] = len(y), int(np.sum(y)), n_repeats
    return df.sort_values("importance_mean", ascending=False, kind="stable")[COLUMNS] \
        .reset_index(drop=True)


def integrated_gradients(model: Any, data: SequenceData, steps: int = 32,
                         batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Integrated-gradients attributions of the logit for a TrainedSequenceModel.

    Baseline: all step features 0 and standardised context 0 (the training mean).
    Returns (step attributions (N, T, F), context attributions (N, S)); their total per
    example ≈ logit(x) − logit(baseline) (completeness; midpoint rule with ``steps`` points).
    """
    x, mask, ctx = model.tensors(data)
    net = model.model.eval()
    att_x, att_c = torch.zeros_like(x), torch.zeros_like(ctx)
    for a in (np.arange(steps) + 0.5) / steps:
        for i in range(0, len(x), batch):
            xs = (x[i : i + batch] * float(a)).requires_grad_(True)
            cs = (ctx[i : i + batch] * float(a)).requires_grad_(True)
            gx, gc = torch.autograd.grad(net(xs, mask[i : i + batch], cs).sum(), (xs, cs))
            att_x[i : i + batch] += gx
            att_c[i : i + batch] += gc
    return (x * att_x / steps).numpy(), (ctx * att_c / steps).numpy()


def integrated_gradients_importance(model: Any, data: SequenceData,
                                    steps: int = 32) -> pd.DataFrame:
    """Mean |attribution| per feature (step features summed over real steps first)."""
    ax, ac = integrated_gradients(model, data, steps)
    per_step = np.abs((ax * data.mask[:, :, None]).sum(axis=1)).mean(axis=0)  # (F,)
    per_ctx = np.abs(ac).mean(axis=0)  # (S,)
    df = pd.DataFrame({
        "feature": [*data.feature_names, *data.context_names],
        "kind": ["step"] * len(per_step) + ["context"] * len(per_ctx),
        "importance_mean": np.concatenate([per_step, per_ctx]),
    })
    df["metric"], df["n"] = "mean_abs_integrated_gradient", len(data)
    return df.sort_values("importance_mean", ascending=False, kind="stable") \
        .reset_index(drop=True)


def compare_importance(tables: dict[str, pd.DataFrame],
                       value: str = "importance_mean") -> pd.DataFrame:
    """Side-by-side table, e.g. {"lstm": df, "xlstm_paper": df} -> one row per feature with
    ``<model>`` (the value) and ``<model>_rank`` (1 = most important) columns, ordered by the
    first model's rank."""
    out = None
    for name, df in tables.items():
        part = df.set_index("feature")[[value]].rename(columns={value: name})
        part[f"{name}_rank"] = part[name].rank(ascending=False, method="min").astype(int)
        out = part if out is None else out.join(part, how="outer")
    if out is None:
        return pd.DataFrame()
    first = next(iter(tables))
    return out.sort_values(f"{first}_rank").reset_index()
