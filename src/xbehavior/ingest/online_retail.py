"""Adapter for UCI Online Retail style order lines (InvoiceNo, StockCode, ..., Country).

Each invoice line becomes one ``purchase`` event (``order_id`` = invoice). Cancellation
lines (invoice ``C…``) become ``return`` events with negative quantity and revenue, so that
revenue nets out and cancellations are never counted as purchases.

Dropped, by reason (first matching reason wins):
  duplicate          exact repeat of an earlier line
  bad_debt           ``A…`` bad-debt adjustment invoices (accounting, not sales)
  stock_adjustment   negative quantity on a non-cancellation invoice (damages, lost stock)
  zero_price         unit price 0 (free or placeholder lines, not sales)
"""

from __future__ import annotations

from pathlib import Path

from xbehavior.engine import Engine
from xbehavior.errors import DataError
from xbehavior.ingest.quality import DataQuality
from xbehavior.ingest.schema import select_canonical

REQUIRED = (
    "InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country",
)

_REASON_SQL = """
CASE
  WHEN dup_rank > 1 THEN 'duplicate'
  WHEN starts_with(InvoiceNo, 'A') THEN 'bad_debt'
  WHEN Quantity < 0 AND NOT starts_with(InvoiceNo, 'C') THEN 'stock_adjustment'
  WHEN UnitPrice = 0 THEN 'zero_price'
  ELSE NULL
END
"""


def _read_sql(path: Path) -> str:
    suffix = "".join(path.suffixes).lower()
    if suffix.endswith(".parquet"):
        return f"read_parquet('{path}')"
    if suffix.endswith(".csv") or suffix.endswith(".csv.gz"):
        return f"read_csv('{path}', header=true, all_varchar=true)"
    raise DataError(f"{path}: unsupported file type; give a .parquet, .csv or .csv.gz file")


def ingest_online_retail(engine: Engine, path: Path, table: str = "events") -> DataQuality:
    """Read an Online Retail file into canonical table ``table``; return its quality record."""
    if not path.exists():
        raise DataError(f"{path}: file not found; check the path or run without --input")
    engine.execute(f"CREATE OR REPLACE TABLE raw_online_retail AS SELECT * FROM {_read_sql(path)}")
    present = set(engine.columns("raw_online_retail"))
    missing = [c for c in REQUIRED if c not in present]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; Online Retail input needs "
            f"{', '.join(REQUIRED)} (rename them or use a column mapping)"
        )
    _check_parseable(engine, path)
    engine.execute(f"""
        CREATE OR REPLACE TABLE raw_online_retail_tagged AS
        WITH typed AS (
          SELECT CAST(InvoiceNo AS VARCHAR) AS InvoiceNo, CAST(StockCode AS VARCHAR) AS StockCode,
                 CAST(Description AS VARCHAR) AS Description,
                 CAST(Quantity AS DOUBLE) AS Quantity,
                 CAST(InvoiceDate AS TIMESTAMP) AS InvoiceDate,
                 CAST(UnitPrice AS DOUBLE) AS UnitPrice,
                 CAST(CAST(CustomerID AS DOUBLE) AS BIGINT) AS CustomerID,
                 CAST(Country AS VARCHAR) AS Country,
                 row_number() OVER () AS src_row
          FROM raw_online_retail
        ), ranked AS (
          SELECT *, row_number() OVER (
              PARTITION BY InvoiceNo, StockCode, Description, Quantity, InvoiceDate,
                           UnitPrice, CustomerID, Country
              ORDER BY src_row) AS dup_rank
          FROM typed
        )
        SELECT *, {_REASON_SQL} AS drop_reason FROM ranked
    """)
    # Online Retail times are UK local wall-clock; the shop's own clock is kept as the UTC
    # instant (no DST shift), a documented simplification worth at most one hour.
    exprs = {
        "user_id": "CAST(CustomerID AS VARCHAR)",
        "ts": "InvoiceDate",
        "event_type": "CASE WHEN starts_with(InvoiceNo, 'C') THEN 'return' ELSE 'purchase' END",
        "order_id": "InvoiceNo",
        "item_id": "StockCode",
        "price": "UnitPrice",
        "quantity": "Quantity",
        "revenue": "Quantity * UnitPrice",
        "country": "Country",
    }
    from_clause = "FROM raw_online_retail_tagged WHERE drop_reason IS NULL ORDER BY src_row"
    engine.execute(f"CREATE OR REPLACE TABLE {table} AS {select_canonical(exprs, from_clause)}")
    return _quality(engine, path, table)


def _check_parseable(engine: Engine, path: Path) -> None:
    bad = engine.sql("""
        SELECT n, InvoiceDate FROM (
          SELECT row_number() OVER () AS n, InvoiceDate FROM raw_online_retail)
        WHERE InvoiceDate IS NULL OR TRY_CAST(InvoiceDate AS TIMESTAMP) IS NULL LIMIT 1
    """)
    if len(bad):
        row, value = int(bad.iloc[0, 0]), bad.iloc[0, 1]
        raise DataError(
            f"{path}: row {row}: InvoiceDate {value!r} is not a timestamp; "
            "use 'YYYY-MM-DD HH:MM:SS'"
        )
    bad = engine.sql("""
        SELECT n, Quantity, UnitPrice FROM (
          SELECT row_number() OVER () AS n, Quantity, UnitPrice FROM raw_online_retail)
        WHERE TRY_CAST(Quantity AS DOUBLE) IS NULL OR TRY_CAST(UnitPrice AS DOUBLE) IS NULL
        LIMIT 1
    """)
    if len(bad):
        row = int(bad.iloc[0, 0])
        raise DataError(
            f"{path}: row {row}: Quantity {bad.iloc[0, 1]!r} / UnitPrice {bad.iloc[0, 2]!r} "
            "is not a number; fix or remove that row"
        )


def _quality(engine: Engine, path: Path, table: str) -> DataQuality:
    counts = engine.sql("""
        SELECT coalesce(drop_reason, 'kept') AS reason, count(*) AS n
        FROM raw_online_retail_tagged GROUP BY 1
    """)
    by_reason = dict(zip(counts["reason"], counts["n"].astype(int), strict=True))
    kept = by_reason.pop("kept", 0)
    flags = engine.sql(f"""
        SELECT count(*) FILTER (WHERE user_id IS NULL) AS no_user_id,
               count(*) FILTER (WHERE event_type = 'return') AS returns_netted
        FROM {table}
    """).iloc[0]
    quality = DataQuality(
        source=str(path),
        rows_read=engine.count("raw_online_retail"),
        rows_kept=kept,
        dropped=by_reason,
        notes={k: int(v) for k, v in flags.items()},
    )
    quality.check_balanced()
    return quality
