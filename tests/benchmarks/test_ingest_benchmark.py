"""The ingest benchmark's pandas baseline does the same work as the package's pipeline:
on a small scaled log its session table equals the one ``sessionise`` writes, and both paths
report the same totals."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "ingest.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("ingest_benchmark", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def log(bench, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "log.parquet"
    bench.build_log(40_000, path)  # two copies of REES46 and part of a third
    return path


def test_pandas_session_table_equals_sessionise(bench, log):
    from xbehavior.engine import DuckDBEngine
    from xbehavior.features.sessions import sessionise
    from xbehavior.ingest import ingest_file

    engine = DuckDBEngine(threads=1)
    ingest_file(engine, log)
    sessionise(engine, gap_minutes=30)
    ours = bench.pandas_sessions(log)
    theirs = engine.sql(f"SELECT {', '.join(ours.columns)} FROM sessions")
    assert len(theirs) > 1000 and theirs["cart_abandoned"].notna().any()
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False, check_exact=False,
                                  rtol=1e-9)


def test_both_paths_report_the_same_totals(bench, log):
    duck, pandas_ = bench.run_duckdb(log), bench.run_pandas(log)
    assert duck == pandas_
    assert duck["converted"] > 0 and duck["abandoned"] > 0


def test_floor_sessionises_as_the_pipeline_does(bench, log):
    """The floor's bare sort-and-number sessionisation finds the sessions ``sessionise``
    finds, so the floor times the same work, only without the pipeline's checks and extras."""
    import duckdb

    from xbehavior.engine import DuckDBEngine
    from xbehavior.features.sessions import sessionise
    from xbehavior.ingest import ingest_file

    con = duckdb.connect()
    seconds = bench.floor_steps(con, log, runs=1)
    assert list(seconds) == [name for name, _ in (*bench.FLOOR_STEPS, *bench.REFERENCE_STEPS)]
    assert con.execute("SELECT count(*) FROM ev").fetchone()[0] == 40_000
    engine = DuckDBEngine(threads=1)
    ingest_file(engine, log)
    summary = sessionise(engine, gap_minutes=30)
    assert con.execute("SELECT count(*) FROM ss").fetchone()[0] == summary["sessions"]
