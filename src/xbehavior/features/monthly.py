"""Per-user behaviour features for each calendar month (for month-by-month segmentation).

Population of month M (stated rule, docs/SEGMENTS.md): every customer with >= 1 purchase in the
trailing window of ``window_months`` calendar months ending with M (M and the months before it,
clipped at the log's first order). A customer who bought in February but not in March is in
March's population with ``orders_this_month = 0``: without them no one could be a window
shopper (< 1 order / month) inside a single month. Every feature uses only orders before the end
of M, so month M's sequences (``monthly_sequences``) and features see the same history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xbehavior.engine import Engine
from xbehavior.features.data import FeatureVocabulary, SequenceData
from xbehavior.features.repurchase import build_sequences

#: per-user features of month M, over the trailing window (from table ``orders``)
MONTHLY_FEATURES = [
    "orders", "orders_this_month", "orders_per_month", "recency_days", "revenue",
    "avg_order_value", "items", "distinct_items", "avg_unit_price", "active_days", "returns",
    "new_item_share",
]

#: calendar months in the trailing window, month M included; a 0.5-orders-a-month customer
#: (the paper's window shopper) is expected to buy 1.5 times in 3 months, so is usually seen
WINDOW_MONTHS = 3

MONTHLY_SQL = """
SELECT w.month, o.user_id,
       count(*) FILTER (WHERE NOT o.is_return) AS orders,
       count(*) FILTER (WHERE NOT o.is_return AND o.ts >= w.month_start) AS orders_this_month,
       count(*) FILTER (WHERE NOT o.is_return) / any_value(w.months_observed) AS orders_per_month,
       date_diff('second', max(o.ts) FILTER (WHERE NOT o.is_return), any_value(w.month_end))
         / 86400.0 AS recency_days,
       sum(o.revenue) AS revenue,
       avg(o.revenue) FILTER (WHERE NOT o.is_return) AS avg_order_value,
       coalesce(sum(o.n_items) FILTER (WHERE NOT o.is_return), 0) AS items,
       coalesce(sum(o.n_distinct) FILTER (WHERE NOT o.is_return), 0) AS distinct_items,
       avg(o.mean_price) AS avg_unit_price,
       count(DISTINCT CAST(o.ts AS DATE)) AS active_days,
       count(*) FILTER (WHERE o.is_return) AS returns,
       avg(o.new_item_share) AS new_item_share
FROM monthly_windows w JOIN orders o ON o.ts >= w.window_start AND o.ts < w.month_end
GROUP BY w.month, o.user_id
HAVING count(*) FILTER (WHERE NOT o.is_return) > 0
ORDER BY 1, 2
"""

COUNTRY_SQL = """
SELECT user_id, mode(country) AS country FROM orders
WHERE ts < TIMESTAMP '{end}' GROUP BY user_id
"""


def month_windows(
    first_order: pd.Timestamp, start: pd.Timestamp, n_months: int, window_months: int
) -> pd.DataFrame:
    """One row per month: month ('YYYY-MM'), month_start, month_end (exclusive), window_start
    (clipped at ``first_order``) and months_observed (window length in days / 30.4375)."""
    first = pd.Timestamp(start).to_period("M").to_timestamp()
    starts = [first + pd.DateOffset(months=i) for i in range(n_months)]
    rows = []
    for month_start in starts:
        month_end = month_start + pd.DateOffset(months=1)
        window_start = max(month_start - pd.DateOffset(months=window_months - 1),
                           pd.Timestamp(first_order))  # fmt: skip
        days = (month_end - window_start).total_seconds() / 86400.0
        rows.append((month_start.strftime("%Y-%m"), month_start, month_end, window_start,
                     days / 30.4375))  # fmt: skip
    return pd.DataFrame(
        rows, columns=["month", "month_start", "month_end", "window_start", "months_observed"]
    )


def monthly_user_features(
    engine: Engine, start: pd.Timestamp, n_months: int = 6, window_months: int = WINDOW_MONTHS
) -> dict[str, pd.DataFrame]:
    """Month ('YYYY-MM') -> MONTHLY_FEATURES of that month's population, indexed by user_id.

    Covers ``n_months`` calendar months from the month of ``start`` (the paper: January-June).
    Population and window: see the module docstring. ``orders_per_month`` = purchases in the
    window / months observed; ``recency_days`` = days from the last purchase to the month's end.
    Each frame's ``attrs["month_end"]`` is the exclusive end of its month (a Timestamp).
    """
    first_order = engine.sql("SELECT min(ts) AS t FROM orders")["t"].iloc[0]
    windows = month_windows(pd.Timestamp(first_order), start, n_months, window_months)
    engine.register("monthly_windows", windows)
    frame = engine.sql(MONTHLY_SQL)
    frame[MONTHLY_FEATURES] = frame[MONTHLY_FEATURES].astype(float)
    ends = dict(zip(windows["month"], windows["month_end"], strict=True))
    out = {}
    for month, group in frame.groupby("month", sort=True):
        feats = group.drop(columns="month").set_index("user_id")
        feats.attrs["month_end"] = ends[month]
        out[month] = feats
    return out


def monthly_sequences(
    engine: Engine,
    months: dict[str, pd.DataFrame],
    vocabulary: FeatureVocabulary,
    max_len: int,
) -> dict[str, SequenceData]:
    """Month -> step sequences of that month's users (rows in ``months[month].index`` order).

    Each user's sequence is their last ``max_len`` orders strictly before the month's end
    (``attrs["month_end"]``), encoded with a trained run's ``vocabulary`` (scaling and country
    list); country = the user's most frequent country before that end. Labels are 0 (unused:
    these sequences are only embedded, never scored against an outcome).
    """
    out = {}
    for month, feats in months.items():
        end = pd.Timestamp(feats.attrs["month_end"])
        countries = engine.sql(COUNTRY_SQL.format(end=end)).set_index("user_id")["country"]
        examples = pd.DataFrame({
            "user_id": feats.index.to_numpy(), "cutoff": end,
            "country": countries.reindex(feats.index).to_numpy(),
            "label": np.zeros(len(feats), dtype=np.int64),
        })  # fmt: skip
        out[month] = build_sequences(engine, examples, max_len, vocabulary=vocabulary)
    return out
