"""Descriptive conversion analytics on canonical events (and on a session table).

Unit of analysis is a session or a user (``unit`` parameter). A unit "converted" when it has at
least one ``purchase`` event. Every rate comes with n, converters, a Wilson 95% interval and the
pooled base rate (see ``stats.rate_table``); groups under ``min_count`` units are pooled into
"Other".

Property semantics:
- unit properties (country, device, os, browser, hour, weekday, day_type, month): the first
  non-null value of the unit in time order (where it came from / when it started);
- item properties (category, brand, price_band): a unit counts once for every value it
  touched, and converted for that value when it purchased an item with that value.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from xbehavior.errors import ConfigError, DataError
from xbehavior.insights.stats import rate_table

UNIT_COLUMNS = {"session": "session_id", "user": "user_id"}
UNIT_PROPERTIES = ("country", "device", "os", "browser", "hour", "weekday", "day_type", "month")
ITEM_PROPERTIES = ("category", "brand", "price_band")
#: price band edges in the currency of the data, left-closed: [0, 5), [5, 20), ...
DEFAULT_PRICE_EDGES = (0.0, 5.0, 20.0, 50.0, 100.0, 500.0, np.inf)


def unit_column(unit: str) -> str:
    """Canonical id column of a unit name ('session' or 'user')."""
    if unit not in UNIT_COLUMNS:
        raise ConfigError(f"unit must be 'session' or 'user', got {unit!r}")
    return UNIT_COLUMNS[unit]


def with_derived(
    events: pd.DataFrame, price_edges: Sequence[float] = DEFAULT_PRICE_EDGES
) -> pd.DataFrame:
    """Events plus hour (0-23), weekday (Mon..Sun), day_type, month ('YYYY-MM'), price_band."""
    missing = {"ts", "event_type"} - set(events.columns)
    if missing:
        raise DataError(f"events lack column(s) {sorted(missing)}: pass canonical events")
    out = events.copy()
    ts = pd.to_datetime(out["ts"])
    out["hour"] = ts.dt.hour
    out["weekday"] = ts.dt.day_name().str[:3]
    out["day_type"] = np.where(ts.dt.day_of_week >= 5, "weekend", "weekday")
    out["month"] = ts.dt.strftime("%Y-%m")
    if "price" in out.columns:
        out["price_band"] = price_bands(out["price"], price_edges)
    return out


def price_bands(price: pd.Series, edges: Sequence[float]) -> pd.Series:
    """Left-closed price bands labelled like '5-20' and '500+' (NaN price -> missing)."""
    labels = [
        f"{lo:g}+" if np.isinf(hi) else f"{lo:g}-{hi:g}" for lo, hi in itertools.pairwise(edges)
    ]
    bands = pd.cut(pd.to_numeric(price), bins=list(edges), right=False, labels=labels)
    return bands.astype("string")


def _ordered(events: pd.DataFrame, unit: str) -> pd.DataFrame:
    """Events with a unit id, sorted by (unit, ts) with ties kept in input order."""
    col = unit_column(unit)
    if col not in events.columns:
        raise DataError(f"events lack {col!r}: cannot use unit={unit!r}")
    kept = events[events[col].notna()]
    return kept.sort_values([col, "ts"], kind="mergesort")


def unit_table(
    events: pd.DataFrame,
    unit: str = "session",
    properties: Sequence[str] = (),
    price_edges: Sequence[float] = DEFAULT_PRICE_EDGES,
) -> pd.DataFrame:
    """One row per unit: id, ``converted`` (bool), ``first_ts`` and each unit property.

    Rows with a NULL unit id are dropped; their number is in ``attrs['dropped_rows']``.
    """
    col = unit_column(unit)
    ev = _ordered(with_derived(events, price_edges), unit)
    grouped = ev.groupby(col, sort=True)
    out = pd.DataFrame(
        {
            "converted": grouped["event_type"].agg(lambda s: bool((s == "purchase").any())),
            "first_ts": grouped["ts"].min(),
        }
    )
    for prop in properties:
        if prop not in ev.columns:
            raise DataError(f"events lack property {prop!r}")
        out[prop] = grouped[prop].first()  # first non-null value in time order
    out = out.reset_index()
    out.attrs["dropped_rows"] = int(len(events) - len(ev))
    return out


def _item_units(events: pd.DataFrame, unit: str, prop: str, price_edges) -> pd.DataFrame:
    """One row per (unit, item property value) touched; converted = bought with that value."""
    col = unit_column(unit)
    ev = with_derived(events, price_edges)
    if prop not in ev.columns:
        raise DataError(f"events lack property {prop!r}")
    ev = ev[ev[col].notna() & ev[prop].notna()]
    ev = ev.assign(_buy=ev["event_type"] == "purchase")
    return ev.groupby([col, prop], sort=True)["_buy"].any().rename("converted").reset_index()


def conversion_by(
    events: pd.DataFrame,
    by: str,
    unit: str = "session",
    min_count: int = 30,
    price_edges: Sequence[float] = DEFAULT_PRICE_EDGES,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Conversion rate of units per value of ``by`` (see module doc for property semantics).

    Out: ``by, n, converters, rate, ci_low, ci_high, base_rate, rel_to_base``; "Other" pools
    groups under ``min_count`` units. For item properties a unit may appear in several rows,
    so n sums to more than the number of units and base_rate is per (unit, value) pair.
    """
    if by in ITEM_PROPERTIES:
        units = _item_units(events, unit, by, price_edges)
    else:
        units = unit_table(events, unit, [by], price_edges)
    table = rate_table(units, by, "converted", min_count, confidence)
    table.attrs.update(unit=unit, what="conversion")
    return table


