"""The main job's analysis steps: segmentation and conversion insights on held-out users.

Segments and insights are drawn from the test cut-off: one row per customer active before
it, features from history only, outcome = purchase within the horizon after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xbehavior.config import RunConfig
from xbehavior.engine import Engine
from xbehavior.errors import XBehaviorError
from xbehavior.features import TABULAR_FEATURES
from xbehavior.features.monthly import monthly_sequences, monthly_user_features
from xbehavior.features.user_attributes import main_attribute
from xbehavior.insights.findings import Finding, make_findings
from xbehavior.insights.importance import (
    compare_importance,
    integrated_gradients_importance,
    lightgbm_shap_importance,
    sequence_permutation_importance,
    tabular_permutation_importance,
)
from xbehavior.insights.stats import rate_table
from xbehavior.insights.targeting import ab_sample_size, gain_table, targeting_table
from xbehavior.jobs.data_prep import PreparedData
from xbehavior.jobs.modelling import ModelResult, best_on_validation
from xbehavior.segments.config import SegmentConfig
from xbehavior.segments.rules import rule_based_segments
from xbehavior.segments.segment import SegmentationResult, monthly_metrics, segment_users


@dataclass
class Importance:
    """Feature importance of every trained model on the test set (see importance_table)."""

    table: pd.DataFrame  # long: model, method, then insights.importance COLUMNS + mean_signed
    comparison: pd.DataFrame  # LSTM vs XLSTM (paper) permutation importance, side by side
    #: per view (IMPORTANCE_VIEWS), one row per feature: each model's value and rank
    views: dict[str, pd.DataFrame]
    seconds: float  # wall time of the whole importance step
    ig_examples: int  # test examples integrated gradients read per sequence model


@dataclass
class Analysis:
    """Tables the report and exports show."""

    users: pd.DataFrame  # test customers: user_id, country, label, scores, segments
    segmentation: SegmentationResult
    monthly: pd.DataFrame
    rates: dict[str, pd.DataFrame]  # property -> repurchase rate table (RATE_KEYS)
    order_returns: pd.DataFrame  # cancellation share of orders by country
    gains: pd.DataFrame
    targeting: pd.DataFrame
    findings: list[Finding]
    best_model: str
    importance: Importance  # every model's importance on the test set
    ab_plan: pd.DataFrame  # customers per arm to test a treatment, by segment


def test_users(data: PreparedData, results: list[ModelResult]) -> pd.DataFrame:
    """One row per test example with each model's score (column ``score_<model>``)."""
    test = data.examples[data.split("test")].reset_index(drop=True)
    users = test[["user_id", "cutoff", "country", "label", *TABULAR_FEATURES]].copy()
    for r in results:
        users[f"score_{r.name}"] = r.test_proba
    return users


def segment(
    engine: Engine, data: PreparedData, users: pd.DataFrame, results: list[ModelResult],
    cfg: RunConfig,
) -> tuple[SegmentationResult, pd.DataFrame]:
    """Cluster test customers on behaviour features and on each sequence model's embedding.

    Converted = purchased within the horizon after the test cut-off (the test label). Month by
    month, each month's customers are embedded by every trained sequence model from their
    orders before the month's end (features.monthly), so "<model>+kmeans" has a row per month.
    """
    seg_cfg = SegmentConfig(n_clusters=cfg.n_clusters, seed=cfg.seed)
    sequence_models = [r for r in results if r.kind == "sequence"]
    test_seq = data.sequences.subset(data.split("test"))
    embeddings = {r.name: r.fitted.embed(test_seq) for r in sequence_models}
    features = users.set_index("user_id")[TABULAR_FEATURES]
    result = segment_users(
        features, embeddings, features["orders_per_month"], seg_cfg,
        converted=users.set_index("user_id")["label"].astype(bool),
        country=users.set_index("user_id")["country"],
        device=main_attribute(engine, "device", data.plan.test),
        category=main_attribute(engine, "category", data.plan.test),
    )
    months = monthly_user_features(engine, _first_full_month(engine), n_months=6)
    sequences = monthly_sequences(engine, months, data.sequences.vocabulary, cfg.max_len)
    month_embeddings = {
        month: {r.name: r.fitted.embed(seq) for r in sequence_models}
        for month, seq in sequences.items()
    }
    monthly = monthly_metrics(months, seg_cfg, monthly_embeddings=month_embeddings)
    return result, monthly


