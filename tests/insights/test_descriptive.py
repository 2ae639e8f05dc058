import pandas as pd
import pytest

from xbehavior.insights.descriptive import (
    average_order_value,
    cart_abandonment,
    conversion_by,
    conversion_by_sessions,
    visit_frequency,
)
from xbehavior.insights.stats import OTHER


def rows(table, key):
    return {r[key]: (r["converters"], r["n"]) for _, r in table.iterrows()}


def test_session_conversion_by_country(shop_log):
    table = conversion_by(shop_log, "country", unit="session", min_count=1)
    assert rows(table, "country") == {"DE": (1, 2), "UK": (1, 2), "FR": (0, 1)}
    assert table["base_rate"].iloc[0] == pytest.approx(2 / 5)


def test_other_pooling_below_min_count(shop_log):
    table = conversion_by(shop_log, "country", unit="session", min_count=2)
    assert rows(table, "country") == {"DE": (1, 2), "UK": (1, 2), OTHER: (0, 1)}
    assert table["country"].iloc[-1] == OTHER
    assert table.attrs["min_count"] == 2


def test_user_conversion_by_country(shop_log):
    table = conversion_by(shop_log, "country", unit="user", min_count=1)
    assert rows(table, "country") == {"DE": (1, 1), "UK": (1, 2), "FR": (0, 1)}


def test_item_property_counts_unit_per_value(shop_log):
    # A touched by s1, s4, s5, bought only in s1; B touched by s2, s3, s4, bought in s4
    table = conversion_by(shop_log, "category", min_count=1)
    assert rows(table, "category") == {"A": (1, 3), "B": (1, 3)}


def test_day_type_and_price_band(shop_log):
    table = conversion_by(shop_log, "day_type", min_count=1)
    assert rows(table, "day_type") == {"weekend": (1, 1), "weekday": (1, 4)}
    bands = conversion_by(shop_log, "price_band", min_count=1)
    # 20-50: s1, s4 (view A 30, purchase 30) both bought a 20-50 item; 5-20: s2, s3, s4
    assert rows(bands, "price_band") == {"20-50": (2, 3), "5-20": (1, 3)}


def test_cart_abandonment(shop_log):
    table = cart_abandonment(shop_log, unit="session", min_count=1)
    assert (table["converters"].iloc[0], table["n"].iloc[0]) == (1, 3)


def test_average_order_value(shop_log):
    aov = average_order_value(shop_log)
    assert aov["n_orders"].iloc[0] == 2
    assert aov["aov"].iloc[0] == pytest.approx(40.0)
    assert aov["revenue"].iloc[0] == pytest.approx(80.0)


def test_visit_frequency(shop_log):
    table = visit_frequency(shop_log, period="day", min_count=1)
    # 4 users, 5 sessions; only user a has 2 sessions; span 4.125 days
    assert table["n_users"].iloc[0] == 4
    assert table["repeat_visitors"].iloc[0] == 1
    assert table["mean_per_period"].iloc[0] == pytest.approx(1.25 / 4.125)


def test_session_table_variant():
    sessions = pd.DataFrame(
        {
            "VisitorType": ["New", "New", "Ret", "Ret", "Ret"],
            "Revenue": [True, False, False, False, True],
        }
    )
    table = conversion_by_sessions(sessions, "VisitorType", min_count=1)
    assert rows(table, "VisitorType") == {"Ret": (1, 3), "New": (1, 2)}


def test_online_shoppers_by_visitor_type():
    from xbehavior.datasets import load_online_shoppers

    sessions = load_online_shoppers()
    table = conversion_by_sessions(sessions, "VisitorType", min_count=100)
    assert table["n"].sum() == 12330
    assert table["converters"].sum() == int(sessions["Revenue"].sum())
    new = table.set_index("VisitorType").loc["New_Visitor"]
    ret = table.set_index("VisitorType").loc["Returning_Visitor"]
    assert new["rate"] > ret["rate"] and new["ci_low"] > ret["ci_high"]
