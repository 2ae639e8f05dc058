"""First-purchase or first-visit cohorts, retention matrix and repeat-purchase rate.

Anchor ``purchase`` (default): a user's cohort is the period (calendar month, or ISO week
starting Monday) of their first ``purchase`` event, and a user is active in a period when they
purchase in it. Anchor ``visit``: the cohort is the period of the user's first event of any
type, and active means any event (a returning visitor). Retention cell (cohort c, offset k) =
share of the cohort's users active in period c + k; offset 0 is 1 by construction. Cells for
periods after the last event of the log are not reported (not observed, not zero); cells in
the log's last period are flagged ``partial_period`` when the log ends before that period's
last day (their rate undercounts: part of the period is not observed).
"""

from __future__ import annotations

import pandas as pd

from xbehavior.errors import ConfigError, DataError
from xbehavior.insights.descriptive import unit_table
from xbehavior.insights.stats import rate_table, wilson_interval

_MONDAY = pd.Timestamp("1970-01-05")


def period_index(ts: pd.Series, period: str = "month") -> pd.Series:
    """Integer period number: months since year 0 or weeks since Monday 1970-01-05."""
    ts = pd.to_datetime(ts)
    if period == "month":
        return ts.dt.year * 12 + ts.dt.month - 1
    if period == "week":
        return ((ts - _MONDAY) // pd.Timedelta(days=7)).astype("int64")
    raise ConfigError(f"period must be 'month' or 'week', got {period!r}")


def period_label(index: pd.Series, period: str = "month") -> pd.Series:
    """'YYYY-MM' for months, the Monday 'YYYY-MM-DD' for weeks."""
    if period == "month":
        return (index // 12).astype(str) + "-" + (index % 12 + 1).astype(str).str.zfill(2)
    return (_MONDAY + pd.to_timedelta(index * 7, unit="D")).dt.strftime("%Y-%m-%d")


ANCHORS = ("purchase", "visit")


def period_end(index: int, period: str = "month") -> pd.Timestamp:
    """Midnight starting the last day of period ``index`` (a month's last day, a Sunday)."""
    if period == "month":
        start = pd.Timestamp(year=index // 12, month=index % 12 + 1, day=1)
        return start + pd.offsets.MonthEnd(0)
    return _MONDAY + pd.Timedelta(days=7 * index + 6)


def last_period_partial(ts: pd.Series, period: str = "month") -> bool:
    """True when the log's last event falls before the last calendar day of its period."""
    last = pd.to_datetime(ts).max()
    idx = int(period_index(pd.Series([last]), period).iloc[0])
    return bool(last.normalize() < period_end(idx, period))


def _activity(events: pd.DataFrame, period: str, anchor: str) -> pd.DataFrame:
    """(user_id, period) rows of the events that anchor cohorts and count as activity."""
    if anchor == "purchase":
        return _purchases(events, period)[["user_id", "period"]]
    if anchor != "visit":
        raise ConfigError(f"anchor must be one of {ANCHORS}, got {anchor!r}")
    seen = events[events["user_id"].notna()]
    if seen.empty:
        raise DataError("no event carries a user_id: first-visit cohorts need identified users")
    return pd.DataFrame({"user_id": seen["user_id"], "period": period_index(seen["ts"], period)})


def _purchases(events: pd.DataFrame, period: str) -> pd.DataFrame:
    """Purchase events with a user id, plus ``period`` index and ``order`` key."""
    buys = events[(events["event_type"] == "purchase") & events["user_id"].notna()]
    if buys.empty:
        raise DataError("no purchase events with a user_id: cohorts need identified buyers")
    # an order is its order_id; without one, the session; without that, the timestamp
    order = buys["order_id"].astype("string").fillna(buys["session_id"].astype("string"))
    order = order.fillna(buys["ts"].astype("string"))
    return pd.DataFrame(
        {"user_id": buys["user_id"], "period": period_index(buys["ts"], period), "order": order}
    )


def retention_matrix(
    events: pd.DataFrame,
    period: str = "month",
    max_offset: int | None = None,
    confidence: float = 0.95,
    anchor: str = "purchase",
) -> pd.DataFrame:
    """Long retention table: cohort, offset, cohort_size, active, rate, ci_low, ci_high,
    partial_period (the cell's period is the log's last and is cut short).

    In: canonical events (user_id, ts, event_type). One row per (cohort, observed offset);
    ``anchor`` 'purchase' or 'visit' (module doc).
    """
    acts = _activity(events, period, anchor)
    first = acts.groupby("user_id")["period"].min().rename("cohort_idx")
    active = acts.join(first, on="user_id").drop_duplicates(["user_id", "period"])
    active["offset"] = active["period"] - active["cohort_idx"]
    last = int(period_index(events["ts"], period).max())
    sizes = first.value_counts().sort_index()
    rows = []
    for cohort, size in sizes.items():
        top = last - cohort if max_offset is None else min(last - cohort, max_offset)
        hits = active[active["cohort_idx"] == cohort]["offset"].value_counts()
        for k in range(top + 1):
            rows.append((cohort, k, size, int(hits.get(k, 0))))
    out = pd.DataFrame(rows, columns=["cohort_idx", "offset", "cohort_size", "active"])
    out["rate"] = out["active"] / out["cohort_size"]
    out["ci_low"], out["ci_high"] = wilson_interval(out["active"], out["cohort_size"], confidence)
    partial = last_period_partial(events["ts"], period)
    out["partial_period"] = partial & (out["cohort_idx"] + out["offset"] == last)
    out.insert(0, "cohort", period_label(out["cohort_idx"], period))
    return out.drop(columns="cohort_idx")


def retention_wide(matrix: pd.DataFrame, value: str = "rate") -> pd.DataFrame:
    """Cohort x offset pivot of a ``retention_matrix`` column (NaN = not yet observed)."""
    return matrix.pivot(index="cohort", columns="offset", values=value)


def repeat_purchase_rate(
    events: pd.DataFrame, by: str | None = None, min_count: int = 30, confidence: float = 0.95
) -> pd.DataFrame:
    """Share of buyers with >= 2 distinct orders, overall or per user property ``by``.

    Denominator: users with >= 1 purchase. Out: rate table (``converters`` = repeat buyers).
    """
    buys = _purchases(events, "month")
    orders = buys.groupby("user_id")["order"].nunique()
    buyers = events[events["user_id"].isin(orders.index)]
    users = unit_table(buyers, "user", [by] if by else [])
    users["repeat"] = users["user_id"].map(orders).to_numpy() >= 2
    key = by or "_all"
    if not by:
        users[key] = "all"
    # the overall row is one group: never pool it into "Other", however few buyers
    table = rate_table(users, key, "repeat", min_count if by else 0, confidence)
    table.attrs.update(unit="user", what="repeat purchase")
    return table


__all__ = ["ANCHORS", "last_period_partial", "period_end", "period_index",
           "repeat_purchase_rate", "retention_matrix", "retention_wide"]
