"""Benchmark: ingest + validate + sessionise + per-user features, DuckDB vs plain pandas.

The real bundled REES46 window (17,424 events) is scaled up by resampling: copy k gets user
ids suffixed ``-k`` and times shifted by k x 3 h (the window is 2 h 50 min, so copies never
overlap). Source session ids are dropped so that both paths must sessionise by the 30-minute
gap. The scaled log is written once per size as Parquet (typed columns, as a warehouse export
would be); every measured run reads it from disk in a fresh process, so peak RSS (ru_maxrss)
is per run. Both paths do the same steps: read; validate (timestamps present, prices finite
and at most 1e6, event names in the vocabulary); trim the ids (a blank id is none); drop
negative prices and exact duplicates; sessionise by the 30-minute gap and build the session
table with its outcome labels (ids, start and end, counts, revenue, converted,
cart_abandoned; sorted by user and start); compute the per-user features. DuckDB runs the
package's own code (``ingest_file``, ``sessionise``, ``user_features``); pandas builds the
same session table (a test checks that it equals ``sessionise``'s on a small log) and
computes the same feature columns the log has data for (counts, recency, monetary, visits per
active day / week / month, day-part and weekend shares, top category and its share,
cart-to-purchase, browse-without-buying; this log has no device, country or coupon column).
Each size stops with a message unless both paths find the same number of users, sessions,
converted and cart-abandoned sessions and total revenue (to the cent), so the timings compare
equal work.

Columns: median wall seconds over ``--runs`` fresh processes, events/s from it, speed-up over
pandas in the same run, median CPU seconds (user + system, all threads; on a shared machine
CPU time is steadier than wall time), peak RSS (max over runs), and the 1-minute load average
when the runs of that row started (the machine has 2 cores shared with other work); users and
sessions are two of the totals the two paths must agree on.

    python benchmarks/ingest.py                      # 1M events, 3 runs each
    python benchmarks/ingest.py --sizes 1e6 1e7 --runs 3
    python benchmarks/ingest.py --sizes 1e7 --profile   # one DuckDB run, seconds per step
    python benchmarks/ingest.py --sizes 1e7 --floor     # the bare steps no pipeline can skip
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
GAP = "30min"


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


def run_duckdb(path: Path) -> dict[str, float]:
    """The package's own pipeline; returns the totals both paths must agree on."""
    from xbehavior.engine import DuckDBEngine
    from xbehavior.features.sessions import sessionise
    from xbehavior.features.user_features import user_features
    from xbehavior.ingest import ingest_file

    engine = DuckDBEngine(threads=os.cpu_count())
    engine.execute("SET enable_progress_bar = false")
    ingest_file(engine, path)
    summary = sessionise(engine, gap_minutes=30)
    users = user_features(engine)
    return _totals(users, summary["converted"], summary["cart_abandoned"])


def profile(path: Path) -> None:
    """One DuckDB run of ``path`` in this process: wall seconds per stage and per SQL
    statement of 0.1 s or more (the README's profile comes from this)."""
    from xbehavior.engine import DuckDBEngine
    from xbehavior.features.sessions import sessionise
    from xbehavior.features.user_features import user_features
    from xbehavior.ingest import ingest_file

    steps: list[tuple[str, float, str]] = []
    stage = ["ingest"]

    class Timed(DuckDBEngine):
        def execute(self, statement: str) -> None:
            start = time.perf_counter()
            super().execute(statement)
            steps.append((stage[0], time.perf_counter() - start, statement))

        def sql(self, query: str):
            start = time.perf_counter()
            out = super().sql(query)
            steps.append((stage[0], time.perf_counter() - start, query))
            return out

    engine = Timed(threads=os.cpu_count())
    engine.execute("SET enable_progress_bar = false")
    totals = {}
    for name, run in (("ingest", lambda: ingest_file(engine, path)),
                      ("sessionise", lambda: sessionise(engine, gap_minutes=30)),
                      ("user_features", lambda: user_features(engine))):
        stage[0], start = name, time.perf_counter()
        run()
        totals[name] = time.perf_counter() - start
        if name == "ingest":  # the events table as stored (compressed from COMPACT_ROWS rows)
            stored = DuckDBEngine.sql(engine, "SELECT sum(memory_usage_bytes) FROM "
                                      "duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'")
            tables_mb = float(stored.iloc[0, 0]) / 1e6
    for name, seconds in totals.items():
        print(f"{name:<14} {seconds:6.2f} s")
        for where, took, text in steps:
            if where == name and took >= 0.1:
                print(f"    {took:6.2f}  {' '.join(text.split())[:90]}")
    print(f"{'total':<14} {sum(totals.values()):6.2f} s")
    print(f"events table in memory after ingest: {tables_mb:,.0f} MB")
    # the feature table to pandas: through Arrow (engine.sql) and by DuckDB's own .df()
    query = max((text for where, _, text in steps if where == "user_features"), key=len)
    engine.execute(f"CREATE TEMP TABLE _features AS {query}")
    ways = {"Arrow (engine.sql)": lambda: DuckDBEngine.sql(engine, "FROM _features"),
            "DuckDB .df()": lambda: engine.con.execute("FROM _features").df()}
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(3):  # interleaved, best of 3: the first conversions also fault memory in
        for how, convert in ways.items():
            start = time.perf_counter()
            rows = len(convert())
            best[how] = min(best[how], time.perf_counter() - start)
    for how, seconds in best.items():
        print(f"{rows:,} feature rows to pandas via {how}: {seconds:.2f} s (best of 3)")


