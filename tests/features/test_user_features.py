"""Per-user features on a hand-built log ingested through the generic adapter (worked by hand)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from xbehavior.engine import DuckDBEngine
from xbehavior.errors import ConfigError
from xbehavior.features.sessions import sessionise
from xbehavior.features.user_features import USER_FEATURES, user_features
from xbehavior.ingest import ingest_dataset, ingest_file

# 2024-03-01 is a Friday, 03-02 and 03-09 Saturdays, 03-04 a Monday. Times are UTC.
# a: no source ids -> gap sessions a#1 (05:00-05:20), a#2 (03-02), a#3 (03-09), a#4 (04-01).
# b: source sessions s1 (view, 2 carts, purchase) and s2 (views only). c: one view.
LOG = """user_id,session_id,ts,event_type,category,price,quantity,device,country,coupon
a,,2024-03-01 05:00:00,view,shoes,10,,mobile,DE,
a,,2024-03-01 05:10:00,cart,shoes,10,,mobile,DE,
a,,2024-03-01 05:20:00,purchase,shoes,10,2,mobile,DE,SPRING
a,,2024-03-02 13:00:00,view,hats,4,,desktop,DE,
a,,2024-03-02 13:05:00,view,shoes,10,,desktop,DE,
a,,2024-03-09 19:00:00,view,hats,4,,desktop,FR,
a,,2024-03-09 19:01:00,view,hats,4,,desktop,FR,
a,,2024-04-01 08:00:00,return,shoes,10,-1,desktop,DE,
b,s1,2024-03-04 10:00:00,view,shoes,5,,tablet,,
b,s1,2024-03-04 10:05:00,cart,shoes,5,,tablet,,
b,s1,2024-03-04 10:06:00,cart,hats,4,,tablet,,
b,s1,2024-03-04 10:10:00,purchase,shoes,5,,tablet,,
b,s2,2024-03-05 22:00:00,view,hats,3,,,,
b,s2,2024-03-05 22:01:00,view,,3,,,,
c,,2024-04-02 00:30:00,view,,,,,,
,x,2024-03-01 09:00:00,view,shoes,10,,mobile,PL,
"""

NUMERIC = [c for c in USER_FEATURES if c not in
           ("user_id", "modal_device", "modal_country", "top_category")]


@pytest.fixture
def engine(tmp_path: Path) -> DuckDBEngine:
    path = tmp_path / "log.csv"
    path.write_text(LOG)
    eng = DuckDBEngine(threads=1)
    quality = ingest_file(eng, path)
    assert quality.rows_kept == 16 and quality.notes["no_user_id"] == 1
    sessionise(eng)
    return eng


def _row(frame: pd.DataFrame, user: str) -> dict:
    row = frame.set_index("user_id").loc[user]
    return {k: (None if pd.isna(v) else v) for k, v in row.items()}


def test_whole_log_hand_worked(engine):
    f = user_features(engine)
    assert list(f.columns) == list(USER_FEATURES)
    assert f["user_id"].tolist() == ["a", "b", "c"]  # the no-user row is left out
    assert f.attrs["unavailable"] == {}
    # reference = last event with a user: c's view at 04-02 00:30
    assert _row(f, "a") == pytest.approx({
        "n_events": 8, "recency_days": 16.5 / 24,  # last event 04-01 08:00
        "n_sessions": 4, "n_purchases": 1,
        "monetary": 20.0 - 10.0,  # 2 x 10 bought, 1 x 10 returned
        # active days 03-01, 03-02, 03-09, 04-01; ISO weeks of 02-26, 03-04, 04-01; 2 months
        "visits_per_active_day": 4 / 4, "visits_per_active_week": 4 / 3,
        "visits_per_active_month": 4 / 2,
        # hours 05,05,05 | 08 | 13,13 | 19,19 of 8 events; 4 on Saturdays
        "share_night": 3 / 8, "share_morning": 1 / 8, "share_afternoon": 2 / 8,
        "share_evening": 2 / 8, "share_weekend": 4 / 8,
        "modal_device": "desktop",  # desktop 5 vs mobile 3
        "modal_country": "DE",  # DE 6 vs FR 2
        "top_category": "hats", "category_interest_share": 3 / 5,  # views: hats 3, shoes 2
        "coupon_share": 1.0, "cart_to_purchase": 1 / 1,
        "browse_without_buying": 2 / 4,  # a#2, a#3 view only; a#4 is the return alone
    })
    assert _row(f, "b") == pytest.approx({
        "n_events": 6, "recency_days": 27 + 149 / 1440,  # 03-05 22:01 -> 04-02 00:30
        "n_sessions": 2, "n_purchases": 1, "monetary": 5.0,  # quantity absent: 1 unit
        "visits_per_active_day": 2 / 2, "visits_per_active_week": 2 / 1,
        "visits_per_active_month": 2 / 1,
        "share_night": 0.0, "share_morning": 4 / 6, "share_afternoon": 0.0,
        "share_evening": 2 / 6, "share_weekend": 0.0,
        "modal_device": "tablet", "modal_country": None,  # no country on any of b's rows
        # views with a category: shoes 1, hats 1 -> tie, alphabetical; the uncategorised
        # view is not in the denominator
        "top_category": "hats", "category_interest_share": 1 / 2,
        "coupon_share": 0 / 1, "cart_to_purchase": 1 / 2, "browse_without_buying": 1 / 2,
    })
    assert _row(f, "c") == pytest.approx({
        "n_events": 1, "recency_days": 0.0, "n_sessions": 1, "n_purchases": 0,
        "monetary": 0.0, "visits_per_active_day": 1.0, "visits_per_active_week": 1.0,
        "visits_per_active_month": 1.0, "share_night": 1.0, "share_morning": 0.0,
        "share_afternoon": 0.0, "share_evening": 0.0, "share_weekend": 0.0,
        "modal_device": None, "modal_country": None, "top_category": None,
        "category_interest_share": None, "coupon_share": None,  # no purchases
        "cart_to_purchase": None,  # no carts
        "browse_without_buying": 1.0,
    })


def test_before_excludes_later_events(engine):
    # 13:03 cuts a#2 after its first view: only a's first 4 events count; b and c start later
    f = user_features(engine, before="2024-03-02 13:03:00")
    assert f["user_id"].tolist() == ["a"]
    assert _row(f, "a") == pytest.approx({
        "n_events": 4, "recency_days": 3 / 1440,  # 13:00 -> 13:03
        "n_sessions": 2, "n_purchases": 1, "monetary": 20.0,  # the April return is later
        "visits_per_active_day": 2 / 2, "visits_per_active_week": 2 / 1,
        "visits_per_active_month": 2 / 1,
        "share_night": 3 / 4, "share_morning": 0.0, "share_afternoon": 1 / 4,
        "share_evening": 0.0, "share_weekend": 1 / 4,
        "modal_device": "mobile",  # mobile 3 vs desktop 1: the later desktop rows are cut
        "modal_country": "DE",
        "top_category": "hats", "category_interest_share": 1 / 2,  # shoes 1, hats 1: tie
        "coupon_share": 1.0, "cart_to_purchase": 1.0,
        "browse_without_buying": 1 / 2,  # the cut part of a#2 is one view
    })
    # the same instant given with an offset means the same cut-off
    aware = user_features(engine, before="2024-03-02 14:03:00+01:00")
    pd.testing.assert_frame_equal(aware, f)


def test_columns_without_values_before_the_cutoff_are_reported(engine):
    # before a's purchase (05:20) no row has a revenue or a coupon yet
    f = user_features(engine, before="2024-03-01 05:15:00")
    assert f.attrs["unavailable"] == {"monetary": "revenue", "coupon_share": "coupon"}
    assert f["monetary"].isna().all() and f["coupon_share"].isna().all()
    assert _row(f, "a")["n_events"] == 2 and _row(f, "a")["modal_device"] == "mobile"


def test_absent_columns_give_null_features(engine):
    engine.execute("CREATE TABLE narrow AS SELECT user_id, session_key, ts, event_type "
                   "FROM session_events")
    f = user_features(engine, events="narrow")
    assert f.attrs["unavailable"] == {
        "monetary": "revenue", "modal_device": "device", "modal_country": "country",
        "top_category": "category", "category_interest_share": "category",
        "coupon_share": "coupon"}
    assert f[list(f.attrs["unavailable"])].isna().all().all()
    assert f["n_events"].tolist() == [8, 6, 1]


def test_bad_inputs_give_one_line_errors(engine):
    with pytest.raises(ConfigError, match=r"events has no session_key column; run .*sessionise"):
        user_features(engine, events="events")
    with pytest.raises(ConfigError, match="before='soon' is not a timestamp"):
        user_features(engine, before="soon")


def test_rees46_one_row_per_user_with_an_id():
    eng = DuckDBEngine(threads=1)
    ingest_dataset(eng, "rees46")
    sessionise(eng)
    f = user_features(eng)
    users = eng.sql("SELECT count(DISTINCT user_id) AS n, count(*) FILTER "
                    "(WHERE event_type = 'purchase') AS p FROM events").iloc[0]
    assert len(f) == users["n"] == 4_501
    assert f["n_events"].sum() == 17_419 and f["n_purchases"].sum() == users["p"]
    assert f["n_sessions"].sum() == 5_062  # sessions of test_sessions' REES46 check
    assert f.attrs["unavailable"] == {"modal_device": "device", "modal_country": "country",
                                      "coupon_share": "coupon"}
    assert f[NUMERIC].drop(columns=["coupon_share", "cart_to_purchase",
                                    "category_interest_share"]).notna().all().all()
