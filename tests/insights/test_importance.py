import numpy as np
import pandas as pd
import pytest
import torch

from xbehavior.errors import DataError
from xbehavior.features.data import SequenceData
from xbehavior.insights.importance import (
    compare_importance,
    integrated_gradients,
    integrated_gradients_importance,
    lightgbm_shap_importance,
    lightgbm_shap_values,
    sequence_permutation_importance,
    tabular_permutation_importance,
)
from xbehavior.models.tabular import fit_tabular
from xbehavior.models.train import TrainConfig, fit_sequence_model


def _seq(n, seed):
    """SYNTHETIC: y = 1 iff feature f0 summed over real steps > 0; f1, f2, context are noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 3)).astype(np.float32)
    mask = np.arange(6)[None] < rng.integers(2, 7, n)[:, None]
    x[~mask] = 0.0
    y = ((x[:, :, 0] * mask).sum(1) > 0).astype(np.float32)
    return SequenceData(x, mask, rng.normal(size=(n, 2)).astype(np.float32), y,
                        ["f0", "f1", "f2"], ["c0", "c1"],
                        {"behaviour": [0], "product": [1], "time": [2]},
                        pd.DataFrame({"user_id": np.arange(n)}))


@pytest.fixture(scope="module")
def lstm_and_test():
    torch.set_num_threads(1)
    tm = fit_sequence_model("lstm", _seq(400, 0), _seq(200, 1),
                            TrainConfig(model={"hidden": 12}, max_epochs=20, patience=5))
    return tm, _seq(300, 2)


def test_sequence_permutation_finds_the_planted_feature(lstm_and_test):
    tm, test = lstm_and_test
    df = sequence_permutation_importance(tm, test, n_repeats=3, seed=0)
    assert df.loc[0, "feature"] == "f0" and df.loc[0, "importance_mean"] > 0.2
    assert set(df["kind"]) == {"step", "context"} and len(df) == 5
    assert (df.loc[1:, "importance_mean"].abs() < 0.05).all()
    assert df["n"].iloc[0] == 300 and df["metric"].iloc[0] == "roc_auc_drop"


def test_integrated_gradients_completeness_and_ranking(lstm_and_test):
    tm, test = lstm_and_test
    sub = test.subset(np.arange(20))
    ax, ac = integrated_gradients(tm, sub, steps=64)
    x, mask, ctx = tm.tensors(sub)
    with torch.no_grad():
        gap = tm.model(x, mask, ctx) - tm.model(torch.zeros_like(x), mask, torch.zeros_like(ctx))
    np.testing.assert_allclose(ax.sum((1, 2)) + ac.sum(1), gap.numpy(), atol=2e-2)
    assert integrated_gradients_importance(tm, sub).loc[0, "feature"] == "f0"


def test_tabular_permutation_and_side_by_side():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(600, 3)), columns=["a", "b", "noise"])
    y = (X["a"] + 0.3 * X["b"] > 0).astype(int).to_numpy()
    tm = fit_tabular("logreg", X[:400], y[:400], X[400:], y[400:])
    df = tabular_permutation_importance(tm, X[400:], y[400:], n_repeats=3)
    assert list(df["feature"]) == ["a", "b", "noise"]
    side = compare_importance({"one": df, "two": df.iloc[::-1]})
    assert list(side.columns) == ["feature", "one", "one_rank", "two", "two_rank"]
    assert list(side["one_rank"]) == [1, 2, 3] and list(side["feature"]) == ["a", "b", "noise"]


def test_lightgbm_tree_shap_ranks_the_deciding_column_and_sums_to_the_margin():
    """SYNTHETIC: y = 1 iff a > 0; b and noise carry nothing."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(600, 3)), columns=["a", "b", "noise"])
    y = (X["a"] > 0).astype(int).to_numpy()
    tm = fit_tabular("lightgbm", X[:400], y[:400], X[400:500], y[400:500])
    test = X[500:]
    shap = lightgbm_shap_values(tm, test)
    assert list(shap.columns) == ["a", "b", "noise", "expected_value"] and len(shap) == 100
    margin = tm.estimator.booster_.predict(test, raw_score=True)
    np.testing.assert_allclose(shap.sum(axis=1).to_numpy(), margin, rtol=0, atol=1e-9)
    df = lightgbm_shap_importance(tm, test, y[500:])
    assert df.loc[0, "feature"] == "a" and df["metric"].iloc[0] == "mean_abs_shap"
    assert df.loc[0, "importance_mean"] > 5 * df.loc[1:, "importance_mean"].max()
    np.testing.assert_allclose(df.set_index("feature").loc[["a", "b", "noise"], "mean_signed"],
                               shap[["a", "b", "noise"]].mean().to_numpy())
    assert df["n"].iloc[0] == 100 and df["n_pos"].iloc[0] == int(y[500:].sum())


def test_shap_refuses_a_model_that_is_not_lightgbm():
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    tm = fit_tabular("logreg", X, [0, 0, 1, 1], X, [0, 0, 1, 1])
    with pytest.raises(DataError, match="fitted LightGBM model; got 'logreg'"):
        lightgbm_shap_importance(tm, X)
