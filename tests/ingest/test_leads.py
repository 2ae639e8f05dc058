"""The leads-table adapter (Olist marketing funnel): hand-built pair of files, bundled totals."""

from __future__ import annotations

from pathlib import Path

import pytest

from xbehavior.errors import DataError
from xbehavior.ingest import LEAD_COLUMNS, ingest_dataset
from xbehavior.ingest.leads import DEALS_FILE, ingest_olist

LEADS_HEADER = "mql_id,first_contact_date,landing_page_id,origin\n"
DEALS_HEADER = "mql_id,seller_id,won_date,business_segment,lead_type,business_type\n"

# data row: what happens to it (rows are 1-based, header not counted)
LEADS = LEADS_HEADER + (
    "a,2018-01-01,p1,social\n"        # 1 kept; won by deal row 1
    "b,2018-01-02,p1,\n"              # 2 kept; missing origin
    "b,2018-01-02,p1,\n"              # 3 lead_duplicate (repeat of row 2)
    "c,,p2,email\n"                   # 4 lead_missing_timestamp
    ",2018-01-03,p2,email\n"          # 5 lead_missing_id
    "a,2018-01-05,p3,email\n"         # 6 lead_repeated_id (row 1 kept)
    "d,2018-01-04,p2,paid_search\n"   # 7 kept; won 2 days before first contact
)
DEALS = DEALS_HEADER + (
    "a,s1,2018-01-11 12:00:00,pets,online_big,reseller\n"    # 1 kept: 10.5 days to close
    "a,s1,2018-01-11 12:00:00,pets,online_big,reseller\n"    # 2 deal_duplicate
    "a,s2,2018-01-20 00:00:00,pets,online_big,reseller\n"    # 3 deal_repeated_lead (later)
    "z,s3,2018-01-12 00:00:00,,,\n"                          # 4 deal_no_matching_lead
    "c,s4,2018-01-12 00:00:00,,,\n"                          # 5 no matching lead (c dropped)
    "d,s5,2018-01-02 00:00:00,toys,offline,manufacturer\n"   # 6 kept: -2 days
    "b,s6,,home,online_small,reseller\n"                     # 7 deal_missing_won_date
)


def _pair(tmp_path: Path, leads: str = LEADS, deals: str = DEALS) -> Path:
    path = tmp_path / "leads.csv"
    path.write_text(leads)
    (tmp_path / DEALS_FILE).write_text(deals)
    return path


def test_hand_built_pair_every_row_counted(engine, tmp_path):
    q = ingest_olist(engine, _pair(tmp_path))
    # 7 lead rows + 7 deal rows read; 3 leads kept + 2 deals recorded on them
    assert (q.rows_read, q.rows_kept, q.rows_dropped) == (14, 5, 9)
    assert q.dropped == {
        "lead_duplicate": 1, "lead_missing_timestamp": 1, "lead_missing_id": 1,
        "lead_repeated_id": 1, "deal_duplicate": 1, "deal_repeated_lead": 1,
        "deal_no_matching_lead": 2, "deal_missing_won_date": 1}
    assert q.notes == {"missing_origin": 1, "won_before_first_contact": 1}
    assert engine.columns("leads") == list(LEAD_COLUMNS)
    rows = engine.sql("SELECT lead_id, origin, landing_page, won, CAST(won_ts AS VARCHAR) AS w, "
                      "days_to_close, business_segment FROM leads").astype(object)
    assert rows.where(rows.notna(), None).values.tolist() == [
        ["a", "social", "p1", True, "2018-01-11 12:00:00", 10.5, "pets"],
        ["b", None, "p1", False, None, None, None],
        ["d", "paid_search", "p2", True, "2018-01-02 00:00:00", -2.0, "toys"]]
    counts = engine.sql("SELECT count(*) + count(*) FILTER (WHERE won) AS n FROM leads")
    assert int(counts["n"].iloc[0]) == q.rows_kept


def test_bad_date_names_file_row_and_value(engine, tmp_path):
    path = _pair(tmp_path, deals=DEALS_HEADER + "a,s1,2018-13-11,pets,x,y\n"
                 "a,s1,2018-14-11,pets,x,y\n")
    with pytest.raises(DataError) as err:
        ingest_olist(engine, path)
    assert str(err.value) == (
        f"[IN004 bad_timestamp] {tmp_path / DEALS_FILE}: row 1, column 'won_date': "
        "'2018-13-11' is not a timestamp (ISO 'YYYY-MM-DD[ HH:MM:SS]'; 2 such rows); fix: "
        "correct the value (dates are YYYY-MM-DD, as in the Olist export)")


def test_missing_column_and_missing_deals_file(engine, tmp_path):
    path = _pair(tmp_path, leads="mql_id,first_contact,landing_page_id,origin\na,2018-01-01,p,\n")
    with pytest.raises(DataError) as err:
        ingest_olist(engine, path)
    assert str(err.value) == (
        f"[IN003 missing_column] {path}: column 'first_contact_date' (for first_contact_ts) "
        "not found (did you mean 'first_contact'?); columns are mql_id, first_contact, "
        "landing_page_id, origin; fix: rename the columns to the Olist lead or deal table's "
        "layout (its SOURCE.md lists them)")
    (tmp_path / "leads.csv").write_text(LEADS)
    (tmp_path / DEALS_FILE).unlink()
    with pytest.raises(DataError) as err:
        ingest_olist(engine, path)
    assert str(err.value) == (
        f"[IN001 missing_file] {tmp_path / DEALS_FILE}: file not found; fix: check the path")


def test_bundled_olist_matches_source_md(engine):
    q = ingest_dataset(engine, "olist")  # default table for olist: leads
    # SOURCE.md: all 8,000 MQLs and all 842 deals; every deal's mql_id exists; none repeated
    assert (q.rows_read, q.rows_kept, q.dropped) == (8_842, 8_842, {})
    assert q.notes == {"missing_origin": 60, "won_before_first_contact": 1}
    row = engine.sql("""SELECT count(*) AS n, count(*) FILTER (WHERE won) AS won,
        count(DISTINCT landing_page) AS pages, min(first_contact_ts)::DATE::VARCHAR AS f0,
        max(first_contact_ts)::DATE::VARCHAR AS f1, min(won_ts)::DATE::VARCHAR AS w0,
        max(won_ts)::DATE::VARCHAR AS w1, floor(median(days_to_close)) AS med,
        count(*) FILTER (WHERE origin = 'unknown') AS unknown,
        count(*) FILTER (WHERE origin = 'unknown' AND won) AS unknown_won FROM leads""").iloc[0]
    assert (row["n"], row["won"], row["pages"]) == (8_000, 842, 495)
    assert (row["f0"], row["f1"], row["w0"], row["w1"]) == (
        "2017-06-14", "2018-05-31", "2017-12-05", "2018-11-14")
    assert row["med"] == 14  # median days from first contact to won
    assert (row["unknown"], round(100 * row["unknown_won"] / row["unknown"], 1)) == (1_099, 16.3)
