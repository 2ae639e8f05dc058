"""Sessionisation and session outcome labels, in SQL run through the Engine.

Rule: events of one user, in time order, belong to one session until a gap of **more than**
``gap_minutes`` (default 30) between consecutive events; a gap of exactly ``gap_minutes``
stays in the session. Rows that carry a source session id keep it (``use_source_ids``) and
are grouped by (user_id, session_id), so two users sharing one source id get two sessions;
those sessions' keys are '<user_id>/<source id>' (ids used by one user stay as they are), so
that a consumer grouping by the key alone never merges them. Rows with neither a user id nor a
session id cannot be sessionised and are counted.

Tables written:
- ``_session_events_numbers`` (table): per event, in the events table's order, three
  integers: ``_session_no`` (one number per session, gap or source; NULL when the event
  cannot be sessionised), ``_user_no`` (one number per user id, NULL likewise) and
  ``_gap_no`` (n = 1, 2, ... of the user's gap sessions in time order; NULL for source
  sessions). Integers, not strings: every later aggregate groups by them.
- ``session_events_keys`` (a view): ``event_row`` (the event's rowid), the event columns the
  session table needs, the three numbers and ``session_key`` (the source id, or
  ``'<user_id>#<n>'``, see above), which is only built for the rows a query reads;
- ``session_events`` (a view): the events plus ``session_key``, ``_session_no``, ``_user_no``
  and ``event_row``.
- ``_session_events_users`` (table): one row per user id: ``_user_no``, ``user_id`` and
  ``_user_rank`` (1, 2, ... in user id order).
- ``sessions``: one row per session, columns ``SESSION_COLUMNS`` (see docs/SCHEMA.md), with
  labels ``converted`` (has a purchase) and ``cart_abandoned`` (has a cart event and no
  purchase at or after its last cart event; NULL for sessions without a cart event).
"""

from __future__ import annotations

from xbehavior.engine import Engine, columns_with_values
from xbehavior.errors import ConfigError, DataError

# Cost: one sort of the narrow (rowid, user hashes, source id, ts) rows that brings each
# user's events together in time order, one streaming pass (OVER (): lags and running counts,
# no re-partitioning) that numbers users and sessions, and one integer sort back to table
# order. Within a user, gap-sessionised rows (no source id) sort first, so the user's gap
# sessions are the first numbers after its first one. The sort is by hash(user_id): a string
# key costs about three times as much (all of a user's rows tie on it and are compared in
# full), and carrying the id strings through the sort and the pass cost 1.2 s at 10M events.
# Two users with equal hashes would interleave, so the pass compares a second, independent
# hash (of the id behind a prefix) of consecutive rows and flags a user change within one hash
# (``_clash``); sessionise then redoes the numbering sorted by user_id itself. Only ids equal
# in both 64-bit hashes would go unseen. Ties in ts need no tie-break: two events at one
# instant are never split (gap 0).
NUMBER_SQL = """
CREATE OR REPLACE TEMP TABLE _{target}_sorted AS
SELECT rowid AS event_row, {user_hash} AS _h, {user_hash2} AS _h2, {source_id} AS _sid,
       ts{sort_extra} FROM {events}
WHERE user_id IS NOT NULL OR {source_id} IS NOT NULL
ORDER BY {order}, _sid NULLS FIRST, ts;
CREATE OR REPLACE TEMP TABLE _{target}_numbered AS
WITH flagged AS (
  SELECT event_row, _sid, {user_change} AS _first,
         _sid IS DISTINCT FROM lag(_sid) OVER ()
           OR (_sid IS NULL AND ts - lag(ts) OVER () > INTERVAL {gap_s} SECOND) AS _new,
         {clash} AS _clash
  FROM _{target}_sorted
), numbered AS (  -- running numbers over all rows: s of the session, u of the user
  SELECT *, count(*) FILTER (WHERE _first OR _new) OVER (ROWS UNBOUNDED PRECEDING) AS s,
            count(*) FILTER (WHERE _first) OVER (ROWS UNBOUNDED PRECEDING) AS u
  FROM flagged
), per_user AS (  -- s0: s of the user's first session
  SELECT *, max(CASE WHEN _first THEN s END) OVER (ROWS UNBOUNDED PRECEDING) AS s0
  FROM numbered
)
SELECT event_row, s, u, CASE WHEN _sid IS NULL THEN s - s0 + 1 END AS n, _clash,
       CASE WHEN _first THEN event_row END AS _first_row  -- the user id is read from here
FROM per_user;
DROP TABLE _{target}_sorted
"""
_FAST = {"order": "_h", "sort_extra": "", "user_change": "_h IS DISTINCT FROM lag(_h) OVER ()",
         "clash": "_h = lag(_h) OVER () AND _h2 IS DISTINCT FROM lag(_h2) OVER ()"}
