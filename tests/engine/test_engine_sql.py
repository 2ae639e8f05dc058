"""Engine.sql converts through Arrow for speed; its frames must be the ones DuckDB's own
``.df()`` gives, dtype for dtype, or every consumer of a query result would change."""

from __future__ import annotations

import pandas as pd
import pytest

from xbehavior.engine import DuckDBEngine

# one column per dtype rule in engine.to_pandas, each with and without a NULL
_TYPED = """
SELECT 'x' || i AS text, CASE WHEN i = 1 THEN NULL ELSE 'x' || i END AS text_null,
       NULL::VARCHAR AS text_all_null,
       i::INTEGER AS i32, CASE WHEN i = 1 THEN NULL ELSE i END::TINYINT AS i8_null,
       CASE WHEN i = 1 THEN NULL ELSE i END::UBIGINT AS u64_null,
       9223372036854775807 - i AS big,  -- beyond float precision: must not pass through float
       CASE WHEN i = 1 THEN NULL ELSE 9223372036854775807 - i END AS big_null,
       NULL::BIGINT AS int_all_null, i % 2 = 0 AS flag,
       CASE WHEN i = 0 THEN NULL ELSE i % 2 = 0 END AS flag_null,
       i / 3 AS real, CASE WHEN i = 1 THEN NULL ELSE 1.5 END AS real_null, 1::FLOAT AS f32,
       CASE WHEN i = 1 THEN NULL ELSE DATE '2020-01-01' + i::INTEGER END AS day,
       TIMESTAMP '2020-01-01' + i * INTERVAL 1 SECOND AS ts, TIMESTAMP_S '2020-01-01' AS ts_s,
       TIMESTAMP_NS '2020-01-01' AS ts_ns, TIMESTAMPTZ '2020-01-01 00:00:00+00' AS ts_tz
FROM range(3) t(i)
"""


@pytest.mark.parametrize("query", [
    _TYPED,
    _TYPED + " WHERE i > 5",  # no rows
    "SELECT 'a' AS s FROM range(3000) UNION ALL SELECT NULL FROM range(3000)",  # many chunks
    # types to_pandas leaves to DuckDB, and repeated names (DuckDB renames them a, a_1)
    "SELECT INTERVAL 1 DAY AS iv, 1.5::DECIMAL(4, 2) AS dec, [1, 2] AS list, NULL AS n",
    "SELECT i AS a, i AS a FROM range(3) t(i)",
    "DESCRIBE SELECT 1 AS a",
], ids=["typed", "empty", "chunks", "fallback", "repeated-names", "describe"])
def test_sql_frames_equal_duckdb_df(query: str) -> None:
    engine = DuckDBEngine(threads=1)
    expected = engine.con.execute(query).df()
    got = engine.sql(query)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.dtypes) == list(expected.dtypes)
