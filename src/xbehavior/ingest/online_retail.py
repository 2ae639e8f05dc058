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

import pandas as pd

from xbehavior.engine import Engine
from xbehavior.errors import DataError
from xbehavior.ingest.quality import DataQuality
from xbehavior.ingest.schema import select_canonical

REQUIRED = (
    "InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country",
)

_COLUMNS = ("InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, "
            "Country")
_TAGGED = "raw_online_retail_tagged"

# First matching reason wins; 'duplicate' (an exact repeat of an earlier line) comes first
# and is found separately (see _DUPLICATES_SQL), so this covers the others.
_REASON_SQL = """
CASE
  WHEN starts_with(InvoiceNo, 'A') THEN 'bad_debt'
  WHEN Quantity < 0 AND NOT starts_with(InvoiceNo, 'C') THEN 'stock_adjustment'
  WHEN UnitPrice = 0 THEN 'zero_price'
  ELSE NULL
END
"""

# Later repeats of a line (all eight typed columns equal, NULLs equal; the first source row
# is kept). Only lines whose hash repeats are compared column by column, so a hash collision
# is never taken for a duplicate and no sort over all lines is needed.
_DUPLICATES_SQL = f"""
CREATE OR REPLACE TEMP TABLE {_TAGGED}_dups AS
WITH repeated AS (SELECT _h FROM {_TAGGED} GROUP BY _h HAVING count(*) > 1)
SELECT _row, drop_reason FROM (
  SELECT rowid AS _row, *, {_REASON_SQL} AS drop_reason FROM {_TAGGED}
  WHERE _h IN (SELECT _h FROM repeated))
QUALIFY row_number() OVER (PARTITION BY {_COLUMNS} ORDER BY _row) > 1
"""


def _read_sql(path: Path) -> str:
    suffix = "".join(path.suffixes).lower()
    if suffix.endswith(".parquet"):
        return f"read_parquet('{path}')"
    if suffix.endswith(".csv") or suffix.endswith(".csv.gz"):
        return f"read_csv('{path}', header=true, all_varchar=true)"
    raise DataError(f"{path}: unsupported file type; give a .parquet, .csv or .csv.gz file")


def ingest_online_retail(engine: Engine, path: Path, table: str = "events") -> DataQuality:
    """Read an Online Retail file into canonical table ``table``; return its quality record.

    One read into a typed table (source row n = rowid + 1), one aggregate for the checks and
    counts, a hash pass for duplicates, then a delete and one projection to ``table``.
    """
    if not path.exists():
        raise DataError(f"{path}: file not found; check the path or run without --input")
    source = _read_sql(path)
    present = {str(c) for c in engine.sql(f"DESCRIBE SELECT * FROM {source}").iloc[:, 0]}
    missing = [c for c in REQUIRED if c not in present]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; Online Retail input needs "
            f"{', '.join(REQUIRED)} (rename them or use a column mapping)"
        )
    engine.execute(f"""
        CREATE OR REPLACE TABLE {_TAGGED} AS
        SELECT *, hash({_COLUMNS}) AS _h FROM (
          SELECT CAST(InvoiceNo AS VARCHAR) AS InvoiceNo, CAST(StockCode AS VARCHAR) AS StockCode,
                 CAST(Description AS VARCHAR) AS Description,
                 TRY_CAST(Quantity AS DOUBLE) AS Quantity,
                 TRY_CAST(InvoiceDate AS TIMESTAMP) AS InvoiceDate,
                 TRY_CAST(UnitPrice AS DOUBLE) AS UnitPrice,
                 CAST(CAST(CustomerID AS DOUBLE) AS BIGINT) AS CustomerID,
                 CAST(Country AS VARCHAR) AS Country
          FROM {source})
    """)
    counts = engine.sql(f"""
        SELECT count(*) AS n_rows,
               count(*) FILTER (WHERE InvoiceDate IS NULL) AS bad_ts,
               count(*) FILTER (WHERE Quantity IS NULL OR UnitPrice IS NULL) AS bad_number,
               count(*) FILTER (WHERE {_REASON_SQL} = 'bad_debt') AS bad_debt,
               count(*) FILTER (WHERE {_REASON_SQL} = 'stock_adjustment') AS stock_adjustment,
               count(*) FILTER (WHERE {_REASON_SQL} = 'zero_price') AS zero_price
        FROM {_TAGGED}
    """).iloc[0]
    if counts["bad_ts"] or counts["bad_number"]:
        _check_parseable(engine, path, source)
    engine.execute(_DUPLICATES_SQL)
    dropped = _drop_counts(engine, counts)
    engine.execute(f"DELETE FROM {_TAGGED} WHERE rowid IN (SELECT _row FROM {_TAGGED}_dups) "
                   f"OR ({_REASON_SQL}) IS NOT NULL")
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
    # a filtered scan keeps source order, so no ORDER BY is needed
    engine.execute(f"CREATE OR REPLACE TABLE {table} AS "
                   f"{select_canonical(exprs, f'FROM {_TAGGED}')}")
    engine.execute(f"DROP TABLE {_TAGGED}_dups")
    engine.execute(f"DROP TABLE {_TAGGED}")
    return _quality(engine, path, table, int(counts["n_rows"]), dropped)


