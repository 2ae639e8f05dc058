"""The generic adapter: mapping, time zones, event names, drop reasons and flags."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from xbehavior.features.sessions import sessionise
from xbehavior.ingest import ingest_dataset, ingest_file, load_mapping
from xbehavior.ingest.cli import ingest_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MAP = {"columns": {"user_id": "user", "ts": "when", "event_type": "what"}}


def test_drop_reasons_and_flags_hand_counted(engine, write_csv):
    path = write_csv(
        "user,when,what,price\n"
        "u1,2024-03-01 10:00:00,view,5.0\n"      # kept
        "u1,2024-03-01 10:00:00,view,5.0\n"      # duplicate of row 1
        "u1,2024-03-01 10:05:00,purchase,-1\n"   # negative_price
        ",2024-03-01 10:06:00,view,2\n"          # kept, flagged no_user_id
        "u2,,view,2\n"                           # missing_timestamp
        "u2,2024-03-01 10:07:00,spam,2\n"        # event_excluded (mapped to drop)
        "u2,2024-03-01 10:08:00,purchase,3\n"    # kept, revenue 3
    )
    quality = ingest_file(engine, path, {**MAP, "events": {"spam": "drop"}})
    assert quality.to_dict() == {
        "source": str(path), "rows_read": 7, "rows_kept": 3, "rows_dropped": 4,
        "dropped_by_reason": {"duplicate": 1, "negative_price": 1, "event_excluded": 1,
                              "missing_timestamp": 1},
        "kept_but_flagged": {"no_user_id": 1},
    }
    events = engine.sql("SELECT user_id, event_type, revenue FROM events")
    assert events["event_type"].tolist() == ["view", "view", "purchase"]
    assert events["revenue"].isna().tolist() == [True, True, False]
    assert events["revenue"].iloc[2] == 3.0


def test_timezones_converted_to_utc(engine, write_csv):
    # Warsaw is UTC+1 in winter, UTC+2 in summer; explicit offsets are honoured as given.
    # A date-only value is the local day ('-01' in '2024-01-01' is not an offset, so it does
    # not count as mixing zones with the timed rows)
    path = write_csv("when,what\n2024-01-15 12:00:00,view\n2024-07-15 12:00:00,view\n"
                     "2024-01-01,view\n")
    ingest_file(engine, path, {"columns": {"ts": "when", "event_type": "what"},
                               "timezone": "Europe/Warsaw"})
    assert engine.sql("SELECT ts FROM events")["ts"].astype(str).tolist() == [
        "2024-01-15 11:00:00", "2024-07-15 10:00:00", "2023-12-31 23:00:00"]
    path = write_csv("when,what\n2024-07-15 12:00:00+02:00,view\n"
                     "2024-07-15 12:00:00-05:00,view\n2024-07-15 12:00:00 UTC,view\n", "b.csv")
    ingest_file(engine, path, {"columns": {"ts": "when", "event_type": "what"}})
    assert engine.sql("SELECT ts FROM events")["ts"].astype(str).tolist() == [
        "2024-07-15 10:00:00", "2024-07-15 17:00:00", "2024-07-15 12:00:00"]


def test_epoch_and_gzip_and_default_event(engine, tmp_path):
    path = tmp_path / "orders.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("customer;t;amount;qty\nc1;1709287200;2.5;2\n")
    quality = ingest_file(engine, path, {
        "columns": {"user_id": "customer", "ts": "t", "price": "amount", "quantity": "qty"},
        "ts_format": "epoch", "default_event": "purchase", "delimiter": ";"})
    assert quality.rows_kept == 1
    row = engine.sql("SELECT ts, event_type, revenue FROM events").iloc[0]
    assert str(row["ts"]) == "2024-03-01 10:00:00"
    assert (row["event_type"], row["revenue"]) == ("purchase", 5.0)


def test_canonical_parquet_needs_no_mapping(engine, tmp_path):
    path = tmp_path / "canon.parquet"
    pd.DataFrame({"user_id": ["a"], "ts": pd.to_datetime(["2024-03-01 10:00"]),
                  "event_type": ["cart"]}).to_parquet(path)
    assert ingest_file(engine, path).rows_kept == 1
    assert engine.sql("SELECT event_type FROM events").iloc[0, 0] == "cart"


def test_example_mapping_reproduces_bundled_rees46(engine):
    """examples/rees46_renamed.csv (renamed columns, events, Warsaw day-first times) maps back
    to exactly the bundled adapter's events for the same 40 users."""
    mapping = load_mapping(EXAMPLES / "rees46_mapping.yaml")
    quality = ingest_file(engine, EXAMPLES / "rees46_renamed.csv", mapping, table="mine")
    assert (quality.rows_read, quality.rows_kept) == (278, 278)
    ingest_dataset(engine, "rees46")
    cols = "user_id, session_id, ts, event_type, item_id, category, brand, price, revenue"
    mine = engine.sql(f"SELECT {cols} FROM mine ORDER BY ALL")
    ref = engine.sql(f"SELECT {cols} FROM events WHERE user_id IN "
                     f"(SELECT user_id FROM mine) ORDER BY ALL")
    pd.testing.assert_frame_equal(mine, ref)
    assert (mine["event_type"] == "purchase").sum() > 0


