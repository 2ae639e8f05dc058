"""Baselines a practitioner would try first, on aggregated per-user features (a DataFrame).

- ``lightgbm``: gradient boosting, early-stopped on validation, deterministic single-thread-able.
- ``logreg``: standardised logistic regression, ``class_weight="balanced"``.
- ``base_rate``: predicts the training base rate for everyone (the floor every model must beat).

All share ``fit_tabular(...) -> TrainedTabularModel`` with ``predict_proba(X) -> (N,)``
(lightgbm and logreg: their class-weighted scores Platt-calibrated on validation, see
``models.calibration``) and a ``threshold_`` chosen on validation (max F1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from xbehavior.errors import ConfigError
from xbehavior.models.calibration import PlattScaling
from xbehavior.models.metrics import best_f1_threshold

TABULAR_MODELS = ("lightgbm", "logreg", "base_rate")


class BaseRateClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the training class shares for every row; an sklearn estimator.

    Learned: ``classes_``, ``class_prior_`` (share of each class), ``base_rate_`` (share of
    the last class, i.e. of 1 for 0/1 labels), ``n_features_in_``. O(N) time, O(1) memory.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True  # by design: it is the floor to beat
        return tags

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, counts = np.unique(y, return_counts=True)
        self.class_prior_ = counts / counts.sum()
        self.base_rate_ = float(self.class_prior_[-1])
        return self

    def predict_proba(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return np.tile(self.class_prior_, (X.shape[0], 1))

    def predict(self, X):
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@dataclass
class TrainedTabularModel:
    name: str
    estimator: Any
    feature_names: list[str]
    threshold_: float = 0.5
    calibration: PlattScaling = field(default_factory=PlattScaling)

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """The estimator's class-weighted score per row, (N,): ranks, is no probability."""
        return self.estimator.predict_proba(X[self.feature_names])[:, 1]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(y = 1) per row, (N,): the raw score calibrated on validation; columns are taken
        in the training order."""
        return self.calibration(self.raw_score(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X) >= self.threshold_).astype(int)


def _lightgbm(X_train, y_train, X_val, y_val, seed: int, num_threads: int):
    n_pos = float(np.sum(y_train))
    model = lgb.LGBMClassifier(
        n_estimators=2000, learning_rate=0.03, num_leaves=31, min_child_samples=20,
        subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=seed,
        scale_pos_weight=(len(y_train) - n_pos) / max(n_pos, 1.0),
        deterministic=True, force_row_wise=True, num_threads=num_threads, verbose=-1,
    )
    model.fit(X_train, y_train, eval_X=(X_val,), eval_y=(y_val,), eval_metric="binary_logloss",
              callbacks=[lgb.early_stopping(50, verbose=False)])
    return model


def fit_tabular(name: str, X_train: pd.DataFrame, y_train, X_val: pd.DataFrame, y_val,
                seed: int = 0, num_threads: int = 1) -> TrainedTabularModel:
    """Fit baseline ``name`` on numeric per-user features; threshold chosen on validation."""
    cols = list(X_train.columns)
    y_train, y_val = np.asarray(y_train).astype(int), np.asarray(y_val).astype(int)
    if name == "lightgbm":
        est = _lightgbm(X_train, y_train, X_val[cols], y_val, seed, num_threads)
    elif name == "logreg":
        est = make_pipeline(StandardScaler(), LogisticRegression(
            class_weight="balanced", max_iter=2000, random_state=seed))
        est.fit(X_train.to_numpy(float), y_train)
        est = NamedPipeline(est)
    elif name == "base_rate":
        est = BaseRateClassifier().fit(X_train.to_numpy(float), y_train)
        est = NamedPipeline(est)
    else:
        raise ConfigError(f"unknown tabular model {name!r}; choose one of {TABULAR_MODELS}")
    tm = TrainedTabularModel(name, est, cols)
    # base_rate's constant score (a probability already) is left as it is by fit()
    tm.calibration = PlattScaling.fit(y_val, tm.raw_score(X_val[cols]))
    tm.threshold_ = best_f1_threshold(y_val, tm.predict_proba(X_val))
    return tm


class NamedPipeline:
    """Feeds a DataFrame to an estimator fitted on plain arrays (no feature-name warnings)."""

    def __init__(self, est: Any):
        self.est = est

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.est.predict_proba(X.to_numpy(float))
