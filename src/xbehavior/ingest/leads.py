"""The leads-table form: one row per marketing-qualified lead, with its closed deal if any.

Adapter for the Olist marketing funnel (``olist_marketing_qualified_leads_dataset.csv`` and
``olist_closed_deals_dataset.csv`` beside it, see its SOURCE.md). Both files are read as
text in the engine and checked with the shared rules (IN001-IN004, did-you-mean); every row
of both files is accounted for in one :class:`DataQuality`:

* rows read = lead rows + deal rows; rows kept = leads in the table + deals recorded on them
  (``won`` true), so ``rows_kept == count(*) + count(*) FILTER (WHERE won)``;
* lead rows dropped: ``lead_duplicate`` (exact repeat), ``lead_missing_id``,
  ``lead_missing_timestamp``, ``lead_repeated_id`` (a later, different row with an id
  already seen: the first row in file order is kept);
* deal rows dropped: ``deal_duplicate``, ``deal_missing_id``, ``deal_missing_won_date``,
  ``deal_no_matching_lead`` (its lead is not in the kept leads), ``deal_repeated_lead``
  (a second deal for one lead: the earliest won date is kept);
* flagged (kept): ``missing_origin`` (empty channel), ``won_before_first_contact``
  (negative time to close).

The source states no time zone: dates are stored as given, as naive timestamps.
"""

from __future__ import annotations

from pathlib import Path

from xbehavior.engine import Engine
from xbehavior.ingest.checks import BAD_TIMESTAMP, check_columns, check_not_empty
from xbehavior.ingest.core import read_relation
from xbehavior.ingest.quality import DataQuality

DEALS_FILE = "olist_closed_deals_dataset.csv"

#: the leads-table form (table ``leads``): column -> DuckDB type, in table order
LEAD_COLUMNS: dict[str, str] = {
    "lead_id": "VARCHAR",  # mql_id
    "first_contact_ts": "TIMESTAMP",  # first_contact_date (a date: midnight)
    "origin": "VARCHAR",  # acquisition channel; NULL when the source cell is empty
    "landing_page": "VARCHAR",  # landing_page_id
    "won": "BOOLEAN",  # the lead became a closed deal
    "won_ts": "TIMESTAMP",  # won_date; NULL if not won
    "days_to_close": "DOUBLE",  # (won_ts - first_contact_ts) in days; NULL if not won
    "business_segment": "VARCHAR",  # of the deal; NULL if not won
    "lead_type": "VARCHAR",
    "business_type": "VARCHAR",
}

_LEAD_SOURCE = {"mql_id": "lead_id", "first_contact_date": "first_contact_ts",
                "landing_page_id": "landing_page", "origin": "origin"}
_DEAL_SOURCE = {"mql_id": "lead_id", "won_date": "won_ts",
                "business_segment": "business_segment", "lead_type": "lead_type",
                "business_type": "business_type"}


def _columns(engine: Engine, relation: str) -> list[str]:
    return [str(c) for c in engine.sql(f"DESCRIBE SELECT * FROM {relation}").iloc[:, 0]]


def _text(column: str) -> str:
    """SQL: the source cell as trimmed text, NULL when empty."""
    return f'nullif(trim("{column}"), \'\')'


def _stage(engine: Engine, path: Path, source: dict[str, str], ts_col: str,
           stage: str) -> int:
    """Read ``path`` into ``stage`` (row = 1-based data row, the source columns as text,
    ``ts`` parsed); raise IN003 / IN002 / IN004 (first bad row and value). Returns rows read."""
    relation = read_relation(path)
    # a lead table is not an event log, so the generic (event) adapter is no way out here
    check_columns(path, source, _columns(engine, relation),
                  "rename the columns to the Olist lead or deal table's layout "
                  "(its SOURCE.md lists them)")
    cells = ", ".join(f"{_text(c)} AS \"{c}\"" for c in source)
    # the stage keeps file order, so rowid + 1 is the data row number (as in core._stage);
    # _raw is the whole source row (a struct), compared for exact duplicates
    engine.execute(f"""CREATE OR REPLACE TEMP TABLE {stage} AS
        SELECT {cells}, TRY_CAST({_text(ts_col)} AS TIMESTAMP) AS ts, src AS _raw
        FROM {relation} src""")
    rows = engine.count(stage)
    check_not_empty(path, rows)
    bad = engine.sql(f"""SELECT rowid + 1 AS row, "{ts_col}" AS value, count(*) OVER () AS n
        FROM {stage} WHERE "{ts_col}" IS NOT NULL AND ts IS NULL ORDER BY rowid LIMIT 1""")
    if len(bad):
        row, value, n = bad.iloc[0]
        raise BAD_TIMESTAMP.fail(
            path, f"row {int(row)}, column {ts_col!r}: {value!r} is not a timestamp (ISO "
            f"'YYYY-MM-DD[ HH:MM:SS]'; {int(n)} such row{'s' if n != 1 else ''})",
            "correct the value (dates are YYYY-MM-DD, as in the Olist export)")
    return rows


