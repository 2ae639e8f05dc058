import numpy as np
import pandas as pd
import pytest

from xbehavior.insights.targeting import (
    ab_sample_size,
    cart_abandoners,
    gain_table,
    targeting_table,
    two_proportion_ztest,
)


def test_gain_and_lift_by_hand():
    score = np.arange(10)[::-1] / 10  # already ranked
    y = [1, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    g = gain_table(y, score, n_bins=5)
    assert g["positives"].tolist() == [2, 1, 0, 0, 0]
    assert g["cum_gain"].tolist() == pytest.approx([2 / 3, 1, 1, 1, 1])
    assert g["lift"].tolist()[:2] == pytest.approx([1 / 0.3, 0.75 / 0.3])
    assert g["base_rate"].iloc[0] == pytest.approx(0.3)


def test_targeting_table_states_assumption():
    units = pd.DataFrame(
        {
            "segment": ["A", "A", "B", "B"],
            "country": ["DE", "DE", "UK", "UK"],
            "score": [0.5, 0.5, 0.2, 0.95],
            "y": [1, 0, 0, 1],
        }
    )
    t = targeting_table(units, relative_effect=0.1, label="y", min_count=1)
    assert t[["segment", "country"]].values.tolist() == [["A", "DE"], ["B", "UK"]]
    # 0.05 + 0.05; 0.02 + (min(1.045, 1) - 0.95)
    assert t["expected_extra"].tolist() == pytest.approx([0.10, 0.07])
    assert (t["assumed_relative_effect"] == 0.1).all()
    assert t["base_rate"].tolist() == pytest.approx([0.5, 0.5])


def test_cart_abandoners(shop_log):
    out = cart_abandoners(shop_log, pd.Series({"s3": 0.4}))
    assert out["session_id"].tolist() == ["s3"]
    assert out["cart_value"].iloc[0] == pytest.approx(5.0)
    assert out["propensity"].iloc[0] == pytest.approx(0.4)


def test_propensity_features_without_prices_are_zero_not_nan():
    from xbehavior.insights.targeting import PROPENSITY_FEATURES, propensity_features

    events = pd.DataFrame({
        "session_id": ["s1", "s1", "s2"], "user_id": ["u1", "u1", "u2"],
        "ts": pd.to_datetime(["2024-03-04 10:00", "2024-03-04 10:05", "2024-03-04 11:00"]),
        "event_type": ["view", "purchase", "cart"], "price": [None, 5.0, None]})
    feats = propensity_features(events).set_index("session_id")
    assert feats.loc["s1", ["mean_price", "max_price"]].tolist() == [0.0, 0.0]
    assert not feats[list(PROPENSITY_FEATURES)].isna().any().any()


def test_sample_size_textbook():
    # 10% -> 15%, alpha 0.05 two-sided, power 0.8: 686 per arm (Fleiss, no continuity corr.)
    assert ab_sample_size(0.10, 0.5) == 686
    assert ab_sample_size(0.10, 0.2) == 3841


def test_two_proportion_ztest_by_hand():
    r = two_proportion_ztest(100, 1000, 130, 1000).iloc[0]
    # pooled p 0.115, SE sqrt(.115 * .885 * .002) = 0.0142671, z = 0.03 / SE
    assert r["z"] == pytest.approx(2.10274, abs=1e-4)
    assert r["p_value"] == pytest.approx(0.03549, abs=1e-4)
    assert r["relative_uplift"] == pytest.approx(0.3)
