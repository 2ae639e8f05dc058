"""The main job's learning task: will a customer purchase again within H days of a cut-off?

Inputs: table ``orders`` (see ``orders.py``) and cut-offs (``CutoffPlan.frame()``). Outputs:

* ``examples``: one row per (user_id, cutoff) with split, label and aggregated (RFM-style)
  features computed only from orders strictly before the cut-off;
* ``SequenceData``: each example's last ``max_len`` orders as a step sequence, standardised with
  statistics of the training split only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xbehavior.engine import Engine
from xbehavior.features.data import FeatureVocabulary, SequenceData

#: aggregated per-example features for tabular models and segmentation (no label, no keys)
TABULAR_FEATURES = [
    "recency_days", "tenure_days", "frequency", "orders_30d", "orders_90d", "monetary",
    "monetary_90d", "avg_order_value", "n_returns", "return_rate", "items", "distinct_items",
    "avg_unit_price", "mean_days_between", "orders_per_month", "weekend_share", "new_item_share",
    "coupon_order_share",
]

EXAMPLES_SQL = """
CREATE OR REPLACE TABLE examples AS
WITH hist AS (
  SELECT c.cutoff, c.split, o.*,
         date_diff('second', o.ts, c.cutoff) / 86400.0 AS age_days
  FROM cutoffs c JOIN orders o ON o.ts < c.cutoff
), agg AS (
  SELECT user_id, cutoff, any_value(split) AS split,
         min(age_days) FILTER (WHERE NOT is_return) AS recency_days,
         max(age_days) AS tenure_days,
         count(*) FILTER (WHERE NOT is_return) AS frequency,
         count(*) FILTER (WHERE NOT is_return AND age_days <= 30) AS orders_30d,
         count(*) FILTER (WHERE NOT is_return AND age_days <= 90) AS orders_90d,
         sum(revenue) AS monetary,
         coalesce(sum(revenue) FILTER (WHERE age_days <= 90), 0) AS monetary_90d,
         avg(revenue) FILTER (WHERE NOT is_return) AS avg_order_value,
         count(*) FILTER (WHERE is_return) AS n_returns,
         sum(n_items) FILTER (WHERE NOT is_return) AS items,
         sum(n_distinct) FILTER (WHERE NOT is_return) AS distinct_items,
         avg(mean_price) AS avg_unit_price,
         -- single-order customers: no gap observed yet, so the gap is at least their tenure
         coalesce(avg(days_since_prev) FILTER (WHERE NOT is_return), max(age_days))
           AS mean_days_between,
         avg(CASE WHEN dayofweek(ts) IN (0, 6) THEN 1.0 ELSE 0.0 END) AS weekend_share,
         avg(new_item_share) AS new_item_share,
         avg(CASE WHEN coupon_share > 0 THEN 1.0 ELSE 0.0 END) AS coupon_order_share,
         mode(country) AS country
  FROM hist GROUP BY user_id, cutoff
)
SELECT a.*,
       n_returns / (frequency + n_returns) AS return_rate,
       frequency / greatest(tenure_days / 30.4375, 1.0) AS orders_per_month,
       EXISTS (SELECT 1 FROM orders f
               WHERE f.user_id = a.user_id AND NOT f.is_return
                 AND f.ts >= a.cutoff AND f.ts < a.cutoff + INTERVAL {horizon} DAY) AS label
FROM agg a
WHERE a.frequency > 0
ORDER BY a.cutoff, a.user_id
"""

STEP_SQL = """
WITH hist AS (
  SELECT e.example_id, e.cutoff, o.*,
         row_number() OVER (PARTITION BY e.example_id ORDER BY o.ts DESC, o.order_id DESC) AS rn
  FROM example_keys e JOIN orders o ON o.user_id = e.user_id AND o.ts < e.cutoff
)
SELECT example_id, rn,
       -- behaviour
       sign(revenue) * ln(1 + abs(revenue)) AS log_revenue,
       CAST(is_return AS DOUBLE) AS is_return,
       ln(1 + n_items) AS log_items,
       ln(1 + n_lines) AS log_lines,
       ln(1 + n_distinct) AS log_distinct_items,
       coupon_share,
       -- product
       ln(1 + mean_price) AS log_mean_price,
       ln(1 + max_price) AS log_max_price,
       new_item_share,
       -- time
       ln(1 + coalesce(days_since_prev, 0)) AS log_days_since_prev,
       CAST(days_since_prev IS NULL AS DOUBLE) AS is_first_order,
       ln(1 + date_diff('second', ts, cutoff) / 86400.0) AS log_days_before_cutoff,
       sin(2 * pi() * hour(ts) / 24) AS hour_sin,
       cos(2 * pi() * hour(ts) / 24) AS hour_cos,
       sin(2 * pi() * dayofweek(ts) / 7) AS weekday_sin,
       cos(2 * pi() * dayofweek(ts) / 7) AS weekday_cos,
       sin(2 * pi() * month(ts) / 12) AS month_sin,
       cos(2 * pi() * month(ts) / 12) AS month_cos