def _first_full_month(engine: Engine) -> pd.Timestamp:
    """The first calendar month after the log's first month (its first month may be partial)."""
    first = pd.Timestamp(engine.sql("SELECT min(ts) AS t FROM orders")["t"].iloc[0])
    return first.to_period("M").to_timestamp() + pd.DateOffset(months=1)


def analyse(
    engine: Engine, data: PreparedData, results: list[ModelResult], cfg: RunConfig,
    on_segmented: Callable[[SegmentationResult], None] | None = None,
) -> Analysis:
    """Segments, then rates, gains, targeting, findings and importance, for the test
    customers; ``on_segmented`` is called between the two (the main job's progress line)."""
    users = test_users(data, results)
    segmentation, monthly = segment(engine, data, users, results, cfg)
    if on_segmented is not None:
        on_segmented(segmentation)
    main_algo = _main_segmentation(segmentation)
    clusters = segmentation.labels[main_algo].reindex(users["user_id"]).to_numpy()
    users["segment"] = describe_clusters(users, pd.Series(clusters, index=users.index),
                                         main_algo)
    best = best_on_validation(results, data.labels("val"))
    users["score"] = users[f"score_{best.name}"]
    users["converted"] = users["label"].astype(bool)
    users = add_bands(users, segmentation)
    rates = {key: rate_table(users, key, "converted", min_count=20) for key in RATE_KEYS}
    gains = gain_table(users["label"].to_numpy(), users["score"].to_numpy())
    targeting = targeting_table(users, "score", ("segment", "country"), 0.10, "label")
    what = f"Repurchase within {data.plan.horizon_days} days"
    tables = {key: (table, key, what) for key, table in rates.items()}
    returns = order_return_rates(engine, data.plan.test)
    tables["order_country"] = (returns, "country", "Share of orders cancelled")
    findings = make_findings(tables)
    importance = importance_table(data, results, cfg.seed)
    return Analysis(users, segmentation, monthly, rates, returns, gains, targeting,
                    findings, best.name, importance, ab_plan(rates["segment"]))


def ab_plan(by_segment: pd.DataFrame, uplifts: tuple[float, ...] = (0.05, 0.10, 0.20)
            ) -> pd.DataFrame:
    """Customers per arm needed to detect a relative uplift of each segment's repurchase rate
    (two-sided alpha 0.05, power 0.8), next to how many customers the segment has."""
    rows = []
    for _, seg in by_segment.iterrows():
        row = {"segment": seg["segment"], "customers": int(seg["n"]),
               "base_rate": float(seg["rate"])}
        for uplift in uplifts:
            try:
                row[f"per_arm_for_+{uplift:.0%}"] = ab_sample_size(float(seg["rate"]), uplift)
            except XBehaviorError:  # rate 0, or the uplifted rate would pass 100%
                row[f"per_arm_for_+{uplift:.0%}"] = None
        rows.append(row)
    return pd.DataFrame(rows)


#: models whose feature importance the report sets side by side (the paper's comparison)
IMPORTANCE_MODELS = ("lstm", "xlstm_paper")
#: test examples (seeded subsample) integrated gradients reads per sequence model; IG costs
#: ~2·steps forward passes per example, the rest of the step reads the whole test set
IG_EXAMPLES = 500
#: shuffles per feature in permutation importance
PERMUTATION_REPEATS = 3


def importance_table(data: PreparedData, results: list[ModelResult], seed: int) -> Importance:
    """Every trained model's feature importance on the test set, as one long table.

    Methods (column ``method``): ``permutation`` (drop in test ROC-AUC) for every model;
    ``integrated_gradients`` (mean |IG| in logit units, on IG_EXAMPLES test examples) for
    sequence models; ``tree_shap`` (mean |SHAP| in log-odds) for LightGBM. base_rate is
    skipped: its score is constant, so every importance is 0 by construction.
    """
    start = time.perf_counter()
    test = data.split("test")
    seq, X = data.sequences.subset(test), data.tabular[test]
    y = data.examples.loc[test, "label"].to_numpy()
    ig_rows = np.sort(np.random.default_rng(seed).permutation(len(seq))[:IG_EXAMPLES])
    ig_seq = seq.subset(ig_rows)
    parts = []
    for r in results:
        if r.name == "base_rate":
            continue
        if r.kind == "sequence":
            methods = {"permutation": sequence_permutation_importance(
                r.fitted, seq, n_repeats=PERMUTATION_REPEATS, seed=seed),
                "integrated_gradients": integrated_gradients_importance(r.fitted, ig_seq)}
        else:
            methods = {"permutation": tabular_permutation_importance(
                r.fitted, X, y, n_repeats=PERMUTATION_REPEATS, seed=seed)}
            if r.name == "lightgbm":
                methods["tree_shap"] = lightgbm_shap_importance(r.fitted, X, y)
        parts += [t.assign(model=r.name, method=m) for m, t in methods.items()]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if len(table):
        table = table[["model", "method", *table.columns.drop(["model", "method"])]]
    views = {v: _side_by_side(table, m, k) for v, (m, k) in IMPORTANCE_VIEWS.items()}
    return Importance(table, _side_by_side(table, "permutation", None, IMPORTANCE_MODELS),
                      views, time.perf_counter() - start, len(ig_seq))


