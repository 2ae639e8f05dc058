"""Per-user behaviour features from the sessionised event log, in SQL run through the Engine.

Input: the view ``session_events`` (canonical events + ``session_key``) that
``features.sessions.sessionise`` writes. Only events with a user id count (rows without one
are for aggregate analytics). With ``before``, only events strictly before it are read, and
sessions are counted from those events, so a session that straddles the cut-off contributes
only its earlier part: nothing after ``before`` reaches a feature.

One row per user, columns ``USER_FEATURES`` (all times UTC):

* ``n_events``; ``recency_days``: days from the user's last event to the reference time
  (``before``, else the last event of the log);
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

from xbehavior.engine import Engine
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

# Cost: three hash aggregates over the events (per user and day, per session, per user and
# value of each mode column) and small ones above them. The active weeks and months are
# distinct counts over the per-day rows, not over the events.
USER_FEATURES_SQL = """
WITH ev AS NOT MATERIALIZED (
  SELECT user_id, session_key, ts, event_type, {optional}
  FROM {events} WHERE user_id IS NOT NULL AND session_key IS NOT NULL {cutoff}
), sess AS (
  SELECT user_id,
         bool_or(event_type = 'view') AND NOT bool_or(event_type = 'purchase') AS browse_only
  FROM ev GROUP BY user_id, session_key
), per_session AS (
  SELECT user_id, count(*) AS n_sessions, count(*) FILTER (WHERE browse_only) AS n_browse
  FROM sess GROUP BY user_id
), daily AS (
  SELECT user_id, ts::DATE AS day, count(*) AS n, max(ts) AS last_ts,
         count(*) FILTER (WHERE event_type = 'purchase') AS n_purchases,
         count(*) FILTER (WHERE event_type = 'cart') AS n_carts,
         count(coupon) FILTER (WHERE event_type = 'purchase') AS n_coupon_purchases,
         sum(revenue) FILTER (WHERE event_type IN ('purchase', 'return')) AS monetary,
         count(*) FILTER (WHERE hour(ts) < 6) AS n_night,
         count(*) FILTER (WHERE hour(ts) >= 6 AND hour(ts) < 12) AS n_morning,
         count(*) FILTER (WHERE hour(ts) >= 12 AND hour(ts) < 18) AS n_afternoon,
         count(*) FILTER (WHERE hour(ts) >= 18) AS n_evening
  FROM ev GROUP BY user_id, day
), per_user AS (
  SELECT user_id, sum(n)::BIGINT AS n_events, max(last_ts) AS last_ts,  -- counts stay BIGINT
         sum(n_purchases)::BIGINT AS n_purchases, sum(n_carts) AS n_carts,
         sum(n_coupon_purchases) AS n_coupon_purchases,
         coalesce(sum(monetary), 0) AS monetary,
         count(*) AS active_days,
         count(DISTINCT date_trunc('week', day)) AS active_weeks,
         count(DISTINCT date_trunc('month', day)) AS active_months,
         sum(n_night) / sum(n) AS share_night,
         sum(n_morning) / sum(n) AS share_morning,
         sum(n_afternoon) / sum(n) AS share_afternoon,
         sum(n_evening) / sum(n) AS share_evening,
         coalesce(sum(n) FILTER (WHERE dayofweek(day) IN (0, 6)), 0) / sum(n) AS share_weekend
  FROM daily GROUP BY user_id
), {modes}
SELECT u.user_id, u.n_events,
       (epoch({reference}) - epoch(u.last_ts)) / 86400.0 AS recency_days,
       s.n_sessions, u.n_purchases, u.monetary,
       s.n_sessions / u.active_days AS visits_per_active_day,
       s.n_sessions / u.active_weeks AS visits_per_active_week,
       s.n_sessions / u.active_months AS visits_per_active_month,
       u.share_night, u.share_morning, u.share_afternoon, u.share_evening, u.share_weekend,
       d.value AS modal_device, c.value AS modal_country,
       k.value AS top_category, k.share AS category_interest_share,
       u.n_coupon_purchases / nullif(u.n_purchases, 0) AS coupon_share,
       u.n_purchases / nullif(u.n_carts, 0) AS cart_to_purchase,
       s.n_browse / s.n_sessions AS browse_without_buying
FROM per_user u JOIN per_session s USING (user_id)
LEFT JOIN mode_device d USING (user_id)
LEFT JOIN mode_country c USING (user_id)
LEFT JOIN mode_category k USING (user_id)
ORDER BY u.user_id
"""

# Most frequent non-NULL value per user (ties: alphabetical, as the smallest (-n, value)) and
# its share of the counted rows; an aggregate, not a window sort over the (user, value) rows.
_MODE_SQL = """mode_{name} AS (
  SELECT user_id, arg_min(value, (-n, value)) AS value, max(n) / sum(n) AS share
  FROM (SELECT user_id, {column} AS value, count(*) AS n FROM ev
        WHERE {column} IS NOT NULL {where} GROUP BY user_id, {column})
  GROUP BY user_id
)"""


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
    optional = ", ".join(c if c in present else f"CAST(NULL AS {EVENT_COLUMNS[c]}) AS {c}"
                         for c in _OPTIONAL)
    literal = _cutoff(before)
    modes = ",\n".join([
        _MODE_SQL.format(name="device", column="device", where=""),
        _MODE_SQL.format(name="country", column="country", where=""),
        _MODE_SQL.format(name="category", column="category", where="AND event_type = 'view'"),
    ])
    # the log's last event: a window over the per-user rows, not another scan of the events
    reference = literal or "max(u.last_ts) OVER ()"
    sql = USER_FEATURES_SQL.format(
        events=events, optional=optional, cutoff=f"AND ts < {literal}" if literal else "",
        modes=modes, reference=reference)
    frame = engine.sql(sql)
    missing = _missing_columns(engine, events, present, literal)
    unavailable = {f: col for f, col in NEEDS.items() if col in missing}
    for feature in unavailable:
        frame[feature] = None if frame[feature].dtype == object else float("nan")
    frame.attrs["unavailable"] = unavailable
    return frame[list(USER_FEATURES)]


def _missing_columns(engine: Engine, events: str, present: set[str],
                     literal: str | None) -> set[str]:
    """Optional columns absent from ``events`` or without a value (before the cut-off)."""
    there = [c for c in _OPTIONAL if c in present]
    missing = set(_OPTIONAL) - set(there)
    if there:
        where = "user_id IS NOT NULL" + (f" AND ts < {literal}" if literal else "")
        counts = engine.sql(f"SELECT {', '.join(f'count({c}) AS {c}' for c in there)} "
                            f"FROM {events} WHERE {where}").iloc[0]
        missing |= {c for c in there if counts[c] == 0}
    return missing
