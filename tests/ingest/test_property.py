"""Property: ingest never loses or invents rows (kept + dropped by reason = read), for the
generic adapter and the Online Retail one. Every raw cell maps to a distinct canonical value,
so a row's repeats are exactly its canonical duplicates and the counts can be derived here."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st

from xbehavior.engine import DuckDBEngine
from xbehavior.ingest import ingest_dataset, ingest_file

_row = st.tuples(
    st.sampled_from(["u1", "u2", ""]),                              # "" = missing user id
    st.sampled_from(["2024-03-01 10:00:00", "2024-03-01 10:31:00", ""]),  # "" = missing ts
    st.sampled_from(["view", "cart", "purchase", "noise"]),
    st.sampled_from(["1.5", "0", "-2", ""]),                        # negative price dropped
)
ENGINE = DuckDBEngine(threads=1)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_row, min_size=1, max_size=25),
       duplicate_first=st.integers(min_value=0, max_value=3))
def test_kept_plus_dropped_equals_read(rows, duplicate_first):
    rows = rows + rows[:1] * duplicate_first  # plant exact duplicates
    text = "user,when,what,price\n" + "".join(",".join(r) + "\n" for r in rows)
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        path.write_text(text)
        quality = ingest_file(ENGINE, path, {
            "columns": {"user_id": "user", "ts": "when", "event_type": "what"},
            "events": {"noise": "drop"}})
    assert quality.rows_read == len(rows)
    assert quality.rows_kept + sum(quality.dropped.values()) == len(rows)
    assert ENGINE.count("events") == quality.rows_kept
    # hand-derivable counts: repeats are duplicates whatever else they are; every other
    # reason is the first matching rule of a distinct row
    distinct = set(rows)
    assert quality.dropped.get("duplicate", 0) == len(rows) - len(distinct)
    no_ts = {r for r in distinct if r[1] == ""}
    neg = {r for r in distinct - no_ts if r[3] == "-2"}
    assert quality.dropped.get("missing_timestamp", 0) == len(no_ts)
    assert quality.dropped.get("negative_price", 0) == len(neg)
    valid = {r for r in distinct - no_ts - neg if r[2] != "noise"}
    assert quality.rows_kept == len(valid)
    assert quality.notes["no_user_id"] == len({r for r in valid if r[0] == ""})


_line = st.tuples(
    st.sampled_from(["536365", "C536366", "A563185"]),  # sale / cancellation / bad debt
    st.sampled_from(["HEART", ""]),                      # Description: part of a duplicate
    st.sampled_from(["2", "-1"]),                        # Quantity
    st.sampled_from(["2010-12-01 08:26:00", ""]),        # InvoiceDate ("" = missing)
    st.sampled_from(["2.5", "0", "-2"]),                 # UnitPrice
    st.sampled_from(["17850", ""]),                      # CustomerID ("" = no user id)
)
_OR_HEADER = "InvoiceNo,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,StockCode,Country\n"


def _or_reason(line: tuple[str, ...]) -> str | None:
    """The first matching drop reason of a distinct line (None: kept), as documented."""
    invoice, _, qty, date, price, _ = line
    if date == "":
        return "missing_timestamp"
    if invoice.startswith("A"):
        return "bad_debt"
    if qty == "-1" and not invoice.startswith("C"):
        return "stock_adjustment"
    return {"0": "zero_price", "-2": "negative_price"}.get(price)


@settings(max_examples=40, deadline=None)
@given(lines=st.lists(_line, min_size=1, max_size=25),
       duplicate_first=st.integers(min_value=0, max_value=3))
def test_online_retail_kept_plus_dropped_equals_read(lines, duplicate_first):
    lines = lines + lines[:1] * duplicate_first
    text = _OR_HEADER + "".join(",".join(r) + ",85123A,UK\n" for r in lines)
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "retail.csv"
        path.write_text(text)
        quality = ingest_dataset(ENGINE, "online_retail", path)
    assert quality.rows_read == len(lines)
    assert quality.rows_kept + sum(quality.dropped.values()) == len(lines)
    assert ENGINE.count("events") == quality.rows_kept
    distinct = set(lines)
    expected = {"duplicate": len(lines) - len(distinct)}
    for line in distinct:
        reason = _or_reason(line)
        expected[reason] = expected.get(reason, 0) + 1
    kept = expected.pop(None, 0)
    assert quality.dropped == {k: v for k, v in expected.items() if v}
    assert quality.rows_kept == kept
    valid = [r for r in distinct if _or_reason(r) is None]
    assert quality.notes == {"no_user_id": sum(r[5] == "" for r in valid),
                             "returns_netted": sum(r[0].startswith("C") for r in valid)}