#: side-by-side views of the long table: name -> (method, model kind or None for any)
IMPORTANCE_VIEWS = {
    "permutation_sequence": ("permutation", "sequence"),
    "permutation_tabular": ("permutation", "tabular"),
    "integrated_gradients": ("integrated_gradients", "sequence"),
}


def _side_by_side(table: pd.DataFrame, method: str, kind: str | None,
                  models: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per feature, ``<model>`` and ``<model>_rank`` columns for one method; features
    of one model kind (step/context for sequence, column for tabular) so ranks align. Empty
    when a required model (``models``) or every model is missing."""
    if table.empty:
        return pd.DataFrame()
    rows = table[table["method"] == method]
    if kind is not None:
        rows = rows[(rows["kind"] == "column") == (kind == "tabular")]
    names = models or tuple(dict.fromkeys(rows["model"]))
    tables = {m: rows[rows["model"] == m] for m in names}
    if not tables or any(t.empty for t in tables.values()):
        return pd.DataFrame()
    return compare_importance(tables)


#: customer properties whose repurchase rates the report tabulates
RATE_KEYS = ("country", "segment", "paper_segment", "orders_before", "days_since_last_order",
             "returned_before")


def add_bands(users: pd.DataFrame, segmentation: SegmentationResult) -> pd.DataFrame:
    """Readable bands of history features, for rate tables (history only: no leakage)."""
    out = users.copy()
    out["orders_before"] = pd.cut(
        out["frequency"], [0, 1, 3, 9, np.inf], labels=["1", "2-3", "4-9", "10+"]
    ).astype("string")
    out["days_since_last_order"] = pd.cut(
        out["recency_days"], [-np.inf, 30, 90, 180, np.inf],
        labels=["<30", "30-90", "90-180", ">180"],
    ).astype("string")
    out["returned_before"] = np.where(out["n_returns"] > 0, "yes", "no")
    rules = rule_based_segments(out["orders_per_month"], SegmentConfig().rule_thresholds)
    out["paper_segment"] = rules.to_numpy()
    return out


def order_return_rates(engine: Engine, before: pd.Timestamp) -> pd.DataFrame:
    """Share of a country's orders that are cancellations, over the history before ``before``."""
    orders = engine.sql(
        f"SELECT country, is_return FROM orders WHERE ts < TIMESTAMP '{before}'"
    )
    return rate_table(orders, "country", "is_return", min_count=100)


def describe_clusters(users: pd.DataFrame, clusters: pd.Series, algorithm: str) -> pd.Series:
    """Readable segment names: the cluster's median orders per month and order value.

    e.g. "kmeans #1: 0.9 orders/mo, AOV 410"; noise (-1) is named as such.
    """
    names = {}
    for cluster, members in users.groupby(clusters.to_numpy()):
        if cluster == -1:
            names[cluster] = f"{algorithm} noise"
            continue
        opm = members["orders_per_month"].median()
        aov = members["avg_order_value"].median()
        names[cluster] = f"{algorithm} #{cluster}: {opm:.1f} orders/mo, AOV {aov:,.0f}"
    return clusters.map(names).astype("string")


def _main_segmentation(result: SegmentationResult) -> str:
    """The segmentation shown per user: the best shared-space silhouette among K-means runs."""
    kmeans = result.metrics[result.metrics["algorithm"].str.contains("kmeans")]
    ranked = kmeans.dropna(subset=["silhouette_shared"])
    if ranked.empty:
        return "kmeans"
    return str(ranked.sort_values("silhouette_shared", ascending=False)["algorithm"].iloc[0])


def decile(scores: pd.Series) -> pd.Series:
    """Score decile, 1 = the highest-scored tenth."""
    ranks = scores.rank(method="first", ascending=False)
    return (np.ceil(10 * ranks / len(scores))).astype(int)