# The least any implementation of these steps must do, as bare DuckDB statements on the same
# log: no validation, no ids trimmed, no labels, 4 of the features, no compression, nothing to
# pandas. Each step is the fastest way found to do it here (the pipeline's own methods,
# stripped): duplicates by one sort of row hashes, sessions by one narrow sort and one streaming
# numbering pass. Their sum bounds events/s from above on this machine. The references are
# the two calibration queries (on its machine about 9M and 1.7M events/s): one sorted
# window pass, and the naive sessionisation with two partitioned windows.
FLOOR_STEPS = (
    ("read the file into a table", "CREATE OR REPLACE TABLE ev AS SELECT * FROM {path}"),
    ("exact duplicates: one sort of row hashes", """
     SELECT count(*) FROM (SELECT h, lag(h) OVER (ORDER BY h) AS prev FROM (
       SELECT hash(user_id, ts, event_type, item_id, category, brand, price) AS h FROM ev))
     WHERE h = prev"""),
    ("sessionise: one sort, one streaming numbering pass", """
     CREATE OR REPLACE TEMP TABLE srt AS SELECT hash(user_id) AS h, ts, event_type, price
     FROM ev ORDER BY h, ts;
     CREATE OR REPLACE TABLE se AS
     SELECT ts, event_type, price, count(*) FILTER (WHERE new) OVER (ROWS UNBOUNDED PRECEDING) AS s
     FROM (SELECT *, h IS DISTINCT FROM lag(h) OVER ()
                     OR ts - lag(ts) OVER () > INTERVAL 30 MINUTE AS new FROM srt)"""),
    ("session table: one aggregate per session", """
     CREATE OR REPLACE TABLE ss AS
     SELECT s, min(ts), max(ts), count(*),
            count(*) FILTER (WHERE event_type = 'purchase'),
            sum(price) FILTER (WHERE event_type = 'purchase') FROM se GROUP BY s"""),
    ("user features: one aggregate per user", """
     SELECT count(*) FROM (SELECT user_id, count(*), max(ts),
            count(*) FILTER (WHERE event_type = 'purchase'), sum(price) FROM ev
            GROUP BY user_id)"""),
)
REFERENCE_STEPS = (
    ("(reference) one sorted window pass: lag per user",
     "SELECT count(*) FILTER (WHERE d > INTERVAL 30 MINUTE) FROM "
     "(SELECT ts - lag(ts) OVER (PARTITION BY user_id ORDER BY ts) AS d FROM ev)"),
    ("(reference) naive sessionisation: two windows", """
     SELECT count(DISTINCT (user_id, s)) FROM (
       SELECT user_id, sum(new) OVER (PARTITION BY user_id ORDER BY ts
                                      ROWS UNBOUNDED PRECEDING) AS s
       FROM (SELECT *, (coalesce(ts - lag(ts) OVER (PARTITION BY user_id ORDER BY ts)
                                 > INTERVAL 30 MINUTE, TRUE))::INTEGER AS new FROM ev))"""),
)


def floor_steps(con: duckdb.DuckDBPyConnection, path: Path, runs: int) -> dict[str, float]:
    """Median wall seconds of each ``FLOOR_STEPS`` statement (and the references) over
    ``runs`` repeats on ``con``, which keeps the tables ``ev``, ``se`` (sessionised) and
    ``ss`` (sessions)."""
    quoted = "'" + str(path).replace("'", "''") + "'"
    seconds = {}
    for name, sql in (*FLOOR_STEPS, *REFERENCE_STEPS):
        took = []
        for _ in range(runs):
            start = time.perf_counter()
            con.execute(sql.format(path=quoted)).fetchall()
            took.append(time.perf_counter() - start)
        seconds[name] = statistics.median(took)
    return seconds


