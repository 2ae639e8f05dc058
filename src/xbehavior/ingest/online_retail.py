"""Adapter for UCI Online Retail style order lines (InvoiceNo, StockCode, ..., Country).

Each invoice line becomes one ``purchase`` event (``order_id`` = invoice). Cancellation
lines (invoice ``C…``) become ``return`` events with negative revenue, so that revenue nets
out and cancellations are never counted as purchases (their quantity stays as given).

InvoiceDate is 'YYYY-MM-DD HH:MM:SS'. Reading, validation (missing columns, empty input,
unparseable dates and numbers, prices) and counting are the shared pipeline's
(:mod:`xbehavior.ingest.core`). Dropped, by reason
(first matching reason wins):
  duplicate          exact repeat of an earlier line (Description included)
  missing_timestamp  empty InvoiceDate
  bad_debt           ``A…`` bad-debt adjustment invoices (accounting, not sales)
  stock_adjustment   negative quantity on a non-cancellation invoice (damages, lost stock)
  zero_price         unit price 0 (free or placeholder lines, not sales)
  negative_price     unit price below 0 on any other line
"""

from __future__ import annotations

from pathlib import Path

from xbehavior.engine import Engine
from xbehavior.ingest.checks import LAYOUT_FIX, check_columns
from xbehavior.ingest.core import SourceSpec, load_events, read_relation, source_columns
from xbehavior.ingest.quality import DataQuality

#: source column -> canonical column it feeds (for the missing-column message)
REQUIRED = {
    "InvoiceNo": "order_id", "StockCode": "item_id", "Quantity": "quantity",
    "InvoiceDate": "ts", "UnitPrice": "price", "CustomerID": "user_id", "Country": "country",
}

#: adapter drop reasons, over canonical columns, in priority order
REASONS = {
    "bad_debt": "starts_with(order_id, 'A')",
    "stock_adjustment": "quantity < 0 AND NOT starts_with(order_id, 'C')",
    "zero_price": "price = 0",
}

_ID_NUMBER = "TRY_CAST(CustomerID AS DOUBLE)"
_WHOLE_ID = (f"CASE WHEN {_ID_NUMBER} = floor({_ID_NUMBER}) "
             f"THEN CAST(TRY_CAST({_ID_NUMBER} AS BIGINT) AS VARCHAR) END")


def ingest_online_retail(engine: Engine, path: Path, table: str = "events") -> DataQuality:
    """Read an Online Retail file (CSV, optionally gzipped, or Parquet) into canonical table
    ``table``; return its quality record (notes: ``no_user_id``, ``returns_netted``).

    Online Retail times are UK local wall-clock; the shop's own clock is kept as the UTC
    instant (no DST shift), a documented simplification worth at most one hour.
    """
    path = Path(path)
    relation = read_relation(path)
    present = source_columns(engine, path, relation)
    check_columns(path, REQUIRED, present, LAYOUT_FIX)
    exprs = {
        # CustomerID is a whole number, stored as a float by some exports ('17850.0'); a
        # fractional one ('12345.5') is NULL here, hence IN006, never rounded to another id
        "user_id": _WHOLE_ID,
        "order_id": "InvoiceNo", "item_id": "StockCode", "price": "UnitPrice",
        "quantity": "Quantity", "country": "Country",
    }
    spec = SourceSpec(
        path=path, relation=relation, ts_expr="InvoiceDate", exprs=exprs,
        # one fixed format: 2x faster than the ISO-or-offset sniffing of the generic default
        ts_format="%Y-%m-%d %H:%M:%S",
        event_expr="CASE WHEN starts_with(CAST(InvoiceNo AS VARCHAR), 'C') THEN 'return' "
                   "ELSE 'purchase' END",
        columns={canonical: source for source, canonical in REQUIRED.items()},
        reasons=REASONS, checked={"user_id": "CustomerID"},
        checked_as={"user_id": "a whole-number customer id"},
        dedupe_extra=("Description",) if "Description" in present else (),
    )
    quality = load_events(engine, spec, table)
    quality.notes["returns_netted"] = int(engine.sql(
        f"SELECT count(*) FROM {table} WHERE event_type = 'return'").iloc[0, 0])
    return quality
