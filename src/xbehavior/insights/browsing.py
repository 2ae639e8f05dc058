"""Browsing without an outcome: sessions, clicks per session and category mix per group.

For logs with no purchase event (e-shop clothing 2008) conversion cannot be measured; what can
be is how much people browse and what. A click is any event; a session is a session_id.
A session's group (e.g. country) is its first non-null value in time order.
"""

from __future__ import annotations

import pandas as pd

from xbehavior.errors import DataError
from xbehavior.insights.stats import OTHER, pool_small


def _session_groups(events: pd.DataFrame, by: str | None, min_count: int) -> pd.DataFrame:
    """Events with a session id plus ``_group`` (the session's pooled ``by`` value)."""
    need = {"session_id", "ts"} | ({by} if by else set())
    missing = need - set(events.columns)
    if missing:
        raise DataError(f"events lack column(s) {sorted(missing)}")
    ev = events[events["session_id"].notna()].sort_values(["session_id", "ts"], kind="mergesort")
    if by is None:
        return ev.assign(_group="all")
    first = ev.groupby("session_id", sort=True)[by].first()
    labels = pool_small(first, first.astype("string").fillna("(missing)").value_counts(), min_count)
    return ev.assign(_group=ev["session_id"].map(labels).to_numpy())


def browsing_summary(
    events: pd.DataFrame, by: str | None = None, min_count: int = 30
) -> pd.DataFrame:
    """Per group: sessions, clicks, mean and median clicks per session, share of sessions.

    Out columns: [by], sessions, clicks, clicks_per_session, median_clicks_per_session,
    share_of_sessions; sorted by sessions descending with "Other" last; groups under
    ``min_count`` sessions pooled (threshold in ``attrs['min_count']``).
    """
    ev = _session_groups(events, by, min_count)
    per_session = ev.groupby(["_group", "session_id"], sort=True).size().rename("clicks")
    per_session = per_session.reset_index()
    out = per_session.groupby("_group")["clicks"].agg(
        sessions="size", clicks="sum", clicks_per_session="mean",
        median_clicks_per_session="median",
    )
    out["share_of_sessions"] = out["sessions"] / out["sessions"].sum()
    out = out.reset_index().rename(columns={"_group": by or "group"})
    key = by or "group"
    out["_other"] = out[key] == OTHER
    out = out.sort_values(["_other", "sessions", key], ascending=[True, False, True])
    out = out.drop(columns="_other").reset_index(drop=True)
    out.attrs["min_count"] = min_count
    return out


def category_mix(
    events: pd.DataFrame, by: str | None = None, category: str = "category", min_count: int = 30
) -> pd.DataFrame:
    """Share of each group's clicks per category (rows sum to 1 within a group).

    Out: long table [by], category, clicks, group_clicks, share; clicks with a NULL category
    count as "(missing)".
    """
    if category not in events.columns:
        raise DataError(f"events lack column {category!r}")
    ev = _session_groups(events, by, min_count)
    cat = ev[category].astype("string").fillna("(missing)")
    counts = ev.assign(_cat=cat).groupby(["_group", "_cat"], sort=True).size().rename("clicks")
    out = counts.reset_index()
    out["group_clicks"] = out.groupby("_group")["clicks"].transform("sum")
    out["share"] = out["clicks"] / out["group_clicks"]
    return out.rename(columns={"_group": by or "group", "_cat": category})
