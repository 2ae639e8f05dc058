"""Every bundled dataset ingests through its adapter, with counts checked against SOURCE.md."""

from __future__ import annotations

import pytest

from xbehavior.errors import DataError
from xbehavior.ingest import EVENT_COLUMNS, SESSION_COLUMNS, ingest_dataset


def test_online_retail_counts_unchanged(engine):
    q = ingest_dataset(engine, "online_retail")
    assert (q.rows_read, q.rows_kept) == (541_909, 534_128)
    assert q.dropped == {"duplicate": 5_268, "stock_adjustment": 1_336, "zero_price": 1_174,
                         "bad_debt": 3}


def test_rees46(engine):
    q = ingest_dataset(engine, "rees46")
    assert (q.rows_read, q.rows_kept, q.dropped) == (17_424, 17_419, {"duplicate": 5})
    counts = engine.sql("SELECT event_type, count(*) AS n FROM events GROUP BY 1 ORDER BY 1")
    # SOURCE.md: view 17,045 / cart 165 / purchase 214 before the 5 duplicates (4 view, 1 cart)
    assert dict(zip(counts["event_type"], counts["n"], strict=True)) == {
        "cart": 164, "purchase": 214, "view": 17_041}
    assert engine.columns("events") == list(EVENT_COLUMNS)
    first = engine.sql("SELECT * FROM events LIMIT 1").iloc[0]
    assert first["session_id"] == "72d76fde-8bb3-4e00-8c23-a032dfed738c"
    assert str(first["ts"]) == "2019-10-01 00:00:00"


def test_eshop_clickstream(engine):
    q = ingest_dataset(engine, "eshop_clickstream")
    assert (q.rows_read, q.rows_kept, q.dropped) == (165_474, 165_474, {})
    assert q.notes == {"no_user_id": 165_474, "date_only_timestamps": 165_474}
    row = engine.sql("""SELECT count(DISTINCT session_id) AS s,
        count(*) FILTER (WHERE country = 'Poland') AS pl,
        count(DISTINCT event_type) AS et, min(ts) AS t0, max(ts) AS t1 FROM events""").iloc[0]
    assert (row["s"], row["et"]) == (24_026, 1)
    assert (str(row["t0"]), str(row["t1"])) == ("2008-04-01 00:00:00", "2008-08-13 00:00:00")
    first = engine.sql("SELECT category, country, item_id, price FROM events LIMIT 1").iloc[0]
    assert tuple(first) == ("trousers", "Poland", "A13", 28.0)


def test_dunnhumby(engine):
    q = ingest_dataset(engine, "dunnhumby")
    assert (q.rows_read, q.rows_kept, q.dropped) == (1_469_307, 1_469_307, {})
    row = engine.sql("""SELECT count(DISTINCT user_id) AS u, count(DISTINCT order_id) AS b,
        round(sum(revenue), 2) AS r, count(*) FILTER (WHERE coupon = 'coupon') AS c,
        count(*) FILTER (WHERE category IS NULL) AS nocat FROM events""").iloc[0]
    # SOURCE.md: 2,469 households, 155,848 baskets, $4,596,039.58, 21,889 coupon lines
    assert (row["u"], row["b"], row["r"], row["c"]) == (2_469, 155_848, 4_596_039.58, 21_889)


def test_online_shoppers_session_table(engine):
    q = ingest_dataset(engine, "online_shoppers")
    assert (q.rows_read, q.rows_kept, q.notes) == (12_330, 12_330, {"repeated_rows": 125})
    assert engine.columns("sessions")[: len(SESSION_COLUMNS)] == list(SESSION_COLUMNS)
    # SOURCE.md: Revenue TRUE in 1,908 sessions
    assert engine.sql("SELECT count(*) FROM sessions WHERE converted").iloc[0, 0] == 1_908


def test_unknown_dataset(engine):
    with pytest.raises(DataError, match="no adapter for dataset 'amazon'"):
        ingest_dataset(engine, "amazon")
