"""Builders of hand-made canonical event logs for the insights tests."""

from __future__ import annotations

import pandas as pd

COLUMNS = [
    "user_id",
    "session_id",
    "ts",
    "event_type",
    "order_id",
    "category",
    "price",
    "quantity",
    "revenue",
    "country",
    "device",
]


def make_events(rows: list[tuple]) -> pd.DataFrame:
    """Canonical events from (user, session, ts, type, order, category, price, qty, revenue,
    country, device) tuples."""
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"])
    return frame
