"""Sessionisation on hand-built logs (sessions and labels worked out by hand) and on REES46."""

from __future__ import annotations

import pandas as pd
import pytest

from xbehavior.engine import DuckDBEngine
from xbehavior.errors import ConfigError, DataError
from xbehavior.features.session_sequences import cart_session_steps
from xbehavior.features.sessions import sessionise
from xbehavior.ingest import EVENT_COLUMNS, ingest_dataset


def _events(rows: list[tuple]) -> pd.DataFrame:
    """rows of (user_id, session_id, 'HH:MM:SS' on 2024-03-01, event_type, revenue)."""
    frame = pd.DataFrame(rows, columns=["user_id", "session_id", "ts", "event_type", "revenue"])
    frame["ts"] = pd.to_datetime("2024-03-01 " + frame["ts"])
    for column in EVENT_COLUMNS:
        if column not in frame:
            frame[column] = pd.Series([None] * len(frame), dtype=object)
    return frame[list(EVENT_COLUMNS)].astype({"revenue": float})


@pytest.fixture
def engine() -> DuckDBEngine:
    eng = DuckDBEngine(threads=1)
    eng.register("events", _events([
        # user a, no source ids: 30:00 gap stays, 30:01 gap splits
        ("a", None, "10:00:00", "view", None),
        ("a", None, "10:30:00", "cart", None),        # gap exactly 30 min: same session
        ("a", None, "11:00:01", "view", None),        # gap 30 min 1 s: new session a#2
        ("a", None, "11:10:00", "purchase", 20.0),
        # user b, source ids respected even across a 4 h gap
        ("b", "s1", "10:00:00", "cart", None),
        ("b", "s1", "14:00:00", "view", None),
        ("b", "s2", "14:05:00", "purchase", 7.5),
        ("b", "s2", "14:06:00", "return", -2.5),
        # no user but a source session; no user and no session: cannot be sessionised
        (None, "x", "09:00:00", "view", None),
        (None, None, "09:00:00", "view", None),
    ]))
    return eng


def test_sessions_and_labels_hand_worked(engine):
    counts = sessionise(engine)
    assert counts == {"sessions": 5, "events_in_sessions": 9, "events_without_session": 1,
                      "converted": 2, "cart_sessions": 2, "cart_abandoned": 2,
                      "shared_source_ids": 0}
    got = engine.sql("""SELECT user_id, session_id, strftime(start_ts, '%H:%M:%S') AS s,
        strftime(end_ts, '%H:%M:%S') AS e, n_events, n_views, n_carts, n_purchases, revenue,
        converted, cart_abandoned FROM sessions ORDER BY session_id""")
    expected = [
        ("a", "a#1", "10:00:00", "10:30:00", 2, 1, 1, 0, 0.0, False, True),
        ("a", "a#2", "11:00:01", "11:10:00", 2, 1, 0, 1, 20.0, True, None),
        ("b", "s1", "10:00:00", "14:00:00", 2, 1, 1, 0, 0.0, False, True),
        ("b", "s2", "14:05:00", "14:06:00", 2, 0, 0, 1, 5.0, True, None),
        (None, "x", "09:00:00", "09:00:00", 1, 1, 0, 0, 0.0, False, None),
    ]
    rows = [tuple(None if pd.isna(v) else v for v in r)
            for r in got.astype(object).itertuples(index=False)]
    assert rows == expected


def test_a_cart_left_after_a_purchase_is_abandoned():
    eng = DuckDBEngine(threads=1)
    eng.register("events", _events([
        ("c", None, "12:00:00", "cart", None),
        ("c", None, "12:05:00", "purchase", 9.0),
        ("c", None, "12:10:00", "cart", None),       # carted again, never bought: abandoned
        ("c", None, "15:00:00", "cart", None),       # new session c#2
        ("c", None, "15:00:00", "purchase", 4.0),    # bought at the cart's instant: not
    ]))
    counts = sessionise(eng)
    assert (counts["cart_sessions"], counts["cart_abandoned"], counts["converted"]) == (2, 1, 2)
    got = eng.sql("SELECT session_id, cart_abandoned FROM sessions ORDER BY 1")
    assert got.values.tolist() == [["c#1", True], ["c#2", False]]


def test_gap_is_configurable_and_source_ids_optional(engine):
    # 60-min gap: a's 30:01 gap no longer splits; ignoring b's ids, its 4 h gap splits.
    counts = sessionise(engine, gap_minutes=60, use_source_ids=False)
    keys = engine.sql("SELECT session_id FROM sessions ORDER BY 1")["session_id"].tolist()
    assert keys == ["a#1", "b#1", "b#2"]
    assert counts["events_without_session"] == 2


