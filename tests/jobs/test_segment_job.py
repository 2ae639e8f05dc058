"""`xbehavior segment` on a real slice of Online Retail."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from xbehavior.cli import app
from xbehavior.datasets import load_online_retail, load_rees46

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
    when = pd.to_datetime(lines["InvoiceDate"])
    cutoff = (when.max() - pd.Timedelta(days=90)).floor("D")  # Online Retail's 90-day horizon
    buys = ~lines["InvoiceNo"].str.startswith("C") & (lines["UnitPrice"] > 0)
    before = set(lines.loc[buys & (when < cutoff), "CustomerID"])
    after = set(lines.loc[buys & (when >= cutoff) & (when < cutoff + pd.Timedelta(days=90)),
                          "CustomerID"])  # fmt: skip
    assert len(labels) == len(before)  # customers with >= 1 purchase before the cut-off
    # "converted" = bought again within 90 days of the cut-off, in every profile
    rules = pd.read_csv(out / "segment_profiles.csv").query("algorithm == 'rule_based'")
    assert rules["n_with_outcome"].sum() == len(before)
    assert rules["n_converted"].sum() == len(before & after)
    assert "heatmap" in (out / "segments.html").read_text()
    # the ingest record: every line of the slice read, kept + dropped by reason = read
    quality = json.loads((out / "data_quality.json").read_text())
    assert quality["rows_read"] == len(lines)
    assert quality["rows_kept"] + sum(quality["dropped_by_reason"].values()) == len(lines)
    assert quality["dropped_by_reason"]["duplicate"] == lines.duplicated().sum()
    assert f"<td>{len(lines)}</td>" in (out / "segments.html").read_text()


def test_segment_refuses_a_log_without_user_ids(tmp_path: Path) -> None:
    result = runner.invoke(app, ["segment", "--dataset", "eshop_clickstream", "--out",
                                 str(tmp_path)])
    assert result.exit_code == 2
    assert "'eshop_clickstream' has no user id (only session ids)" in result.output
    result = runner.invoke(app, ["segment", "--dataset", "olist", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "'olist' is a lead table (one row per marketing lead, no purchases)" in result.output


def test_segment_rees46_on_user_features(tmp_path: Path) -> None:
    out = tmp_path / "seg"
    result = runner.invoke(app, ["segment", "--dataset", "rees46", "--out", str(out),
                                 "--n-clusters", "3"])
    assert result.exit_code == 0, result.output
    raw = load_rees46().drop_duplicates()  # ingest drops the 5 exact duplicates
    labels = pd.read_parquet(out / "segments.parquet")
    assert sorted(labels["user_id"]) == sorted(raw["user_id"].astype(str).unique())  # 4,501
    metrics = pd.read_csv(out / "segment_metrics.csv").set_index("algorithm")
    assert metrics.loc["kmeans", "n_clusters"] == 3 and metrics["n_users"].eq(4_501).all()
    assert metrics["ari_rule_based"].isna().all()  # no orders per month on a 3-hour window
    # "converted" = bought within the window
    buyers = raw.loc[raw["event_type"] == "purchase", "user_id"].nunique()
    kmeans = pd.read_csv(out / "segment_profiles.csv").query("algorithm == 'kmeans'")
    assert kmeans["n_with_outcome"].sum() == 4_501 and kmeans["n_converted"].sum() == buyers
    # clustered on browsing, not on purchases: no segment is all buyers or all non-buyers
    # (on purchase features k-means split 193 buyers, conversion 1.0, from the rest)
    share = kmeans["n_converted"] / kmeans["n_with_outcome"]
    assert share.between(0, 1, inclusive="neither").all(), share.tolist()
    assert pd.read_csv(out / "segment_monthly.csv").empty
    assert "user_features" in (out / "segments.html").read_text()
    # SOURCE.md: 17,424 events, 5 exact duplicates
    quality = json.loads((out / "data_quality.json").read_text())
    assert (quality["rows_read"], quality["rows_kept"], quality["dropped_by_reason"]) == (
        17_424, 17_419, {"duplicate": 5})
