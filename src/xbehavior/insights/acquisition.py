"""Olist marketing funnel: marketing-qualified lead -> closed deal, by channel and landing page.

Denominator: leads (``mql_id`` in the leads table, first_contact_date); a lead converted when
it appears in the closed-deals table. Time to close = won_date - first_contact_date in days.
"""

from __future__ import annotations

import pandas as pd

from xbehavior.datasets import load_olist
from xbehavior.errors import ConfigError
from xbehavior.insights.stats import rate_table


def leads_with_outcome() -> pd.DataFrame:
    """One row per lead: mql_id, origin, landing_page_id, converted, days_to_close (NaN if not)."""
    leads = load_olist("leads")
    deals = load_olist("deals")[["mql_id", "won_date", "business_segment"]]
    out = leads.merge(deals, on="mql_id", how="left")
    out["converted"] = out["won_date"].notna()
    won = pd.to_datetime(out["won_date"])
    first = pd.to_datetime(out["first_contact_date"])
    out["days_to_close"] = (won - first) / pd.Timedelta(days=1)
    out["origin"] = out["origin"].fillna("(missing)")
    return out


def lead_conversion(by: str = "origin", min_count: int = 50) -> pd.DataFrame:
    """Lead -> deal conversion and time to close per ``origin`` or ``landing_page_id``.

    Out: rate table (n leads, converters = closed deals, Wilson interval, base rate) plus
    median / p25 / p75 days_to_close over closed deals; pages or channels with fewer than
    ``min_count`` leads are pooled into "Other".
    """
    if by not in ("origin", "landing_page_id"):
        raise ConfigError(f"by must be 'origin' or 'landing_page_id', got {by!r}")
    leads = leads_with_outcome()
    table = rate_table(leads, by, "converted", min_count)
    counts = leads[by].value_counts()
    small = counts[counts < min_count].index
    group = leads[by].where(~leads[by].isin(small), "Other")
    days = leads.groupby(group)["days_to_close"]
    table["median_days_to_close"] = table[by].map(days.median())
    table["p25_days_to_close"] = table[by].map(days.quantile(0.25))
    table["p75_days_to_close"] = table[by].map(days.quantile(0.75))
    table.attrs.update(unit="lead", what="lead-to-deal conversion")
    return table
