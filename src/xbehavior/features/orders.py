"""Per-customer order history from canonical events (order-line logs such as Online Retail).

Creates table ``orders``: one row per (user, order) with the step features the sequence
models read. Returns (``C…`` cancellations: orders of return lines only) are their own rows
with ``is_return`` and negative revenue, so a customer's history nets them while they never
count as purchases; refund lines inside a purchase order (a partial refund) net its revenue.
"""

from __future__ import annotations

from xbehavior.engine import Engine
from xbehavior.errors import DataError

ORDERS_SQL = """
CREATE OR REPLACE TABLE orders AS
WITH lines AS (
  SELECT user_id, order_id, ts, event_type, item_id, price, quantity, revenue, country, coupon,
         -- first time this customer bought this item: marks "new to me" lines
         min(ts) OVER (PARTITION BY user_id, item_id) AS first_item_ts
  FROM {events}
  WHERE user_id IS NOT NULL AND order_id IS NOT NULL
    AND event_type IN ('purchase', 'return')
), per_order AS (
  SELECT user_id, order_id,
         min(ts) AS ts,
         -- a return order holds only return lines (a C... invoice); an order with a purchase
         -- line is a purchase, its refund lines (a partial refund) netted in its revenue
         NOT bool_or(event_type = 'purchase') AS is_return,
         -- a line without a price adds no revenue and is left out of the price features;
         -- a line without a quantity counts as one item (as ingest's revenue rule reads it);
         -- an order none of whose lines has a price gets 0 (no NaN reaches a model)
         coalesce(sum(revenue), 0) AS revenue,
         coalesce(sum(abs(coalesce(quantity, 1))) FILTER (WHERE event_type = 'purchase'),
                  sum(abs(coalesce(quantity, 1)))) AS n_items,
         count(*) AS n_lines,
         count(DISTINCT item_id) AS n_distinct,
         coalesce(avg(price), 0) AS mean_price,
         coalesce(max(price), 0) AS max_price,
         avg(CASE WHEN ts = first_item_ts THEN 1.0 ELSE 0.0 END) AS new_item_share,
         avg(CASE WHEN coupon IS NULL THEN 0.0 ELSE 1.0 END) AS coupon_share,
         mode(country) AS country
  FROM lines
  GROUP BY user_id, order_id
)
SELECT *,
       date_diff('second', lag(ts) OVER (PARTITION BY user_id ORDER BY ts, order_id), ts)
         / 86400.0 AS days_since_prev
FROM per_order
"""


def build_orders(engine: Engine, events: str = "events") -> int:
    """Create table ``orders`` from canonical ``events``; return its row count."""
    engine.execute(ORDERS_SQL.format(events=events))
    n = engine.count("orders")
    if n == 0:
        raise DataError(
            f"table {events!r} has no purchase events with both user_id and order_id; "
            "per-customer models need an order-line log (map the order id column)"
        )
    return n


def customer_countries(engine: Engine) -> dict[str, str]:
    """Each customer's most frequent country over their orders."""
    frame = engine.sql("SELECT user_id, mode(country) AS country FROM orders GROUP BY user_id")
    return dict(zip(frame["user_id"], frame["country"].fillna("Unknown"), strict=True))
