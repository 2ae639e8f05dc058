"""Data-quality accounting: rows read = rows kept + rows dropped (by reason)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from xbehavior.engine import Engine, columns_with_values


@dataclass
class DataQuality:
    """What ingest did to the rows of one source.

    ``dropped`` maps reason -> rows dropped; ``notes`` holds counts of rows that were kept
    but flagged (e.g. no user id, returns netted).
    """

    source: str
    rows_read: int
    rows_kept: int
    dropped: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    def check_balanced(self) -> None:
        """Raise if any row is unaccounted for: nothing may be lost silently."""
        if self.rows_kept + self.rows_dropped != self.rows_read:
            raise AssertionError(
                f"{self.source}: kept {self.rows_kept} + dropped {self.rows_dropped} "
                f"!= read {self.rows_read}"
            )

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_dropped": self.rows_dropped,
            "dropped_by_reason": dict(self.dropped),
            "kept_but_flagged": dict(self.notes),
        }


def events_profile(engine: Engine, table: str = "events") -> dict[str, object]:
    """What the kept rows of a canonical events table hold: users, time range (UTC), rows
    per event type, and which optional columns have any value (the analyses that need an
    empty column skip themselves). One aggregate pass plus one probe per column."""
    columns = engine.columns(table)
    row = engine.sql(f"""SELECT count(DISTINCT user_id) AS users,
        count(*) FILTER (WHERE user_id IS NULL) AS no_user, min(ts) AS first, max(ts) AS last
        FROM {table}""").iloc[0]
    types = engine.sql(f"SELECT event_type, count(*) AS n FROM {table} "
                       "GROUP BY event_type ORDER BY n DESC, event_type")
    filled = columns_with_values(engine, table, columns)
    return {
        "users": int(row["users"]), "rows_without_user_id": int(row["no_user"]),
        "first_ts_utc": _stamp(row["first"]), "last_ts_utc": _stamp(row["last"]),
        "event_types": {str(k): int(n) for k, n in zip(types["event_type"], types["n"],
                                                      strict=True)},
        "columns_with_values": [c for c in columns if c in filled],
        "empty_columns": [c for c in columns if c not in filled],
    }


def _stamp(value: object) -> str | None:
    return None if pd.isna(value) else str(pd.Timestamp(value))
