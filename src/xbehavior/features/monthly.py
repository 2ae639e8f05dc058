"""Per-user behaviour features for each calendar month (for month-by-month segmentation)."""

from __future__ import annotations

import pandas as pd

from xbehavior.engine import Engine

#: features of a user's activity inside one month (from table ``orders``)
MONTHLY_FEATURES = [
    "orders", "revenue", "avg_order_value", "items", "distinct_items", "avg_unit_price",
    "active_days", "returns", "new_item_share",
]

MONTHLY_SQL = """
SELECT user_id, strftime(ts, '%Y-%m') AS month,
       count(*) FILTER (WHERE NOT is_return) AS orders,
       sum(revenue) AS revenue,
       coalesce(avg(revenue) FILTER (WHERE NOT is_return), 0) AS avg_order_value,
       coalesce(sum(n_items) FILTER (WHERE NOT is_return), 0) AS items,
       coalesce(sum(n_distinct) FILTER (WHERE NOT is_return), 0) AS distinct_items,
       avg(mean_price) AS avg_unit_price,
       count(DISTINCT CAST(ts AS DATE)) AS active_days,
       count(*) FILTER (WHERE is_return) AS returns,
       avg(new_item_share) AS new_item_share
FROM orders
WHERE ts >= TIMESTAMP '{start}' AND ts < TIMESTAMP '{end}'
GROUP BY 1, 2
HAVING count(*) FILTER (WHERE NOT is_return) > 0
ORDER BY 2, 1
"""


def monthly_user_features(
    engine: Engine, start: pd.Timestamp, n_months: int = 6
) -> dict[str, pd.DataFrame]:
    """Month ('YYYY-MM') -> features of users with >= 1 purchase that month, indexed by user_id.

    Covers ``n_months`` calendar months from the month of ``start`` (the paper: January-June).
    """
    first = pd.Timestamp(start).to_period("M").to_timestamp()
    end = first + pd.DateOffset(months=n_months)
    frame = engine.sql(MONTHLY_SQL.format(start=first, end=end))
    frame[MONTHLY_FEATURES] = frame[MONTHLY_FEATURES].astype(float)
    return {
        month: group.drop(columns="month").set_index("user_id")
        for month, group in frame.groupby("month", sort=True)
    }