def floor(path: Path, n_events: int, runs: int) -> None:
    """Print ``floor_steps``, their sum (without the references) and the events/s it allows."""
    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count()}")
    con.execute("SET enable_progress_bar = false")
    seconds = floor_steps(con, path, runs)
    for name, took in seconds.items():
        print(f"  {name:<50} {took:6.2f} s {n_events / took:>12,.0f} events/s")
    total = sum(seconds[name] for name, _ in FLOOR_STEPS)
    print(f"  {'sum of the steps above the references':<50} {total:6.2f} s "
          f"{n_events / total:>12,.0f} events/s at most")


def _totals(users, converted: int, abandoned: int) -> dict[str, float]:
    return {"users": len(users), "sessions": int(users["n_sessions"].sum()),
            "revenue": round(float(users["monetary"].sum()), 2),
            "converted": int(converted), "abandoned": int(abandoned)}


def _mode(df, column: str, users) -> tuple:
    """Most frequent non-null ``column`` per user (ties: alphabetical) and its share."""
    counts = df.dropna(subset=[column]).groupby(["user_id", column], observed=True).size()
    counts = counts.rename("n").reset_index()
    share = counts["n"] / counts.groupby("user_id")["n"].transform("sum")
    counts = counts.assign(share=share).sort_values(
        ["user_id", "n", column], ascending=[True, False, True])
    top = counts.drop_duplicates("user_id").set_index("user_id")
    return top[column].reindex(users), top["share"].reindex(users)


def _sessionised(path: Path):
    """Read, validate, drop, derive revenue and number the 30-minute-gap sessions in pandas:
    the events sorted by user and time, with ``session`` and event-type flags."""
    import numpy as np
    import pandas as pd

    df = pd.read_parquet(path)
    price = pd.to_numeric(df["price"], errors="raise")
    if (df["ts"].isna().any() or not df["event_type"].isin(VOCAB).all()
            or (price > 1e6).any() or np.isinf(price).any()):
        raise ValueError("bad timestamps, prices or event names")
    for column in ("user_id", "item_id"):  # ids trimmed, a blank id is none (as ingest does)
        df[column] = df[column].str.strip(" \t\r\n").replace("", None)
    df = df[~(price < 0)].drop_duplicates()
    kind = df["event_type"]
    df["revenue"] = np.where(kind.eq("purchase"), df["price"],
                             np.where(kind.eq("return"), -df["price"].abs(), np.nan))
    df = df.sort_values(["user_id", "ts"], kind="stable")
    new = (df["user_id"] != df["user_id"].shift()) | (df["ts"].diff() > pd.Timedelta(GAP))
    df["session"] = new.cumsum()
    df["is_view"], df["is_cart"] = kind.eq("view"), kind.eq("cart")
    df["is_purchase"] = kind.eq("purchase")
    return df


def pandas_sessions(path: Path):
    """The pandas path's session table (a test compares it with ``sessionise``'s)."""
    return _session_table(_sessionised(path)).drop(columns="browse")


def run_pandas(path: Path) -> dict[str, float]:
    """The same steps in plain pandas (see the module docstring); returns the totals."""
    import pandas as pd

    df = _sessionised(path)
    sess = _session_table(df)
    per_session = sess.groupby("user_id").agg(n_sessions=("browse", "size"),
                                              n_browse=("browse", "sum"))
    ts = df["ts"]
    hour = ts.dt.hour
    df = df.assign(day=ts.dt.normalize(), week=(ts - pd.to_timedelta(ts.dt.day_of_week, "D"))
                   .dt.normalize(), month=ts.dt.year * 12 + ts.dt.month,
                   night=hour < 6, morning=(hour >= 6) & (hour < 12),
                   afternoon=(hour >= 12) & (hour < 18), evening=hour >= 18,
                   weekend=ts.dt.day_of_week >= 5)
    u = df.groupby("user_id").agg(
        n_events=("ts", "size"), last_ts=("ts", "max"), n_purchases=("is_purchase", "sum"),
        n_carts=("is_cart", "sum"), monetary=("revenue", "sum"), active_days=("day", "nunique"),
        active_weeks=("week", "nunique"), active_months=("month", "nunique"),
        share_night=("night", "mean"), share_morning=("morning", "mean"),
        share_afternoon=("afternoon", "mean"), share_evening=("evening", "mean"),
        share_weekend=("weekend", "mean"))
    u = u.join(per_session)
    u["recency_days"] = (u["last_ts"].max() - u["last_ts"]) / pd.Timedelta(days=1)
    for unit in ("day", "week", "month"):
        u[f"visits_per_active_{unit}"] = u["n_sessions"] / u[f"active_{unit}s"]
    views = df[df["is_view"]]
    u["top_category"], u["category_interest_share"] = _mode(views, "category", u.index)
    u["cart_to_purchase"] = u["n_purchases"] / u["n_carts"].where(u["n_carts"] > 0)
    u["browse_without_buying"] = u["n_browse"] / u["n_sessions"]
    return _totals(u.reset_index(), sess["converted"].sum(), sess["cart_abandoned"].sum())


