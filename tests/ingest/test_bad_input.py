"""Bad input found by a tester: each case's hand-built file and its exact one-line error;
outputs never overwrite inputs and are written whole or not at all."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from xbehavior.errors import ConfigError, DataError
from xbehavior.ingest import ingest_dataset, ingest_file, load_mapping
from xbehavior.ingest.cli import ingest_app

HEADER = "user,when,what,price\n"
GOOD = "u1,2024-03-01 10:00:00,view,5.0\n"
GOOD_ROW = ("u1", "2024-03-01 10:00:00", "view", 5.0, 6.0)  # with a fifth column
MAP = {"columns": {"user_id": "user", "ts": "when", "event_type": "what"}}
RANGE_FIX = ("fix: correct the value (a time before 1970-01-01 or after 2100-12-31 is taken "
             "as a broken value, not an event)")


def _error(engine, path: Path, mapping: dict | None = None) -> str:
    with pytest.raises(DataError) as info:
        ingest_file(engine, path, mapping or MAP)
    return str(info.value)


def _cli(*args: str):
    return CliRunner().invoke(ingest_app, list(args))


# --- 1. outputs: never the input, never half-written ---------------------------------------

def test_out_equal_to_input_refused_and_input_untouched(write_csv, tmp_path):
    path = tmp_path / "log.parquet"
    pd.read_csv(write_csv(HEADER + GOOD)).to_parquet(path)
    before = path.read_bytes()
    result = _cli("file", str(path), "--map", "ts=when", "--map", "event_type=what",
                  "--out", str(path))
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: --out {path}: is an input file ({path}), which is never overwritten; write "
        "to another file (e.g. events.parquet)")
    assert path.read_bytes() == before


def test_out_must_be_a_parquet_name(write_csv, tmp_path):
    # the mapping file (or a CSV) can therefore never be overwritten with Parquet bytes
    path = write_csv(HEADER + GOOD)
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  ts: when\n  event_type: what\n")
    for out in (tmp_path / "events.csv", mapping):
        result = _cli("file", str(path), "--mapping", str(mapping), "--out", str(out))
        assert result.exit_code == 2
        assert result.output.strip() == (
            f"error: --out {out}: the table is written as Parquet; give a name ending in "
            f".parquet (e.g. {out.stem}.parquet)")
    assert mapping.read_text() == "columns:\n  ts: when\n  event_type: what\n"


def test_out_is_a_folder(write_csv, tmp_path):
    path = write_csv(HEADER + GOOD)
    result = _cli("file", str(path), "--map", "ts=when", "--map", "event_type=what",
                  "--out", str(tmp_path))
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: --out {tmp_path}: is a folder; give a file name such as "
        f"{tmp_path / 'events.parquet'}")


def test_out_in_new_folder_written_atomically(write_csv, tmp_path):
    path = write_csv(HEADER + GOOD + GOOD.replace("u1", "u2"))
    out = tmp_path / "new" / "o'k.parquet"
    result = _cli("file", str(path), "--map", "ts=when", "--map", "event_type=what",
                  "--map", "user_id=user", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert duckdb.read_parquet(str(out)).shape == (2, 20)
    assert [p.name for p in out.parent.iterdir()] == ["o'k.parquet"]  # no temp file left


# --- 2. silent wrong values ------------------------------------------------------------------

def test_fractional_customer_id_is_an_error_not_rounded(engine, write_csv):
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    good = "536365,85123A,HEART,6,2010-12-01 08:26:00,2.5,17850.0,United Kingdom\n"
    path = write_csv(header + good + good.replace("17850.0", "12345.5"))
    with pytest.raises(DataError) as info:
        ingest_dataset(engine, "online_retail", path)
    assert str(info.value) == (
        f"[IN006 bad_number] {path}: row 2, column 'CustomerID': '12345.5' is not a "
        "whole-number customer id; fix: correct or remove the value (numbers use '.' decimals)")


def test_named_zone_converted_to_utc(engine, write_csv):
    path = write_csv(HEADER + "u1,2024-01-01 10:00:00 Europe/Paris,view,5\n"
                     "u1,2024-07-01 10:00:00 Europe/Paris,view,5\n")
    ingest_file(engine, path, MAP)
    got = engine.sql("SELECT CAST(ts AS VARCHAR) AS t FROM events ORDER BY ts")["t"].tolist()
    assert got == ["2024-01-01 09:00:00", "2024-07-01 08:00:00"]  # CET +1, CEST +2


def test_a_zone_abbreviation_read_by_a_format_is_refused(engine, write_csv):
    # a %Z format resolved BST to Bangladesh (+6), as the ISO path used to
    path = write_csv(HEADER + "u1,01/01/2024 10:00 BST,view,5\n")
    assert _error(engine, path, {**MAP, "ts_format": "%d/%m/%Y %H:%M %Z"}).startswith(
        f"[IN004 bad_timestamp] {path}: row 1, column 'when': '01/01/2024 10:00 BST' ends in a "
        "time-zone abbreviation, not a zone name")
    named = write_csv(HEADER + "u1,01/07/2024 10:00 Europe/London,view,5\n")
    ingest_file(engine, named, {**MAP, "ts_format": "%d/%m/%Y %H:%M %Z"})
    assert str(engine.sql("SELECT ts FROM events")["ts"].iloc[0]) == "2024-07-01 09:00:00"


def test_a_flag_given_twice_with_two_values_is_refused(write_csv):
    path = write_csv(HEADER + GOOD)
    result = _cli("file", str(path), "--map", "ts=when", "--map", "event_type=what",
                  "--map", "user_id=user", "--map", "user_id=price")
    assert result.exit_code == 2
    assert result.output.strip().endswith(
        "--map user_id is given twice ('user' and 'price'); give it once")


def test_unknown_zone_name_is_not_a_timestamp(engine, write_csv):
    path = write_csv(HEADER + "u1,2024-01-01 10:00:00 Mars/Olympus,view,5\n")
    assert _error(engine, path).startswith(
        f"[IN004 bad_timestamp] {path}: row 1, column 'when': '2024-01-01 10:00:00 "
        "Mars/Olympus' is not a timestamp")


@pytest.mark.parametrize("value", ["infinity", "10000-01-01 00:00:00", "-2024-01-01 00:00:00",
                                   "0001-01-01 00:00:00", "1969-12-31 23:59:59"])
def test_timestamp_out_of_range(engine, write_csv, value):
    path = write_csv(HEADER + GOOD + f"u1,{value},view,5\n")
    assert _error(engine, path) == (
        f"[IN004 bad_timestamp] {path}: row 2, column 'when': {value!r} is outside the "
        f"accepted range 1970-01-01 to 2100-12-31 (1 such row); {RANGE_FIX}")


def test_range_edges_accepted(engine, write_csv):
    path = write_csv(HEADER + "u1,1970-01-01 00:00:00,view,5\nu1,2100-12-31 23:59:59,view,5\n")
    assert ingest_file(engine, path, MAP).rows_kept == 2


@pytest.mark.parametrize(("rows", "row", "fix"), [
    ("u1,1704103200000,view,5\n", 1,
     "looks like milliseconds; use --ts-format epoch_ms (ts_format in the mapping)"),
    # mixed units: switching to epoch_ms would only move the error to row 1
    ("u1,1704103200,view,5\nu1,1704103200000,view,5\n", 2,
     "the column mixes seconds and milliseconds; convert it to one unit (e.g. divide the "
     "millisecond values by 1000)"),
])
def test_epoch_seconds_given_milliseconds(engine, write_csv, rows, row, fix):
    path = write_csv(HEADER + rows)
    assert _error(engine, path, {**MAP, "ts_format": "epoch"}) == (
        f"[IN004 bad_timestamp] {path}: row {row}, column 'when': '1704103200000' is outside "
        f"the accepted range 1970-01-01 to 2100-12-31 (1 such row); fix: {fix}")


def test_epoch_ms_given_seconds(engine, write_csv):
    path = write_csv(HEADER + "u1,1704103200,view,5\n")  # as ms: 1970-01-20
    assert _error(engine, path, {**MAP, "ts_format": "epoch_ms"}) == (
        f"[IN004 bad_timestamp] {path}: row 1, column 'when': '1704103200' is outside the "
        "accepted range 1971-01-01 to 2100-12-31 (1 such row); fix: looks like seconds; use "
        "--ts-format epoch (ts_format in the mapping)")


def test_huge_epoch_is_one_line(engine, write_csv):
    path = write_csv(HEADER + "u1,99999999999999999999,view,5\n")
    assert _error(engine, path, {**MAP, "ts_format": "epoch"}) == (
        f"[IN004 bad_timestamp] {path}: row 1, column 'when': '99999999999999999999' is "
        f"outside the accepted range 1970-01-01 to 2100-12-31 (1 such row); {RANGE_FIX}")


def test_digit_separator_refused(engine, write_csv):
    path = write_csv(HEADER + "u1,2024-03-01 10:00:00,view,1_000\n")
    assert _error(engine, path, {"columns": {**MAP["columns"], "price": "price"}}) == (
        f"[IN006 bad_number] {path}: row 1, column 'price': '1_000' is not a number; fix: "
        "correct or remove the value (numbers use '.' decimals)")


# --- 3. files that cannot be read --------------------------------------------------------------

def test_not_utf8_named_and_encoding_option_reads_it(engine, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + "caf\xe9,2024-03-01 10:00:00,view,5\n").encode("latin-1"))
    assert _error(engine, path) == (
        f"[IN009 unsupported_file] {path}: is not UTF-8 text (line 2: byte 0xe9); fix: "
        "re-save it as UTF-8, or name its encoding (xbehavior ingest file --encoding "
        "latin-1, or 'encoding:' in a --mapping file)")
    ingest_file(engine, path, {**MAP, "encoding": "latin-1"})
    assert engine.sql("SELECT user_id FROM events")["user_id"].tolist() == ["caf\xe9"]


def test_not_utf8_deep_in_a_gzip_file_names_the_line(engine, tmp_path):
    """Past DuckDB's sniffing sample, where its own line number is only approximate."""
    rows = "".join(f"u{i},2024-03-01 10:00:00,view,5\n" for i in range(30_000))
    path = tmp_path / "late.csv.gz"
    path.write_bytes(gzip.compress((HEADER + rows).encode() + b"caf\xe9,2024-03-01 10:00:00,"
                                   b"view,5\n"))
    assert "is not UTF-8 text (line 30,002: byte 0xe9); fix:" in _error(engine, path)


