"""Per-user behaviour features from the sessionised event log, in SQL run through the Engine.

Input: the view ``session_events`` (canonical events + ``session_key``) that
``features.sessions.sessionise`` writes. Only events with a user id count (rows without one
are for aggregate analytics). With ``before``, only events strictly before it are read, and
sessions are counted from those events, so a session that straddles the cut-off contributes
only its earlier part: nothing after ``before`` reaches a feature.

One row per user, columns ``USER_FEATURES`` (all times UTC):

* ``n_events``; ``recency_days``: days from the user's last event to the reference time
  (``before``, else the last event with a user id in the log);
* frequency: ``n_sessions``, ``n_purchases`` (purchase events, i.e. purchased lines/items);
  ``monetary``: revenue of purchases minus returns (0 without any);
* ``visits_per_active_day`` / ``_week`` / ``_month``: sessions / distinct calendar days
  (ISO weeks, months) with an event;
* ``share_night`` / ``_morning`` / ``_afternoon`` / ``_evening``: share of events with UTC hour
  in [0, 6), [6, 12), [12, 18), [18, 24); ``share_weekend``: share on Saturday or Sunday
  (the weekday share is 1 minus it, so it is not repeated);
* ``modal_device`` / ``modal_country``: the most frequent non-NULL value (ties: alphabetical);
* ``top_category``: most viewed category (ties: alphabetical); ``category_interest_share``:
  its views / views with a category;
* ``coupon_share``: purchases with a coupon / purchases (NULL without purchases);
* ``cart_to_purchase``: purchases / cart events (NULL without carts; can exceed 1 when items
  are bought without a cart event);
* ``browse_without_buying``: sessions with a view and no purchase / sessions.

A feature whose source column is absent or all NULL (before the cut-off) is NULL for every
user and listed in ``df.attrs["unavailable"]`` as feature -> source column.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from xbehavior.engine import Engine, columns_with_values
from xbehavior.errors import ConfigError
from xbehavior.ingest.schema import EVENT_COLUMNS

#: output columns, in order
USER_FEATURES = (
    "user_id", "n_events", "recency_days", "n_sessions", "n_purchases", "monetary",
    "visits_per_active_day", "visits_per_active_week", "visits_per_active_month",
    "share_night", "share_morning", "share_afternoon", "share_evening", "share_weekend",
    "modal_device", "modal_country", "top_category", "category_interest_share",
    "coupon_share", "cart_to_purchase", "browse_without_buying",
)  # fmt: skip

#: feature -> the optional event column it needs
NEEDS = {
    "monetary": "revenue", "modal_device": "device", "modal_country": "country",
    "top_category": "category", "category_interest_share": "category", "coupon_share": "coupon",
}
_OPTIONAL = ("revenue", "device", "country", "category", "coupon")

# Cost: one hash aggregate of the events per user gives every count, sum and share. The
# session figures (sessions, browse-only sessions) and distinct active days, weeks and months
# need a second look only for users with more than one session or calendar day: for the
# rest they are 1 (and browse-only is the user's own view/purchase counts), and most users of
# a clickstream have one visit, so that aggregate reads only the events of the others. One
# more aggregate per mode column that has values; a column without values is a NULL
# constant, with no scan and no join. Users and sessions are grouped by the integer numbers
# sessionise writes (``_user_no``, ``_session_no``), not by id strings, when the input has
# them: a string carried through an aggregate costs several times an integer, so the user
# id is joined on at the end from the users table sessionise also writes.
USER_FEATURES_SQL = """
WITH ev AS NOT MATERIALIZED (
  SELECT {user_key} AS _u, {session_key} AS _s, ts, event_type, {optional}
  FROM {events} WHERE user_id IS NOT NULL AND {session_key} IS NOT NULL {cutoff}
), per_user AS (
  SELECT _u, count(*) AS n_events, max(ts) AS last_ts,
         count(*) FILTER (WHERE event_type = 'view') AS n_views,
         count(*) FILTER (WHERE event_type = 'purchase') AS n_purchases,
         count(*) FILTER (WHERE event_type = 'cart') AS n_carts,
         count(coupon) FILTER (WHERE event_type = 'purchase') AS n_coupon_purchases,
         coalesce(sum(revenue) FILTER (WHERE event_type IN ('purchase', 'return')), 0)
           AS monetary,
         count(*) FILTER (WHERE hour(ts) < 6) / count(*) AS share_night,
         count(*) FILTER (WHERE hour(ts) >= 6 AND hour(ts) < 12) / count(*) AS share_morning,
         count(*) FILTER (WHERE hour(ts) >= 12 AND hour(ts) < 18) / count(*)
           AS share_afternoon,
         count(*) FILTER (WHERE hour(ts) >= 18) / count(*) AS share_evening,
         count(*) FILTER (WHERE dayofweek(ts) IN (0, 6)) / count(*) AS share_weekend,
         min(_s) < max(_s) OR min(ts)::DATE < max(ts)::DATE AS several
  FROM ev GROUP BY _u
), several_ev AS (
  SELECT _u, _s, ts::DATE AS day, event_type
  FROM ev SEMI JOIN (SELECT _u FROM per_user WHERE several) USING (_u)
), visits AS (
  SELECT _u, count(*) AS n_sessions, count(*) FILTER (WHERE browse_only) AS n_browse
  FROM (SELECT any_value(_u) AS _u,
               bool_or(event_type = 'view') AND NOT bool_or(event_type = 'purchase')
                 AS browse_only
        FROM several_ev GROUP BY _s)
  GROUP BY _u
), active AS (
  SELECT _u, count(DISTINCT day) AS days, count(DISTINCT date_trunc('week', day)) AS weeks,
         count(DISTINCT date_trunc('month', day)) AS months
  FROM several_ev GROUP BY _u
), names AS (SELECT {names}){modes}
, joined AS (
  SELECT u.*, coalesce(v.n_sessions, 1) AS n_sessions,
         coalesce(v.n_browse, (u.n_views > 0 AND u.n_purchases = 0)::BIGINT) AS n_browse,
         coalesce(a.days, 1) AS days, coalesce(a.weeks, 1) AS weeks,
         coalesce(a.months, 1) AS months
  FROM per_user u LEFT JOIN visits v USING (_u) LEFT JOIN active a USING (_u)
)
SELECT names.user_id, u.n_events,
       (epoch({reference}) - epoch(u.last_ts)) / 86400.0 AS recency_days,
       u.n_sessions, u.n_purchases, u.monetary,
       u.n_sessions / u.days AS visits_per_active_day,
       u.n_sessions / u.weeks AS visits_per_active_week,
       u.n_sessions / u.months AS visits_per_active_month,
       u.share_night, u.share_morning, u.share_afternoon, u.share_evening, u.share_weekend,
       {mode_columns},
       u.n_coupon_purchases / nullif(u.n_purchases, 0) AS coupon_share,
       u.n_purchases / nullif(u.n_carts, 0) AS cart_to_purchase,
       u.n_browse / u.n_sessions AS browse_without_buying