def _session_table(df):
    """The session table ``sessionise`` writes (the columns this log has data for), from
    events sorted by user and time with a ``session`` number: ids '<user_id>#<n>', start, end,
    counts, revenue and the labels converted / cart_abandoned; sorted by user and start."""
    import numpy as np
    import pandas as pd

    ts = df["ts"]
    df = df.assign(cart_ts=ts.where(df["is_cart"]), buy_ts=ts.where(df["is_purchase"]))
    sess = df.groupby("session", sort=True).agg(
        user_id=("user_id", "first"), start_ts=("ts", "min"), end_ts=("ts", "max"),
        n_events=("ts", "size"), n_views=("is_view", "sum"), n_carts=("is_cart", "sum"),
        n_purchases=("is_purchase", "sum"), revenue=("revenue", "sum"),
        last_cart=("cart_ts", "max"), last_buy=("buy_ts", "max"))
    number = sess.groupby("user_id", sort=False).cumcount() + 1
    sess.insert(1, "session_id", sess["user_id"] + "#" + number.astype(str))
    sess["converted"] = sess["n_purchases"] > 0
    abandoned = ~(sess["last_buy"] >= sess["last_cart"])  # no purchase at/after the last cart
    sess["cart_abandoned"] = pd.Series(np.where(sess["n_carts"] > 0, abandoned, pd.NA),
                                       index=sess.index, dtype="boolean")
    sess["browse"] = (sess["n_views"] > 0) & ~sess["converted"]
    return sess.drop(columns=["last_cart", "last_buy"]).sort_values(
        ["user_id", "start_ts", "session_id"], kind="stable").reset_index(drop=True)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(impl: str, path: Path) -> None:
    import pandas  # noqa: F401  (imported by both paths: keep import time out of the timing)

    import xbehavior.features.sessions
    import xbehavior.features.user_features
    import xbehavior.ingest  # noqa: F401

    cpu, start = _cpu_s(), time.perf_counter()
    totals = (run_duckdb if impl == "duckdb" else run_pandas)(path)
    seconds, cpu = time.perf_counter() - start, _cpu_s() - cpu
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "rss_mb": rss_mb, **totals}))


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
    parser.add_argument("--profile", action="store_true",
                        help="one DuckDB run per size, seconds per step (no pandas)")
    parser.add_argument("--floor", action="store_true",
                        help="the bare DuckDB steps no implementation can skip, median of "
                             "--runs repeats (no pandas)")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file)
        return
    if args.profile or args.floor:
        with tempfile.TemporaryDirectory() as tmp:
            for size in (int(s) for s in args.sizes):
                path = Path(tmp) / f"log_{size}.parquet"
                build_log(size, path)
                print(f"{size:,} events, 1-minute load {os.getloadavg()[0]:.2f}")
                if args.profile:
                    profile(path)
                else:
                    floor(path, size, args.runs)
        return
    print(f"{'events':>11} {'impl':>7} {'median s':>9} {'events/s':>11} {'vs pandas':>9} "
          f"{'CPU s':>7} {'peak RSS MB':>11} {'users':>9} {'sessions':>10} {'load 1m':>7}")
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
                    "rss": max(r["rss_mb"] for r in runs), "load": load,
                    **{k: runs[0][k] for k in TOTALS}}
            _print_rows(size, results)
            _check_agree(size, results)


TOTALS = ("users", "sessions", "revenue", "converted", "abandoned")


def _print_rows(size: int, results: dict[str, dict]) -> None:
    base = results.get("pandas", {}).get("s")
    for impl, r in results.items():
        ratio = f"{base / r['s']:.2f}x" if base else "-"
        print(f"{size:>11,} {impl:>7} {r['s']:>9.2f} {size / r['s']:>11,.0f} "
              f"{ratio:>9} {r['cpu']:>7.1f} {r['rss']:>11,.0f} {r['users']:>9,} "
              f"{r['sessions']:>10,} {r['load']:>7.2f}", flush=True)


def _check_agree(size: int, results: dict[str, dict]) -> None:
    """Exit with a one-line message unless every path found the same ``TOTALS`` (revenue to
    the cent): otherwise the timings would not compare equal work."""
    seen = {impl: tuple(r[k] for k in TOTALS) for impl, r in results.items()}
    if len(set(seen.values())) > 1:
        raise SystemExit(f"{size:,} events: the paths disagree on {TOTALS}: "
                         f"{seen}; fix the pandas path before reading the timings")


if __name__ == "__main__":
    main()
