"""Sessionisation and session outcome labels, in SQL run through the Engine.

Rule: events of one user, in time order, belong to one session until a gap of **more than**
``gap_minutes`` (default 30) between consecutive events; a gap of exactly ``gap_minutes``
stays in the session. Rows that carry a source session id keep it (``use_source_ids``) and
are grouped by (user_id, session_id), so two users sharing one source id get two sessions.
Rows with neither a user id nor a session id cannot be sessionised and are counted.

Tables written:
- ``_session_events_keys`` (table): per event (``event_row`` = rowid in the events table) its
  ``session_key`` (source id, or ``'<user_id>#<n>'`` with n = 1, 2, ... in time order; NULL
  when it cannot be sessionised);
- ``session_events_keys`` (a view): the same with the columns the session table needs
  (and ``_session_no``, an integer id of each gap session);
- ``session_events`` (a view): the events plus ``session_key``.
- ``sessions``: one row per session, columns ``SESSION_COLUMNS`` (see docs/SCHEMA.md), with
  labels ``converted`` (has a purchase) and ``cart_abandoned`` (has a cart event and no
  purchase; NULL for sessions without a cart event).
"""

from __future__ import annotations

from xbehavior.engine import Engine
from xbehavior.errors import ConfigError

# Cost is two sorted window passes (lag, then a running sum of "new session" flags); both
# run over a narrow copy (rowid, user, source id, ts) because a window operator moves every
# column it carries. The other columns are joined back by rowid, only where read (views).
ASSIGN_SQL = """
CREATE OR REPLACE TABLE _{target}_keys AS
WITH keyed AS (
  SELECT rowid AS event_row, user_id, session_id, ts,
         ({use_source} AND session_id IS NOT NULL) AS _has_source
  FROM {events}
), flagged AS (
  SELECT *, CASE WHEN _has_source OR user_id IS NULL THEN 0
                 WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > INTERVAL {gap_s} SECOND
                 THEN 1 ELSE 0 END AS _new
  FROM keyed WINDOW w AS (PARTITION BY user_id, _has_source ORDER BY ts)
)
SELECT event_row,
       CASE WHEN _has_source THEN session_id
            WHEN user_id IS NULL THEN NULL
            ELSE user_id || '#' || sum(_new) OVER w END AS session_key,
       -- integer id of a gap session (rowid of its first event; NULL for source sessions),
       -- same window as the sum so no extra sort: the session table groups by it, not by
       -- two strings
       last_value(CASE WHEN _new = 1 THEN event_row END IGNORE NULLS) OVER w AS _session_no
FROM flagged
WINDOW w AS (PARTITION BY user_id, _has_source ORDER BY ts
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);
CREATE OR REPLACE VIEW {target}_keys AS
SELECT k.event_row, e.user_id, e.session_id, e.ts, e.event_type, e.revenue, e.country,
       e.device, e.os, e.browser, k.session_key, k._session_no
FROM {events} e JOIN _{target}_keys k ON e.rowid = k.event_row;
CREATE OR REPLACE VIEW {target} AS
SELECT e.*, k.session_key FROM {events} e JOIN _{target}_keys k ON e.rowid = k.event_row
"""

_SESSION_AGGREGATES = """min(ts) AS start_ts, max(ts) AS end_ts,
         count(*)::INTEGER AS n_events,
         count(*) FILTER (WHERE event_type = 'view')::INTEGER AS n_views,
         count(*) FILTER (WHERE event_type = 'cart')::INTEGER AS n_carts,
         count(*) FILTER (WHERE event_type = 'purchase')::INTEGER AS n_purchases,
         coalesce(sum(revenue) FILTER (WHERE event_type IN ('purchase', 'return')), 0)
           AS revenue,
         arg_min(country, ts) FILTER (WHERE country IS NOT NULL) AS country,
         arg_min(device, ts) FILTER (WHERE device IS NOT NULL) AS device,
         arg_min(os, ts) FILTER (WHERE os IS NOT NULL) AS os,
         arg_min(browser, ts) FILTER (WHERE browser IS NOT NULL) AS browser"""

# Gap sessions group by their integer id; source sessions by (user_id, session id).
SESSIONS_SQL = """
CREATE OR REPLACE TABLE {target} AS
WITH agg AS (
  SELECT any_value(user_id) AS user_id, any_value(session_key) AS session_id, {aggregates}
  FROM {source} WHERE _session_no IS NOT NULL GROUP BY _session_no
  UNION ALL
  SELECT user_id, session_key AS session_id, {aggregates}
  FROM {source} WHERE _session_no IS NULL AND session_key IS NOT NULL
  GROUP BY user_id, session_key
)
SELECT *, n_purchases > 0 AS converted,
       CASE WHEN n_carts > 0 THEN n_purchases = 0 END AS cart_abandoned
FROM agg ORDER BY user_id, start_ts, session_id
"""


def assign_sessions(engine: Engine, events: str = "events", target: str = "session_events",
                    gap_minutes: float = 30, use_source_ids: bool = True) -> None:
    """Write table ``_{target}_keys`` (event_row, session_key), its view ``{target}_keys``
    (plus the columns the session table needs) and view ``target`` = events + session_key.

    Cost: two window passes (sorted by user_id, ts) over a narrow copy of the events:
    O(N log N) time, memory about 40 bytes per event plus the user id strings.
    """
    if not gap_minutes > 0:
        raise ConfigError(f"gap_minutes must be > 0 (got {gap_minutes}); the usual value is 30")
    gap_s = round(gap_minutes * 60)
    engine.execute(ASSIGN_SQL.format(target=target, events=events, gap_s=gap_s,
                                     use_source="TRUE" if use_source_ids else "FALSE"))


def build_sessions(engine: Engine, source: str = "session_events_keys",
                   target: str = "sessions") -> None:
    """Write one row per session of ``source`` (events with ``session_key``) into ``target``."""
    engine.execute(SESSIONS_SQL.format(source=source, target=target,
                                       aggregates=_SESSION_AGGREGATES))


def sessionise(engine: Engine, events: str = "events", gap_minutes: float = 30,
               use_source_ids: bool = True, target: str = "sessions") -> dict[str, int]:
    """Sessionise ``events``: write ``session_events`` and the sessions table ``target``.

    Returns counts: sessions, events_in_sessions, events_without_session (no user and no
    session id), converted, cart_sessions, cart_abandoned.
    """
    assign_sessions(engine, events, "session_events", gap_minutes, use_source_ids)
    build_sessions(engine, "session_events_keys", target)
    ev = engine.sql("""SELECT count(*) FILTER (WHERE session_key IS NOT NULL) AS a,
                              count(*) FILTER (WHERE session_key IS NULL) AS b
                       FROM _session_events_keys""").iloc[0]
    s = engine.sql(f"""SELECT count(*) AS n, count(*) FILTER (WHERE converted) AS c,
                              count(cart_abandoned) AS k,
                              count(*) FILTER (WHERE cart_abandoned) AS ab
                       FROM {target}""").iloc[0]
    return {"sessions": int(s["n"]), "events_in_sessions": int(ev["a"]),
            "events_without_session": int(ev["b"]), "converted": int(s["c"]),
            "cart_sessions": int(s["k"]), "cart_abandoned": int(s["ab"])}