def test_folder_as_input(engine, tmp_path):
    folder = tmp_path / "x.csv"
    folder.mkdir()
    assert _error(engine, folder) == (
        f"[IN009 unsupported_file] {folder}: is a folder, not a file; fix: give the file "
        "inside it")


def _parquet_bytes(tmp_path) -> bytes:
    pq = tmp_path / "any.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS a) TO '{pq}' (FORMAT PARQUET)")
    return pq.read_bytes()


@pytest.mark.parametrize(("name", "content", "message"), [
    ("log.csv.gz", lambda tmp: (HEADER + GOOD).encode(),
     "is named .gz but is not gzip-compressed; fix: rename it without .gz (e.g. log.csv)"),
    ("log.csv", lambda tmp: gzip.compress((HEADER + GOOD).encode()),
     "is gzip-compressed but its name does not end in .gz; fix: rename it to log.csv.gz, or "
     "decompress it"),
    ("log.csv", _parquet_bytes,
     "is a Parquet file under another name; fix: rename it to end in .parquet (e.g. "
     "log.parquet)"),
])
def test_content_contradicts_the_name(engine, tmp_path, name, content, message):
    # the reader the name picks would call a sound file corrupt: say what to rename instead
    path = tmp_path / name
    path.write_bytes(content(tmp_path))
    assert _error(engine, path) == f"[IN009 unsupported_file] {path}: {message}"


