"""The Online Retail adapter on hand-built order-line files: netting, drop counts, and the
shared validation rules with their exact one-line errors."""

from __future__ import annotations

import pytest

from xbehavior.errors import DataError
from xbehavior.ingest import ingest_dataset

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
GOOD = "536365,85123A,HEART,6,2010-12-01 08:26:00,2.5,17850.0,United Kingdom\n"


def _error(engine, path) -> str:
    with pytest.raises(DataError) as info:
        ingest_dataset(engine, "online_retail", path)
    return str(info.value)


def test_c_invoice_netting_and_drop_counts_hand_worked(engine, write_csv):
    path = write_csv(
        HEADER + GOOD +                                                     # 1 kept, 6 x 2.5 = 15
        GOOD +                                                              # 2 duplicate of 1
        "536365,85123A,HEART HOLDER,6,2010-12-01 08:26:00,2.5,17850.0,United Kingdom\n"  # 3 kept
        "C536379,85123A,HEART,-2,2010-12-01 09:41:00,2.5,17850.0,United Kingdom\n"   # 4 -5
        "A563185,B,Adjust bad debt,1,2011-08-12 14:50:00,-11062.06,,United Kingdom\n"  # 5
        "536370,22728,ALARM CLOCK,-3,2010-12-01 08:45:00,3.75,12583,France\n"         # 6
        "536414,22139,,56,2010-12-01 11:52:00,0,,United Kingdom\n"                   # 7
        "536414,22139,,56,2010-12-01 11:52:00,0,,United Kingdom\n"                   # 8
        "536366,22633,HAND WARMER,6,2010-12-01 08:28:00,1.25,,United Kingdom\n"      # 9 7.5
    )
    quality = ingest_dataset(engine, "online_retail", path)
    # 5: bad_debt, not negative_price (adapter reasons come first); 6: negative quantity on
    # a non-C invoice; 7: zero_price; 8: repeat of a dropped line still counts as duplicate
    assert quality.to_dict() == {
        "source": str(path), "rows_read": 9, "rows_kept": 4, "rows_dropped": 5,
        "dropped_by_reason": {"duplicate": 2, "bad_debt": 1, "stock_adjustment": 1,
                              "zero_price": 1},
        "kept_but_flagged": {"no_user_id": 1, "returns_netted": 1},
    }
    events = engine.sql("SELECT user_id, event_type, order_id, quantity, revenue FROM events")
    assert events.astype(object).where(events.notna(), None).values.tolist() == [
        ["17850", "purchase", "536365", 6.0, 15.0],
        ["17850", "purchase", "536365", 6.0, 15.0],
        ["17850", "return", "C536379", -2.0, -5.0],
        [None, "purchase", "536366", 6.0, 7.5],
    ]
    net = engine.sql("SELECT sum(revenue) FROM events WHERE user_id = '17850'").iloc[0, 0]
    assert net == 15.0 + 15.0 - 5.0


def test_empty_file(engine, write_csv):
    path = write_csv(HEADER)
    assert _error(engine, path) == (
        f"[IN002 empty_input] {path}: no data rows; fix: give a file with a header and at "
        "least one data row")


def test_customer_id_not_a_number(engine, write_csv):
    path = write_csv(HEADER + GOOD + GOOD.replace("17850.0", "abc"))
    assert _error(engine, path) == (
        f"[IN006 bad_number] {path}: row 2, column 'CustomerID': 'abc' is not a whole-number "
        "customer id; fix: correct or remove the value (numbers use '.' decimals)")


def test_bad_invoice_date_names_row_and_value(engine, write_csv):
    path = write_csv(HEADER + GOOD + GOOD.replace("2010-12-01", "2011-13-01"))
    assert _error(engine, path) == (
        f"[IN004 bad_timestamp] {path}: row 2, column 'InvoiceDate': '2011-13-01 08:26:00' is "
        "not a timestamp (format '%Y-%m-%d %H:%M:%S'; 1 such row); fix: correct the value, or "
        "set ts_format in the column mapping (xbehavior ingest file --ts-format or --mapping)")


def test_quantity_not_a_number(engine, write_csv):
    path = write_csv(HEADER + GOOD.replace(",6,", ",six,"))
    assert _error(engine, path) == (
        f"[IN006 bad_number] {path}: row 1, column 'Quantity': 'six' is not a number; fix: "
        "correct or remove the value (numbers use '.' decimals)")


def test_negative_price_dropped(engine, write_csv):
    path = write_csv(HEADER + GOOD + GOOD.replace(",2.5,", ",-2,"))
    quality = ingest_dataset(engine, "online_retail", path)
    assert (quality.rows_read, quality.rows_kept, quality.dropped) == (
        2, 1, {"negative_price": 1})


def test_absurd_price(engine, write_csv):
    path = write_csv(HEADER + GOOD + GOOD.replace(",2.5,", ",99999999,"))
    assert _error(engine, path) == (
        f"[IN007 absurd_price] {path}: row 2, column 'UnitPrice': '99999999' is above "
        "max_price 1e+06; fix: correct the value, or raise max_price in the column mapping "
        "(xbehavior ingest file --max-price or --mapping)")


def test_missing_column_did_you_mean(engine, write_csv):
    path = write_csv(HEADER.replace("UnitPrice", "Unit_Price") + GOOD)
    assert _error(engine, path) == (
        f"[IN003 missing_column] {path}: column 'UnitPrice' (for price) not found (did you "
        "mean 'Unit_Price'?); columns are InvoiceNo, StockCode, Description, Quantity, "
        "InvoiceDate, Unit_Price, CustomerID, Country; fix: rename the columns to this "
        "dataset's layout, or read the file as your own log through a column mapping "
        "(xbehavior ingest file, xbehavior analyze file)")