def _engine_with(rows: list[tuple]) -> DuckDBEngine:
    eng = DuckDBEngine(threads=1)
    eng.register("events", _events(rows))
    return eng


def test_a_source_id_equal_to_a_generated_key_is_refused():
    # a's first gap session gets the key 'a#1', which a's source session also carries
    eng = _engine_with([("a", None, "10:00:00", "view", None),
                        ("a", "a#1", "12:00:00", "view", None)])
    with pytest.raises(DataError) as err:
        sessionise(eng)
    assert str(err.value) == (
        "user 'a': source session id 'a#1' (column session_id) is also the key of one of the "
        "user's sessions "
        "built from events without a session id ('<user_id>#<n>'), so the two sessions "
        "would be merged; rename the source session ids (e.g. add a prefix) or give every "
        "event of the user a session id")


def test_a_source_id_of_the_generated_form_without_a_clash_is_kept():
    # 'a#2' while a has one gap session, and b's 'a#1' belongs to another user: no clash
    eng = _engine_with([("a", None, "10:00:00", "view", None),
                        ("a", "a#2", "12:00:00", "view", None),
                        ("b", "a#1", "12:00:00", "view", None)])
    sessionise(eng)
    got = eng.sql("SELECT user_id, session_id FROM sessions ORDER BY ALL").values.tolist()
    assert got == [["a", "a#1"], ["a", "a#2"], ["b", "a#1"]]
    # ignoring the source ids, there is nothing to clash with
    sessionise(_engine_with([("a", None, "10:00:00", "view", None),
                             ("a", "a#1", "12:00:00", "view", None)]), use_source_ids=False)


def test_source_ids_shared_by_users_get_user_scoped_keys():
    # per-user visit numbers: a's and b's visit '1' are two sessions, keyed '<user_id>/<id>';
    # b's '2' (b's alone) stays '2', a's gap session 'a#1'; the user-less '1' is '1'
    eng = _engine_with([("a", "1", "10:00:00", "view", None),
                        ("a", "1", "10:05:00", "cart", None),
                        ("b", "1", "10:01:00", "purchase", 9.0),
                        ("b", "2", "12:00:00", "view", None),
                        ("a", None, "13:00:00", "view", None),
                        (None, "1", "14:00:00", "view", None)])
    counts = sessionise(eng)
    assert counts["shared_source_ids"] == 1 and counts["sessions"] == 5
    got = eng.sql("SELECT user_id, session_id, n_events, converted FROM sessions ORDER BY ALL")
    assert got.astype(object).where(got.notna(), None).values.tolist() == [
        ["a", "a#1", 1, False], ["a", "a/1", 2, False], ["b", "2", 1, False],
        ["b", "b/1", 1, True], [None, "1", 1, False]]
    keys = eng.sql("SELECT session_key FROM session_events ORDER BY event_row")["session_key"]
    assert keys.tolist() == ["a/1", "a/1", "b/1", "2", "a#1", "1"]
    # a's cart session is a's alone: b's purchase in its own '1' does not label it bought
    steps = cart_session_steps(eng)
    assert steps[["session_id", "event_type", "label"]].values.tolist() == [
        ["a/1", "view", 0], ["a/1", "cart", 0]]


def test_unique_source_ids_are_kept_as_they_are(engine):
    assert sessionise(engine)["shared_source_ids"] == 0
    ids = engine.sql("SELECT session_id FROM sessions ORDER BY 1")["session_id"].tolist()
    assert ids == ["a#1", "a#2", "s1", "s2", "x"]


def test_gap_must_be_positive(engine):
    with pytest.raises(ConfigError, match="gap_minutes must be > 0"):
        sessionise(engine, gap_minutes=0)


def test_rees46_source_sessions_match_source_md():
    eng = DuckDBEngine(threads=1)
    ingest_dataset(eng, "rees46")
    counts = sessionise(eng)
    # SOURCE.md: 5,061 session ids, one shared by 2 users -> 5,062 (user, session) pairs;
    # 200 sessions with a purchase, 118 with a cart, 53 cart-but-no-purchase, and 3 more
    # that purchased, then carted again and left: 56 abandoned carts.
    # SOURCE.md: one user_session (2759bd71-...) is shared by two user ids
    assert counts == {"sessions": 5_062, "events_in_sessions": 17_419,
                      "events_without_session": 0, "converted": 200, "cart_sessions": 118,
                      "cart_abandoned": 56, "shared_source_ids": 1}
    shared = eng.sql("SELECT session_id FROM sessions WHERE session_id LIKE "
                        "'%2759bd71-1333-4348-816d-c02912f6ebd4' ORDER BY 1")["session_id"]
    assert shared.tolist() == ["555463292/2759bd71-1333-4348-816d-c02912f6ebd4",
                               "555463297/2759bd71-1333-4348-816d-c02912f6ebd4"]
