"""SYNTHETIC users with planted segments, for planted-truth tests and scale benchmarks only.

Nothing made here is data: every output is labelled SYNTHETIC (user ids start with ``syn-``,
``DataFrame.attrs["source"]`` says so). Never report a figure from it as a finding.

Planted segments follow the shape of the paper's table (typical purchases per month and average
order value): frequent (5 / month, 157), occasional (2 / month, 75), window (0.5 / month, 21).
Each user's orders per month, order value and tenure are log-normal around their segment's
typical values with log-sd ``spread`` (small spread = easy, well-separated segments); the
return rate is pure noise (Beta(1, 20)), the same for every segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SYNTHETIC = "SYNTHETIC: xbehavior.segments.simulate (seeded simulator, not data)"

#: planted segment -> (share of users, orders per month, average order value, tenure days);
#: the tenures are our assumption (loyal customers have been customers for longer)
PLANTED = {
    "frequent": (0.15, 5.0, 157.0, 300.0),
    "occasional": (0.35, 2.0, 75.0, 180.0),
    "window": (0.50, 0.5, 21.0, 90.0),
}


@dataclass(frozen=True)
class SimulatedUsers:
    """SYNTHETIC per-user features with their planted segment.

    features : (n_users, 8) DataFrame indexed by user_id ("syn-0000001", ...): recency_days,
        frequency, monetary, avg_order_value, n_items, tenure_days, orders_per_month,
        return_rate.
    truth : planted segment per user (string), same index.
    orders_per_month : purchases per month per user, same index (= features column).
    source : the SYNTHETIC label.
    """

    features: pd.DataFrame
    truth: pd.Series
    orders_per_month: pd.Series
    source: str = SYNTHETIC


def simulate_users(n_users: int = 3000, spread: float = 0.25, seed: int = 0) -> SimulatedUsers:
    """Draw ``n_users`` SYNTHETIC users from the planted segments (vectorised, ~1 s per 1M).

    spread : log-sd of orders per month and of order value within a segment (0.25 = easy).
    """
    rng = np.random.default_rng(seed)
    names = list(PLANTED)
    shares = np.array([PLANTED[s][0] for s in names])
    seg = rng.choice(len(names), size=n_users, p=shares / shares.sum())
    rate = np.array([PLANTED[s][1] for s in names])[seg]
    value = np.array([PLANTED[s][2] for s in names])[seg]
    per_month = rate * np.exp(rng.normal(0.0, spread, n_users))
    aov = value * np.exp(rng.normal(0.0, spread, n_users))
    typical_tenure = np.array([PLANTED[s][3] for s in names])[seg]
    tenure = np.minimum(365.0, typical_tenure * np.exp(rng.normal(0.0, spread, n_users)))
    months = tenure / 30.44
    frequency = np.maximum(1, np.round(per_month * months)).astype(np.int64)
    orders_per_month = frequency / months
    recency = np.minimum(tenure, rng.exponential(30.44 / per_month))
    n_items = frequency * (1 + rng.poisson(aov / 15.0))
    return_rate = rng.beta(1.0, 20.0, n_users)
    index = pd.Index([f"syn-{i:07d}" for i in range(n_users)], name="user_id")
    features = pd.DataFrame(
        {
            "recency_days": recency,
            "frequency": frequency,
            "monetary": frequency * aov,
            "avg_order_value": aov,
            "n_items": n_items,
            "tenure_days": tenure,
            "orders_per_month": orders_per_month,
            "return_rate": return_rate,
        },
        index=index,
    )
    features.attrs["source"] = SYNTHETIC
    truth = pd.Series(np.array(names, dtype=object)[seg], index=index, name="planted_segment")
    truth = truth.astype("string")
    truth.attrs["source"] = SYNTHETIC
    opm = features["orders_per_month"].rename("orders_per_month")
    opm.attrs["source"] = SYNTHETIC
    return SimulatedUsers(features, truth, opm)
