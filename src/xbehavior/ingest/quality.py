"""Data-quality accounting: rows read = rows kept + rows dropped (by reason)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