_EXACT = {"order": "user_id", "sort_extra": ", user_id", "clash": "FALSE",
          "user_change": "user_id IS DISTINCT FROM lag(user_id) OVER () "
                         "OR lag(event_row) OVER () IS NULL"}
_USER_HASH = "hash(user_id)"  # a test swaps in a constant to force the collision path
_USER_HASH2 = "hash('~' || user_id)"  # independent of the first: the bytes hashed differ

# Back to table order (rows that cannot be sessionised get NULLs), so the views zip the
# numbers onto the events with a POSITIONAL JOIN: no hash join by rowid each time one is read.
# The users table ranks the user ids once, so the session table is sorted by an integer
# instead of carrying the id strings through its sort (0.8 s less at 10M events).
ORDER_BACK_SQL = """
CREATE OR REPLACE TABLE _{target}_users AS
SELECT n.u::BIGINT AS _user_no, e.user_id, row_number() OVER (ORDER BY e.user_id) AS _user_rank
FROM _{target}_numbered n JOIN {events} e ON e.rowid = n._first_row
WHERE e.user_id IS NOT NULL;
CREATE OR REPLACE TABLE _{target}_numbers AS
SELECT s::BIGINT AS _session_no, u::BIGINT AS _user_no, n::BIGINT AS _gap_no FROM (
  SELECT event_row, s, u, n FROM _{target}_numbered
  UNION ALL
  SELECT rowid, NULL, NULL, NULL FROM {events}
  WHERE user_id IS NULL AND ({source_id}) IS NULL
) ORDER BY event_row;
DROP TABLE _{target}_numbered
"""

VIEWS_SQL = """
CREATE OR REPLACE VIEW {target}_keys AS
SELECT e.rowid AS event_row, e.user_id, e.session_id, e.ts, e.event_type, e.revenue,
       e.country, e.device, e.os, e.browser, k._session_no, k._user_no, k._gap_no,
       {session_key} AS session_key
FROM {events} e POSITIONAL JOIN _{target}_numbers k;
CREATE OR REPLACE VIEW {target} AS
SELECT e.*, {session_key} AS session_key, k._session_no, k._user_no, e.rowid AS event_row
FROM {events} e POSITIONAL JOIN _{target}_numbers k
"""


def _session_key(use_source: str, shared: str | None) -> str:
    return (f"CASE WHEN k._gap_no IS NOT NULL THEN e.user_id || '#' || k._gap_no "
            f"WHEN {use_source} THEN {_source_key('e.user_id', 'e.session_id', shared)} END")


def _source_key(user: str, source_id: str, shared: str | None) -> str:
    """SQL of a source session's key: its id, or '<user_id>/<id>' if the id is in table
    ``shared`` (ids more than one user uses)."""
    if shared is None:
        return source_id
    return (f"CASE WHEN {source_id} IN (SELECT session_id FROM {shared}) "
            f"THEN coalesce({user} || '/', '') || {source_id} ELSE {source_id} END")


# Source session ids used by more than one user (a user-less row counts as one more user):
# per-user visit numbers (1, 2, ...) or a tracker's glitch; the id alone cannot key them.
SHARED_SOURCE_IDS_SQL = """
CREATE OR REPLACE TABLE {shared} AS
SELECT session_id FROM {events} WHERE session_id IS NOT NULL GROUP BY session_id
HAVING count(DISTINCT user_id) + (count(*) > count(user_id))::INTEGER > 1
"""


