import math

import pandas as pd
import pytest

from xbehavior.datasets import load_dunnhumby
from xbehavior.insights.acquisition import lead_conversion
from xbehavior.insights.coupons import (
    CAVEAT,
    coupon_redemption_rates,
    household_periods,
    redeemer_comparison,
    redemption_rates,
    stratified_difference,
    uplift_by_segment,
)


def test_redemption_rates_use_receipts_as_denominator():
    by_type = redemption_rates("campaign_type").set_index("campaign_type")
    receipts = load_dunnhumby("campaigns").drop_duplicates()
    assert by_type["n"].sum() == len(receipts)
    assert (by_type.loc["Type A", "converters"], by_type.loc["Type A", "n"]) == (604, 3647)
    by_campaign = redemption_rates("campaign_id")
    assert by_campaign["n"].sum() == len(receipts)
    assert (by_campaign["ci_low"] <= by_campaign["rate"]).all()


def _households() -> pd.DataFrame:
    """Stratum 0: redeemers 10, 20 vs non-redeemers 5, 7, 9; stratum 1: redeemer 30 vs 20, 24;
    stratum 2: one non-redeemer (no redeemer, unused); stratum 3: one redeemer (unmatched)."""
    rows = [(0, "redeemer", 10), (0, "redeemer", 20), (0, "non_redeemer", 5),
            (0, "non_redeemer", 7), (0, "non_redeemer", 9), (1, "redeemer", 30),
            (1, "non_redeemer", 20), (1, "non_redeemer", 24), (2, "non_redeemer", 100),
            (3, "redeemer", 50)]
    return pd.DataFrame(rows, columns=["stratum", "group", "y"])


def test_stratified_difference_by_hand():
    row = stratified_difference(_households(), ["y"]).iloc[0]
    # weights: 2/3 (stratum 0), 1/3 (stratum 1); redeemers 2/3*15 + 1/3*30 = 20,
    # non-redeemers 2/3*7 + 1/3*22 = 12
    assert (row["redeemers_mean"], row["matched_non_redeemers_mean"]) == pytest.approx((20, 12))
    assert (row["difference"], row["ratio"]) == pytest.approx((8, 20 / 12))
    assert (row["n_redeemers"], row["n_non_redeemers"], row["unmatched_redeemers"]) == (3, 5, 1)
    # SE^2 = (2/3)^2 (50/2 + 4/3) + (1/3)^2 (100/1 + 8/2) = 628/27; the lone redeemer of
    # stratum 1 takes the matched redeemers' variance var(10, 20, 30) = 100
    half = 1.959964 * math.sqrt(628 / 27)
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((8 - half, 8 + half))
    assert row["caveat"] == CAVEAT


def test_uplift_by_segment_runs_inside_each_segment():
    hh = _households().assign(seg=["a"] * 5 + ["b"] * 5)  # a = stratum 0; b = strata 1-3
    out = uplift_by_segment(hh, ["seg"], ["y"]).set_index("segment")
    assert out.loc["a", "difference"] == pytest.approx(15 - 7)
    assert out.loc["b", "difference"] == pytest.approx(30 - 22)
    assert out.loc["b", "unmatched_redeemers"] == 1
    assert math.isnan(out.loc["b", "diff_ci_low"])  # one redeemer in the segment: no variance


def test_redeemer_comparison_states_caveat():
    result = redeemer_comparison()
    assert result.caveat == CAVEAT and "not the effect" in result.caveat
    assert (result.summary["caveat"] == CAVEAT).all()
    assert set(result.summary["outcome"]) == {
        "post_spend", "post_baskets", "repeat_purchase", "active_last_4w"}
    s = result.summary
    assert ((s["diff_ci_low"] <= s["difference"]) & (s["difference"] <= s["diff_ci_high"])).all()
    hh = result.households
    assert s["n_redeemers"].iloc[0] + s["unmatched_redeemers"].iloc[0] == (
        hh["group"] == "redeemer").sum()
    seg = result.by_segment
    assert set(seg["segmentation"]) == {"rule_segment", "income"}
    rule = seg[(seg["segmentation"] == "rule_segment") & (seg["outcome"] == "post_spend")]
    # segments partition the households: their redeemer counts add up to the overall one
    assert rule["n_redeemers"].sum() + rule["unmatched_redeemers"].sum() == (
        hh["group"] == "redeemer").sum()


def test_coupon_redemption_rates_by_hand():
    campaigns = pd.DataFrame({"campaign_id": [1, 1, 1, 1, 2, 2],
                              "household_id": [10, 11, 12, 13, 10, 14]})
    coupons = pd.DataFrame({"coupon_upc": [100, 100, 101, 200],  # 100 covers two products
                            "product_id": [7, 8, 9, 7], "campaign_id": [1, 1, 1, 2]})
    red = pd.DataFrame({"household_id": [10, 10, 11, 99, 14],  # 99 never received campaign 1
                        "coupon_upc": [100, 100, 100, 101, 200], "campaign_id": [1, 1, 1, 1, 2]})
    out = coupon_redemption_rates(campaigns, coupons, red).set_index("coupon_upc")
    assert out.loc[100, ["n", "converters"]].tolist() == [4, 2]
    assert out.loc[101, ["n", "converters"]].tolist() == [4, 0]
    assert out.loc[200, ["n", "converters"]].tolist() == [2, 1]
    assert out.index.tolist() == [100, 200, 101]  # 0.5, 0.5 (larger n first), 0
    assert out["base_rate"].iloc[0] == pytest.approx(3 / 10)
    real = redemption_rates("coupon_upc")
    assert real["converters"].sum() <= len(load_dunnhumby("coupon_redemptions"))


def test_household_periods_repeat_purchase_by_hand():
    t = pd.Timestamp
    tx = pd.DataFrame({
        "household_id": [1, 1, 1, 2, 2, 3],
        "basket_id": [1, 2, 3, 4, 5, 6],
        "sales_value": [5.0, 7.0, 1.0, 2.0, 3.0, 4.0],
        "transaction_timestamp": [t("2017-06-30"), t("2017-07-02"), t("2017-07-20"),
                                  t("2017-07-05"), t("2017-09-01"), t("2017-09-20")]})
    hh = household_periods(tx, t("2017-07-01"))
    assert hh["repeat_purchase"].to_dict() == {1: 1.0, 2: 0.0, 3: 0.0}  # 2 baskets in 28 days
    assert hh.loc[1, ["pre_spend", "pre_baskets", "post_spend", "post_baskets"]].tolist() == [
        5.0, 1.0, 8.0, 2.0]
    assert hh["active_last_4w"].to_dict() == {1: 0.0, 2: 1.0, 3: 1.0}  # data end 09-20


def test_olist_conversion_by_origin_totals():
    table = lead_conversion("origin")
    assert (table["n"].sum(), table["converters"].sum()) == (8000, 842)
    assert table["base_rate"].iloc[0] == 842 / 8000
    pages = lead_conversion("landing_page_id", min_count=50)
    assert (pages["n"].sum(), pages["converters"].sum()) == (8000, 842)
    assert pages["landing_page_id"].iloc[-1] == "Other"