def test_return_nets_purchase_in_session_revenue(engine, write_csv):
    # a generic 'return' of one unit at 5 is revenue -(5 x 1) = -5 (it used to be +5), so
    # the session with a purchase of 5 and that return has revenue 5 - 5 = 0
    path = write_csv("user,when,what,price,qty\n"
                     "u1,2024-03-01 10:00:00,purchase,5,1\n"
                     "u1,2024-03-01 10:05:00,return,5,1\n")
    ingest_file(engine, path, {"columns": {**MAP["columns"], "price": "price",
                                           "quantity": "qty"}})
    assert engine.sql("SELECT revenue FROM events")["revenue"].tolist() == [5.0, -5.0]
    sessionise(engine)
    sessions = engine.sql("SELECT n_purchases, revenue, converted FROM sessions")
    assert sessions.values.tolist() == [[1, 0.0, True]]


def test_given_revenue_of_return_made_negative(engine, write_csv):
    path = write_csv("user,when,what,rev\n"
                     "u1,2024-03-01 10:00:00,purchase,8\n"   # 8
                     "u1,2024-03-01 10:01:00,return,3\n"     # -3
                     "u1,2024-03-01 10:02:00,return,-2\n")   # already negative: -2
    ingest_file(engine, path, {"columns": {**MAP["columns"], "revenue": "rev"}})
    assert engine.sql("SELECT revenue FROM events")["revenue"].tolist() == [8.0, -3.0, -2.0]


def test_empty_event_cell_dropped_as_missing_event(engine, write_csv):
    path = write_csv("user,when,what\n"
                     "u1,2024-03-01 10:00:00,view\n"
                     "u1,2024-03-01 10:01:00,\n"        # empty cell
                     "u1,2024-03-01 10:02:00,\"  \"\n"  # blank cell
                     "u1,,\n")                          # missing_timestamp wins
    quality = ingest_file(engine, path, MAP)
    assert (quality.rows_read, quality.rows_kept, quality.dropped) == (
        4, 1, {"missing_event": 2, "missing_timestamp": 1})
    assert engine.sql("SELECT event_type FROM events")["event_type"].tolist() == ["view"]


def test_user_attributes_mapped_through(engine, write_csv):
    path = write_csv("user,when,what,Age,Sex,Stars,Shares\n"
                     "u1,2024-03-01 10:00:00,view,34,F,4.5,12\n"
                     "u2,2024-03-01 10:00:00,view,,,,\n")
    ingest_file(engine, path, {"columns": {**MAP["columns"], "age": "Age", "gender": "Sex",
                                           "rating": "Stars", "social_share": "Shares"}})
    rows = engine.sql("SELECT age, gender, rating, social_share FROM events")
    assert rows.iloc[0].tolist() == [34.0, "F", 4.5, 12.0]
    assert rows.iloc[1].isna().all()
    assert engine.sql("DESCRIBE events").set_index("column_name")["column_type"][
        ["age", "gender", "rating", "social_share"]].tolist() == [
        "DOUBLE", "VARCHAR", "DOUBLE", "DOUBLE"]