def shared_source_ids(engine: Engine, events: str, shared: str) -> int:
    """Write table ``shared``: the source session ids of ``events`` that more than one user
    uses; return how many."""
    if "session_id" not in columns_with_values(engine, events, ["session_id"]):
        engine.execute(f"CREATE OR REPLACE TABLE {shared} (session_id VARCHAR)")
        return 0
    engine.execute(SHARED_SOURCE_IDS_SQL.format(events=events, shared=shared))
    return engine.count(shared)


_SESSION_AGGREGATES = """min(ts) AS start_ts, max(ts) AS end_ts,
         count(*)::INTEGER AS n_events,
         count(*) FILTER (WHERE event_type = 'view')::INTEGER AS n_views,
         count(*) FILTER (WHERE event_type = 'cart')::INTEGER AS n_carts,
         count(*) FILTER (WHERE event_type = 'purchase')::INTEGER AS n_purchases,
         coalesce(sum(revenue) FILTER (WHERE event_type IN ('purchase', 'return')), 0)
           AS revenue,
         {context},
         max(ts) FILTER (WHERE event_type = 'cart') AS _last_cart,
         max(ts) FILTER (WHERE event_type = 'purchase') AS _last_buy"""
#: per-session context: the value of the session's first event that has one
CONTEXT_COLUMNS = ("country", "device", "os", "browser")

# One scan grouped by the integer session number, with no string aggregate where it can be
# avoided (they cost several times an integer one): the user id comes from the users table,
# the gap session id is built once per session, after the aggregate, and a column with no
# value in the log is a NULL constant rather than an aggregate.
SESSIONS_SQL = """
CREATE OR REPLACE TABLE {target} AS
WITH agg AS (
  SELECT any_value(_user_no) AS _user_no, any_value(_gap_no) AS _gap_no,
         {source_id} AS _source_id, {aggregates}
  FROM {keys}_keys WHERE _session_no IS NOT NULL GROUP BY _session_no
)
SELECT u.user_id,
       CASE WHEN _gap_no IS NOT NULL THEN u.user_id || '#' || _gap_no ELSE {source_key} END
         AS session_id,
       agg.* EXCLUDE (_user_no, _gap_no, _source_id, _last_cart, _last_buy),
       n_purchases > 0 AS converted,
       -- abandoned = the cart was left: no purchase at or after the session's last cart event
       -- (the same rule as insights.descriptive.cart_abandonment)
       CASE WHEN n_carts > 0 THEN coalesce(_last_buy < _last_cart, TRUE) END AS cart_abandoned
FROM agg LEFT JOIN _{keys}_users u USING (_user_no)
ORDER BY u._user_rank, start_ts, session_id  -- the order of user_id, start_ts, session_id
"""


def assign_sessions(engine: Engine, events: str = "events", target: str = "session_events",
                    gap_minutes: float = 30, use_source_ids: bool = True,
                    shared: str | None = None) -> None:
    """Write table ``_{target}_numbers`` (one row per event, in table order) and the views
    ``{target}_keys`` and ``target`` (see the module docstring).

    Cost: one sort of (rowid, two user-id hashes, source id, ts) by user then time,
    O(N log N), one streaming pass and one integer sort back to table order; memory about
    50 bytes per event, plus the source ids if there are any.
    """
    if not gap_minutes > 0:
        raise ConfigError(f"gap_minutes must be > 0 (got {gap_minutes}); the usual value is 30")
    use_source = "TRUE" if use_source_ids else "FALSE"
    args = {"target": target, "events": events, "gap_s": round(gap_minutes * 60),
            "user_hash": _USER_HASH, "user_hash2": _USER_HASH2,
            "source_id": "session_id" if use_source_ids else "NULL::VARCHAR"}
    engine.execute(NUMBER_SQL.format(**_FAST, **args))
    clash = f"SELECT coalesce(bool_or(_clash), FALSE) AS c FROM _{target}_numbered"
    if engine.sql(clash).iloc[0, 0]:  # two users share a hash: sort by the id itself
        engine.execute(NUMBER_SQL.format(**_EXACT, **args))
    engine.execute(ORDER_BACK_SQL.format(**args))
    engine.execute(VIEWS_SQL.format(target=target, events=events,
                                    session_key=_session_key(use_source, shared)))


