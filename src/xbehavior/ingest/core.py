"""The shared ingest pipeline: one source (file + SQL expressions) -> canonical ``events``.

Every adapter (bundled or user-mapped) describes its source as a :class:`SourceSpec` and
this module does the rest in the engine, in three passes over the data:

1. stage: read the file once, parse timestamps (to naive UTC), map event names, cast numbers,
   keeping the raw text of the checked fields for error messages, and tag each row with its
   drop reason (first match wins);
2. validate: one aggregate scan counts every fatal problem; the first offending row of a
   failing rule is fetched for the message (see :mod:`xbehavior.ingest.checks`);
3. keep: drop exact duplicates (before any other reason: a repeated row counts as
   ``duplicate`` whatever else it is) and tagged rows, write the canonical table and count
   everything into a :class:`DataQuality`.

Casts of source text are always TRY_CASTs next to a kept raw-text column: DuckDB 2 pushes a
lone cast of a CSV column into the reader, where it becomes a hard cast that fails with a
raw CSV error instead of our one-line message.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from xbehavior.engine import Engine
from xbehavior.errors import ConfigError
from xbehavior.ingest import checks
from xbehavior.ingest.quality import DataQuality
from xbehavior.ingest.schema import EVENT_COLUMNS, EVENT_TYPES

# an offset after the time of day ('10:00+02', '10:00:00Z'), or a trailing zone name
# ('Europe/Paris', 'CET'): a naive cast would silently drop the name and read the wall clock
# as UTC, so such values are parsed as zoned instead. The time of day must come first, or the
# day of a date-only value ('2024-01-01') would read as the offset -01
_OFFSET_RE = (r"(\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|UTC|GMT|[+-]\d\d(:?\d\d)?)"
              r"|\s[A-Za-z][A-Za-z0-9_/+-]*)$")

# A trailing 2-5 letter zone token that is not itself a zone name (UTC, CET, EST are) is an
# abbreviation such as BST or IST, which DuckDB would resolve to one of its several meanings
_ZONE_TOKEN = r"regexp_extract(_ts_raw, '\s([A-Za-z]{2,5})$', 1)"
_ZONE_NAMES = ", ".join(sorted(
    f"'{z.upper()}'" for z in zoneinfo.available_timezones() if z.isalpha() and len(z) <= 5))

#: accepted timestamps: TS_MIN <= ts < TS_MAX (UTC); anything else is IN004. epoch_ms values
#: must also be from EPOCH_MS_MIN on: before it they are almost surely seconds
TS_MIN, TS_MAX, EPOCH_MS_MIN = "1970-01-01", "2101-01-01", "1971-01-01"
TS_LAST = "2100-12-31"  # the last accepted day, for messages

#: canonical columns read as numbers: a non-empty source cell that does not parse is IN006
NUMERIC_COLUMNS = tuple(c for c, t in EVENT_COLUMNS.items() if t == "DOUBLE")


@dataclass
class SourceSpec:
    """How to read one source into canonical events.

    ``exprs`` maps canonical column -> SQL expression over the raw relation (no ``ts`` or
    ``event_type``: those come from ``ts_expr`` / ``event_expr`` and are parsed here).
    ``columns`` names, for messages, the source column behind each checked field.
    ``reasons`` adds adapter drop reasons (name -> SQL condition over canonical columns),
    checked after missing_timestamp / missing_event and before the shared price and event
    rules. ``checked`` maps a non-numeric canonical column to the raw source expression it
    is parsed from: a non-empty raw value that yields NULL is a fatal IN006 (numeric columns
    are always checked; ``checked_as`` says, for the message, what a valid value is, default
    'a number'). ``dedupe_extra`` lists source expressions that must also be equal
    for two rows to be duplicates (source detail the canonical columns do not keep).
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
    reasons: dict[str, str] = field(default_factory=dict)
    checked: dict[str, str] = field(default_factory=dict)
    checked_as: dict[str, str] = field(default_factory=dict)  # column -> 'a whole number'...
    dedupe_extra: tuple[str, ...] = ()


