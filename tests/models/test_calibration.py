"""Platt scaling on planted truth: the map it finds, the ranking it keeps, and the cases where
it must leave the scores alone."""

import numpy as np
import pytest

from xbehavior.models.calibration import PlattScaling, logit
from xbehavior.models.tabular import fit_tabular


def _planted(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcomes drawn from p = σ(z), and a distorted score s = σ(0.4 z + 1.5), as a model
    trained with the positives up-weighted gives: z = 2.5 logit(s) - 3.75."""
    rng = np.random.default_rng(seed)
    z = rng.normal(-1.0, 1.5, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return y, 1 / (1 + np.exp(-(0.4 * z + 1.5))), z


def test_recovers_the_planted_map_and_keeps_the_ranking():
    y, s, _ = _planted(20_000, 0)
    cal = PlattScaling.fit(y, s)
    assert cal.a == pytest.approx(2.5, rel=0.06) and cal.b == pytest.approx(-3.75, rel=0.06)
    y_test, s_test, z_test = _planted(20_000, 1)
    p = cal(s_test)
    np.testing.assert_array_equal(np.argsort(p, kind="stable"), np.argsort(s_test, kind="stable"))
    assert p.mean() == pytest.approx(y_test.mean(), abs=0.01)  # expected = observed buyers
    assert s_test.mean() > y_test.mean() + 0.3  # the raw score overstates them
    brier = {"raw": np.mean((s_test - y_test) ** 2), "calibrated": np.mean((p - y_test) ** 2),
             "truth": np.mean((1 / (1 + np.exp(-z_test)) - y_test) ** 2)}
    assert brier["calibrated"] < brier["raw"] - 0.1
    assert brier["calibrated"] == pytest.approx(brier["truth"], abs=0.002)


@pytest.mark.parametrize("y, s", [
    ([0, 0, 0, 0], [0.1, 0.2, 0.3, 0.4]),  # one class: nothing to fit
    ([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]),  # constant score: no slope to find
    ([1, 1, 0, 0] * 50, [0.1, 0.2, 0.8, 0.9] * 50),  # scores rank backwards: a <= 0
], ids=["one-class", "constant", "backwards"])
def test_identity_where_no_increasing_map_fits(y, s):
    cal = PlattScaling.fit(np.array(y), np.array(s))
    assert cal.is_identity
    np.testing.assert_array_equal(cal(np.array(s)), np.array(s))


def test_separable_validation_gives_a_finite_map():
    # perfectly separated labels would send the plain maximum-likelihood slope to infinity
    cal = PlattScaling.fit(np.array([0, 0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.7, 0.8]))
    assert 0 < cal.a < 50 and np.isfinite(cal.b)
    assert 0 < cal(np.array([0.0]))[0] < cal(np.array([1.0]))[0] < 1


def test_extreme_scores_stay_finite():
    cal = PlattScaling(2.0, -1.0)
    p = cal(np.array([0.0, 1.0, 1e-300]))
    assert np.all(np.isfinite(p)) and np.all((p > 0) & (p < 1))
    assert np.all(np.isfinite(logit(np.array([0.0, 1.0]))))


def test_tabular_models_are_calibrated_on_validation():
    rng = np.random.default_rng(3)
    import pandas as pd

    def draw(n: int) -> tuple[pd.DataFrame, np.ndarray]:
        x = rng.normal(size=(n, 3))
        z = 1.2 * x[:, 0] - 0.8 * x[:, 1] - 2.0  # about 18% positives
        return pd.DataFrame(x, columns=["a", "b", "c"]), (rng.random(n) < 1 / (1 + np.exp(-z)))

    (xt, yt), (xv, yv), (xs, ys) = draw(3000), draw(3000), draw(3000)
    for name in ("logreg", "lightgbm"):
        tm = fit_tabular(name, xt, yt.astype(int), xv, yv.astype(int), seed=0)
        assert not tm.calibration.is_identity
        # class weighting makes the raw scores overstate buyers; calibrated they add up
        raw, p = tm.raw_score(xs), tm.predict_proba(xs)
        assert raw.mean() > ys.mean() + 0.05
        assert p.mean() == pytest.approx(ys.mean(), abs=0.02)
        assert np.mean((p - ys) ** 2) < np.mean((raw - ys) ** 2) - 0.01  # Brier score
    assert fit_tabular("base_rate", xt, yt.astype(int), xv, yv.astype(int)).calibration \
        .is_identity
