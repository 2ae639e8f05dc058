"""How often the default k rule (choose_k: prediction strength) finds the planted k = 3.

SYNTHETIC users only (seeded simulator, not data). For each spread and seed: the k chosen on the
shared space and the planted ARI of K-means with that k.

Run: ``python benchmarks/segments_k_rule.py [--seeds 12] [--n 1500]`` (about 1 minute).
"""

from __future__ import annotations

import argparse

import pandas as pd
from threadpoolctl import threadpool_limits

from xbehavior.segments import KMeansClusterer, ari, choose_k, shared_space
from xbehavior.segments.simulate import SYNTHETIC, simulate_users


def main(n: int, seeds: int) -> None:
    print(f"{SYNTHETIC}; n_users={n:,}; seeds 100..{100 + seeds - 1}")
    rows = []
    with threadpool_limits(1):
        for spread in (0.15, 0.25):
            for seed in range(100, 100 + seeds):
                sim = simulate_users(n, spread=spread, seed=seed)
                X, _ = shared_space(sim.features)
                k = choose_k(X)
                labels = KMeansClusterer(k).fit(X).labels_
                rows.append({"spread": spread, "seed": seed, "k": k,
                             "ari_planted": ari(labels, sim.truth.to_numpy())})  # fmt: skip
    table = pd.DataFrame(rows)
    summary = table.groupby("spread").agg(
        runs=("k", "size"), k_is_3=("k", lambda k: int((k == 3).sum())),
        ari_min=("ari_planted", "min"), ari_median=("ari_planted", "median"),
    )  # fmt: skip
    print(summary.round(3).to_string())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1500)
    parser.add_argument("--seeds", type=int, default=12)
    args = parser.parse_args()
    main(args.n, args.seeds)
