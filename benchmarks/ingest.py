"""Benchmark: ingest + validate + sessionise + per-user features, DuckDB vs plain pandas.

The real bundled REES46 window (17,424 events) is scaled up by resampling: copy k gets user
ids suffixed ``-k`` and times shifted by k x 3 h (the window is 2 h 50 min, so copies never
overlap). Source session ids are dropped so that both paths must sessionise by the 30-minute
gap. The scaled log is written once per size as Parquet (typed columns, as a warehouse export
would be); every measured run reads it from disk in a fresh process, so peak RSS (ru_maxrss)
is per run. Both paths do the same steps: read, validate (timestamps, prices, event names),
drop exact duplicates, sessionise, then aggregate sessions and per-user features.

Columns: median wall seconds over ``--runs`` fresh processes, events/s from it, speed-up over
pandas in the same run, median CPU seconds (user + system, all threads; on a shared machine
CPU time is steadier than wall time), peak RSS (max over runs), and the 1-minute load average
when the runs of that row started (the machine has 2 cores shared with other work).

    python benchmarks/ingest.py                      # 1M events, 3 runs each
    python benchmarks/ingest.py --sizes 1e6 1e7 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from xbehavior.datasets import data_path

VOCAB = ("view", "cart", "remove_from_cart", "checkout", "purchase", "return", "other")
USER_FEATURES_SQL = """
CREATE OR REPLACE TABLE user_features AS
SELECT user_id, count(*) AS n_sessions, sum(n_events) AS n_events, sum(n_views) AS n_views,
       sum(n_carts) AS n_carts, sum(n_purchases) AS n_purchases, sum(revenue) AS revenue,
       avg(converted::INT) AS conversion_rate, max(end_ts) AS last_ts
FROM sessions WHERE user_id IS NOT NULL GROUP BY user_id
"""


def build_log(n_events: int, path: Path) -> None:
    """Write ``n_events`` resampled REES46 events to Parquet ``path`` (deterministic)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    src = data_path("rees46")
    con.execute(f"""CREATE TABLE base AS SELECT row_number() OVER () AS n,
        CAST(user_id AS VARCHAR) AS user_id, CAST(event_time AS TIMESTAMPTZ) AS t, event_type,
        CAST(product_id AS VARCHAR) AS item_id, category_code AS category, brand,
        CAST(price AS DOUBLE) AS price FROM read_csv('{src}', all_varchar=true)""")
    per_copy = con.execute("SELECT count(*) FROM base").fetchone()[0]
    copies = -(-n_events // per_copy)
    con.execute(f"""COPY (
        SELECT user_id || '-' || k AS user_id,
               timezone('UTC', t) + k * INTERVAL 3 HOUR AS ts, event_type, item_id,
               category, brand, price
        FROM base, range({copies}) r(k) ORDER BY k, n LIMIT {n_events}
    ) TO '{path}' (FORMAT PARQUET)""")


def run_duckdb(path: Path) -> int:
    from xbehavior.engine import DuckDBEngine
    from xbehavior.features.sessions import sessionise
    from xbehavior.ingest import ingest_file

    engine = DuckDBEngine(threads=os.cpu_count())
    engine.execute("SET enable_progress_bar = false")
    ingest_file(engine, path)
    sessionise(engine, gap_minutes=30)
    engine.execute(USER_FEATURES_SQL)
    return engine.count("user_features")


def run_pandas(path: Path) -> int:
    import pandas as pd

    df = pd.read_parquet(path)
    if df["ts"].isna().any() or not df["event_type"].isin(VOCAB).all():
        raise ValueError("bad timestamps or event names")
    price = pd.to_numeric(df["price"], errors="raise")
    df = df[~(price < 0)]
    df = df.drop_duplicates()
    df = df.sort_values(["user_id", "ts"], kind="stable")
    gap = df["ts"].diff() > pd.Timedelta(minutes=30)
    new = gap | (df["user_id"] != df["user_id"].shift())
    df["session"] = new.cumsum()
    df["is_view"] = df["event_type"].eq("view")
    df["is_cart"] = df["event_type"].eq("cart")
    df["is_purchase"] = df["event_type"].eq("purchase")
    df["rev"] = df["price"].where(df["is_purchase"])
    sessions = df.groupby("session", sort=False).agg(
        user_id=("user_id", "first"), start_ts=("ts", "min"), end_ts=("ts", "max"),
        n_events=("ts", "size"), n_views=("is_view", "sum"), n_carts=("is_cart", "sum"),
        n_purchases=("is_purchase", "sum"), revenue=("rev", "sum"))
    sessions["converted"] = sessions["n_purchases"] > 0
    users = sessions.groupby("user_id").agg(
        n_sessions=("n_events", "size"), n_events=("n_events", "sum"),
        n_views=("n_views", "sum"), n_carts=("n_carts", "sum"),
        n_purchases=("n_purchases", "sum"), revenue=("revenue", "sum"),
        conversion_rate=("converted", "mean"), last_ts=("end_ts", "max"))
    return len(users)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(impl: str, path: Path) -> None:
    import pandas  # noqa: F401  (imported by both paths: keep import time out of the timing)

    import xbehavior.features.sessions
    import xbehavior.ingest  # noqa: F401

    cpu, start = _cpu_s(), time.perf_counter()
    n_users = (run_duckdb if impl == "duckdb" else run_pandas)(path)
    seconds, cpu = time.perf_counter() - start, _cpu_s() - cpu
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "rss_mb": rss_mb, "users": n_users}))


def measure(impl: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", impl, "--file", str(path)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e6])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--impls", nargs="+", default=["duckdb", "pandas"])
    parser.add_argument("--child", choices=["duckdb", "pandas"])
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file)
        return
    print(f"{'events':>11} {'impl':>7} {'median s':>9} {'events/s':>11} {'vs pandas':>9} "
          f"{'CPU s':>7} {'peak RSS MB':>11} {'users':>9} {'load 1m':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes):
            path = Path(tmp) / f"log_{size}.parquet"
            build_log(size, path)
            results = {}
            for impl in args.impls:
                load = os.getloadavg()[0]
                runs = [measure(impl, path) for _ in range(args.runs)]
                results[impl] = {
                    "s": statistics.median(r["seconds"] for r in runs),
                    "cpu": statistics.median(r["cpu_s"] for r in runs),
                    "rss": max(r["rss_mb"] for r in runs), "users": runs[0]["users"],
                    "load": load}
            base = results.get("pandas", {}).get("s")
            for impl, r in results.items():
                ratio = f"{base / r['s']:.1f}x" if base else "-"
                print(f"{size:>11,} {impl:>7} {r['s']:>9.2f} {size / r['s']:>11,.0f} "
                      f"{ratio:>9} {r['cpu']:>7.1f} {r['rss']:>11,.0f} {r['users']:>9,} "
                      f"{r['load']:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
