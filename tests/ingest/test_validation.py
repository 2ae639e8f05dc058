"""Each validation rule: the bad input and the exact one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest

from xbehavior.errors import ConfigError, DataError
from xbehavior.ingest import ingest_file
from xbehavior.ingest.generic import validate_mapping

HEADER = "user,when,what,price\n"
GOOD = "u1,2024-03-01 10:00:00,view,5.0\n"


def _error(engine, path: Path, mapping: dict | None = None) -> str:
    mapping = mapping or {"columns": {"user_id": "user", "ts": "when", "event_type": "what"}}
    with pytest.raises(DataError) as info:
        ingest_file(engine, path, mapping)
    return str(info.value)


def test_missing_file(engine, tmp_path):
    path = tmp_path / "nope.csv"
    assert _error(engine, path) == (
        f"[IN001 missing_file] {path}: file not found; fix: check the path")


def test_empty_input(engine, write_csv):
    path = write_csv(HEADER)
    assert _error(engine, path) == (
        f"[IN002 empty_input] {path}: no data rows; fix: give a file with a header and at "
        "least one data row")


def test_missing_column_did_you_mean(engine, write_csv):
    path = write_csv(HEADER + GOOD)
    msg = _error(engine, path, {"columns": {"ts": "wehn", "event_type": "what"}})
    assert msg == (
        f"[IN003 missing_column] {path}: column 'wehn' (for ts) not found (did you mean "
        "'when'?); columns are user, when, what, price; fix: rename the column, or map it "
        "(xbehavior ingest file --map canonical=source, or 'columns:' in a --mapping file)")


def test_unparseable_timestamp_names_row_and_value(engine, write_csv):
    path = write_csv(HEADER + GOOD + "u1,2024-13-01 10:00:00,view,5.0\n")
    assert _error(engine, path) == (
        f"[IN004 bad_timestamp] {path}: row 2, column 'when': '2024-13-01 10:00:00' is not "
        "a timestamp (ISO 'YYYY-MM-DD HH:MM:SS'; 1 such row); fix: correct the value, or set "
        "ts_format in the column mapping (xbehavior ingest file --ts-format or --mapping)")


def test_timestamp_format_mismatch(engine, write_csv):
    path = write_csv(HEADER + "u1,01/03/2024 10:00,view,5.0\nu1,2024-03-01,view,5\n")
    mapping = {"columns": {"ts": "when", "event_type": "what"}, "ts_format": "%d/%m/%Y %H:%M"}
    assert _error(engine, path, mapping) == (
        f"[IN004 bad_timestamp] {path}: row 2, column 'when': '2024-03-01' is not a timestamp "
        "(format '%d/%m/%Y %H:%M'; 1 such row); fix: correct the value, or set ts_format in "
        "the column mapping (xbehavior ingest file --ts-format or --mapping)")


def test_mixed_timezone_offsets(engine, write_csv):
    path = write_csv(HEADER + "u1,2024-03-01 10:00:00+02:00,view,5\n" + GOOD)
    assert _error(engine, path) == (
        f"[IN005 mixed_timezones] {path}: column 'when' mixes values with a time-zone offset "
        "(row 1: '2024-03-01 10:00:00+02:00') and without (row 2: '2024-03-01 10:00:00'); "
        "fix: give every timestamp an explicit offset, or none and set timezone in the column "
        "mapping (xbehavior ingest file --timezone or --mapping)")


def test_zone_abbreviation_refused_zone_names_kept(engine, write_csv):
    # DuckDB would read BST as Bangladesh (+06), not British Summer Time (+01)
    path = write_csv(HEADER + "u1,2024-07-01 10:00:00 UTC,view,5\n"
                     "u1,2024-07-01 10:00:00 BST,view,5\nu1,2024-07-01 11:00:00 IST,view,5\n")
    assert _error(engine, path) == (
        f"[IN004 bad_timestamp] {path}: row 2, column 'when': '2024-07-01 10:00:00 BST' ends "
        "in a time-zone abbreviation, not a zone name, and abbreviations can be ambiguous "
        "(BST is both British Summer Time and Bangladesh Standard Time) (2 such rows); fix: "
        "write an offset (+01:00) or a zone name (Europe/London) instead, or drop the "
        "abbreviation and give --timezone")
    path = write_csv(HEADER + "u1,2024-07-01 10:00:00 CET,view,5\n"
                     "u1,2024-07-01 10:00:00 Europe/London,view,5\n", "names.csv")
    ingest_file(engine, path, {"columns": {"user_id": "user", "ts": "when", "event_type": "what"}})
    assert engine.sql("SELECT ts FROM events")["ts"].astype(str).tolist() == [
        "2024-07-01 08:00:00", "2024-07-01 09:00:00"]


def test_price_not_a_number(engine, write_csv):
    path = write_csv(HEADER + GOOD + "u1,2024-03-01 10:01:00,view,5,00\n".replace("5,00", "5;0"))
    mapping = {"columns": {"ts": "when", "event_type": "what", "price": "price"}}
    assert _error(engine, path, mapping) == (
        f"[IN006 bad_number] {path}: row 2, column 'price': '5;0' is not a number; fix: "
        "correct or remove the value (numbers use '.' decimals)")


def test_absurd_price(engine, write_csv):
    path = write_csv(HEADER + GOOD + "u1,2024-03-01 10:01:00,view,25000000\n")
    assert _error(engine, path) == (
        f"[IN007 absurd_price] {path}: row 2, column 'price': '25000000' is above max_price "
        "1e+06; fix: correct the value, or raise max_price in the column mapping (xbehavior "
        "ingest file --max-price or --mapping)")


def test_unknown_event_names_listed_with_mapping_option(engine, write_csv):
    path = write_csv(HEADER + GOOD + "u1,2024-03-01 10:01:00,add_to_bag,5\n"
                     "u1,2024-03-01 10:02:00,buy,5\n")
    assert _error(engine, path) == (
        f"[IN008 unknown_event] {path}: column 'what' has event names outside the vocabulary "
        "view, cart, remove_from_cart, checkout, purchase, return, other: 'add_to_bag', 'buy' "
        "(first at row 2); fix: map them to event types in the column mapping (xbehavior "
        "ingest file --event SOURCE=TYPE, or 'events:' in a --mapping file; TYPE 'drop' "
        "discards them)")


def test_unsupported_file_type(engine, tmp_path):
    path = tmp_path / "log.xlsx"
    path.write_text("x")
    assert _error(engine, path) == (
        f"[IN009 unsupported_file] {path}: cannot read 'log.xlsx'; fix: give a .csv, .tsv or "
        ".txt file (optionally .gz) or a .parquet file")


def test_gzipped_parquet_says_decompress(engine, tmp_path):
    path = tmp_path / "log.parquet.gz"
    path.write_bytes(b"\x1f\x8b")
    assert _error(engine, path) == (
        f"[IN009 unsupported_file] {path}: gzipped Parquet cannot be read; fix: decompress it "
        "first (gunzip log.parquet.gz)")


def test_no_event_column(engine, write_csv):
    path = write_csv(HEADER + GOOD)
    assert _error(engine, path, {"columns": {"ts": "when"}}) == (
        f"[IN003 missing_column] {path}: no event column mapped; fix: map one "
        "(--map event_type=COLUMN) or set --default-event (e.g. purchase)")


def test_mapping_unknown_canonical_column_suggests():
    with pytest.raises(ConfigError, match=r"unknown key 'user' \(did you mean 'user_id'\?\)"):
        validate_mapping({"columns": {"user": "u"}})


def test_mapping_bad_event_target_suggests():
    with pytest.raises(ConfigError, match=r"'buy' -> 'purchases' .*did you mean 'purchase'"):
        validate_mapping({"events": {"buy": "purchases"}})


def test_unknown_timezone(engine, write_csv):
    path = write_csv(HEADER + GOOD)
    mapping = {"columns": {"ts": "when", "event_type": "what"}, "timezone": "Europe/Londn"}
    with pytest.raises(ConfigError) as info:
        ingest_file(engine, path, mapping)
    assert str(info.value) == (
        "mapping: unknown time zone 'Europe/Londn' (did you mean 'Europe/London'?); use an "
        "IANA name such as 'Europe/London' or 'UTC'")


@pytest.mark.parametrize(("column", "value"), [("qty", "abc"), ("revenue", "12,5")])
def test_quantity_or_revenue_not_a_number(engine, write_csv, column, value):
    # 'abc' used to become NULL silently
    path = write_csv(f"when,what,{column}\n2024-03-01 10:00:00,purchase,1\n"
                     f"2024-03-01 10:01:00,purchase,\"{value}\"\n")
    mapping = {"columns": {"ts": "when", "event_type": "what"}}
    if column == "qty":
        mapping["columns"]["quantity"] = "qty"
    assert _error(engine, path, mapping) == (
        f"[IN006 bad_number] {path}: row 2, column {column!r}: {value!r} is not a number; "
        "fix: correct or remove the value (numbers use '.' decimals)")


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity", "1e400"])
def test_price_not_finite_has_its_own_message(engine, write_csv, value):
    path = write_csv(HEADER + GOOD + f"u1,2024-03-01 10:01:00,view,{value}\n")
    assert _error(engine, path) == (
        f"[IN006 bad_number] {path}: row 2, column 'price': {value!r} is not a finite number; "
        "fix: give a finite value, or leave the cell empty if it is unknown")


def test_max_price_from_mapping(engine, write_csv):
    path = write_csv(HEADER + GOOD + "u1,2024-03-01 10:01:00,view,2000\n")
    mapping = {"columns": {"ts": "when", "event_type": "what"}, "max_price": 1000}
    assert _error(engine, path, mapping) == (
        f"[IN007 absurd_price] {path}: row 2, column 'price': '2000' is above max_price "
        "1000; fix: correct the value, or raise max_price in the column mapping (xbehavior "
        "ingest file --max-price or --mapping)")
    with pytest.raises(ConfigError) as info:
        validate_mapping({"max_price": "lots"})
    assert str(info.value) == "mapping: max_price 'lots' must be a positive number (e.g. 1000000)"
