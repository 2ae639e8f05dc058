"""Validation rules for ingest: each rule is a tiny named check with an error code.

A fatal rule raises :class:`~xbehavior.errors.DataError` with one line naming the file, the
(1-based, header not counted) data row, the column, the value and the fix::

    [IN004 bad_timestamp] shop.csv: row 3, column 'when': '2024-13-01' is not a timestamp
    (format '%Y-%m-%d %H:%M:%S'; 1 such row); fix: correct the value, or set ts_format in the
    column mapping (xbehavior ingest file --ts-format or --mapping)

Fixes name the ``xbehavior ingest file`` option, since only that command takes a mapping: a
file given to ``ingest dataset`` or ``run --input`` is in a bundled layout, so its fix is to
correct the file or ingest it with a mapping instead.

Row-level problems that are not fatal are not raised here: they are dropped and counted by
reason (``DROP_REASONS``) or kept and flagged (``FLAGS``) by :mod:`xbehavior.ingest.core`.
"""

from __future__ import annotations

import difflib
import gzip
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from xbehavior.errors import DataError


@dataclass(frozen=True)
class Rule:
    """A validation rule: stable error ``code`` and short ``name`` shown in the message."""

    code: str
    name: str
    fix: str

    def fail(self, source: Path | str, detail: str, fix: str | None = None) -> DataError:
        """The one-line error for this rule (returned, so callers write ``raise rule.fail``)."""
        return DataError(f"[{self.code} {self.name}] {source}: {detail}; fix: {fix or self.fix}")


MISSING_FILE = Rule("IN001", "missing_file", "check the path")
EMPTY_INPUT = Rule("IN002", "empty_input", "give a file with a header and at least one data row")
MISSING_COLUMN = Rule(
    "IN003", "missing_column", "rename the column, or map it (xbehavior ingest file "
    "--map canonical=source, or 'columns:' in a --mapping file)"
)
BAD_TIMESTAMP = Rule(
    "IN004", "bad_timestamp", "correct the value, or set ts_format in the column mapping "
    "(xbehavior ingest file --ts-format or --mapping)"
)
MIXED_TIMEZONES = Rule(
    "IN005", "mixed_timezones",
    "give every timestamp an explicit offset, or none and set timezone in the column mapping "
    "(xbehavior ingest file --timezone or --mapping)",
)
BAD_NUMBER = Rule("IN006", "bad_number", "correct or remove the value (numbers use '.' decimals)")
ABSURD_PRICE = Rule(
    "IN007", "absurd_price", "correct the value, or raise max_price in the column mapping "
    "(xbehavior ingest file --max-price or --mapping)"
)
UNKNOWN_EVENT = Rule(
    "IN008", "unknown_event",
    "map them to event types in the column mapping (xbehavior ingest file --event "
    "SOURCE=TYPE, or 'events:' in a --mapping file; TYPE 'drop' discards them)",
)
UNSUPPORTED_FILE = Rule(
    "IN009", "unsupported_file",
    "give a .csv, .tsv or .txt file (optionally .gz) or a .parquet file",
)
RAGGED_ROW = Rule(
    "IN010", "ragged_row",
    "give every row as many fields as the header (quote a field that holds the delimiter)",
)

RULES = (
    MISSING_FILE, EMPTY_INPUT, MISSING_COLUMN, BAD_TIMESTAMP, MIXED_TIMEZONES, BAD_NUMBER,
    ABSURD_PRICE, UNKNOWN_EVENT, UNSUPPORTED_FILE, RAGGED_ROW,
)

#: non-fatal row-level reasons: dropped and counted (first matching reason wins; an adapter's
#: own reasons come after missing_event, see ``SourceSpec.reasons``)
DROP_REASONS = {
    "duplicate": "exact repeat of an earlier row (all canonical columns equal)",
    "missing_timestamp": "timestamp cell empty",
    "missing_event": "event-type cell empty",
    "negative_price": "price below zero",
    "negative_quantity": "quantity below zero on an event that is not a return",
    "event_excluded": "source event mapped to 'drop'",
}

