"""Platt scaling: turn a class-weighted model's scores into probabilities.

Every model here is trained with the positive class up-weighted (``pos_weight``,
``scale_pos_weight``, ``class_weight="balanced"``), which keeps a rare outcome from being
ignored but pulls every score towards 0.5: a raw score is a ranking, not a probability. The
figures a marketing user computes from it (expected conversions, the sum of probabilities
over an audience; a probability cut-off in a campaign tool) need probabilities, so each model
gets a two-parameter map fitted on the validation split (never on test):

    p = σ(a · logit(s) + b),    s = the model's raw score in (0, 1)

(Platt 1999). The fit maximises the likelihood of the validation labels with Platt's
smoothed targets t+ = (N+ + 1) / (N+ + 2) and t- = 1 / (N- + 2), which keep ``a`` finite
when the validation scores separate the classes perfectly. With ``a > 0`` the map is
increasing, so ROC-AUC, PR-AUC and every ranking are unchanged; only Brier score, log loss
and the probabilities themselves move. A fit with ``a <= 0`` (validation scores no better
than chance), or labels or scores with a single value, leaves the scores as they are
(``PlattScaling()``, the identity) rather than inverting or flattening the ranking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

#: raw scores are clipped to [EPS, 1 - EPS] before the logit, so 0 and 1 stay finite
EPS = 1e-7


def logit(scores: np.ndarray) -> np.ndarray:
    s = np.clip(np.asarray(scores, dtype=float), EPS, 1 - EPS)
    return np.log(s) - np.log1p(-s)


@dataclass(frozen=True)
class PlattScaling:
    """``p = σ(a · logit(s) + b)``; the default (a=1, b=0) is the identity."""

    a: float = 1.0
    b: float = 0.0

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        if self.is_identity:
            return np.asarray(scores, dtype=float)
        z = self.a * logit(scores) + self.b
        return 1.0 / (1.0 + np.exp(-z))

    @property
    def is_identity(self) -> bool:
        return self.a == 1.0 and self.b == 0.0

    def to_dict(self) -> dict[str, float]:
        return {"a": self.a, "b": self.b}

    @classmethod
    def fit(cls, y: np.ndarray, scores: np.ndarray) -> PlattScaling:
        """Fit (a, b) on labels ``y`` (0/1) and raw scores ``scores`` in [0, 1], shape (N,)."""
        y = np.asarray(y).astype(int)
        z = logit(scores)
        n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
        if n_pos == 0 or n_neg == 0 or np.ptp(z) == 0:
            return cls()
        t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

        def nll(params: np.ndarray) -> tuple[float, np.ndarray]:
            m = params[0] * z + params[1]
            # log σ(m) = -log(1 + e^-m), log(1 - σ(m)) = -log(1 + e^m), both without overflow
            loss = np.sum(t * np.logaddexp(0, -m) + (1 - t) * np.logaddexp(0, m))
            residual = 1.0 / (1.0 + np.exp(-m)) - t
            return float(loss), np.array([residual @ z, residual.sum()])

        found = minimize(nll, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
        a, b = (float(v) for v in found.x)
        if not (np.isfinite(a) and np.isfinite(b)) or a <= 0:
            return cls()
        return cls(a, b)

    @classmethod
    def from_dict(cls, values: dict[str, float] | None) -> PlattScaling:
        """From ``to_dict``'s output; None (a model saved before calibration) is the identity."""
        return cls() if values is None else cls(float(values["a"]), float(values["b"]))