def read_relation(path: Path, delimiter: str | None = None, encoding: str | None = None) -> str:
    """SQL table expression reading ``path`` (CSV/TSV, optionally gzipped, or Parquet).

    CSV is read as text (``all_varchar``) so that a bad cell is reported, not guessed at;
    ``encoding`` is DuckDB's CSV ``encoding`` (default UTF-8). Path and options are quoted.
    """
    checks.check_file(path)
    name = path.name.lower()
    _check_content_matches_name(path, name)
    if name.endswith((".parquet", ".pq")):
        return f"read_parquet({_quote(str(path))})"
    if name.endswith((".parquet.gz", ".pq.gz")):
        # DuckDB cannot read a gzipped Parquet file; Parquet is compressed inside anyway
        raise checks.UNSUPPORTED_FILE.fail(
            path, "gzipped Parquet cannot be read", f"decompress it first (gunzip {path.name})")
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz")):
        sep = delimiter or ("\t" if ".tsv" in name else None)
        opts = (f", delim={_quote(sep)}" if sep else "") + (
            f", encoding={_quote(encoding)}" if encoding else "")
        # quotes as RFC 4180 (and Python's csv): the sniffer would otherwise pick "no quote"
        # when its sample has none, and refuse a quoted comma further down the file. skip=0:
        # the sniffer may otherwise skip leading lines unread (a wider row further down made
        # it take that row as the header and drop the rows above it, uncounted). comment='':
        # one line starting with '#' made the sniffer take '#' for a comment mark, and every
        # row starting with it ('#1001', a Shopify order name) was skipped, uncounted
        return (f"read_csv({_quote(str(path))}, header=true, skip=0, all_varchar=true, "
                f"quote='\"', escape='\"', comment=''{opts})")
    raise checks.UNSUPPORTED_FILE.fail(path, f"cannot read {path.name!r}")


_GZIP, _PARQUET = b"\x1f\x8b", b"PAR1"


def _check_content_matches_name(path: Path, name: str) -> None:
    """IN009 when the first bytes contradict the name (a Parquet or gzip file saved as .csv,
    a plain file named .gz): the reader chosen by the name would misreport it as corrupt."""
    with path.open("rb") as f:
        head = f.read(4)
    gz_name, pq_name = name.endswith(".gz"), name.endswith((".parquet", ".pq"))
    if head.startswith(_PARQUET) and not pq_name:
        raise checks.UNSUPPORTED_FILE.fail(
            path, "is a Parquet file under another name",
            f"rename it to end in .parquet (e.g. {path.stem}.parquet)")
    if head.startswith(_GZIP) and not gz_name:
        raise checks.UNSUPPORTED_FILE.fail(
            path, "is gzip-compressed but its name does not end in .gz",
            f"rename it to {path.name}.gz, or decompress it")
    if gz_name and not head.startswith(_GZIP):
        raise checks.UNSUPPORTED_FILE.fail(
            path, "is named .gz but is not gzip-compressed",
            f"rename it without .gz (e.g. {path.name[:-3]})")


def source_columns(engine: Engine, path: Path, relation: str) -> list[str]:
    """Column names of ``relation`` (reading ``path``); an unreadable file, a duplicated
    header or ragged rows raise a one-line DataError instead of a DuckDB traceback."""
    try:
        present = [str(c) for c in engine.sql(f"DESCRIBE SELECT * FROM {relation}").iloc[:, 0]]
    except duckdb.Error as err:
        raise checks.read_error(path, err) from None
    if relation.startswith("read_csv("):
        if len(present) == 1:
            _check_ragged(path, present[0])
        _check_duplicate_header(engine, path, relation)
    else:  # DuckDB renames a repeated Parquet column too (price, price_1)
        try:
            names = pq.read_schema(path).names
        except (pa.ArrowException, OSError):
            return present  # DuckDB read it; its own names are all there is to check
        _refuse_repeated_names(path, names, "column names")
    return present


def _check_duplicate_header(engine: Engine, path: Path, relation: str) -> None:
    """IN003: DuckDB renames a repeated header ('Amount', 'Amount_1'; names differing only in
    case repeat, as SQL names ignore case): refuse it instead, so a mapping never silently
    reads the wrong one of two columns. Blank header cells are left to DuckDB's numbering."""
    raw = relation.replace("header=true", "header=false", 1)
    try:
        cells = engine.sql(f"SELECT * FROM {raw} LIMIT 1").astype(object).iloc[0]
    except (duckdb.Error, IndexError):
        return  # the header could not be re-read on its own; the full read reports problems
    names = [str(v) for v in cells if isinstance(v, str) and v.strip()]
    _refuse_repeated_names(path, names, "header names")


def _refuse_repeated_names(path: Path, names: list[str], what: str) -> None:
    """IN003 if two column names are equal ignoring case (SQL names ignore case); ``what``
    names them in the message ('header names' of a CSV, 'column names' of Parquet)."""
    folded = [n.lower() for n in names]
    repeated = sorted({n for n, f in zip(names, folded, strict=True) if folded.count(f) > 1})
    if repeated:
        raise checks.MISSING_COLUMN.fail(
            path, f"{what} {', '.join(map(repr, repeated))} appear more than once (names "
            "that differ only in upper/lower case count as the same)",
            "give every column a distinct name")


def _guess_delimiter(header: str) -> str | None:
    return next((d for d in ",;\t|" if d in header), None)


