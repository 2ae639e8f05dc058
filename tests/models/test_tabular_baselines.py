import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import check_estimator

from xbehavior.errors import ConfigError
from xbehavior.models.metrics import binary_metrics
from xbehavior.models.tabular import BaseRateClassifier, fit_tabular


def _frame(n, seed):
    """SYNTHETIC: y = 1 iff a + 0.5 b > 0.8 (25-30 % positives)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "noise": rng.normal(size=n)})
    return X, (X["a"] + 0.5 * X["b"] > 0.8).astype(int).to_numpy()


@pytest.fixture(scope="module")
def data():
    return _frame(600, 0), _frame(300, 1), _frame(300, 2)


def test_base_rate_predicts_training_share(data):
    (xt, yt), (xv, yv), (xs, _) = data
    tm = fit_tabular("base_rate", xt, yt, xv, yv)
    np.testing.assert_allclose(tm.predict_proba(xs), np.full(len(xs), yt.mean()))


@pytest.mark.parametrize("name", ["logreg", "lightgbm"])
def test_learned_baselines_separate(name, data):
    (xt, yt), (xv, yv), (xs, ys) = data
    tm = fit_tabular(name, xt, yt, xv, yv, seed=0)
    assert binary_metrics(ys, tm.predict_proba(xs), tm.threshold_)["roc_auc"] > 0.95
    # columns are matched by name, not position
    np.testing.assert_allclose(tm.predict_proba(xs[::-1].iloc[::-1][["noise", "b", "a"]]),
                               tm.predict_proba(xs))


def test_lightgbm_is_deterministic(data):
    (xt, yt), (xv, yv), (xs, _) = data
    a = fit_tabular("lightgbm", xt, yt, xv, yv, seed=5)
    b = fit_tabular("lightgbm", xt, yt, xv, yv, seed=5)
    np.testing.assert_array_equal(a.predict_proba(xs), b.predict_proba(xs))


def test_base_rate_passes_sklearn_checks():
    check_estimator(BaseRateClassifier())


def test_unknown_tabular_model(data):
    (xt, yt), (xv, yv), _ = data
    with pytest.raises(ConfigError):
        fit_tabular("xgboost", xt, yt, xv, yv)