FROM joined u JOIN names USING (_u) {mode_joins}
ORDER BY names._rank
"""

# Most frequent non-NULL value per user (ties: alphabetical, as the smallest (-n, value)) and
# its share of the counted rows; an aggregate, not a window sort over the (user, value) rows.
_MODE_SQL = """mode_{name} AS (
  SELECT _u, arg_min(value, (-n, value)) AS value, max(n) / sum(n) AS share
  FROM (SELECT _u, {column} AS value, count(*) AS n FROM ev
        WHERE {column} IS NOT NULL {where} GROUP BY _u, {column})
  GROUP BY _u
)"""
#: mode feature -> (source column, extra filter, share feature or None)
_MODES = {
    "modal_device": ("device", "", None),
    "modal_country": ("country", "", None),
    "top_category": ("category", "AND event_type = 'view'", "category_interest_share"),
}


def _mode_parts(missing: set[str]) -> tuple[str, str, str]:
    """CTEs, output columns and joins of the mode features. A mode whose column has no
    value is a NULL constant: no scan and no join."""
    ctes, columns, joins = [], [], []
    for feature, (column, where, share) in _MODES.items():
        if column in missing:
            columns += [f"NULL::VARCHAR AS {feature}"] + (
                [f"NULL::DOUBLE AS {share}"] if share else [])
            continue
        ctes.append(_MODE_SQL.format(name=column, column=column, where=where))
        columns.append(f"mode_{column}.value AS {feature}")
        if share:
            columns.append(f"mode_{column}.share AS {share}")
        joins.append(f"LEFT JOIN mode_{column} USING (_u)")
    return "".join(f",\n{cte}" for cte in ctes), ", ".join(columns), " ".join(joins)


def _cutoff(before: object) -> str | None:
    """``before`` as a naive-UTC DuckDB timestamp literal (None: no cut-off)."""
    if before is None:
        return None
    try:
        stamp = pd.Timestamp(before)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"user_features: before={before!r} is not a timestamp ({err}); "
                          "pass e.g. '2024-03-01' or '2024-03-01 12:00:00+00:00'") from None
    if pd.isna(stamp):
        raise ConfigError("user_features: before is NaT; pass a timestamp or None")
    if stamp.tzinfo is not None:  # the log's ts are naive UTC
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return f"TIMESTAMP '{stamp.isoformat(sep=' ')}'"


def user_features(engine: Engine, events: str = "session_events",
                  before: str | dt.datetime | pd.Timestamp | None = None) -> pd.DataFrame:
    """Per-user behaviour features (columns ``USER_FEATURES``, one row per user id, sorted).

    ``events`` must carry ``session_key`` (run ``sessionise`` first). ``before``: only events
    strictly before it count (tz-aware values are converted to UTC; naive ones mean UTC) and
    recency is measured to it. Users without an event before ``before`` are absent.
    ``df.attrs["unavailable"]``: feature -> source column, for features that are NULL because
    the column is absent from ``events`` or has no value before the cut-off.
    """
    present = set(engine.columns(events))
    if "session_key" not in present:
        raise ConfigError(f"user_features: {events} has no session_key column; run "
                          "xbehavior.features.sessions.sessionise first and pass "
                          "events='session_events'")
    literal = _cutoff(before)
    missing = _missing_columns(engine, events, present, literal)
    # a column without a value is read as a NULL constant, so no aggregate scans it
    optional = ", ".join(c if c not in missing else f"CAST(NULL AS {EVENT_COLUMNS[c]}) AS {c}"
                         for c in _OPTIONAL)
    users = f"_{events}_users"  # written by sessionise next to its view
    numbered = {"_user_no", "_session_no"} <= present and engine.has_table(users)
    keys = ("_user_no", "_session_no") if numbered else ("user_id", "session_key")
    # _rank orders the rows as user_id does; sessionise's users table ranks the ids once, so
    # the final sort moves integers, not strings (0.6-1 s less at 2.6M users)
    names = (f"_user_no AS _u, user_id, _user_rank AS _rank FROM {users}" if numbered else
             "DISTINCT _u, _u AS user_id, _u AS _rank FROM per_user")
    mode_ctes, mode_columns, mode_joins = _mode_parts(missing)
    # the log's last event with a user id, from the per-user rows (no second scan)
    reference = literal or "(SELECT max(last_ts) FROM per_user)"
    sql = USER_FEATURES_SQL.format(
        events=events, optional=optional, cutoff=f"AND ts < {literal}" if literal else "",
        modes=mode_ctes, mode_columns=mode_columns, mode_joins=mode_joins,
        reference=reference, user_key=keys[0], session_key=keys[1], names=names)
    frame = engine.sql(sql)
    unavailable = {f: col for f, col in NEEDS.items() if col in missing}
    for feature in unavailable:
        frame[feature] = None if frame[feature].dtype == object else float("nan")
    frame.attrs["unavailable"] = unavailable
    return frame[list(USER_FEATURES)]


def _missing_columns(engine: Engine, events: str, present: set[str],
                     literal: str | None) -> set[str]:
    """Optional columns absent from ``events`` or without a value (before the cut-off)."""
    where = "user_id IS NOT NULL" + (f" AND ts < {literal}" if literal else "")
    filled = columns_with_values(engine, events, [c for c in _OPTIONAL if c in present], where)
    return set(_OPTIONAL) - filled
