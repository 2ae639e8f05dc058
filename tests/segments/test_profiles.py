import numpy as np
import pandas as pd
import pytest

from xbehavior.segments.profiles import paper_segment_table, segment_profiles

IDX = pd.Index(["u1", "u2", "u3", "u4"], name="user_id")
FEATS = pd.DataFrame(
    {"avg_order_value": [10.0, 20.0, 30.0, 40.0], "monetary": [100.0, 200.0, 300.0, 400.0]},
    index=IDX,
)
OPM = pd.Series([0.5, 3.0, 5.0, 2.0], index=IDX)
CONVERTED = pd.Series([True, False, True, False], index=IDX)
COUNTRY = pd.Series(["United Kingdom", "United Kingdom", "Germany", "France"], index=IDX)


def test_profiles_hand_worked():
    seg = pd.Series([0, 0, 1, -1], index=IDX)
    prof = segment_profiles(seg, FEATS, OPM, CONVERTED, COUNTRY).set_index("segment")
    assert prof.index.tolist() == ["0", "1", "noise"]
    row = prof.loc["0"]
    assert (row.n_users, row.share) == (2, 0.5)
    assert (row.orders_per_month, row.avg_order_value, row.monetary) == (1.75, 15.0, 150.0)
    assert (row.n_with_outcome, row.n_converted, row.conversion_rate) == (2, 1, 0.5)
    assert row.top_countries == "United Kingdom 100% (n=2)"
    assert row.top_devices == "" and row.top_categories == ""


def test_profiles_top_devices_and_categories():
    seg = pd.Series([0, 0, 0, 1], index=IDX)
    device = pd.Series(["mobile", "desktop", "mobile", "tablet"], index=IDX)
    category = pd.Series(["toys", "books", None, None], index=IDX)  # u3, u4 unknown
    prof = segment_profiles(seg, FEATS, device=device, category=category).set_index("segment")
    assert prof.loc["0", "top_devices"] == "mobile 67%; desktop 33% (n=3)"
    # denominator = users with a known category; ties alphabetical
    assert prof.loc["0", "top_categories"] == "books 50%; toys 50% (n=2)"
    assert prof.loc["1", "top_categories"] == ""  # nobody in segment 1 has a known category


def test_profiles_without_outcome_have_no_rate():
    prof = segment_profiles(pd.Series([0, 1, 1, 1], index=IDX), FEATS)
    assert prof["conversion_rate"].isna().all() and prof["n_with_outcome"].isna().all()
    assert prof["orders_per_month"].isna().all()


def test_paper_table_hand_worked():
    # opm 0.5 -> window, 3.0 -> occasional, 5.0 -> frequent, 2.0 -> occasional
    table = paper_segment_table(OPM, FEATS, CONVERTED).set_index("segment")
    assert table.index.tolist() == ["frequent", "occasional", "window"]
    assert table.loc["occasional", "n_users"] == 2
    assert table.loc["occasional", "purchase_frequency_per_month"] == pytest.approx(2.5)
    assert table.loc["occasional", "avg_purchase_value"] == pytest.approx(30.0)
    assert table.loc["occasional", "conversion_rate"] == pytest.approx(0.0)
    assert table.loc["frequent", "conversion_rate"] == pytest.approx(1.0)


def test_paper_table_keeps_empty_segments():
    opm = pd.Series([0.1, 0.2], index=["a", "b"])
    table = paper_segment_table(opm, pd.DataFrame(index=opm.index), None)
    assert table["n_users"].tolist() == [0, 0, 2]
    assert np.isnan(table.loc[0, "purchase_frequency_per_month"])