def conversion_by_sessions(
    sessions: pd.DataFrame,
    by: str,
    label: str = "Revenue",
    min_count: int = 30,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Conversion per value of ``by`` on a session table (one row per session, bool ``label``).

    Made for UCI Online Shoppers (Region, Browser, OperatingSystems, VisitorType, Month,
    Weekend, TrafficType); same output columns as ``conversion_by``.
    """
    for col in (by, label):
        if col not in sessions.columns:
            raise DataError(f"session table lacks column {col!r}")
    table = rate_table(sessions, by, label, min_count, confidence)
    table.attrs.update(unit="session", what="conversion")
    return table


def average_order_value(
    events: pd.DataFrame, by: str | None = None, min_count: int = 30
) -> pd.DataFrame:
    """Order count, revenue, mean (AOV) and median order value, overall or per ``by`` value.

    An order is a distinct ``order_id`` over ``purchase`` events; its value is the sum of their
    ``revenue`` (price x quantity when revenue is NULL). Returns are not netted here. ``by`` is
    taken from the order's first line; groups under ``min_count`` orders are pooled.
    """
    buys = with_derived(events)
    buys = buys[(buys["event_type"] == "purchase") & buys["order_id"].notna()]
    value = buys["revenue"].fillna(buys["price"] * buys["quantity"])
    buys = buys.assign(_value=value)
    orders = buys.groupby("order_id").agg(value=("_value", "sum"))
    key = by or "_all"
    if by:
        orders[by] = buys.groupby("order_id")[by].first().astype("string").fillna("(missing)")
        counts = orders[by].value_counts()
        small = counts[counts < min_count].index
        orders[by] = orders[by].where(~orders[by].isin(small), "Other")
    else:
        orders[key] = "all"
    out = orders.groupby(key)["value"].agg(
        n_orders="size", revenue="sum", aov="mean", median_order_value="median"
    )
    out = out.reset_index().sort_values("n_orders", ascending=False, kind="mergesort")
    out["overall_aov"] = orders["value"].mean()
    return out.reset_index(drop=True)


def visit_frequency(
    events: pd.DataFrame, period: str = "week", by: str | None = None, min_count: int = 30
) -> pd.DataFrame:
    """Sessions per user per period over the observed span, overall or per ``by`` value.

    The observed span is first to last event of the whole log, in periods of a ``day``,
    ``week`` (7 days) or ``month`` (30.44 days), at least 1. Out per group: n_users, sessions,
    periods, mean / median sessions per user per period, and repeat visitors (users with >= 2
    sessions) as a rate with interval (columns n, converters, rate, ci_low, ci_high...).
    """
    days = {"day": 1.0, "week": 7.0, "month": 30.44}
    if period not in days:
        raise ConfigError(f"period must be one of {sorted(days)}, got {period!r}")
    ts = pd.to_datetime(events["ts"])
    span_days = (ts.max() - ts.min()) / pd.Timedelta(days=1)
    n_periods = max(span_days / days[period], 1.0)
    ev = events[events["user_id"].notna() & events["session_id"].notna()]
    users = unit_table(ev, "user", [by] if by else [])
    users = users.merge(
        ev.groupby("user_id")["session_id"].nunique().rename("sessions"), on="user_id"
    )
    users["repeat"] = users["sessions"] >= 2
    key = by or "_all"
    if not by:
        users[key] = "all"
    # the overall row is one group: never pool it into "Other", however few users
    table = rate_table(users, key, "repeat", min_count if by else 0)
    per_user = users.assign(_key=users[key].astype("string").fillna("(missing)"))
    table = table.rename(columns={"n": "n_users", "converters": "repeat_visitors"})
    stats = per_user.groupby("_key")["sessions"].agg(["sum", "mean", "median"])
    table["sessions"] = table[key].map(stats["sum"]).astype("Int64")
    table["mean_per_period"] = table[key].map(stats["mean"]) / n_periods
    table["median_per_period"] = table[key].map(stats["median"]) / n_periods
    table["periods"] = n_periods
    return table


def cart_abandonment(
    events: pd.DataFrame, unit: str = "session", by: str | None = None, min_count: int = 30
) -> pd.DataFrame:
    """Share of units with a cart event that have no purchase at or after their last cart.

    Denominator: units with >= 1 ``cart`` event. Out: rate table where ``converters`` counts
    abandoning units (flag ``abandoned``), per ``by`` (unit property) or overall.
    """
    col = unit_column(unit)
    ev = _ordered(events, unit)
    last_cart = ev[ev["event_type"] == "cart"].groupby(col)["ts"].max()
    last_buy = ev[ev["event_type"] == "purchase"].groupby(col)["ts"].max()
    carts = pd.DataFrame({"last_cart": last_cart}).join(last_buy.rename("last_buy"))
    carts["abandoned"] = ~(carts["last_buy"] >= carts["last_cart"])
    units = unit_table(ev[ev[col].isin(carts.index)], unit, [by] if by else [])
    units = units.merge(carts["abandoned"], left_on=col, right_index=True)
    key = by or "_all"
    if not by:
        units[key] = "all"
    # the overall row is one group: never pool it into "Other", however few units
    table = rate_table(units, key, "abandoned", min_count if by else 0)
    table.attrs.update(unit=unit, what="cart abandonment")
    return table
