"""The canonical event schema every adapter produces (table ``events``).

One row per event. ``ts`` is a naive TIMESTAMP meaning UTC. Optional columns are present and
NULL when a source lacks them (virtual columns of the events table: typed, never stored); an
analysis that needs one checks that it holds a value (a non-NULL count above 0) and says it
skips, e.g. ``features.user_features`` lists such features in ``attrs["unavailable"]``.
"""

from __future__ import annotations

#: column -> DuckDB type, in table order
EVENT_COLUMNS: dict[str, str] = {
    "user_id": "VARCHAR",  # NULL: kept for aggregate analytics, excluded from per-user models
    "session_id": "VARCHAR",
    "ts": "TIMESTAMP",  # UTC
    "event_type": "VARCHAR",  # one of EVENT_TYPES
    "order_id": "VARCHAR",
    "item_id": "VARCHAR",
    "category": "VARCHAR",
    "brand": "VARCHAR",
    "price": "DOUBLE",
    "quantity": "DOUBLE",
    "revenue": "DOUBLE",  # price * quantity; negative for returns
    "country": "VARCHAR",
    "device": "VARCHAR",
    "os": "VARCHAR",
    "browser": "VARCHAR",
    "coupon": "VARCHAR",
    # optional user attributes, as the source gives them (repeated on each of a user's events)
    "age": "DOUBLE",  # years
    "gender": "VARCHAR",
    "rating": "DOUBLE",  # the user's rating (e.g. review stars), source scale
    "social_share": "DOUBLE",  # the user's social-media sharing, source measure (count/share)
}

REQUIRED_COLUMNS = ("ts", "event_type")

#: the session-table form (table ``sessions``): one row per session, column -> DuckDB type.
#: Built from events by ``xbehavior.features.sessions`` or read directly from a pre-aggregated
#: source (Online Shoppers), which leaves unknown columns NULL and may add its own columns.
SESSION_COLUMNS: dict[str, str] = {
    "user_id": "VARCHAR",
    "session_id": "VARCHAR",  # source id when present, else '<user_id>#<n>' (n from 1)
    "start_ts": "TIMESTAMP",  # UTC
    "end_ts": "TIMESTAMP",  # UTC
    "n_events": "INTEGER",
    "n_views": "INTEGER",
    "n_carts": "INTEGER",
    "n_purchases": "INTEGER",
    "revenue": "DOUBLE",  # purchases minus returns
    "country": "VARCHAR",  # first non-NULL value in time order (same for device, os, browser)
    "device": "VARCHAR",
    "os": "VARCHAR",
    "browser": "VARCHAR",
    "converted": "BOOLEAN",  # the session has a purchase
    "cart_abandoned": "BOOLEAN",  # no purchase at or after the last cart; NULL if no cart
}

#: fixed event vocabulary; ``return`` nets a cancelled purchase
EVENT_TYPES = ("view", "cart", "remove_from_cart", "checkout", "purchase", "return", "other")


def select_canonical(source_exprs: dict[str, str], from_clause: str) -> str:
    """SQL that projects a source onto the canonical columns.

    ``source_exprs`` maps canonical column -> SQL expression over the source; missing
    columns become typed NULLs so every adapter yields the same table shape.
    """
    parts = []
    for column, sql_type in EVENT_COLUMNS.items():
        expr = source_exprs.get(column, "NULL")
        parts.append(f"CAST({expr} AS {sql_type}) AS {column}")
    return "SELECT " + ",\n       ".join(parts) + f"\n{from_clause}"
