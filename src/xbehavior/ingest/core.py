"""The shared ingest pipeline: one source (file + SQL expressions) -> canonical ``events``.

Every adapter (bundled or user-mapped) describes its source as a :class:`SourceSpec` and
this module does the rest in the engine, in three passes over the data:

1. stage: read the file once, parse timestamps (to naive UTC), map event names, cast numbers,
   keeping the raw text of the checked fields for error messages;
2. validate: one aggregate scan counts every fatal problem; the first offending row of a
   failing rule is fetched for the message (see :mod:`xbehavior.ingest.checks`);
3. keep: tag each row with its drop reason (first match wins), drop exact duplicates,
   write the canonical table and count everything into a :class:`DataQuality`.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from xbehavior.engine import Engine
from xbehavior.errors import ConfigError
from xbehavior.ingest import checks
from xbehavior.ingest.quality import DataQuality
from xbehavior.ingest.schema import EVENT_COLUMNS, EVENT_TYPES, select_canonical

_OFFSET_RE = r"(Z|UTC|GMT|[+-]\d\d(:?\d\d)?)$"


@dataclass
class SourceSpec:
    """How to read one source into canonical events.

    ``exprs`` maps canonical column -> SQL expression over the raw relation (no ``ts`` or
    ``event_type``: those come from ``ts_expr`` / ``event_expr`` and are parsed here).
    ``columns`` names, for messages, the source column behind each checked field.
    """

    path: Path
    relation: str  # SQL table expression over the raw source (e.g. read_csv(...))
    ts_expr: str
    exprs: dict[str, str] = field(default_factory=dict)
    event_expr: str | None = None  # NULL -> default_event
    default_event: str | None = None
    event_map: dict[str, str] = field(default_factory=dict)
    ts_format: str | None = None  # strptime format, 'epoch' (s) or 'epoch_ms'; None = ISO
    timezone: str = "UTC"  # zone of timestamps that carry no offset
    max_price: float = 1e6
    columns: dict[str, str] = field(default_factory=dict)  # field -> source column name
    dedupe: bool = True


def read_relation(path: Path, delimiter: str | None = None) -> str:
    """SQL table expression reading ``path`` (CSV/TSV, optionally gzipped, or Parquet).

    CSV is read as text (``all_varchar``) so that a bad cell is reported, not guessed at.
    """
    checks.check_file(path)
    name = path.name.lower()
    if name.endswith((".parquet", ".parquet.gz", ".pq")):
        return f"read_parquet('{path}')"
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz")):
        sep = delimiter or ("\t" if ".tsv" in name else None)
        sep_sql = f", delim='{sep}'" if sep else ""
        return f"read_csv('{path}', header=true, all_varchar=true{sep_sql})"
    raise checks.UNSUPPORTED_FILE.fail(path, f"cannot read {path.name!r}")


def check_timezone(name: str) -> None:
    """Raise ConfigError if ``name`` is not an IANA time zone."""
    if name not in zoneinfo.available_timezones():
        hint = checks.did_you_mean(name, zoneinfo.available_timezones())
        raise ConfigError(f"unknown time zone {name!r}{hint}; use an IANA name such as "
                          "'Europe/London' or 'UTC'")


def _ts_sql(spec: SourceSpec, raw_type: str) -> tuple[str, str]:
    """(SQL parsing the raw timestamp to naive UTC, SQL of its raw text)."""
    raw, tz = spec.ts_expr, spec.timezone
    text = f"CAST({raw} AS VARCHAR)"

    def local(naive: str) -> str:  # naive wall clock in the source zone -> naive UTC
        return naive if tz == "UTC" else f"timezone('UTC', timezone('{tz}', {naive}))"

    if raw_type.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"timezone('UTC', {raw})", text
    if raw_type.startswith(("TIMESTAMP", "DATE")):
        return local(f"CAST({raw} AS TIMESTAMP)"), text
    if spec.ts_format == "epoch":
        return f"timezone('UTC', to_timestamp(TRY_CAST({text} AS DOUBLE)))", text
    if spec.ts_format == "epoch_ms":
        return f"epoch_ms(TRY_CAST({text} AS BIGINT))", text
    if spec.ts_format:
        fmt = spec.ts_format.replace("'", "''")
        parsed = f"try_strptime({text}, '{fmt}')"
        if "%z" in fmt or "%Z" in fmt:
            return f"timezone('UTC', {parsed})", text
        return local(parsed), text
    aware = f"timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ))"
    naive = local(f"TRY_CAST({text} AS TIMESTAMP)")
    return f"CASE WHEN regexp_matches({text}, '{_OFFSET_RE}') THEN {aware} ELSE {naive} END", text


def _event_sql(spec: SourceSpec) -> str:
    if spec.event_expr is None:
        return f"'{spec.default_event}'" if spec.default_event else "NULL"
    text = f"trim(CAST({spec.event_expr} AS VARCHAR))"
    if not spec.event_map:
        return text
    whens = " ".join(
        f"WHEN {_quote(src)} THEN {_quote(dst)}" for src, dst in spec.event_map.items()
    )
    return f"CASE {text} {whens} ELSE {text} END"


def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


_REASON_SQL = """CASE
    WHEN ts IS NULL THEN 'missing_timestamp'
    WHEN price < 0 THEN 'negative_price'
    WHEN event_type = 'drop' THEN 'event_excluded'
    ELSE NULL END"""


def _stage(engine: Engine, spec: SourceSpec, stage: str) -> None:
    engine.execute(f"CREATE OR REPLACE VIEW {stage}_src AS SELECT * FROM {spec.relation}")
    ts_type = str(engine.sql(f"DESCRIBE SELECT {spec.ts_expr} AS t FROM {stage}_src").iloc[0, 1])
    ts_parsed, ts_text = _ts_sql(spec, ts_type)
    is_text = not ts_type.startswith(("TIMESTAMP", "DATE"))
    has_offset = (
        f"regexp_matches({ts_text}, '{_OFFSET_RE}')"
        if is_text and not spec.ts_format else "NULL::BOOLEAN"
    )
    exprs = {k: v for k, v in spec.exprs.items() if k not in ("ts", "event_type")}
    price = exprs.get("price", "NULL")
    columns = [f"CAST({exprs.get(c, 'NULL')} AS {t}) AS {c}" for c, t in EVENT_COLUMNS.items()
               if c not in ("ts", "event_type", "price")]
    engine.execute(f"""
        CREATE OR REPLACE TABLE {stage} AS
        SELECT *, {_REASON_SQL} AS drop_reason FROM (
          SELECT row_number() OVER () AS src_row,
                 {ts_text} AS _ts_raw, {ts_parsed} AS ts, {has_offset} AS _has_offset,
                 {_event_sql(spec)} AS event_type,
                 CAST({price} AS VARCHAR) AS _price_raw, TRY_CAST({price} AS DOUBLE) AS price,
                 {", ".join(columns)}
          FROM {stage}_src)
    """)


def _validate(engine: Engine, spec: SourceSpec, stage: str) -> None:
    """Fatal checks IN002 and IN004-IN008 in one scan; raise on the first failing rule."""
    path, col = spec.path, spec.columns
    vocab = ", ".join(_quote(t) for t in (*EVENT_TYPES, "drop"))
    conditions = {
        "bad_ts": "_ts_raw IS NOT NULL AND trim(_ts_raw) <> '' AND ts IS NULL",
        "mixed_tz": None,
        "bad_price": "_price_raw IS NOT NULL AND trim(_price_raw) <> '' AND price IS NULL",
        "absurd_price": f"price > {float(spec.max_price)!r}",
        "unknown_event": f"event_type IS NOT NULL AND event_type NOT IN ({vocab})",
    }
    counts = engine.sql(f"""
        SELECT count(*) AS n_rows,
               count(*) FILTER (WHERE _has_offset) AS n_offset,
               count(*) FILTER (WHERE NOT _has_offset) AS n_naive,
               {", ".join(f"count(*) FILTER (WHERE {c}) AS {k}"
                          for k, c in conditions.items() if c)}
        FROM {stage}
    """).iloc[0]
    checks.check_not_empty(path, int(counts["n_rows"]))

    def first(cond: str, *cols: str) -> tuple:
        row = engine.sql(f"SELECT src_row, {', '.join(cols)} FROM {stage} WHERE {cond} "
                         "ORDER BY src_row LIMIT 1").astype(object).iloc[0]
        return (int(row.iloc[0]), *row.iloc[1:])

    if counts["bad_ts"]:
        n, value = first(conditions["bad_ts"], "_ts_raw")
        fmt = f"format {spec.ts_format!r}" if spec.ts_format else "ISO 'YYYY-MM-DD HH:MM:SS'"
        raise checks.BAD_TIMESTAMP.fail(
            path, f"row {n}, column {col.get('ts', 'ts')!r}: {value!r} is not a timestamp "
            f"({fmt}; {int(counts['bad_ts'])} such rows)")
    if counts["n_offset"] and counts["n_naive"]:
        n_off, v_off = first("_has_offset", "_ts_raw")
        n_nai, v_nai = first("NOT _has_offset", "_ts_raw")
        raise checks.MIXED_TIMEZONES.fail(
            path, f"column {col.get('ts', 'ts')!r} mixes values with a time-zone offset "
            f"(row {n_off}: {v_off!r}) and without (row {n_nai}: {v_nai!r})")
    if counts["bad_price"]:
        n, value = first(conditions["bad_price"], "_price_raw")
        raise checks.BAD_NUMBER.fail(
            path, f"row {n}, column {col.get('price', 'price')!r}: {value!r} is not a number")
    if counts["absurd_price"]:
        n, value = first(conditions["absurd_price"], "_price_raw")
        raise checks.ABSURD_PRICE.fail(
            path, f"row {n}, column {col.get('price', 'price')!r}: {value!r} is above "
            f"max_price {spec.max_price:g}")
    if counts["unknown_event"]:
        names = engine.sql(f"SELECT DISTINCT event_type FROM {stage} WHERE "
                           f"{conditions['unknown_event']} ORDER BY 1 LIMIT 20").iloc[:, 0]
        n, _ = first(conditions["unknown_event"], "event_type")
        raise checks.UNKNOWN_EVENT.fail(
            path, f"column {col.get('event_type', 'event_type')!r} has event names outside "
            f"the vocabulary {', '.join(EVENT_TYPES)}: {', '.join(map(repr, names))} "
            f"(first at row {n})")





def _keep(engine: Engine, spec: SourceSpec, stage: str, table: str) -> DataQuality:
    canon = list(EVENT_COLUMNS)
    revenue_default = (
        "CASE WHEN event_type IN ('purchase', 'return') THEN price * coalesce(quantity, 1) END"
    )
    exprs = {c: c for c in canon}
    if "revenue" not in spec.exprs:
        exprs["revenue"] = revenue_default
    if spec.dedupe:
        # Exact duplicates: same canonical values; the earliest source row is kept.
        kept_sql = f"""SELECT {", ".join(canon)}, min(src_row) AS src_row
            FROM {stage} WHERE drop_reason IS NULL GROUP BY ALL"""
    else:
        kept_sql = f"SELECT * FROM {stage} WHERE drop_reason IS NULL"
    engine.execute(f"""CREATE OR REPLACE TABLE {table} AS
        {select_canonical(exprs, f"FROM ({kept_sql}) ORDER BY src_row")}""")
    counts = engine.sql(f"""SELECT drop_reason, count(*) AS n FROM {stage}
                            WHERE drop_reason IS NOT NULL GROUP BY 1 ORDER BY 1""")
    dropped = {str(r): int(n) for r, n in counts.itertuples(index=False)}
    rows_read = engine.count(stage)
    kept = engine.count(table)
    n_dup = rows_read - kept - sum(dropped.values())
    if n_dup:
        dropped["duplicate"] = n_dup
    flags = engine.sql(f"""SELECT count(*) FILTER (WHERE user_id IS NULL) AS no_user_id
                           FROM {table}""").iloc[0]
    quality = DataQuality(
        source=str(spec.path), rows_read=rows_read, rows_kept=kept, dropped=dropped,
        notes={k: int(v) for k, v in flags.items()},
    )
    quality.check_balanced()
    return quality


def load_events(engine: Engine, spec: SourceSpec, table: str = "events") -> DataQuality:
    """Stage, validate and keep ``spec``'s rows as canonical table ``table``.

    Raises DataError (one line, with a rule code) on the first fatal problem; returns the
    DataQuality record (rows read = kept + dropped by reason) otherwise.
    """
    check_timezone(spec.timezone)
    if spec.event_expr is None and spec.default_event is None:
        raise checks.MISSING_COLUMN.fail(
            spec.path, "no event column mapped",
            "map one (--map event_type=COLUMN) or set --default-event (e.g. purchase)")
    stage = f"_stage_{table}"
    _stage(engine, spec, stage)
    _validate(engine, spec, stage)
    quality = _keep(engine, spec, stage, table)
    engine.execute(f"DROP TABLE IF EXISTS {stage}")
    engine.execute(f"DROP VIEW IF EXISTS {stage}_src")
    return quality
