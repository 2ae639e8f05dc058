"""The engine boundary: every SQL step of the pipeline runs through this small interface.

DuckDB is the default engine. The SQL of each step is defined once, in the stage that owns
it, so that another engine (Apache Spark, for logs that outgrow one machine) can run the same
steps by implementing these few methods.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd
import pyarrow as pa

from xbehavior import atomic


class Engine(Protocol):
    """What a stage may ask of an engine."""

    def sql(self, query: str) -> pd.DataFrame:
        """Run a query and return its result as a pandas DataFrame (keep results small)."""

    def execute(self, statement: str) -> None:
        """Run a statement that creates or changes a table; returns nothing."""

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Expose a pandas DataFrame as table `name` (replacing an earlier one)."""

    def count(self, table: str) -> int:
        """Number of rows of a table."""

    def columns(self, table: str) -> list[str]:
        """Column names of a table, in order."""

    def has_table(self, name: str) -> bool:
        """Whether a table or view ``name`` exists."""

    def to_parquet(self, table: str, path: Path) -> None:
        """Write a table to a Parquet file, atomically (all or nothing at ``path``)."""

    def compact(self, table: str) -> None:
        """Store ``table`` compressed if it is large (a no-op where storage is not ours)."""


class DuckDBEngine:
    """DuckDB in-process engine (the default).

    Parameters
    ----------
    threads:
        Worker threads DuckDB may use; ``None`` lets DuckDB choose (all cores).
    memory_limit:
        DuckDB's memory cap such as ``"4GB"``; past it DuckDB spills to disk.

    Tables live in memory, in a database that may compress them: DuckDB's default in-memory
    database never does, and an event log's columns (repeated ids, categories, all-NULL
    optional columns) shrink about 10x when compressed. ``compact`` compresses a table of at
    least ``COMPACT_ROWS`` rows; below that the time it takes is not worth the memory.
    """

    #: tables from this many rows are compressed by ``compact``
    COMPACT_ROWS = 2_000_000

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.con = duckdb.connect(database=":memory:")
        self.execute("ATTACH ':memory:' AS xbehavior (COMPRESS)")
        self.execute("USE xbehavior")
        if threads is not None:
            self.execute(f"SET threads = {int(threads)}")
        if memory_limit is not None:
            self.execute(f"SET memory_limit = '{memory_limit}'")
        # Timestamps are stored naive and mean UTC throughout xbehavior.
        self.execute("SET TimeZone = 'UTC'")

    def sql(self, query: str) -> pd.DataFrame:
        # through Arrow: DuckDB's own .df() builds text columns about 10x slower (a 2.6M-row
        # feature table took 3.7 s instead of 0.4 s); the dtypes are DuckDB's (see to_pandas)
        table = self.con.sql(query).to_arrow_table()
        frame = to_pandas(table)
        return self.con.from_arrow(table).df() if frame is None else frame

    def execute(self, statement: str) -> None:
        # DuckDB 2 refuses new work while a result is unread, so always drain it
        self.con.execute(statement).fetchall()

    def register(self, name: str, frame: pd.DataFrame) -> None:
        self.con.register(f"__df_{name}", frame)
        self.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __df_{name}")
        self.con.unregister(f"__df_{name}")

    def count(self, table: str) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])

    def columns(self, table: str) -> list[str]:
        return [row[0] for row in self.con.execute(f"DESCRIBE {table}").fetchall()]

    def has_table(self, name: str) -> bool:
        found = self.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? "
                                 "UNION ALL SELECT count(*) FROM duckdb_views() "
                                 "WHERE view_name = ?", [name, name]).fetchall()
        return any(n for (n,) in found)

    def compact(self, table: str) -> None:
        # a checkpoint writes the tables changed since the last one in compressed form
        if self.count(table) >= self.COMPACT_ROWS:
            self.execute("CHECKPOINT")

    def to_parquet(self, table: str, path: Path) -> None:
        # COPY into a temp file beside ``path``, then one rename: a reader never sees half a file
        def copy(tmp: Path) -> None:
            quoted = "'" + str(tmp).replace("'", "''") + "'"
            self.execute(f"COPY {table} TO {quoted} (FORMAT PARQUET)")

        atomic.write_with(Path(path), copy)


_NULLABLE = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
             pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(),
             pa.uint16(): pd.UInt16Dtype(), pa.uint32(): pd.UInt32Dtype(),
             pa.uint64(): pd.UInt64Dtype(), pa.bool_(): pd.BooleanDtype()}


def to_pandas(table: pa.Table) -> pd.DataFrame | None:
    """``table`` as the DataFrame DuckDB's ``.df()`` would give (same dtypes and values), or
    None if a column has a type this does not cover (the caller then uses ``.df()``).

    DuckDB's rules, kept here: an integer or boolean column with a NULL is a pandas nullable
    dtype (Int64, boolean, ...), without one a numpy dtype; a date is datetime64[us]; a text
    column that is NULL throughout (or has no rows) is object, of None values."""
    if len(set(table.column_names)) < table.num_columns:
        return None  # DuckDB renames repeated names (a, a_1): leave that to it
    fixes = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if kind in _NULLABLE and column.null_count:
            fixes[name] = column.to_pandas(types_mapper=_NULLABLE.get)
        elif pa.types.is_date32(kind):
            fixes[name] = column.cast(pa.timestamp("us")).to_pandas()
        elif pa.types.is_string(kind) and column.null_count == len(column):
            fixes[name] = pd.Series([None] * len(column), dtype=object)
        elif not (kind in _NULLABLE or pa.types.is_floating(kind) or pa.types.is_string(kind)
                  or pa.types.is_timestamp(kind)):
            return None
    # one conversion of the whole table (columns of one dtype land in one block), then the
    # few columns whose DuckDB dtype differs are replaced
    frame = table.to_pandas()
    for name, series in fixes.items():
        frame[name] = series
    return frame


def columns_with_values(engine: Engine, table: str, columns: list[str] | tuple[str, ...],
                        where: str = "TRUE") -> set[str]:
    """The ``columns`` of ``table`` with at least one non-NULL value on rows matching
    ``where``. Each column stops at its first value (LIMIT 1) instead of counting all rows;
    a column that is NULL throughout is cheap to scan to the end."""
    if not columns:
        return set()
    probes = ", ".join(f"EXISTS (SELECT 1 FROM {table} WHERE {c} IS NOT NULL AND ({where}) "
                       f"LIMIT 1) AS {c}" for c in columns)
    found = engine.sql(f"SELECT {probes}").iloc[0]
    return {c for c in columns if bool(found[c])}
