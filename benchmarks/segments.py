"""Benchmark of the segments stage on SYNTHETIC users (seeded simulator, not data).

1. K-means + every metric on 1,000,000 simulated users (target: < 2 min on 2 cores).
2. Agglomerative (Ward) above its stated size: the refusal message, then the subsample path.

Run: ``python benchmarks/segments.py [--n 1000000] [--threads 1]``. Prints a table.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from xbehavior.errors import DataError
from xbehavior.segments import AgglomerativeClusterer, SegmentConfig, segment_users, shared_space
from xbehavior.segments.simulate import SYNTHETIC, simulate_users


def timed(label: str, fn, rows: list[dict]):
    """Run fn(), append (step, seconds) to rows, return fn's result."""
    start = time.perf_counter()
    out = fn()
    rows.append({"step": label, "seconds": round(time.perf_counter() - start, 2)})
    return out


def main(n: int, threads: int) -> None:
    print(f"{SYNTHETIC}; n_users={n:,}; threads={threads}")
    steps: list[dict] = []
    sim = timed("simulate users", lambda: simulate_users(n, spread=0.25, seed=0), steps)
    cfg = SegmentConfig(algorithms=("kmeans",), n_threads=threads)
    res = timed(
        "kmeans (k by prediction strength) + metrics + profiles",
        lambda: segment_users(sim.features, {}, sim.orders_per_month, cfg, truth=sim.truth),
        steps,
    )
    cols = ["algorithm", "n_clusters", "silhouette_shared", "dbi_shared", "ari_rule_based",
            "ari_planted", "ari_stability_seeds", "ari_stability_bootstrap", "note"]  # fmt: skip
    with pd.option_context("display.width", 200, "display.max_colwidth", 90):
        print(res.metrics[cols].to_string(index=False))
    X, _ = shared_space(sim.features.head(20_000))
    try:
        AgglomerativeClusterer(3, max_n=5000, on_large="refuse").fit(X)
    except DataError as err:
        print(f"agglomerative, on_large='refuse', n=20,000 -> DataError: {err}")
    agg = timed(
        "agglomerative subsample (n=20,000, max_n=5,000)",
        lambda: AgglomerativeClusterer(3, max_n=5000).fit(X),
        steps,
    )
    print(f"agglomerative, on_large='subsample' -> note: {agg.note_}")
    print(pd.DataFrame(steps).to_string(index=False))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    main(args.n, args.threads)