# Drop reason of each staged row (first match wins). An exact repeat (every source cell
# equal) is a duplicate; a later different row for an id already kept is a repeated id;
# ``{order}`` picks the row kept.
_REASON_SQL = """CREATE OR REPLACE TEMP TABLE {stage}_r AS
SELECT * EXCLUDE (_raw), CASE
  WHEN row_number() OVER (PARTITION BY _raw ORDER BY rowid) > 1 THEN '{p}_duplicate'
  WHEN mql_id IS NULL THEN '{p}_missing_id'
  WHEN ts IS NULL THEN '{p}_missing_{ts}'
  {extra}
  WHEN row_number() OVER (PARTITION BY mql_id, {ok} ORDER BY {order}) > 1
    THEN '{p}_{repeat}'
END AS drop_reason FROM (SELECT rowid, * FROM {stage})"""


def _tag(engine: Engine, stage: str, prefix: str, ts: str, repeat: str, order: str,
         extra: str = "") -> dict[str, int]:
    """Tag every staged row with its drop reason; return reason -> rows."""
    ok = f"(mql_id IS NOT NULL AND ts IS NOT NULL{' AND ' + extra if extra else ''})"
    extra_when = f"WHEN NOT ({extra}) THEN '{prefix}_no_matching_lead'" if extra else ""
    engine.execute(_REASON_SQL.format(stage=stage, p=prefix, ts=ts, ok=ok,
                                      extra=extra_when, order=order, repeat=repeat))
    counts = engine.sql(f"SELECT drop_reason, count(*) AS n FROM {stage}_r "
                        "WHERE drop_reason IS NOT NULL GROUP BY ALL")
    return {str(r): int(n) for r, n in counts.itertuples(index=False)}


def ingest_olist(engine: Engine, path: Path, table: str = "leads") -> DataQuality:
    """Olist MQLs at ``path`` (+ closed deals beside it) -> the leads table ``table``.

    Out: table of LEAD_COLUMNS, one row per kept lead in file order; the DataQuality of
    both files (see the module docstring). Raises DataError (one line) on a missing file
    or column, an empty file or an unparseable date.
    """
    path = Path(path)
    deals_path = path.parent / DEALS_FILE
    leads_read = _stage(engine, path, _LEAD_SOURCE, "first_contact_date", "_olist_leads")
    deals_read = _stage(engine, deals_path, _DEAL_SOURCE, "won_date", "_olist_deals")
    try:
        dropped = _tag(engine, "_olist_leads", "lead", "timestamp",
                       "repeated_id", "rowid")
        kept_leads = "(SELECT mql_id, ts FROM _olist_leads_r WHERE drop_reason IS NULL)"
        dropped |= _tag(engine, "_olist_deals", "deal", "won_date",
                        "repeated_lead", "ts, rowid",
                        extra=f"mql_id IN (SELECT mql_id FROM {kept_leads})")
        engine.execute(f"""CREATE OR REPLACE TABLE {table} AS
            SELECT l.mql_id AS lead_id, l.ts AS first_contact_ts, l.origin,
                   l.landing_page_id AS landing_page, d.ts IS NOT NULL AS won,
                   d.ts AS won_ts,
                   (epoch(d.ts) - epoch(l.ts)) / 86400.0 AS days_to_close,
                   d.business_segment, d.lead_type, d.business_type
            FROM _olist_leads_r l
            LEFT JOIN (SELECT * FROM _olist_deals_r WHERE drop_reason IS NULL) d
              USING (mql_id)
            WHERE l.drop_reason IS NULL ORDER BY l.rowid""")
    finally:
        for stage in ("_olist_leads", "_olist_deals"):
            engine.execute(f"DROP TABLE IF EXISTS {stage}")
            engine.execute(f"DROP TABLE IF EXISTS {stage}_r")
    flags = engine.sql(f"""SELECT count(*) AS leads, count(*) FILTER (WHERE won) AS deals,
        count(*) FILTER (WHERE origin IS NULL) AS missing_origin,
        count(*) FILTER (WHERE days_to_close < 0) AS won_before_first_contact
        FROM {table}""").iloc[0]
    quality = DataQuality(
        source=f"{path} + {DEALS_FILE}", rows_read=leads_read + deals_read,
        rows_kept=int(flags["leads"]) + int(flags["deals"]), dropped=dropped,
        notes={k: int(flags[k]) for k in ("missing_origin", "won_before_first_contact")})
    quality.check_balanced()
    return quality