#: kept but flagged (counted in DataQuality.notes)
FLAGS = {"no_user_id": "user id empty: kept for aggregate analytics, excluded per user"}


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` (case-insensitive), else ``''``."""
    by_lower = {c.lower(): c for c in choices}
    # cutoff 0.7: at difflib's default 0.6, 'Country' was offered 'Amount'
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.7)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


_SMALL = 1 << 16  # files up to this size are checked for holding nothing but blank lines


def check_file(path: Path) -> None:
    """IN001: the input file exists; IN009: it is not a folder and can be opened; IN002: it
    is not 0 bytes."""
    if not path.exists():
        raise MISSING_FILE.fail(path, "file not found")
    if path.is_dir():
        raise UNSUPPORTED_FILE.fail(path, "is a folder, not a file", "give the file inside it")
    try:
        path.open("rb").close()
    except OSError as err:  # e.g. no read permission
        raise UNSUPPORTED_FILE.fail(path, f"cannot be opened ({err.strerror or err})",
                                    "check that this user may read it") from None
    if path.stat().st_size == 0:
        raise EMPTY_INPUT.fail(path, "the file is empty (0 bytes)")
    name = path.name.lower()
    if path.stat().st_size <= _SMALL and not name.endswith((".parquet", ".pq", ".parquet.gz")):
        text = _head(path, gzipped=name.endswith(".gz"))
        if text is not None and not text.removeprefix(b"\xef\xbb\xbf").strip():  # BOM
            what = "decompresses to nothing" if not text else "holds only blank lines"
            raise EMPTY_INPUT.fail(path, f"the file {what}")


def _head(path: Path, gzipped: bool) -> bytes | None:
    """A small file's bytes, decompressed if ``gzipped``; None if that fails (the reader
    reports a broken gzip file)."""
    if not gzipped:
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read(_SMALL)
    except (OSError, EOFError):
        return None


def read_error(path: Path, err: Exception) -> DataError:
    """The one-line error for a file the engine could not read (``err``: its exception)."""
    text = str(err)
    first = text.splitlines()[0] if text else type(err).__name__
    if "not utf-8" in text.lower() or "invalid unicode" in text.lower():
        return UNSUPPORTED_FILE.fail(
            path, f"is not UTF-8 text{_first_non_utf8(path)}", "re-save it as UTF-8, or name "
            "its encoding (xbehavior ingest file --encoding latin-1, or 'encoding:' in a "
            "--mapping file)")
    if "end of gzip stream" in text.lower():
        return UNSUPPORTED_FILE.fail(path, "is a gzip file that ends too soon (truncated)",
                                     "give the complete file (copy or download it again)")
    if "gzip" in text.lower():
        return UNSUPPORTED_FILE.fail(path, "is not a valid gzip file",
                                     "give the plain file, or compress it with gzip")
    if "magic bytes" in text.lower() or "parquet" in text.lower():
        return UNSUPPORTED_FILE.fail(path, f"is not a valid Parquet file ({first})",
                                     "give a complete Parquet file (it may be truncated)")
    if "CSV Error on Line" in text:
        # DuckDB's line number is approximate when it reads in parallel: "near line"
        line = first.rsplit(": ", 1)[-1]
        why = next((x for x in text.splitlines()[2:] if x.strip()), "").strip()
        return UNSUPPORTED_FILE.fail(path, f"cannot be read near line {line} ({why})",
                                     "correct that line (check the delimiter and quoting)")
    return UNSUPPORTED_FILE.fail(path, f"cannot be read ({first})",
                                 "check that it is a CSV or Parquet file")


def _first_non_utf8(path: Path) -> str:
    """' (line N: byte 0x..)' for the first line of ``path`` (gzip or plain; the header is
    line 1) that is not UTF-8, or '' if none is found. A Python scan, run only once a read
    has failed: DuckDB names the line only approximately when it reads in parallel."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            for n, line in enumerate(fh, start=1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as err:
                    return f" (line {n:,}: byte 0x{line[err.start]:02x})"
    except (OSError, EOFError):  # unreadable or truncated: the read error says enough
        return ""
    return ""


#: the fix for a bundled dataset's adapter, whose columns cannot be mapped
LAYOUT_FIX = ("rename the columns to this dataset's layout, or read the file as your own log "
              "through a column mapping (xbehavior ingest file, xbehavior analyze file)")


def check_columns(path: Path, needed: dict[str, str], present: list[str],
                  fix: str | None = None) -> None:
    """IN003: every needed source column is present; one message names all that are missing.

    ``needed`` maps source column -> what it is used for (e.g. ``'ts'``), for the message;
    ``fix`` replaces the rule's (a mapping) where the columns cannot be mapped.
    """
    missing = [(column, use) for column, use in needed.items() if column not in present]
    if not missing:
        return
    if len(missing) == 1:
        column, use = missing[0]
        what = f"column {column!r} (for {use}) not found{did_you_mean(column, present)}"
    else:
        named = ", ".join(f"{c!r} (for {u}){did_you_mean(c, present)}" for c, u in missing)
        what = f"columns {named} not found"
    raise MISSING_COLUMN.fail(path, f"{what}; columns are {', '.join(present)}", fix)


def check_not_empty(path: Path, rows: int) -> None:
    """IN002: at least one data row."""
    if rows == 0:
        raise EMPTY_INPUT.fail(path, "no data rows")
