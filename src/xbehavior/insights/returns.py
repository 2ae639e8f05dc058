"""Return (cancellation) rates on canonical events: how often a sale is taken back.

A ``return`` event nets a cancelled purchase (Online Retail ``C`` invoices). Units:
- ``order``: distinct order_id over purchase and return events; it "returned" when it holds a
  return event (Online Retail cancellation invoices are their own orders, so this is the share
  of invoices that are cancellations);
- ``line``: each purchase or return event is one line; "returned" when it is a return;
- ``user``: users with a purchase or return; "returned" when they have >= 1 return.
A group property is the unit's first non-null value (per line for ``line``).
"""

from __future__ import annotations

import pandas as pd

from xbehavior.errors import ConfigError, DataError
from xbehavior.insights.descriptive import with_derived
from xbehavior.insights.stats import rate_table

_UNIT_ID = {"order": "order_id", "user": "user_id"}


def return_rate(
    events: pd.DataFrame, by: str | None = None, unit: str = "order", min_count: int = 30
) -> pd.DataFrame:
    """Share of orders / lines / users with a return, overall or per ``by`` value.

    In: canonical events (event_type, ts, order_id or user_id, the ``by`` column; derived
    columns such as price_band are added). Out: rate table (``converters`` = units with a
    return) with the unit in ``attrs``.
    """
    if unit not in ("order", "line", "user"):
        raise ConfigError(f"unit must be 'order', 'line' or 'user', got {unit!r}")
    ev = with_derived(events)
    ev = ev[ev["event_type"].isin(["purchase", "return"])]
    if by is not None and by not in ev.columns:
        raise DataError(f"events lack property {by!r}")
    key = by or "_all"
    if unit == "line":
        units = pd.DataFrame({"returned": ev["event_type"] == "return"})
        units[key] = ev[by].to_numpy() if by else "all"
    else:
        col = _UNIT_ID[unit]
        ev = ev[ev[col].notna()].sort_values([col, "ts"], kind="mergesort")
        grouped = ev.assign(_ret=ev["event_type"] == "return").groupby(col, sort=True)
        units = pd.DataFrame({"returned": grouped["_ret"].any()})
        units[key] = grouped[by].first() if by else "all"
    table = rate_table(units.reset_index(drop=True), key, "returned", min_count)
    table.attrs.update(unit=unit, what="return rate")
    return table
