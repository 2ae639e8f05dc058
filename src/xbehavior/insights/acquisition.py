"""Olist marketing funnel: marketing-qualified lead -> closed deal, by channel and landing page.

Denominator: leads (``mql_id`` in the leads table, first_contact_date); a lead converted when
it appears in the closed-deals table. Time to close = won_date - first_contact_date in days.
"""

from __future__ import annotations

import pandas as pd

from xbehavior.engine import DuckDBEngine
from xbehavior.errors import ConfigError
from xbehavior.ingest import ingest_dataset
from xbehavior.insights.stats import rate_table


def leads_with_outcome() -> pd.DataFrame:
    """One row per lead: mql_id, origin, landing_page_id, converted, days_to_close (NaN if not).

    Read through ingest (the leads table, ``xbehavior.ingest.leads``), so the rows are the
    ones its data-quality record counts as kept.
    """
    engine = DuckDBEngine()
    ingest_dataset(engine, "olist")
    return engine.sql("""SELECT lead_id AS mql_id, first_contact_ts AS first_contact_date,
        landing_page AS landing_page_id, coalesce(origin, '(missing)') AS origin,
        won_ts AS won_date, business_segment, won AS converted, days_to_close
        FROM leads ORDER BY rowid""")


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
