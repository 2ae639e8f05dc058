"""Real public datasets bundled with xbehavior, loaded through ``importlib.resources``.

Each folder under ``data/`` keeps the upstream ``SOURCE.md`` (origin, licence, checksums,
known anomalies). Nothing here is simulated.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from xbehavior.errors import DataError

#: bundled dataset name -> (folder, main file)
BUNDLED: dict[str, tuple[str, str]] = {
    "online_retail": ("uci_online_retail", "online_retail.parquet"),
    "online_shoppers": ("online_shoppers_intention", "online_shoppers_intention.csv"),
    "rees46": ("rees46_window", "2019-Oct_20191001_0000-0250UTC.csv"),
    "eshop_clickstream": ("eshop_clickstream_2008", "e-shop_clothing_2008.csv.gz"),
    "dunnhumby": ("dunnhumby_complete_journey", "transactions.parquet"),
    "olist": ("olist_marketing_funnel", "olist_marketing_qualified_leads_dataset.csv"),
}


def data_dir(name: str) -> Path:
    """Folder of a bundled dataset (holds its files and ``SOURCE.md``)."""
    if name not in BUNDLED:
        known = ", ".join(sorted(BUNDLED))
        raise DataError(f"unknown dataset {name!r}: choose one of {known}")
    folder = resources.files("xbehavior.datasets") / "data" / BUNDLED[name][0]
    return Path(str(folder))


def data_path(name: str, filename: str | None = None) -> Path:
    """Path of a bundled dataset's main file, or of ``filename`` in its folder."""
    return data_dir(name) / (filename or BUNDLED[name][1])


def load_online_retail() -> pd.DataFrame:
    """UCI Online Retail (#352): 541,909 invoice lines of a UK online retailer, 38 countries.

    2010-12-01 to 2011-12-09; columns InvoiceNo, StockCode, Description, Quantity,
    InvoiceDate, UnitPrice, CustomerID, Country. CC BY 4.0, Chen et al. (2012).
    Raw as published: cancellations (``C`` invoices), duplicates and missing ids included.
    """
    return pd.read_parquet(data_path("online_retail"))


def load_online_shoppers() -> pd.DataFrame:
    """UCI Online Shoppers Purchasing Intention (#468): 12,330 sessions, label ``Revenue``.

    CC BY 4.0, Sakar et al. (2019).
    """
    return pd.read_csv(data_path("online_shoppers"))


def load_rees46() -> pd.DataFrame:
    """REES46 multi-category store, every event of 2019-10-01 00:00-02:50 UTC (17,424 rows).

    view / cart / purchase events with user and session ids; attribution to REES46 required.
    """
    return pd.read_csv(data_path("rees46"), dtype={"category_id": "string"})


def load_eshop_clickstream() -> pd.DataFrame:
    """UCI e-shop clothing 2008 (#553): 165,474 product-page clicks in 24,026 sessions.

    47 country codes, April-August 2008, no purchase events. CC BY 4.0.
    """
    return pd.read_csv(data_path("eshop_clickstream"), sep=";")


def load_dunnhumby(table: str = "transactions") -> pd.DataFrame:
    """84.51°/dunnhumby The Complete Journey: one table (transactions, products, coupons,
    coupon_redemptions, campaigns, campaign_descriptions, demographics).

    2,469 US households, one year of grocery baskets (dates re-based upstream).
    """
    return pd.read_parquet(data_path("dunnhumby", f"{table}.parquet"))


def load_olist(table: str = "leads") -> pd.DataFrame:
    """Olist marketing funnel: ``leads`` (8,000 MQLs) or ``deals`` (842 closed deals)."""
    files = {
        "leads": "olist_marketing_qualified_leads_dataset.csv",
        "deals": "olist_closed_deals_dataset.csv",
    }
    return pd.read_csv(data_path("olist", files[table]))
