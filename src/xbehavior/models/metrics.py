"""Binary classification metrics on a held-out set, always reported with the base rate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
)


def best_f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """Threshold on ``p`` maximising F1 of ``p >= threshold`` (chosen on validation data).

    Returns 0.5 when ``y`` has a single class (F1 is then undefined).
    """
    y = np.asarray(y).astype(int)
    if y.min() == y.max():
        return 0.5
    prec, rec, thr = precision_recall_curve(y, p)
    f1 = 2 * prec[:-1] * rec[:-1] / np.maximum(prec[:-1] + rec[:-1], 1e-12)
    return float(thr[int(np.argmax(f1))])


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Metrics of probabilities ``p`` (N,) against labels ``y`` (N,) in {0, 1}.

    roc_auc and pr_auc (average precision) rank; f1 and accuracy use ``p >= threshold``;
    brier and log_loss judge calibration; base_rate = mean(y) is what a constant predictor
    scores as pr_auc. roc_auc / pr_auc are NaN when y has one class.
    """
    y = np.asarray(y).astype(int)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    pred = (p >= threshold).astype(int)
    both = y.min() != y.max()
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "accuracy": float(accuracy_score(y, pred)),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "base_rate": float(y.mean()),
        "threshold": float(threshold),
        "n": len(y),
        "n_pos": int(y.sum()),
    }


def aggregate_seeds(runs: Sequence[dict[str, float]] | pd.DataFrame,
                    by: Sequence[str] = ()) -> pd.DataFrame:
    """Mean and sample std (ddof=1) of every numeric metric over seeds.

    ``runs``: one row per (model, seed) run; ``by``: columns to group on (e.g. ["model"]).
    Returns one row per group with ``<metric>_mean``, ``<metric>_std`` and ``n_seeds``.
    """
    df = pd.DataFrame(list(runs)) if not isinstance(runs, pd.DataFrame) else runs
    num = [c for c in df.select_dtypes("number").columns if c not in (*by, "seed")]
    if by:
        g = df.groupby(list(by), sort=False)[num]
        out = g.mean().add_suffix("_mean").join(g.std(ddof=1).add_suffix("_std"))
        out["n_seeds"] = g.size()
        return out.reset_index()
    out = pd.concat([df[num].mean().add_suffix("_mean"), df[num].std(ddof=1).add_suffix("_std")])
    frame = out.to_frame().T
    frame["n_seeds"] = len(df)
    return frame
