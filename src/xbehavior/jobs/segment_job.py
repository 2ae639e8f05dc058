"""``xbehavior segment``: segment a log's customers without training sequence models.

Customers are described at a cut-off H days before the log ends (H = the dataset's label
horizon of the main job, data_prep.REPURCHASE_DATASETS), by the same aggregated features the
main job uses, from history before the cut-off only; "converted" in the profiles = purchased
within the H days after it (the main job's test outcome). Every clusterer is fitted and
scored, then again month by month over the first six full calendar months. No sequence model
is trained here, so the "<model>+kmeans" rows need ``xbehavior run`` (the report says so).
Writes ``segment_metrics.csv``, ``segment_monthly.csv``, ``segment_profiles.csv``,
``segments.parquet``, ``data_quality.json`` (the ingest record: rows read = kept + dropped by
reason, also a table in the report) and ``segments.html`` to ``out``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from xbehavior.atomic import write_text, write_with
from xbehavior.engine import DuckDBEngine
from xbehavior.errors import DataError
from xbehavior.features import TABULAR_FEATURES, build_examples
from xbehavior.features.monthly import monthly_user_features
from xbehavior.features.user_attributes import main_attribute
from xbehavior.ingest import DataQuality, ingest_dataset
from xbehavior.jobs.data_prep import REPURCHASE_DATASETS, orders_or_explain
from xbehavior.jobs.segment_events import (
    EVENT_LOG_DESCRIBED,
    check_n_clusters,
    segment_event_log,
)
from xbehavior.report import Section, render_report
from xbehavior.segments.config import segment_config
from xbehavior.segments.plots import metric_heatmaps
from xbehavior.segments.segment import SegmentationResult, monthly_metrics, segment_users

ORDER_LOGS = ("online_retail", "dunnhumby")

#: stated in the report: this command trains no sequence model
NO_EMBEDDINGS = ("No sequence model is trained by 'xbehavior segment', so there are no "
                 "'<model>+kmeans' (embedding) rows here: run 'xbehavior run' for them.")


def run_segmentation(
    dataset: str, out: Path, input: Path | None = None, n_clusters: int | None = None,
    seed: int = 0,
) -> SegmentationResult:
    if dataset not in ORDER_LOGS:  # a clickstream log: users described by user_features
        result, monthly, quality = segment_event_log(dataset, input, n_clusters, seed)
        _write(out, dataset, result, monthly, quality, EVENT_LOG_DESCRIBED)
        return result
    engine = DuckDBEngine()
    quality = ingest_dataset(engine, dataset, input)
    orders_or_explain(engine, quality, dataset)
    span = engine.sql("SELECT min(ts) AS first, max(ts) AS last FROM orders").iloc[0]
    cutoff, horizon, described = _cutoff(dataset, pd.Timestamp(span["last"]))
    customers = build_examples(
        engine, pd.DataFrame({"cutoff": [cutoff], "split": ["all"]}), horizon
    ).set_index("user_id")
    if customers.empty:
        raise DataError(f"{dataset}: no customer has a purchase before the cut-off "
                        f"{cutoff:%Y-%m-%d}; the log is shorter than the {horizon}-day outcome "
                        "window")
    features = customers[TABULAR_FEATURES]
    check_n_clusters(n_clusters, features)
    cfg = segment_config(n_clusters=n_clusters, seed=seed)
    result = segment_users(
        features, None, features["orders_per_month"], cfg,
        converted=customers["label"].astype(bool),
        country=customers["country"],
        device=main_attribute(engine, "device", cutoff),
        category=main_attribute(engine, "category", cutoff),
    )
    first_full = pd.Timestamp(span["first"]).to_period("M").to_timestamp() + pd.DateOffset(
        months=1)
    months = monthly_user_features(engine, first_full, n_months=6)
    monthly = monthly_metrics(months, cfg)
    _write(out, dataset, result, monthly, quality, described)
    return result


def _cutoff(dataset: str, last: pd.Timestamp) -> tuple[pd.Timestamp, int, str]:
    """(cut-off, outcome horizon in days, sentence for the report) for an order log ending at
    ``last``: H days before its last day, floored to the day (as the main job's test cut-off)."""
    horizon = REPURCHASE_DATASETS[dataset]
    cutoff = (last - pd.Timedelta(days=horizon)).floor("D")
    return cutoff, horizon, (
        f"Customers described by their history before {cutoff:%Y-%m-%d} ({horizon} days "
        f"before the log ends); 'converted' = purchased within the {horizon} days after it. "
        "Month by month, a month's customers are those with a purchase in that month or the "
        "two before it, described by those three months."
    )


def quality_table(quality: DataQuality) -> pd.DataFrame:
    """The ingest record as rows (item, rows): read, kept, each drop reason, each flag."""
    rows = [("rows read", quality.rows_read), ("rows kept", quality.rows_kept)]
    rows += [(f"dropped: {r}", n) for r, n in sorted(quality.dropped.items())]
    rows += [(f"kept, flagged: {f}", n) for f, n in sorted(quality.notes.items())]
    return pd.DataFrame(rows, columns=["item", "rows"])


def _write(out: Path, dataset: str, result: SegmentationResult, monthly: pd.DataFrame,
           quality: DataQuality, described: str = "") -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "data_quality.json", json.dumps(quality.to_dict(), indent=2))
    write_with(out / "segment_metrics.csv", lambda p: result.metrics.to_csv(p, index=False))
    write_with(out / "segment_monthly.csv", lambda p: monthly.to_csv(p, index=False))
    write_with(out / "segment_profiles.csv", lambda p: result.profiles.to_csv(p, index=False))
    write_with(out / "segments.parquet",
               lambda p: result.labels.reset_index().to_parquet(p, index=False))
    tables = [("Clustering metrics", result.metrics),
              ("The paper's segment table on this data", result.paper_table),
              ("Segment profiles", result.profiles),
              ("Month by month", monthly)]
    # an empty table is said in words, not drawn as a bare caption
    empty = [f"{title}: not available for this log (it needs orders per calendar month)."
             for title, table in tables if not len(table)]
    section = Section(
        "Segments",
        paragraphs=[
            *([described] if described else []),
            *empty,
            "Aggregated features, log-transformed and standardised: the shared space in which "
            "every method's silhouette and DBI are computed. ARI 'rule_based' compares with the "
            "paper's frequent / occasional / window-shopper rule; stability is the mean "
            "pairwise ARI over seeds and bootstrap resamples. See docs/SEGMENTS.md for every "
            "rule.",
            NO_EMBEDDINGS,
        ],
        tables=[(title, table) for title, table in tables if len(table)],
        figures=list(metric_heatmaps(monthly).values()) if len(monthly) else [],
    )
    source = Section("Data quality", paragraphs=[
        f"What ingest did to {quality.source}: rows read = kept + dropped by reason; flagged "
        "rows are kept."], tables=[("Ingest", quality_table(quality))])
    render_report(f"xbehavior segments: {dataset}", f"{len(result.labels):,} customers",
                  [section, source], out / "segments.html")
