"""Real data: UCI Online Retail customers (slow: loads 541,909 invoice lines)."""

import numpy as np
import pandas as pd
import pytest

from xbehavior.datasets import load_online_retail
from xbehavior.segments import SegmentConfig, segment_users


def customer_features() -> pd.DataFrame:
    """Per customer with an id: invoices, spend, order value, orders per month since first buy."""
    raw = load_online_retail().dropna(subset=["CustomerID"])
    raw = raw[~raw["InvoiceNo"].str.startswith("C")]  # cancellations are not purchases
    raw = raw.assign(
        ts=pd.to_datetime(raw["InvoiceDate"]),
        user_id=raw["CustomerID"].astype("int64"),
        amount=raw["Quantity"] * raw["UnitPrice"],
    )
    g = raw.groupby("user_id")
    feats = pd.DataFrame({"frequency": g["InvoiceNo"].nunique(), "monetary": g["amount"].sum()})
    feats["avg_order_value"] = feats["monetary"] / feats["frequency"]
    months = (raw["ts"].max() - g["ts"].min()).dt.total_seconds() / 86400 / 30.44
    feats["orders_per_month"] = feats["frequency"] / months.clip(lower=1.0)
    return feats


@pytest.mark.slow
def test_online_retail_segments_run_and_are_labelled():
    feats = customer_features()
    assert len(feats) == 4339
    cfg = SegmentConfig(algorithms=("kmeans", "dbscan"), stability_sample=0)
    res = segment_users(feats, {}, None, cfg)
    m = res.metrics.set_index("algorithm")
    assert m.loc["kmeans", "n_clusters"] >= 2
    assert np.isfinite(m.loc["kmeans", "silhouette_shared"])
    assert res.paper_table["n_users"].sum() == 4339