FROM hist WHERE rn <= {max_len}
"""

STEP_GROUPS = {
    "behaviour": [
        "log_revenue", "is_return", "log_items", "log_lines", "log_distinct_items", "coupon_share",
    ],
    "product": ["log_mean_price", "log_max_price", "new_item_share"],
    "time": [
        "log_days_since_prev", "is_first_order", "log_days_before_cutoff", "hour_sin",
        "hour_cos", "weekday_sin", "weekday_cos", "month_sin", "month_cos",
    ],
}


def build_examples(engine: Engine, cutoffs: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Create table ``examples`` and return it: keys, split, label, TABULAR_FEATURES, country.

    ``cutoffs`` has columns ``cutoff`` and ``split`` (see ``CutoffPlan.frame``); a customer
    gets one example per cut-off before which they have at least one purchase.
    """
    engine.register("cutoffs", cutoffs[["cutoff", "split"]])
    engine.execute(EXAMPLES_SQL.format(horizon=int(horizon_days)))
    frame = engine.sql("SELECT * FROM examples")
    frame["label"] = frame["label"].astype(int)
    frame[TABULAR_FEATURES] = frame[TABULAR_FEATURES].astype(float)
    return frame


def top_countries(countries: pd.Series, train_mask: np.ndarray, top_k: int) -> list[str]:
    """The ``top_k`` countries most common among training examples (ties: alphabetical)."""
    counts = countries[train_mask].value_counts()
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [country for country, _ in ranked[:top_k]]


def country_context(countries: pd.Series, top: list[str]) -> tuple[np.ndarray, list[str]]:
    """One-hot country context over the vocabulary ``top``, plus Other."""
    names = [f"country={c}" for c in top] + ["country=Other"]
    onehot = np.zeros((len(countries), len(names)), dtype=np.float32)
    position = {c: i for i, c in enumerate(top)}
    for row, country in enumerate(countries):
        onehot[row, position.get(country, len(top))] = 1.0
    return onehot, names


def build_sequences(
    engine: Engine,
    examples: pd.DataFrame,
    max_len: int = 32,
    n_countries: int = 10,
    vocabulary: FeatureVocabulary | None = None,
) -> SequenceData:
    """Step sequences for ``examples`` (rows in the same order).

    Without ``vocabulary`` the scaling and country list are learned from the training split
    only; with one (from a trained run) they are reused, so new data is encoded as in training.
    """
    keys = examples[["user_id", "cutoff"]].reset_index(drop=True)
    engine.register("example_keys", keys.assign(example_id=np.arange(len(keys))))
    steps = engine.sql(STEP_SQL.format(max_len=int(max_len)))
    names = [name for group in STEP_GROUPS.values() for name in group]
    x, mask = _to_padded(steps, names, len(keys), max_len)
    countries = examples["country"].fillna("Unknown").reset_index(drop=True)
    if vocabulary is None:
        train = (examples["split"] == "train").to_numpy()
        vocabulary = FeatureVocabulary(
            *_scaling(x, mask, train), top_countries(countries, train, n_countries)
        )
    x = np.where(mask[..., None], (x - vocabulary.step_mean) / vocabulary.step_std, 0.0)
    context, context_names = country_context(countries, vocabulary.countries)
    groups, start = {}, 0
    for group, cols in STEP_GROUPS.items():
        groups[group] = list(range(start, start + len(cols)))
        start += len(cols)
    return SequenceData(
        x=x.astype(np.float32), mask=mask, context=context,
        y=examples["label"].to_numpy(np.float32), feature_names=names,
        context_names=context_names, groups=groups, keys=keys, vocabulary=vocabulary,
    )


def _to_padded(
    steps: pd.DataFrame, names: list[str], n: int, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """(N, T, F) right-padded steps, oldest first, and the (N, T) validity mask."""
    lengths = np.bincount(steps["example_id"].to_numpy(), minlength=n)
    # rn counts back from the most recent order (1 = latest); position = length - rn
    position = lengths[steps["example_id"].to_numpy()] - steps["rn"].to_numpy()
    x = np.zeros((n, max_len, len(names)), dtype=np.float32)
    x[steps["example_id"].to_numpy(), position] = steps[names].to_numpy(np.float32)
    mask = np.arange(max_len)[None, :] < lengths[:, None]
    return x, mask


def _scaling(x: np.ndarray, mask: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (F,) of each feature over real training steps (std floored at 1e-6 -> 1)."""
    real = x[train][mask[train]]  # (n_real_train_steps, F)
    mean, std = real.mean(axis=0), real.std(axis=0)
    std[std < 1e-6] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)