def _drop_counts(engine: Engine, counts: pd.Series) -> dict[str, int]:
    """Rows dropped by reason; a duplicate counts as 'duplicate' whatever else it is."""
    dups = engine.sql(f"SELECT coalesce(drop_reason, 'kept') AS reason, count(*) AS n "
                      f"FROM {_TAGGED}_dups GROUP BY 1")
    dup_by_reason = dict(zip(dups["reason"], dups["n"].astype(int), strict=True))
    dropped = {"duplicate": sum(dup_by_reason.values())}
    for reason in ("bad_debt", "stock_adjustment", "zero_price"):
        dropped[reason] = int(counts[reason]) - dup_by_reason.get(reason, 0)
    return {k: v for k, v in dropped.items() if v}


def _check_parseable(engine: Engine, path: Path, source: str) -> None:
    """Raise the error for the first unparseable row (only called when there is one)."""
    bad = engine.sql(f"""
        SELECT n, InvoiceDate FROM (
          SELECT row_number() OVER () AS n, InvoiceDate FROM {source})
        WHERE InvoiceDate IS NULL OR TRY_CAST(InvoiceDate AS TIMESTAMP) IS NULL LIMIT 1
    """)
    if len(bad):
        row, value = int(bad.iloc[0, 0]), bad.iloc[0, 1]
        raise DataError(
            f"{path}: row {row}: InvoiceDate {value!r} is not a timestamp; "
            "use 'YYYY-MM-DD HH:MM:SS'"
        )
    bad = engine.sql(f"""
        SELECT n, Quantity, UnitPrice FROM (
          SELECT row_number() OVER () AS n, Quantity, UnitPrice FROM {source})
        WHERE TRY_CAST(Quantity AS DOUBLE) IS NULL OR TRY_CAST(UnitPrice AS DOUBLE) IS NULL
        LIMIT 1
    """)
    if len(bad):
        row = int(bad.iloc[0, 0])
        raise DataError(
            f"{path}: row {row}: Quantity {bad.iloc[0, 1]!r} / UnitPrice {bad.iloc[0, 2]!r} "
            "is not a number; fix or remove that row"
        )


def _quality(engine: Engine, path: Path, table: str, rows_read: int,
             dropped: dict[str, int]) -> DataQuality:
    flags = engine.sql(f"""
        SELECT count(*) AS kept, count(*) FILTER (WHERE user_id IS NULL) AS no_user_id,
               count(*) FILTER (WHERE event_type = 'return') AS returns_netted
        FROM {table}
    """).iloc[0]
    quality = DataQuality(
        source=str(path),
        rows_read=rows_read,
        rows_kept=int(flags["kept"]),
        dropped=dropped,
        notes={k: int(flags[k]) for k in ("no_user_id", "returns_netted")},
    )
    quality.check_balanced()
    return quality