def test_truncated_parquet(engine, tmp_path):
    good = tmp_path / "good.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS a) TO '{good}' (FORMAT PARQUET)")
    path = tmp_path / "trunc.parquet"
    path.write_bytes(good.read_bytes()[:40])
    assert _error(engine, path) == (
        f"[IN009 unsupported_file] {path}: is not a valid Parquet file (Invalid Input Error: "
        f"No magic bytes found at end of file '{path}'); fix: give a complete Parquet file "
        "(it may be truncated)")


def test_quote_in_file_name(engine, write_csv):
    path = write_csv(HEADER + GOOD, name="o'brien.csv")
    assert ingest_file(engine, path, MAP).rows_kept == 1


def test_quote_delimiter_is_quoted_not_injected(engine, write_csv):
    path = write_csv(HEADER + GOOD)
    assert _error(engine, path, {**MAP, "delimiter": "'"}) == (
        f"[IN010 ragged_row] {path}: the file reads as a single column "
        "'user,when,what,price'; fix: set the delimiter (xbehavior ingest file --delimiter "
        "',') or fix the quoting")


def _mapping_error(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "map.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    return str(info.value).replace(str(path), "map.yaml")


@pytest.mark.parametrize(("text", "message"), [
    ("columns:\n  ts: when\n   event_type: what\n",
     "map.yaml: not valid YAML at line 3, column 14 (mapping values are not allowed here); "
     "check the indentation and quoting"),
    (b"\xff\xfe\x00", "map.yaml: is not UTF-8 text; a mapping is a YAML text file"),
    ("columns:\n  - ts\n", "map.yaml: 'columns' must be 'name: value' lines (e.g. user_id: "
     "Shopper), not a list"),
    ("events:\n  - buy\n", "map.yaml: 'events' must be 'name: value' lines (e.g. "
     "add_to_basket: cart), not a list"),
    ("timezone: 5\n", "map.yaml: timezone must be text, not int 5; quote it (timezone: \"...\")"),
    ("ts_format: 5\n", "map.yaml: ts_format must be text, not int 5; quote it "
     "(ts_format: \"...\")"),
    ("timezone: ''\n", "map.yaml: timezone is empty; give a value or leave timezone out for "
     "the default"),
    ("columns:\n  price:\n", "map.yaml: columns.price has no value; give one (e.g. user_id: "
     "Shopper) or remove the key"),
    ("x: !!python/object/apply:os.system ['true']\n",
     "map.yaml: not valid YAML at line 1, column 4 (could not determine a constructor for the "
     "tag 'tag:yaml.org,2002:python/object/apply:os.system'); tags such as !!python are not "
     "allowed"),
    # by default YAML's last repeated key wins: user_id would silently become the time column
    ("columns:\n  user_id: Shopper\n  user_id: When\n",
     "map.yaml: key 'user_id' is given twice (again at line 3); keep one of them"),
    ("max_price: 1e6x\n", "map.yaml: max_price '1e6x' must be a positive number (e.g. 1000000)"),
    ("? [a, b]\n: 1\n", "map.yaml: not valid YAML at line 1, column 3 (found unhashable key); "
     "check the indentation and quoting"),
    # YAML 1.1 reads an unquoted on/off/yes/no as a boolean: 'on' became the event 'True'
    ("events:\n  on: view\n", "map.yaml: events holds True: 'view', and YAML reads an unquoted "
     "on, off, yes, no, true or false as true/false; quote the name (e.g. 'on': view)"),
])
def test_bad_mapping_file_one_line(tmp_path, text, message):
    assert _mapping_error(tmp_path, text) == message


def test_max_price_written_1e6_is_a_number(tmp_path):
    # YAML 1.1 reads 1e6 (no dot) as text; the default is documented as 1e6
    path = tmp_path / "map.yaml"
    path.write_text("max_price: 1e6\n")
    assert load_mapping(path)["max_price"] == 1e6


def test_unreadable_file_is_one_line(engine, write_csv, monkeypatch):
    path = write_csv(HEADER + GOOD)
    real_open = Path.open

    def refuse(self, *args, **kwargs):  # chmod 000 does not stop root, so refuse directly
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    assert _error(engine, path) == (
        f"[IN009 unsupported_file] {path}: cannot be opened (Permission denied); fix: check "
        "that this user may read it")


def test_mapping_path_is_a_folder(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_mapping(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a folder; give the mapping's YAML file (--mapping)"


def test_invalid_strptime_code_names_the_mapping(engine, write_csv, tmp_path):
    """The bad format is in the mapping, so the message names the mapping file (or says
    'mapping' for a dict), not the data file."""
    path = write_csv(HEADER + GOOD)
    reason = ("ts_format '%Q %Y' is not a valid strptime format (%Q); use codes such as "
              "'%Y-%m-%d %H:%M:%S', or epoch / epoch_ms")
    with pytest.raises(ConfigError) as info:
        ingest_file(engine, path, {**MAP, "ts_format": "%Q %Y"})
    assert str(info.value) == f"mapping: {reason}"
    mapping = tmp_path / "map.yaml"
    mapping.write_text("ts_format: '%Q %Y'\n")
    with pytest.raises(ConfigError) as info:
        load_mapping(mapping)
    assert str(info.value) == f"{mapping}: {reason}"


# --- 4. unclear messages -----------------------------------------------------------------------

# blank lines or a lone BOM used to pass the 0-byte check and fail as "no timestamp column"
@pytest.mark.parametrize(("text", "what"), [
    ("", "the file is empty (0 bytes)"), ("\n\n  \n", "the file holds only blank lines"),
    ("\ufeff", "the file holds only blank lines")], ids=["0-bytes", "blank-lines", "bom-only"])
def test_empty_file_is_empty_input(engine, write_csv, text, what):
    path = write_csv(text)
    assert _error(engine, path) == (
        f"[IN002 empty_input] {path}: {what}; fix: give a file with a header and at least one "
        "data row")


@pytest.mark.parametrize(("text", "what"), [
    (b"", "the file decompresses to nothing"), (b"\n\n", "the file holds only blank lines")])
def test_empty_gzip_is_empty_input(engine, tmp_path, text, what):
    # its compressed bytes are not 0: it was read as a one-column file named 'column0'
    path = tmp_path / "log.csv.gz"
    path.write_bytes(gzip.compress(text))
    assert _error(engine, path) == (
        f"[IN002 empty_input] {path}: {what}; fix: give a file with a header and at least one "
        "data row")


def test_encoding_outside_duckdbs_is_named(engine, write_csv):
    path = write_csv(HEADER + GOOD)
    result = _cli("file", str(path), "--mapping", "/dev/null", "--encoding", "cp1252")
    assert result.exit_code == 2 and result.output.strip() == (
        "error: /dev/null with the flags: encoding 'cp1252' cannot be read; use one of utf-8, "
        "latin-1, utf-16 (Windows-1252 text reads as latin-1 but for a few symbols such as "
        "the euro sign; re-save it as UTF-8)")
    # spellings DuckDB refuses (LATIN1, utf8) are normalised, not refused
    assert ingest_file(engine, path, {**MAP, "encoding": "LATIN1"}).rows_kept == 1


@pytest.mark.parametrize("last", [False, True])
@pytest.mark.parametrize(("row", "fields"), [("u1,2024-03-01 10:00:00,view,5,EXTRA", 5),
                                             ("u1,2024-03-01 10:00:00", 2)])
def test_ragged_row_named(engine, write_csv, row, fields, last):
    # a wider LAST row made DuckDB's sniffer take it as the header and skip the rows above
    path = write_csv(HEADER + (GOOD + row if last else row + "\n" + GOOD))
    assert _error(engine, path) == (
        f"[IN010 ragged_row] {path}: row {1 + last} has {fields} fields, the header has 4 "
        "(delimiter ','); fix: give every row as many fields as the header (quote a field that "
        "holds the delimiter)")


def test_lines_above_the_header_are_named(engine, write_csv):
    path = write_csv("Export of 2024-03-01\n" + HEADER + GOOD)
    assert _error(engine, path) == (
        f"[IN003 missing_column] {path}: line 1 ('Export of 2024-03-01') holds no delimiter "
        "but line 2 does, so the header looks like line 2; fix: delete the line(s) above the "
        "header, so that the header is line 1")


def test_ragged_row_past_the_sniffed_sample(engine, tmp_path):
    path = tmp_path / "big.csv.gz"  # 30,000 good rows first: DuckDB's sniffer sees only those
    with gzip.open(path, "wt") as fh:
        fh.write(HEADER + GOOD * 30_000 + "u1,2024-03-01 10:00:00,view,5,EXTRA\n")
    assert _error(engine, path) == (
        f"[IN010 ragged_row] {path}: row 30001 has 5 fields, the header has 4 (delimiter ','); "
        "fix: give every row as many fields as the header (quote a field that holds the "
        "delimiter)")


@pytest.mark.parametrize(("header", "named"), [
    ("user,when,what,price,price", "'price'"),
    # SQL names ignore case: DuckDB reads Price and price as Price and price_1
    ("user,when,what,Price,price", "'Price', 'price'"),
])
@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_duplicate_header_named(engine, write_csv, tmp_path, header, named, kind):
    path = write_csv(header + "\nu1,2024-03-01 10:00:00,view,5,6\n")
    what = "header names"
    if kind == "parquet":  # pyarrow writes repeated names; DuckDB reads price, price_1
        names = header.split(",")
        table = pa.Table.from_arrays([pa.array([v]) for v in GOOD_ROW], names=names)
        path = tmp_path / "dup.parquet"
        pq.write_table(table, path)
        what = "column names"
    assert _error(engine, path) == (
        f"[IN003 missing_column] {path}: {what} {named} appear more than once (names "
        "that differ only in upper/lower case count as the same); fix: give every column a "
        "distinct name")


def test_blank_header_cells_are_not_duplicates(engine, write_csv):
    # a trailing delimiter on the header (common in spreadsheet exports) is not refused
    path = write_csv("user,when,what,,\nu1,2024-03-01 10:00:00,view,,\n")
    assert ingest_file(engine, path, MAP).rows_kept == 1


# --- 5. a second bad-input round -----------------------------------------------------------

QTY_MAP = {"columns": {**MAP["columns"], "price": "price", "quantity": "qty"}}


def test_negative_quantity_is_dropped_unless_a_return(engine, write_csv):
    path = write_csv("user,when,what,price,qty\n"
                     "u1,2024-03-01 10:00:00,purchase,10,-5\n"   # negative_quantity
                     "u1,2024-03-01 10:01:00,return,10,-5\n"     # kept: revenue -50
                     "u1,2024-03-01 10:02:00,purchase,10,2\n")   # kept: revenue 20
    quality = ingest_file(engine, path, QTY_MAP)
    assert quality.dropped == {"negative_quantity": 1} and quality.rows_kept == 2
    assert engine.sql("SELECT revenue FROM events")["revenue"].tolist() == [-50.0, 20.0]


def test_price_times_quantity_overflow_is_named(engine, write_csv):
    path = write_csv("user,when,what,price,qty\nu1,2024-03-01 10:00:00,purchase,10,1e308\n")
    assert _error(engine, path, QTY_MAP) == (
        f"[IN006 bad_number] {path}: row 1: price 10.0 x quantity 1e+308 (columns 'price', "
        "'qty') is too large to be a revenue; fix: correct the quantity or the price")


def test_ids_are_trimmed_and_a_blank_id_is_no_id(engine, write_csv):
    path = write_csv(HEADER + GOOD + " u1 ,2024-03-01 10:00:00,view,5.0\n"   # duplicate
                     + '"u1\n",2024-03-01 10:00:00,view,5.0\n'             # duplicate
                     + "\t,2024-03-01 10:01:00,view,5.0\n"                # no user id
                     + '"\r\n",2024-03-01 10:02:00,view,5.0\n')          # no user id
    quality = ingest_file(engine, path, MAP)
    assert quality.dropped == {"duplicate": 2}
    assert quality.notes == {"no_user_id": 2}
    users = engine.sql("SELECT user_id FROM events")["user_id"]
    assert users.iloc[0] == "u1" and users.isna().tolist() == [False, True, True]


def test_rows_starting_with_a_hash_are_read_not_taken_for_comments(engine, write_csv):
    # one '#' note line made DuckDB's sniffer skip every row starting with '#' (Shopify
    # order names '#1001') and cut fields at '#', all uncounted
    rows = "".join(f"#{n},2024-03-01 10:0{n}:00,purchase,5.0\n" for n in range(5))
    path = write_csv(HEADER + GOOD + rows)
    assert ingest_file(engine, path, MAP).rows_read == 6
    assert engine.sql("SELECT count(*) FILTER (WHERE starts_with(user_id, '#')) AS n "
                      "FROM events")["n"].iloc[0] == 5
    noted = write_csv(HEADER + GOOD + "# sync resumed\n" + rows)
    assert _error(engine, noted) == (
        f"[IN010 ragged_row] {noted}: row 2 has 1 fields, the header has 4 (delimiter ','); "
        "fix: give every row as many fields as the header (quote a field that holds the "
        "delimiter)")


@pytest.mark.parametrize(("values", "shown"), [([[1.0, 2.0]], "DOUBLE[]"), ([True], "BOOLEAN")])
def test_a_typed_column_without_numbers_is_refused(engine, tmp_path, values, shown):
    path = tmp_path / "typed.parquet"
    pq.write_table(pa.table({"user": ["u1"], "when": ["2024-03-01 10:00:00"], "what": ["view"],
                             "price": pa.array(values)}), path)
    assert _error(engine, path, {"columns": {**MAP["columns"], "price": "price"}}) == (
        f"[IN006 bad_number] {path}: column 'price' (for price) holds {shown} values, not "
        "numbers; fix: map price to a column of numbers")


@pytest.mark.parametrize("delimiter", ["\t", " "])
def test_a_blank_delimiter_is_a_delimiter(engine, tmp_path, delimiter):
    path = tmp_path / "log.txt"
    path.write_text(f"user{delimiter}when{delimiter}what\n"
                    f"u1{delimiter}2024-03-01T10:00:00{delimiter}view\n")
    assert ingest_file(engine, path, {**MAP, "delimiter": delimiter}).rows_kept == 1


def test_a_truncated_gzip_file_is_named_as_such(engine, tmp_path):
    path = tmp_path / "log.csv.gz"
    path.write_bytes(gzip.compress((HEADER + GOOD * 100).encode())[:-6])
    assert _error(engine, path) == (
        f"[IN009 unsupported_file] {path}: is a gzip file that ends too soon (truncated); "
        "fix: give the complete file (copy or download it again)")


def test_a_wrong_encoding_is_not_taken_for_a_title_line(engine, write_csv):
    # UTF-8 read as UTF-16 (an even byte count, so it decodes): one garbled column
    path = write_csv(HEADER + GOOD + "u12,2024-03-01 10:00:00,view,5.0\n")
    message = _error(engine, path, {**MAP, "encoding": "utf-16"})
    assert "above the header" not in message and "not found" in message


def test_option_examples_fit_the_option(engine, tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(HEADER + GOOD)
    out = CliRunner().invoke(ingest_app, ["file", str(path), "--event", "view"])
    assert out.exit_code == 2 and out.output.strip() == (
        "error: --event 'view': write it as KEY=VALUE, e.g. --event add_to_basket=cart")
    with pytest.raises(ConfigError) as info:
        ingest_file(engine, path, {"columns": {"user_id": "user", "event_type": "what"}})
    assert str(info.value) == (
        f"{path}: no timestamp column mapped; map it with 'columns: "
        "{ts: COLUMN}' in a --mapping file (or xbehavior ingest file --map ts=COLUMN)")
