"""Sessionisation and session outcome labels, in SQL run through the Engine.

Rule: events of one user, in time order, belong to one session until a gap of **more than**
``gap_minutes`` (default 30) between consecutive events; a gap of exactly ``gap_minutes``
stays in the session. Rows that carry a source session id keep it (``use_source_ids``) and
are grouped by (user_id, session_id), so two users sharing one source id get two sessions.
Rows with neither a user id nor a session id cannot be sessionised and are counted.

Tables written:
- ``_session_events_keys`` (table): per event, in the events table's order (``event_row`` =
  its rowid), its ``session_key`` (source id, or ``'<user_id>#<n>'`` with n = 1, 2, ... in
  time order; NULL when it cannot be sessionised) and ``_session_no`` (an integer id of each
  gap session, NULL for source sessions);
- ``session_events_keys`` (a view): the same with the columns the session table needs;
- ``session_events`` (a view): the events plus ``session_key``.
- ``sessions``: one row per session, columns ``SESSION_COLUMNS`` (see docs/SCHEMA.md), with
  labels ``converted`` (has a purchase) and ``cart_abandoned`` (has a cart event and no
  purchase at or after its last cart event; NULL for sessions without a cart event).
"""

from __future__ import annotations

from xbehavior.engine import Engine
from xbehavior.errors import ConfigError

# Cost is one sort of the gap-sessionised events (narrow: rowid, user, ts) that brings each
# user's events together in time order, then streaming windows over that order (OVER ():
# lag and running counts, no re-partitioning) number the sessions, then an integer sort puts
# the numbers back in table order. The sort is by hash(user_id), ts: a string key costs about
# twice as much, because every row of a user ties on it and is compared in full. Two users
# with equal hashes would interleave, so the pass flags a user change within one hash
# (``_clash``) and assign_sessions then redoes it sorted by user_id itself.
# Ties in ts need no tie-break: two events at one instant are never split (gap 0).
NUMBER_SQL = """
CREATE OR REPLACE TEMP TABLE _{target}_numbers AS
WITH gap AS (
  SELECT rowid AS event_row, user_id, {user_hash} AS _h, ts FROM {events}
  WHERE user_id IS NOT NULL AND NOT ({use_source} AND session_id IS NOT NULL)
  ORDER BY {order}
), flagged AS (
  SELECT event_row, user_id IS DISTINCT FROM lag(user_id) OVER () AS _first,
         ts - lag(ts) OVER () > INTERVAL {gap_s} SECOND AS _gap,
         _h = lag(_h) OVER () AND user_id <> lag(user_id) OVER () AS _clash
  FROM gap
), numbered AS (  -- g: running number of gap sessions over all users (1, 2, ...)
  SELECT *, count(*) FILTER (WHERE _first OR _gap) OVER (ROWS UNBOUNDED PRECEDING) AS g
  FROM flagged
), per_user AS (  -- g0: g of the user's first session
  SELECT *, max(CASE WHEN _first THEN g END) OVER (ROWS UNBOUNDED PRECEDING) AS g0
  FROM numbered
)
SELECT event_row, g, g - g0 + 1 AS n, _clash FROM per_user
UNION ALL
SELECT rowid, NULL, NULL, FALSE FROM {events}
WHERE user_id IS NULL OR ({use_source} AND session_id IS NOT NULL)
ORDER BY event_row
"""
_FAST_ORDER, _EXACT_ORDER = "_h, ts", "user_id, ts"
_USER_HASH = "hash(user_id)"  # a test swaps in a constant to force the collision path

# The keys are in table order, so the views zip them onto the events with a POSITIONAL JOIN
# (no hash join by rowid each time a view is read).
ASSIGN_SQL = """
CREATE OR REPLACE TABLE _{target}_keys AS
SELECT k.event_row,
       CASE WHEN k.n IS NOT NULL THEN e.user_id || '#' || k.n
            WHEN {use_source} THEN e.session_id END AS session_key,
       k.g AS _session_no
FROM {events} e POSITIONAL JOIN _{target}_numbers k;
DROP TABLE _{target}_numbers;
CREATE OR REPLACE VIEW {target}_keys AS
SELECT k.event_row, e.user_id, e.session_id, e.ts, e.event_type, e.revenue, e.country,
       e.device, e.os, e.browser, k.session_key, k._session_no
FROM {events} e POSITIONAL JOIN _{target}_keys k;
CREATE OR REPLACE VIEW {target} AS
SELECT e.*, k.session_key FROM {events} e POSITIONAL JOIN _{target}_keys k
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
         arg_min(browser, ts) FILTER (WHERE browser IS NOT NULL) AS browser,
         max(ts) FILTER (WHERE event_type = 'cart') AS _last_cart,
         max(ts) FILTER (WHERE event_type = 'purchase') AS _last_buy"""

# One scan: gap sessions group by their integer id (the string keys are NULL there, so cost
# nothing to hash); source sessions by (user_id, session id).
SESSIONS_SQL = """
CREATE OR REPLACE TABLE {target} AS
WITH agg AS (
  SELECT any_value(user_id) AS user_id, any_value(session_key) AS session_id, {aggregates}
  FROM {source} WHERE session_key IS NOT NULL
  GROUP BY _session_no, CASE WHEN _session_no IS NULL THEN user_id END,
           CASE WHEN _session_no IS NULL THEN session_key END
)
SELECT * EXCLUDE (_last_cart, _last_buy), n_purchases > 0 AS converted,
       -- abandoned = the cart was left: no purchase at or after the session's last cart event
       -- (the same rule as insights.descriptive.cart_abandonment)
       CASE WHEN n_carts > 0 THEN coalesce(_last_buy < _last_cart, TRUE) END AS cart_abandoned
FROM agg ORDER BY user_id, start_ts, session_id
"""


def assign_sessions(engine: Engine, events: str = "events", target: str = "session_events",
                    gap_minutes: float = 30, use_source_ids: bool = True) -> None:
    """Write table ``_{target}_keys`` (event_row, session_key, _session_no; one row per event,
    in table order), its view ``{target}_keys`` (plus the columns the session table needs)
    and view ``target`` = events + session_key.

    Cost: one sort of (rowid, user_id, ts) by user then time, O(N log N), one streaming pass
    and one integer sort back to table order; memory about 40 bytes per event plus the user
    id strings.
    """
    if not gap_minutes > 0:
        raise ConfigError(f"gap_minutes must be > 0 (got {gap_minutes}); the usual value is 30")
    args = {"target": target, "events": events, "gap_s": round(gap_minutes * 60),
            "use_source": "TRUE" if use_source_ids else "FALSE"}
    engine.execute(NUMBER_SQL.format(order=_FAST_ORDER, user_hash=_USER_HASH, **args))
    clash = f"SELECT coalesce(bool_or(_clash), FALSE) AS c FROM _{target}_numbers"
    if engine.sql(clash).iloc[0, 0]:  # two users share a hash: sort by the id itself
        engine.execute(NUMBER_SQL.format(order=_EXACT_ORDER, user_hash=_USER_HASH, **args))
    engine.execute(ASSIGN_SQL.format(**args))


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