def build_sessions(engine: Engine, target: str = "sessions",
                   keys: str = "session_events", shared: str | None = None) -> None:
    """Write one row per session of ``{keys}_keys`` (see ``assign_sessions``) into ``target``;
    a source session whose id is in table ``shared`` gets the id '<user_id>/<source id>'."""
    filled = columns_with_values(engine, f"{keys}_keys", (*CONTEXT_COLUMNS, "session_id"))
    context = ",\n".join(
        f"arg_min({c}, ts) FILTER (WHERE {c} IS NOT NULL) AS {c}" if c in filled else
        f"NULL::VARCHAR AS {c}" for c in CONTEXT_COLUMNS)
    source_id = "any_value(session_id)" if "session_id" in filled else "NULL::VARCHAR"
    engine.execute(SESSIONS_SQL.format(
        target=target, keys=keys, source_id=source_id,
        source_key=_source_key("u.user_id", "_source_id", shared),
        aggregates=_SESSION_AGGREGATES.format(context=context)))
    if "session_id" in filled:
        _check_keys_unique(engine, target, keys)


# A source id of the generated form '<user_id>#<n>' is the only way two of one user's
# sessions can share a key; the events' source ids are checked for that form first, so a
# log without such ids costs one filtered scan.
_KEY_CLASH_SQL = """
WITH look_generated AS (
  SELECT DISTINCT user_id FROM {keys}_keys
  WHERE _gap_no IS NULL AND starts_with(session_id, user_id || '#')
)
SELECT user_id, session_id FROM {target} SEMI JOIN look_generated USING (user_id)
GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL LIMIT 1
"""


def _check_keys_unique(engine: Engine, target: str, keys: str) -> None:
    """DataError if a source session id equals the key a gap session of the same user gets."""
    clash = engine.sql(_KEY_CLASH_SQL.format(target=target, keys=keys))
    if len(clash):
        user, key = clash.iloc[0]
        raise DataError(
            f"user {user!r}: source session id {key!r} (column session_id) is also the key "
            "of one of the user's sessions built from events without a session id "
            "('<user_id>#<n>'), so the two sessions would be merged; rename the source "
            "session ids (e.g. add a prefix) or give every event of the user a session id")


def sessionise(engine: Engine, events: str = "events", gap_minutes: float = 30,
               use_source_ids: bool = True, target: str = "sessions",
               source: str | None = None) -> dict[str, int]:
    """Sessionise ``events``: write ``session_events`` and the sessions table ``target``.
    ``source``: the file the events were read from, named in a DataError.

    Returns counts: sessions, events_in_sessions, events_without_session (no user and no
    session id), converted, cart_sessions, cart_abandoned, shared_source_ids (source session
    ids that more than one user uses: those sessions' keys are '<user_id>/<source id>', so
    that no two users' sessions share a key).
    """
    table = "_session_events_shared_ids"
    n_shared = shared_source_ids(engine, events, table) if use_source_ids else 0
    shared = table if n_shared else None
    assign_sessions(engine, events, "session_events", gap_minutes, use_source_ids, shared)
    try:
        build_sessions(engine, target, "session_events", shared)
    except DataError as err:
        raise DataError(f"{source}: {err}" if source else str(err)) from None
    ev = engine.sql("""SELECT count(_session_no) AS a, count(*) - count(_session_no) AS b
                       FROM _session_events_numbers""").iloc[0]
    s = engine.sql(f"""SELECT count(*) AS n, count(*) FILTER (WHERE converted) AS c,
                              count(cart_abandoned) AS k,
                              count(*) FILTER (WHERE cart_abandoned) AS ab
                       FROM {target}""").iloc[0]
    return {"sessions": int(s["n"]), "events_in_sessions": int(ev["a"]),
            "events_without_session": int(ev["b"]), "converted": int(s["c"]),
            "cart_sessions": int(s["k"]), "cart_abandoned": int(s["ab"]),
            "shared_source_ids": n_shared}