def test_cli_max_price_flag(write_csv):
    path = write_csv("when,what,price\n2024-03-01 10:00:00,view,2000\n")
    args = ["file", str(path), "--map", "ts=when", "--map", "event_type=what"]
    runner = CliRunner()
    assert runner.invoke(ingest_app, [*args, "--max-price", "5000"]).exit_code == 0
    result = runner.invoke(ingest_app, [*args, "--max-price", "1000"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: [IN007 absurd_price] {path}: row 1, column 'price': '2000' is above "
        "max_price 1000; fix: correct the value, or raise max_price in the column mapping "
        "(xbehavior ingest file --max-price or --mapping)")


def test_cli_summary_profiles_the_kept_rows(write_csv):
    path = write_csv(
        "user,when,what,country\n"
        "u1,2024-03-01 10:00:00,view,PL\n"
        "u2,2024-03-02 11:00:00,view,\n"
        ",2024-03-03 12:00:00,purchase,\n")
    args = ["file", str(path), "--map", "user_id=user", "--map", "ts=when",
            "--map", "event_type=what"]
    lines = CliRunner().invoke(ingest_app, args).output.splitlines()
    assert "users       2 (rows without a user id: 1)" in lines
    assert "time (UTC)  2024-03-01 10:00:00 .. 2024-03-03 12:00:00" in lines
    assert "events      view 2, purchase 1" in lines
    empty = next(line for line in lines if line.startswith("empty cols")).split()
    assert "country" not in empty and {"device", "coupon", "session_id"} <= set(empty)


def test_a_quoted_comma_past_the_sniffed_rows_is_one_field(engine, tmp_path):
    # DuckDB's sniffer reads the first rows only; with no quote among them it used to take
    # the file as unquoted and refuse the quoted "a,b" as a row with one field too many
    path = tmp_path / "late_quote.csv"
    rows = [f"u{i},2024-01-01 10:00:00,view,x" for i in range(30_000)]
    path.write_text("user_id,ts,event_type,item_id\n" + "\n".join(rows)
                    + '\nlast,2024-01-01 10:00:01,view,"a,b"\n')
    quality = ingest_file(engine, path)
    assert quality.rows_read == quality.rows_kept == 30_001
    assert engine.sql("SELECT item_id FROM events WHERE user_id = 'last'").iloc[0, 0] == "a,b"


def test_mapping_flags_override_the_file_and_alone_give_the_file(tmp_path):
    from xbehavior.ingest.cli import mapping_from_options

    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns: {ts: When, user_id: Shopper}\nevents: {order: purchase}\n"
                       "timezone: Europe/Warsaw\n")
    assert mapping_from_options(mapping) == mapping  # recorded as the file it is
    assert mapping_from_options() is None
    spec = mapping_from_options(mapping, ["ts=Time", "price=Amount"], ["basket=cart"],
                                timezone="UTC", ts_format=None)
    assert spec["columns"] == {"ts": "Time", "user_id": "Shopper", "price": "Amount"}
    assert spec["events"] == {"order": "purchase", "basket": "cart"}
    assert spec["timezone"] == "UTC"


@pytest.mark.parametrize(("ids", "expected"), [
    # pandas writes an id column with a gap as floats: the same customers as 17850 and 3
    (["17850.0", "", "3.0", "17850.0"], ["17850", "-", "3", "17850"]),
    # any other value: the ids are codes, kept as given
    (["17850.0", "", "3.5", "A.0"], ["17850.0", "-", "3.5", "A.0"]),
])
def test_whole_number_ids_written_as_floats_lose_the_point_zero(engine, write_csv, ids,
                                                                 expected):
    rows = "".join(f"{u},2024-03-01 10:0{i}:00,view,{i}\n" for i, u in enumerate(ids))
    ingest_file(engine, write_csv("user_id,ts,event_type,item_id\n" + rows))
    ids = engine.sql("SELECT coalesce(user_id, '-') AS u FROM events ORDER BY ts")["u"]
    assert ids.tolist() == expected


def test_whole_number_ids_in_a_float_parquet_column(engine, tmp_path):
    path = tmp_path / "log.parquet"
    pd.DataFrame({"user_id": [17850.0, float("nan"), 2.5],
                  "ts": pd.to_datetime(["2024-03-01"] * 3), "event_type": ["view"] * 3,
                  "item_id": [10.0, 11.0, 12.0]}).to_parquet(path)
    ingest_file(engine, path)
    got = engine.sql("SELECT coalesce(user_id, '-') AS user_id, item_id FROM events "
                     "ORDER BY item_id")
    assert got["user_id"].tolist() == ["17850", "-", "2.5"]
    assert got["item_id"].tolist() == ["10", "11", "12"]
