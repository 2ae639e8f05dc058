"""examples/make_online_retail_example.py + online_retail_mapping.yaml: the bundled Online
Retail log exported as another shop's order lines ingests through the mapping, with
cancellations netted as returns and stock adjustments dropped and counted."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from xbehavior.datasets import data_path
from xbehavior.ingest import ingest_file, load_mapping

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _script():
    spec = importlib.util.spec_from_file_location(
        "make_online_retail_example", EXAMPLES / "make_online_retail_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_export_ingests_through_its_mapping(engine, tmp_path):
    out = tmp_path / "orders.csv"
    _script().write_example(out, customers=60)
    raw = pd.read_csv(out, dtype=str)
    assert set(raw.columns) >= {"Invoice", "Document type", "Customer ID", "InvoiceDate"}
    assert raw["Customer ID"].nunique() == 60 and not raw["Customer ID"].str.contains(r"\.").any()
    source = pd.read_parquet(data_path("online_retail"))
    first = sorted(source["CustomerID"].dropna().unique())[:60]
    assert len(raw) == source["CustomerID"].isin(first).sum()  # every row, nothing cleaned

    quality = ingest_file(engine, out, load_mapping(EXAMPLES / "online_retail_mapping.yaml"))
    quality.check_balanced()
    quantity = raw["Quantity"].astype(int)
    adjustments = ((quantity < 0) & (raw["Document type"] == "Invoice")).sum()
    assert quality.dropped.get("negative_quantity", 0) == adjustments
    events = engine.sql("SELECT user_id, event_type, revenue, ts FROM events")
    returns = events[events["event_type"] == "return"]
    assert len(returns) == (raw["Document type"] == "Credit note").sum() > 0
    assert (returns["revenue"] <= 0).all()
    assert events["user_id"].nunique() == 60
    assert str(events["ts"].min()) == str(pd.Timestamp(
        source.loc[source["CustomerID"].isin(first), "InvoiceDate"].min()))
