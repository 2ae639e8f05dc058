"""Each customer's main device and main product category, for segment profiles."""

from __future__ import annotations

import pandas as pd

from xbehavior.engine import Engine

MAIN_SQL = """
SELECT user_id, mode({column}) AS {column} FROM {events}
WHERE user_id IS NOT NULL AND event_type = 'purchase' AND {column} IS NOT NULL
  AND ts < TIMESTAMP '{before}'
GROUP BY user_id
"""


def main_attribute(
    engine: Engine, column: str, before: pd.Timestamp, events: str = "events"
) -> pd.Series | None:
    """Per user, the most frequent non-missing ``column`` value among purchase lines before
    ``before`` (e.g. device, category); index user_id. None when the log has no such column or
    no purchase line carries a value (the profile then leaves the column empty)."""
    if column not in engine.columns(events):
        return None
    frame = engine.sql(MAIN_SQL.format(column=column, events=events, before=before))
    if frame.empty:
        return None
    return frame.set_index("user_id")[column]