def _raise_ragged(path: Path, delim: str) -> None:
    """IN010 naming the first data row whose field count differs from the header's, if any
    (a Python scan, run only once a read has failed: DuckDB's own line numbers are not exact
    when it reads in parallel)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:
        rows = (r for r in csv.reader(fh, delimiter=delim) if r)  # blank lines are skipped
        width = len(next(rows, []))
        for n, row in enumerate(rows, start=1):
            if len(row) != width:
                raise checks.RAGGED_ROW.fail(
                    path, f"row {n} has {len(row)} fields, the header has {width} "
                    f"(delimiter {delim!r})")


def _check_ragged(path: Path, header: str) -> None:
    """IN010: a CSV read as one column whose header holds a delimiter has rows with a
    different field count (DuckDB's sniffer gives up on them): name the first such row."""
    delim = _guess_delimiter(header)
    if delim is None:
        _check_preamble(path, header)
        return
    _raise_ragged(path, delim)
    raise checks.RAGGED_ROW.fail(
        path, f"the file reads as a single column {header!r}",
        f"set the delimiter (xbehavior ingest file --delimiter {delim!r}) or fix the quoting")


def _check_preamble(path: Path, first: str) -> None:
    """IN003 when line 1 has no delimiter but a later line of the first few has: a title or
    export note above the header, which would otherwise be read as the only column's name."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
        lines = list(itertools.islice(fh, 20))
    if not lines or lines[0].strip().strip('"') != first.strip():
        return  # DuckDB read line 1 otherwise (another encoding): not a title line
    for number, line in enumerate(lines[1:], start=2):
        if _guess_delimiter(line):
            raise checks.MISSING_COLUMN.fail(
                path, f"line 1 ({first!r}) holds no delimiter but line {number} does, so "
                f"the header looks like line {number}",
                "delete the line(s) above the header, so that the header is line 1")


def check_timezone(name: str, where: str | None = None) -> None:
    """Raise ConfigError if ``name`` is not an IANA time zone (``where``: the mapping or
    flags it came from, named in the message)."""
    if name not in zoneinfo.available_timezones():
        hint = checks.did_you_mean(name, zoneinfo.available_timezones())
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}unknown time zone {name!r}{hint}; use an IANA name such "
                          "as 'Europe/London' or 'UTC'")


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
    if spec.ts_format in ("epoch", "epoch_ms"):
        return _epoch_sql(text, spec.ts_format), text
    if spec.ts_format:
        fmt = spec.ts_format.replace("'", "''")
        parsed = f"try_strptime({text}, '{fmt}')"
        if "%z" in fmt or "%Z" in fmt:
            return f"timezone('UTC', {parsed})", text
        return local(parsed), text
    aware = f"timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ))"
    naive = local(f"TRY_CAST({text} AS TIMESTAMP)")
    return f"CASE WHEN regexp_matches({text}, '{_OFFSET_RE}') THEN {aware} ELSE {naive} END", text


def _epoch_sql(text: str, unit: str) -> str:
    """SQL of an epoch number (seconds or ms) as naive UTC; a number past year 5138, where
    DuckDB's conversion would raise, becomes +/-infinity so IN004 reports it as out of range."""
    num = f"TRY_CAST({text} AS DOUBLE)"
    if unit == "epoch":
        limit, conv = "1e11", f"timezone('UTC', to_timestamp({num}))"
    else:
        limit, conv = "1e14", f"epoch_ms(CAST({num} AS BIGINT))"
    return (f"CASE WHEN {num} IS NULL THEN NULL WHEN abs({num}) < {limit} THEN {conv} "
            f"WHEN {num} > 0 THEN 'infinity'::TIMESTAMP ELSE '-infinity'::TIMESTAMP END")


def _event_sql(spec: SourceSpec) -> str:
    if spec.event_expr is None:
        return f"'{spec.default_event}'" if spec.default_event else "NULL"
    # an empty or blank cell is NULL: dropped as missing_event, not an unknown name ''
    text = f"nullif(trim(CAST({spec.event_expr} AS VARCHAR)), '')"
    if not spec.event_map:
        return text
    whens = " ".join(
        f"WHEN {_quote(src)} THEN {_quote(dst)}" for src, dst in spec.event_map.items()
    )
    return f"CASE {text} {whens} ELSE {text} END"


def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _reasons(spec: SourceSpec) -> dict[str, str]:
    """Drop reason -> SQL condition over the canonical columns, in priority order."""
    return {"missing_timestamp": "ts IS NULL", "missing_event": "event_type IS NULL",
            **spec.reasons, "negative_price": "price < 0",
            # a return's quantity may carry either sign (its revenue is netted as negative)
            "negative_quantity": "quantity < 0 AND event_type <> 'return'",
            "event_excluded": "event_type = 'drop'"}


def _reason_sql(spec: SourceSpec) -> str:
    whens = " ".join(f"WHEN {cond} THEN {_quote(name)}" for name, cond in _reasons(spec).items())
    return f"CASE {whens} ELSE NULL END"


# A return nets a purchase: its revenue is negative whatever sign the source gives.
_REVENUE_DEFAULT = ("CASE event_type WHEN 'purchase' THEN price * coalesce(quantity, 1) "
                    "WHEN 'return' THEN -abs(price * coalesce(quantity, 1)) END")
_REVENUE_GIVEN = "CASE WHEN event_type = 'return' THEN -abs(revenue) ELSE revenue END"


def _filled(spec: SourceSpec) -> list[str]:
    """The canonical columns the source fills, in order (the others are NULL in every row)."""
    return [c for c in EVENT_COLUMNS if c in ("ts", "event_type", "revenue") or c in spec.exprs]


def _dedupe_key(spec: SourceSpec) -> str:
    """Columns two duplicates share: the canonical columns the source fills (an unmapped one
    is NULL in every row, so leaving it out of the hash and comparison changes nothing) and
    the ``dedupe_extra`` values."""
    return ", ".join([*_filled(spec), *(f"_extra_{i}" for i in range(len(spec.dedupe_extra)))])


def _type_of(engine: Engine, src: str, expr: str) -> str:
    return str(engine.sql(f"DESCRIBE SELECT {expr} AS t FROM {src}").iloc[0, 1])


def _is_text(sql_type: str) -> bool:
    return sql_type == "VARCHAR"


def _raw_exprs(engine: Engine, spec: SourceSpec, src: str) -> dict[str, str]:
    """Canonical column -> source expression whose raw text is kept for IN006 messages.

    Numeric columns given as text, plus ``spec.checked``; a typed source cannot hold an
    unparseable value, so its raw text is not kept."""
    candidates = {c: spec.exprs[c] for c in NUMERIC_COLUMNS if c in spec.exprs}
    candidates.update(spec.checked)
    return {c: e for c, e in candidates.items() if _is_text(_type_of(engine, src, e))}


#: id columns whose surrounding blanks are trimmed (a blank id is NULL)
ID_COLUMNS = ("user_id", "session_id", "order_id", "item_id")
_BLANKS = "' ' || chr(9) || chr(10) || chr(13)"  # space, tab, line feed, carriage return


def _typed(column: str, sql_type: str, expr: str | None, checked: bool,
           source_type: str = "VARCHAR") -> str:
    """SQL of canonical ``column`` from source ``expr`` (of type ``source_type``): cast
    (TRY_CAST when ``checked``, so that IN006 can name the bad cell); an id padded with
    blanks is the same id and a blank one is no id (a CSV's empty cell already reads as
    NULL, but ' ' would otherwise be a user of its own); a whole-number id stored as a
    float is written without its '.0'."""
    if column in ID_COLUMNS and expr is not None and _is_fractional(source_type):
        # pandas writes an id column with a gap as floats (17850.0): the same customer as
        # 17850 in an export without gaps, so the id is the integer's text
        return (f"CASE WHEN {expr} = trunc({expr}) AND abs({expr}) < 9007199254740992 "
                f"THEN CAST(CAST({expr} AS BIGINT) AS VARCHAR) ELSE CAST({expr} AS VARCHAR) END")
    value = f"{'TRY_CAST' if checked else 'CAST'}({expr or 'NULL'} AS {sql_type})"
    if column in ID_COLUMNS and expr is not None:
        # test the ends first: trimming every id builds a new string each (at 10M rows, two
        # id columns: +1.6 s), the test alone +0.3 s
        return (f"CASE WHEN {value} = '' OR {_padded(value)} "
                f"THEN nullif(trim({value}, {_BLANKS}), '') ELSE {value} END")
    return value


def _is_fractional(sql_type: str) -> bool:
    return sql_type.startswith(("DOUBLE", "FLOAT", "REAL", "DECIMAL"))


def _whole_number_ids(engine: Engine, stage: str, columns: list[str]) -> None:
    """Drop the '.0' of id ``columns`` of ``stage`` whose every value is a whole number
    written as a float ('17850.0': pandas writes an integer column with a gap so), so that
    the customer is 17850 as in an export without gaps. A column with any other value
    (e.g. 'A-1' or '17850.5') is kept as it is: its ids are codes, not numbers."""
    for column in columns:
        pattern = "'-?[0-9]{1,15}\\.0'"  # up to 15 digits: exact as a float
        whole = engine.sql(f"SELECT bool_and(regexp_full_match({column}, {pattern})) "
                           f"FROM {stage}").iloc[0, 0]
        if whole:
            engine.execute(f"UPDATE {stage} SET {column} = left({column}, -2) "
                           f"WHERE {column} IS NOT NULL")


def _padded(v: str) -> str:
    """SQL: ``v`` starts or ends with a blank (space, tab, line feed, carriage return: a
    quoted CSV id may hold the last two)."""
    return " OR ".join(f"{f}({v}, {c})" for c in ("' '", "chr(9)", "chr(10)", "chr(13)")
                       for f in ("starts_with", "ends_with"))


def _check_number_types(engine: Engine, spec: SourceSpec, src: str) -> None:
    """IN006 when a numeric column comes from a typed source column that holds no numbers:
    a list or struct (the cast fails inside DuckDB) or true/false (it would become 1/0)."""
    mapped = {c: spec.exprs[c] for c in NUMERIC_COLUMNS if c in spec.exprs}
    if not mapped:
        return
    described = engine.sql(
        f"DESCRIBE SELECT {', '.join(f'{e} AS {c}' for c, e in mapped.items())} FROM {src}")
    for column, sql_type in zip(described["column_name"], described["column_type"],
                                strict=True):
        if sql_type == "BOOLEAN" or sql_type.endswith("]") or sql_type.startswith(
                ("STRUCT", "MAP", "UNION")):
            raise checks.BAD_NUMBER.fail(
                spec.path, f"column {spec.columns.get(column, column)!r} (for {column}) holds "
                f"{sql_type} values, not numbers", f"map {column} to a column of numbers")


def _stage(engine: Engine, spec: SourceSpec, stage: str) -> None:
    """One read of the source into ``stage``: canonical columns (final types, in order), the
    raw text of checked fields (``_raw_<column>``, only where parsing can fail), the
    ``dedupe_extra`` values (``_extra_<i>``), ``_h`` (hash of the duplicate key, see
    ``_dedupe_key``) and ``drop_reason``. The source row number is the stage table's
    ``rowid + 1``: one INSERT of the read keeps source order, so no numbering window."""
    src = f"{stage}_src"
    engine.execute(f"CREATE OR REPLACE VIEW {src} AS SELECT * FROM {spec.relation}")
    _check_number_types(engine, spec, src)
    ts_type = _type_of(engine, src, spec.ts_expr)
    ts_parsed, ts_text = _ts_sql(spec, ts_type)
    is_text = not ts_type.startswith(("TIMESTAMP", "DATE"))
    exprs = {k: v for k, v in spec.exprs.items() if k not in ("ts", "event_type")}
    raws = _raw_exprs(engine, spec, src)
    # a %Z format reads zone names too, and would resolve an abbreviation such as BST to
    # one of its meanings: its values get the ISO path's offset and abbreviation checks
    zoned = not spec.ts_format or "%Z" in spec.ts_format
    has_offset = f"regexp_matches({ts_text}, '{_OFFSET_RE}')" if is_text and zoned else "NULL"
    id_types = {c: _type_of(engine, src, exprs[c]) for c in ID_COLUMNS if c in exprs}
    typed = [f"{_typed(c, t, exprs.get(c), c in raws, id_types.get(c, 'VARCHAR'))} AS {c}"
             for c, t in EVENT_COLUMNS.items() if c not in ("ts", "event_type")]
    helpers = [f"{ts_text if is_text else 'NULL'}::VARCHAR AS _ts_raw",
               f"{has_offset}::BOOLEAN AS _has_offset"]
    helpers += [f"CAST({e} AS VARCHAR) AS _raw_{c}" for c, e in raws.items()]
    extras = [f"_extra_{i}" for i in range(len(spec.dedupe_extra))]
    helpers += [f"{e} AS {x}" for e, x in zip(spec.dedupe_extra, extras, strict=True)]
    revenue = _REVENUE_GIVEN if "revenue" in exprs else _REVENUE_DEFAULT
    canon = [f"CAST({revenue} AS DOUBLE) AS revenue" if c == "revenue" else c
             for c in EVENT_COLUMNS]
    keep = ["_ts_raw", "_has_offset", *(f"_raw_{c}" for c in raws), *extras]
    absent = [c for c in EVENT_COLUMNS if c not in _filled(spec)]
    # the hash covers the stored revenue (after return netting), as the duplicate check does
    select = f"""
        SELECT * {f"EXCLUDE ({', '.join(absent)})" if absent else ""},
               hash({_dedupe_key(spec)}) AS _h FROM (
          SELECT {", ".join(canon)}, {", ".join(keep)}, {_reason_sql(spec)} AS drop_reason
          FROM (
            SELECT CAST({ts_parsed} AS TIMESTAMP) AS ts,
                   CAST({_event_sql(spec)} AS VARCHAR) AS event_type,
                   {", ".join(typed)}, {", ".join(helpers)}
            FROM {src}))
    """
    stored = engine.sql(f"DESCRIBE {select}")
    engine.execute(f"CREATE OR REPLACE TABLE {stage} ({_stage_columns(stored, absent)})")
    engine.execute(f"INSERT INTO {stage} ({', '.join(stored['column_name'])}) {select}")


def _stage_columns(stored: pd.DataFrame, absent: list[str]) -> str:
    """Column definitions of the stage table: the canonical columns in order, then the
    helpers. A column the source does not fill is a virtual NULL: present, typed, never
    stored (an all-NULL column of 10M rows would hold 80-160 MB uncompressed, and the
    checkpoint would spend time compressing it)."""
    types = dict(zip(stored["column_name"], stored["column_type"], strict=True))
    canonical = [f"{c} {t} GENERATED ALWAYS AS (CAST(NULL AS {t})) VIRTUAL" if c in absent
                 else f"{c} {types.pop(c)}" for c, t in EVENT_COLUMNS.items()]
    return ", ".join([*canonical, *(f"{c} {t}" for c, t in types.items())])


def _number_conditions(engine: Engine, spec: SourceSpec, stage: str) -> dict[str, str]:
    """``bad_<c>`` (raw text that does not parse) and ``nonfinite_<c>`` (nan / inf) per
    checked column of ``stage``, in canonical column order (unmapped columns are NULL)."""
    present = set(engine.columns(stage))
    conditions = {}
    for c in EVENT_COLUMNS:
        if f"_raw_{c}" in present:
            # DuckDB reads '1_000' as 1000: a digit separator is refused, not guessed at
            conditions[f"bad_{c}"] = (f"trim(_raw_{c}) <> '' AND ({c} IS NULL "
                                      f"OR contains(_raw_{c}, '_'))")
    for c in NUMERIC_COLUMNS:
        if c in spec.exprs:
            conditions[f"nonfinite_{c}"] = f"NOT isfinite({c})"
    return conditions


def _validate(engine: Engine, spec: SourceSpec, stage: str) -> dict[str, int]:
    """Fatal checks IN002 and IN004-IN008 and the drop counts, all in one scan.

    Raises on the first failing rule; returns the counts (``n_rows``, ``no_user_id`` among
    rows not dropped, and one entry per drop reason) otherwise.
    """
    path, col = spec.path, spec.columns
    vocab = ", ".join(_quote(t) for t in (*EVENT_TYPES, "drop"))
    numbers = _number_conditions(engine, spec, stage)
    ts_min = EPOCH_MS_MIN if spec.ts_format == "epoch_ms" else TS_MIN
    conditions = {
        "zone_abbreviation": f"_has_offset AND {_ZONE_TOKEN} <> '' "
                             f"AND upper({_ZONE_TOKEN}) NOT IN ({_ZONE_NAMES})",
        "bad_ts": "_ts_raw IS NOT NULL AND trim(_ts_raw) <> '' AND ts IS NULL",
        "ts_range": f"ts IS NOT NULL AND NOT (ts >= TIMESTAMP '{ts_min}' "
                    f"AND ts < TIMESTAMP '{TS_MAX}')",
        **numbers,
        "absurd_price": f"isfinite(price) AND price > {float(spec.max_price)!r}",
        # price x quantity can overflow although both are finite (a quantity of 1e308)
        "revenue_overflow": "isfinite(price) AND isfinite(quantity) AND NOT isfinite(revenue)",
        "unknown_event": f"event_type IS NOT NULL AND event_type NOT IN ({vocab})",
    }
    reasons = tuple(_reasons(spec))
    # a text id column whose every value ends in '.0' may be a float column written out
    # (see _whole_number_ids); testing the ends here costs this scan almost nothing
    ids = [c for c in ID_COLUMNS if c in spec.exprs]
    ends = "".join(f"coalesce(bool_and(ends_with({c}, '.0')), FALSE) AS dot0_{c}, "
                   for c in ids)
    counts = engine.sql(f"""
        SELECT {ends}count(*) AS n_rows,
               count(*) FILTER (WHERE _has_offset) AS n_offset,
               count(*) FILTER (WHERE NOT _has_offset) AS n_naive,
               count(*) FILTER (WHERE drop_reason IS NULL AND user_id IS NULL) AS no_user_id,
               {", ".join(f"count(*) FILTER (WHERE {c}) AS {k}" for k, c in conditions.items())},
               {", ".join(f"count(*) FILTER (WHERE drop_reason = '{r}') AS {r}"
                          for r in reasons)}
        FROM {stage}
    """).iloc[0]
    checks.check_not_empty(path, int(counts["n_rows"]))

    def first(cond: str, *cols: str) -> tuple:
        row = engine.sql(f"SELECT rowid + 1, {', '.join(cols)} FROM {stage} WHERE {cond} "
                         "ORDER BY rowid LIMIT 1").astype(object).iloc[0]
        return (int(row.iloc[0]), *row.iloc[1:])

    if counts["zone_abbreviation"]:
        n, value = first(conditions["zone_abbreviation"], "_ts_raw")
        raise checks.BAD_TIMESTAMP.fail(
            path, f"row {n}, column {col.get('ts', 'ts')!r}: {value!r} ends in a time-zone "
            "abbreviation, not a zone name, and abbreviations can be ambiguous (BST is both "
            "British Summer Time and Bangladesh Standard Time) "
            f"({_rows(int(counts['zone_abbreviation']))})",
            "write an offset (+01:00) or a zone name (Europe/London) instead, or drop the "
            "abbreviation and give --timezone")
    if counts["bad_ts"]:
        n, value = first(conditions["bad_ts"], "_ts_raw")
        fmt = f"format {spec.ts_format!r}" if spec.ts_format else "ISO 'YYYY-MM-DD HH:MM:SS'"
        raise checks.BAD_TIMESTAMP.fail(
            path, f"row {n}, column {col.get('ts', 'ts')!r}: {value!r} is not a timestamp "
            f"({fmt}; {_rows(int(counts['bad_ts']))})")
    if counts["ts_range"]:
        n, value = first(conditions["ts_range"], "coalesce(_ts_raw, CAST(ts AS VARCHAR))")
        hint = _epoch_hint(spec.ts_format, value)
        if hint and engine.sql(f"SELECT count(*) FROM {stage} WHERE ts IS NOT NULL AND NOT "
                               f"({conditions['ts_range']})").iloc[0, 0]:
            # other rows read fine in this unit: switching units would only move the error
            hint = ("the column mixes seconds and milliseconds; convert it to one unit "
                    "(e.g. divide the millisecond values by 1000)")
        raise checks.BAD_TIMESTAMP.fail(
            path, f"row {n}, column {col.get('ts', 'ts')!r}: {value!r} is outside the accepted "
            f"range {ts_min} to {TS_LAST} ({_rows(int(counts['ts_range']))})",
            hint or "correct the value (a time before "
            f"{ts_min} or after {TS_LAST} is taken as a broken value, not an event)")
    if counts["n_offset"] and counts["n_naive"]:
        n_off, v_off = first("_has_offset", "_ts_raw")
        n_nai, v_nai = first("NOT _has_offset", "_ts_raw")
        raise checks.MIXED_TIMEZONES.fail(
            path, f"column {col.get('ts', 'ts')!r} mixes values with a time-zone offset "
            f"(row {n_off}: {v_off!r}) and without (row {n_nai}: {v_nai!r})")
    for key, cond in numbers.items():
        if not counts[key]:
            continue
        kind, column = key.split("_", 1)
        n, value = first(cond, _raw_or_value(engine, stage, column))
        if kind == "bad":
            what = spec.checked_as.get(column, "a number")
            raise checks.BAD_NUMBER.fail(
                path, f"row {n}, column {col.get(column, column)!r}: {value!r} is not {what}")
        raise checks.BAD_NUMBER.fail(
            path, f"row {n}, column {col.get(column, column)!r}: {value!r} is not a finite "
            "number", "give a finite value, or leave the cell empty if it is unknown")
    if counts["absurd_price"]:
        n, value = first(conditions["absurd_price"], _raw_or_value(engine, stage, "price"))
        raise checks.ABSURD_PRICE.fail(
            path, f"row {n}, column {col.get('price', 'price')!r}: {value!r} is above "
            f"max_price {spec.max_price:g}")
    if counts["revenue_overflow"]:
        n, price, quantity = first(conditions["revenue_overflow"], "price", "quantity")
        raise checks.BAD_NUMBER.fail(
            path, f"row {n}: price {price!r} x quantity {quantity!r} "
            f"(columns {col.get('price', 'price')!r}, {col.get('quantity', 'quantity')!r}) "
            "is too large to be a revenue", "correct the quantity or the price")
    if counts["unknown_event"]:
        names = engine.sql(f"SELECT DISTINCT event_type FROM {stage} WHERE "
                           f"{conditions['unknown_event']} ORDER BY 1 LIMIT 20").iloc[:, 0]
        n, _ = first(conditions["unknown_event"], "event_type")
        raise checks.UNKNOWN_EVENT.fail(
            path, f"column {col.get('event_type', 'event_type')!r} has event names outside "
            f"the vocabulary {', '.join(EVENT_TYPES)}: {', '.join(map(repr, names))} "
            f"(first at row {n})")
    return {k: int(counts[k]) for k in ("n_rows", "no_user_id", *reasons,
                                        *(f"dot0_{c}" for c in ids))}


def _epoch_hint(ts_format: str | None, value: object) -> str | None:
    """The fix for an out-of-range epoch value that is in range in the other unit, else None."""
    try:
        number = float(str(value))
    except ValueError:
        return None
    lo, hi = (datetime.fromisoformat(d).replace(tzinfo=UTC).timestamp() for d in (TS_MIN, TS_MAX))
    if ts_format == "epoch" and lo <= number / 1000 < hi:
        return "looks like milliseconds; use --ts-format epoch_ms (ts_format in the mapping)"
    if ts_format == "epoch_ms" and lo <= number < hi:
        return "looks like seconds; use --ts-format epoch (ts_format in the mapping)"
    return None


def _rows(n: int) -> str:
    """'1 such row' / 'n such rows', for messages."""
    return f"{n} such row{'' if n == 1 else 's'}"


def _raw_or_value(engine: Engine, stage: str, column: str) -> str:
    """SQL of a column's source text for messages (its value as text if the source was typed)."""
    if f"_raw_{column}" in engine.columns(stage):
        return f"coalesce(_raw_{column}, CAST({column} AS VARCHAR))"
    return f"CAST({column} AS VARCHAR)"


# Exact duplicates: all canonical columns (and dedupe extras) equal, NULLs equal; the
# earliest source row is kept and the repeats count as 'duplicate' whatever other reason
# they have. Equal rows have equal hashes, so only rows whose hash repeats (found by one
# sort of 8-byte hashes, no wide GROUP BY) are compared column by column; a hash collision
# between different rows is therefore never taken as a duplicate.
_DUPLICATES_SQL = """
CREATE OR REPLACE TEMP TABLE {stage}_dups AS
WITH repeated AS (
  SELECT DISTINCT _h FROM (SELECT _h, lag(_h) OVER (ORDER BY _h) AS _prev FROM {stage})
  WHERE _h = _prev
), candidates AS (
  SELECT rowid AS _row, {key}, drop_reason, user_id IS NULL AS no_user_id FROM {stage}
  WHERE _h IN (SELECT _h FROM repeated)
)
SELECT _row, drop_reason, no_user_id FROM candidates
QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY _row) > 1
"""


def _keep(engine: Engine, spec: SourceSpec, stage: str, table: str,
          counts: dict[str, int]) -> DataQuality:
    """Delete dropped rows and duplicates from ``stage`` in place (no copy: a filtered
    rewrite of 10M wide rows costs more than the whole read), strip the helper columns and
    rename it to ``table``, so rows keep source order."""
    by_reason = {r: counts[r] for r in _reasons(spec)}
    no_user = counts["no_user_id"]
    if spec.dedupe:
        engine.execute(_DUPLICATES_SQL.format(stage=stage, key=_dedupe_key(spec)))
        dups = engine.sql(f"SELECT drop_reason, count(*) AS n, "
                          f"count(*) FILTER (WHERE no_user_id) AS u "
                          f"FROM {stage}_dups GROUP BY ALL")
        for reason, n, u in dups.itertuples(index=False):
            if isinstance(reason, str):  # a repeat of a row dropped for another reason
                by_reason[reason] -= int(n)
            else:  # a repeat of a kept row
                no_user -= int(u)
            by_reason["duplicate"] = by_reason.get("duplicate", 0) + int(n)
        if len(dups):
            engine.execute(f"DELETE FROM {stage} WHERE rowid IN (SELECT _row FROM {stage}_dups)")
        engine.execute(f"DROP TABLE {stage}_dups")
    engine.execute(f"DELETE FROM {stage} WHERE drop_reason IS NOT NULL")
    for helper in [c for c in engine.columns(stage) if c not in EVENT_COLUMNS]:
        engine.execute(f"ALTER TABLE {stage} DROP COLUMN {helper}")
    engine.execute(f"DROP TABLE IF EXISTS {table}")
    engine.execute(f"ALTER TABLE {stage} RENAME TO {table}")
    quality = DataQuality(
        source=str(spec.path), rows_read=counts["n_rows"], rows_kept=engine.count(table),
        dropped={r: n for r, n in by_reason.items() if n}, notes={"no_user_id": no_user},
    )
    quality.check_balanced()
    return quality


def _csv_delimiter(spec: SourceSpec) -> str:
    """The delimiter ``spec.relation`` reads with (given, else guessed from the header)."""
    given = re.search(r"delim='((?:[^']|'')*)'", spec.relation)
    if given:
        return given[1].replace("''", "'")
    opener = gzip.open if spec.path.name.lower().endswith(".gz") else open
    with opener(spec.path, "rt", encoding="utf-8", errors="replace") as fh:
        return _guess_delimiter(fh.readline()) or ","


def check_ts_format(ts_format: str | None, where: str) -> None:
    """ConfigError naming ``ts_format`` and ``where`` (the mapping, flags or file it came
    from) if DuckDB's strptime does not know one of its codes."""
    if ts_format in (None, "epoch", "epoch_ms"):
        return
    try:  # a throwaway connection: the check needs no data and no engine
        duckdb.connect().execute("SELECT try_strptime('', ?)", [ts_format]).fetchall()
    except duckdb.Error as err:
        reason = str(err).splitlines()[0].rsplit(": ", 1)[-1]
        raise ConfigError(f"{where}: ts_format {ts_format!r} is not a valid strptime "
                          f"format ({reason}); use codes such as '%Y-%m-%d %H:%M:%S', or "
                          "epoch / epoch_ms") from None


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
    check_ts_format(spec.ts_format, str(spec.path))
    stage = f"_stage_{table}"
    try:
        try:
            _stage(engine, spec, stage)
            counts = _validate(engine, spec, stage)
            _whole_number_ids(engine, stage, [c for c in ID_COLUMNS if counts.get(f"dot0_{c}")])
        except duckdb.Error as err:  # e.g. a bad byte or ragged row past the sniffed sample
            if "Expected Number of Columns" in str(err):
                _raise_ragged(spec.path, _csv_delimiter(spec))
            raise checks.read_error(spec.path, err) from None
        quality = _keep(engine, spec, stage, table, counts)
    finally:
        engine.execute(f"DROP TABLE IF EXISTS {stage}")
        engine.execute(f"DROP VIEW IF EXISTS {stage}_src")
    engine.compact(table)  # after the stage is gone, so only the kept rows are stored
    return quality
