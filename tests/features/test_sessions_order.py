"""Sessionisation's fast path (sort by a hash of user_id) against its exact fallback."""

from __future__ import annotations

import pandas as pd

import xbehavior.features.sessions as sessions
from xbehavior.engine import DuckDBEngine
from xbehavior.ingest import EVENT_COLUMNS

# (user, 'HH:MM' on 2024-03-01): a 10:00, 10:20 | 11:00 (gap 40 min); b 10:10 | 12:00; and
# a's and b's events interleave in time, as colliding hashes would leave them
ROWS = [("a", "10:00"), ("b", "10:10"), ("a", "10:20"), ("a", "11:00"), ("b", "12:00")]


def _engine() -> DuckDBEngine:
    frame = pd.DataFrame(ROWS, columns=["user_id", "ts"])
    frame["ts"] = pd.to_datetime("2024-03-01 " + frame["ts"])
    frame["event_type"] = "view"
    for column in EVENT_COLUMNS:
        if column not in frame:
            frame[column] = pd.Series([None] * len(frame), dtype=object)
    eng = DuckDBEngine(threads=1)
    eng.register("events", frame[list(EVENT_COLUMNS)].astype({"revenue": float}))
    return eng


def _keys(eng: DuckDBEngine) -> list[str]:
    return eng.sql("SELECT session_key FROM session_events_keys ORDER BY event_row")[
        "session_key"].tolist()


def test_keys_in_table_order_hand_worked():
    eng = _engine()
    counts = sessions.sessionise(eng)
    assert _keys(eng) == ["a#1", "b#1", "a#1", "a#2", "b#2"]
    assert counts["sessions"] == 4 and counts["events_in_sessions"] == 5
    # the view zips the keys onto the events in table order
    got = eng.sql("SELECT user_id, session_key FROM session_events").values.tolist()
    assert got == [["a", "a#1"], ["b", "b#1"], ["a", "a#1"], ["a", "a#2"], ["b", "b#2"]]


def test_hash_collision_falls_back_to_the_exact_sort(monkeypatch):
    # every user gets one hash: the fast sort interleaves a and b, the pass flags it and
    # the numbering is redone sorted by user_id, giving the same sessions
    monkeypatch.setattr(sessions, "_USER_HASH", "0::UBIGINT")
    eng = _engine()
    counts = sessions.sessionise(eng)
    assert _keys(eng) == ["a#1", "b#1", "a#1", "a#2", "b#2"]
    assert counts["sessions"] == 4
    assert eng.sql("SELECT session_id, n_events FROM sessions").values.tolist() == [
        ["a#1", 2], ["a#2", 1], ["b#1", 1], ["b#2", 1]]
