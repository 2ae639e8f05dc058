"""Which inputs drive a model's purchase prediction: permutation importance, integrated
gradients and TreeSHAP, headless (DataFrames in, DataFrames out; drawing lives elsewhere).

Permutation importance = drop in test ROC-AUC when one input is shuffled across examples
(mean and std over ``n_repeats`` shuffles). For a sequence model a *step* feature is shuffled
as a whole series (all steps together, padded steps re-zeroed), a *context* feature as a
column; for a tabular model a column. Integrated gradients (Sundararajan et al. 2017) attribute
the logit to inputs along the straight path from a baseline (0 = the standardised mean);
captum computes them. SHAP for LightGBM is LightGBM's own exact TreeSHAP
(``predict(pred_contrib=True)``), so no ``shap`` package is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from captum.attr import IntegratedGradients
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
                         batch: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Integrated-gradients attributions of the logit for a TrainedSequenceModel (via captum).

    Baseline: all step features 0 and standardised context 0 (the training mean); the mask is
    held fixed. Returns (step attributions (N, T, F), context attributions (N, S)), float32;
    their total per example ≈ logit(x) − logit(baseline) (completeness; Gauss-Legendre rule
    with ``steps`` points). ``batch`` caps the interpolated inputs per forward pass (memory).
    """
    x, mask, ctx = model.tensors(data)
    net = model.model.eval()
    ig = IntegratedGradients(lambda xs, cs, ms: net(xs, ms, cs))  # captum: inputs, then args
    per_call = max(1, batch // steps)  # examples per call; captum expands each by ``steps``
    parts_x, parts_c = [], []
    for i in range(0, len(x), per_call):
        xs, cs, ms = x[i : i + per_call], ctx[i : i + per_call], mask[i : i + per_call]
        ax, ac = ig.attribute((xs, cs), baselines=(torch.zeros_like(xs), torch.zeros_like(cs)),
                              additional_forward_args=(ms,), n_steps=steps)
        parts_x.append(ax.detach())
        parts_c.append(ac.detach())
    if not parts_x:
        raise DataError("integrated gradients needs at least one example")
    return torch.cat(parts_x).float().numpy(), torch.cat(parts_c).float().numpy()


def integrated_gradients_importance(model: Any, data: SequenceData,
                                    steps: int = 32) -> pd.DataFrame:
    """Mean |attribution| per feature (step features summed over real steps first).

    Returns one row per step and context feature (COLUMNS, importance_std NaN) plus
    ``mean_signed`` (mean attribution: > 0 pushes towards purchase), in logit units, sorted
    by importance_mean, descending.
    """
    ax, ac = integrated_gradients(model, data, steps)
    step_sum = (ax * data.mask[:, :, None]).sum(axis=1)  # (N, F)
    per_ex = np.concatenate([step_sum, ac], axis=1)  # (N, F + S)
    kinds = ["step"] * step_sum.shape[1] + ["context"] * ac.shape[1]
    return _attribution_frame(per_ex, [*data.feature_names, *data.context_names], kinds,
                              "mean_abs_integrated_gradient", np.asarray(data.y))


def lightgbm_shap_values(model: Any, X: pd.DataFrame) -> pd.DataFrame:
    """Exact TreeSHAP values of a fitted LightGBM TrainedTabularModel, from LightGBM itself.

    Returns (N, F + 1): one column per feature (log-odds contribution) and ``expected_value``;
    each row sums to the raw margin (log-odds) LightGBM predicts for it.
    """
    booster = getattr(model.estimator, "booster_", None)
    if booster is None:
        raise DataError(f"SHAP values need a fitted LightGBM model; got {model.name!r}")
    cols = list(model.feature_names)
    contrib = booster.predict(X[cols], pred_contrib=True)  # (N, F + 1), last = expected value
    return pd.DataFrame(contrib, columns=[*cols, "expected_value"], index=X.index)


def lightgbm_shap_importance(model: Any, X: pd.DataFrame, y=None) -> pd.DataFrame:
    """Mean |SHAP| per column of a fitted LightGBM TrainedTabularModel on rows ``X``.

    Returns one row per column (COLUMNS, importance_std NaN) plus ``mean_signed`` (mean SHAP
    value), in log-odds units, sorted by importance_mean, descending. ``y`` (optional) only
    fills ``n_pos``.
    """
    shap = lightgbm_shap_values(model, X).drop(columns="expected_value")
    return _attribution_frame(shap.to_numpy(), list(shap.columns), ["column"] * shap.shape[1],
                              "mean_abs_shap", None if y is None else np.asarray(y))


def _attribution_frame(per_example: np.ndarray, names: list[str], kinds: list[str],
                       metric: str, y: np.ndarray | None) -> pd.DataFrame:
    """(N, K) per-example attributions -> one row per feature: mean |value|, mean value."""
    df = pd.DataFrame({"feature": names, "kind": kinds,
                       "importance_mean": np.abs(per_example).mean(axis=0),
                       "importance_std": np.nan,
                       "mean_signed": per_example.mean(axis=0)})
    df["baseline_roc_auc"], df["metric"] = np.nan, metric
    df["n"] = len(per_example)
    df["n_pos"] = int(np.sum(y)) if y is not None else pd.NA
    df["n_repeats"] = pd.NA
    return df.sort_values("importance_mean", ascending=False, kind="stable")[
        [*COLUMNS, "mean_signed"]].reset_index(drop=True)


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
