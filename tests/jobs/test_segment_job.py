"""`xbehavior segment` on a real slice of Online Retail."""

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from xbehavior.cli import app
from xbehavior.datasets import load_online_retail

runner = CliRunner()


def test_segment_writes_metrics_heatmaps_and_labels(tmp_path: Path) -> None:
    raw = load_online_retail()
    chosen = np.random.default_rng(3).choice(raw["CustomerID"].dropna().unique(), 400,
                                             replace=False)
    path = tmp_path / "slice.parquet"
    raw[raw["CustomerID"].isin(chosen)].to_parquet(path, index=False)
    out = tmp_path / "seg"
    result = runner.invoke(app, ["segment", "--input", str(path), "--out", str(out),
                                 "--n-clusters", "3"])
    assert result.exit_code == 0, result.output
    metrics = pd.read_csv(out / "segment_metrics.csv")
    assert {"kmeans", "dbscan", "agglomerative"} <= set(metrics["algorithm"])
    kmeans = metrics.set_index("algorithm").loc["kmeans"]
    assert kmeans["n_clusters"] == 3 and -1 <= kmeans["silhouette_shared"] <= 1
    monthly = pd.read_csv(out / "segment_monthly.csv")
    assert sorted(monthly["month"].unique()) == [f"2011-0{m}" for m in range(1, 7)]
    labels = pd.read_parquet(out / "segments.parquet")
    lines = raw[raw["CustomerID"].isin(chosen)]
    buyers = lines[~lines["InvoiceNo"].str.startswith("C") & (lines["UnitPrice"] > 0)]
    assert len(labels) == buyers["CustomerID"].nunique()  # customers with >= 1 purchase
    assert "heatmap" in (out / "segments.html").read_text()


def test_segment_refuses_a_log_without_orders(tmp_path: Path) -> None:
    result = runner.invoke(app, ["segment", "--dataset", "rees46", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no per-customer order history" in result.output
