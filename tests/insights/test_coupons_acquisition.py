from xbehavior.datasets import load_dunnhumby
from xbehavior.insights.acquisition import lead_conversion
from xbehavior.insights.coupons import CAVEAT, redeemer_comparison, redemption_rates


def test_redemption_rates_use_receipts_as_denominator():
    by_type = redemption_rates("campaign_type").set_index("campaign_type")
    receipts = load_dunnhumby("campaigns").drop_duplicates()
    assert by_type["n"].sum() == len(receipts)
    assert (by_type.loc["Type A", "converters"], by_type.loc["Type A", "n"]) == (604, 3647)
    by_campaign = redemption_rates("campaign_id")
    assert by_campaign["n"].sum() == len(receipts)
    assert (by_campaign["ci_low"] <= by_campaign["rate"]).all()


def test_redeemer_comparison_states_caveat():
    result = redeemer_comparison()
    assert result.caveat == CAVEAT and "not the effect" in result.caveat
    assert (result.summary["caveat"] == CAVEAT).all()
    assert set(result.summary["outcome"]) == {"post_spend", "post_baskets", "active_last_4w"}
    assert result.summary["n_redeemers"].iloc[0] > 0


def test_olist_conversion_by_origin_totals():
    table = lead_conversion("origin")
    assert (table["n"].sum(), table["converters"].sum()) == (8000, 842)
    assert table["base_rate"].iloc[0] == 842 / 8000
    pages = lead_conversion("landing_page_id", min_count=50)
    assert (pages["n"].sum(), pages["converters"].sum()) == (8000, 842)
    assert pages["landing_page_id"].iloc[-1] == "Other"
