"""Main entry of the segments stage: fit every clusterer, score it honestly, profile segments.

Scoring, for every method (see metrics.py and docs/SEGMENTS.md):
- ``silhouette_shared`` / ``dbi_shared``: in the ONE shared space, the standardised signed-log
  behaviour features (space.py), whatever space the method clustered in;
- ``silhouette_own`` / ``dbi_own``: in the method's own space (the same shared space for the
  behaviour clusterers; the standardised embedding for "<model>+kmeans");
- ``ari_rule_based``: against the paper's frequent / occasional / window rule (rules.py);
- ``ari_planted``: against planted truth, only when ``truth`` is given (the simulator);
- ``ari_stability_seeds`` / ``ari_stability_bootstrap``: mean pairwise ARI of refits on a seeded
  subsample of ``cfg.stability_sample`` users.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from xbehavior.errors import DataError
from xbehavior.segments.clusterers import (
    AgglomerativeClusterer,
    DBSCANClusterer,
    GaussianMixtureClusterer,
    HDBSCANClusterer,
    KMeansClusterer,
    sample_rows,
)
from xbehavior.segments.config import SegmentConfig
from xbehavior.segments.metrics import ari, cluster_quality, stability_ari
from xbehavior.segments.profiles import paper_segment_table, segment_profiles
from xbehavior.segments.rules import rule_based_segments
from xbehavior.segments.space import embedding_space, shared_space

SHARED_SPACE = "behaviour: standardised signed-log features"
#: in ``note`` whenever a method labelled some users noise (-1)
NOISE_NOTE = "noise points excluded from silhouette/DBI"

METRIC_COLUMNS = [
    "algorithm", "space", "n_users", "n_clusters", "noise_fraction",
    "silhouette_shared", "dbi_shared", "silhouette_own", "dbi_own",
    "ari_rule_based", "ari_planted", "ari_stability_seeds", "ari_stability_bootstrap", "note",
]  # fmt: skip


@dataclass
class SegmentationResult:
    """What ``segment_users`` returns.

    metrics : one row per algorithm, columns METRIC_COLUMNS (NaN + ``note`` when undefined).
    labels : (n_users, n_algorithms) Int64 frame indexed by user_id; -1 = noise; <NA> = failed.
    profiles : per algorithm and segment (see profiles.segment_profiles) plus ``algorithm``;
        the rule-based segments appear as algorithm ``rule_based``.
    paper_table : the paper's segment table on this data (profiles.paper_segment_table).
    shared_columns : feature columns kept in the shared space.
    """

    metrics: pd.DataFrame
    labels: pd.DataFrame
    profiles: pd.DataFrame
    paper_table: pd.DataFrame
    shared_columns: list[str] = field(default_factory=list)


def make_clusterer(name: str, cfg: SegmentConfig) -> BaseEstimator:
    """The estimator for a behaviour algorithm name (config.BEHAVIOUR_ALGORITHMS) or "kmeans"."""
    k = {"k_min": cfg.k_min, "k_max": cfg.k_max, "selection_sample": cfg.selection_sample}
    seed = cfg.seed
    if name == "kmeans":
        return KMeansClusterer(
            cfg.n_clusters, minibatch_above=cfg.minibatch_above, random_state=seed, **k
        )
    if name == "dbscan":
        return DBSCANClusterer(
            cfg.dbscan_eps, cfg.dbscan_min_samples, cfg.density_max_n, random_state=seed
        )
    if name == "agglomerative":
        return AgglomerativeClusterer(
            cfg.n_clusters, cfg.agglomerative_max_n, cfg.agglomerative_on_large,
            random_state=seed, **k,
        )  # fmt: skip
    if name == "hdbscan":
        return HDBSCANClusterer(cfg.hdbscan_min_cluster_size, cfg.density_max_n, seed)
    if name == "gmm":
        return GaussianMixtureClusterer(cfg.n_clusters, random_state=seed, **k)
    raise DataError(f"segments: unknown algorithm {name!r}")


def segment_users(
    features: pd.DataFrame,
    embeddings: dict[str, np.ndarray] | None = None,
    orders_per_month: pd.Series | None = None,
    cfg: SegmentConfig | None = None,
    *,
    converted: pd.Series | None = None,
    country: pd.Series | None = None,
    device: pd.Series | None = None,
    category: pd.Series | None = None,
    truth: pd.Series | None = None,
) -> SegmentationResult:
    """Segment users with every configured clusterer and with K-means on each embedding.

    features : (n_users, F) numeric, indexed by user_id (unique).
    embeddings : model name -> (n_users, D) array, rows aligned with ``features.index``.
    orders_per_month : purchases / month per user (for the rule-based reference and profiles);
        falls back to ``features["orders_per_month"]`` when None.
    converted, country, device, category : optional per-user Series for the profiles
        (``converted``: bool outcome; the others: the user's country / main device / main
        category).
    truth : optional planted segments (simulator only) -> ``ari_planted``.
    """
    cfg = cfg or SegmentConfig()
    with threadpool_limits(cfg.n_threads):
        attributes = {"country": country, "device": device, "category": category}
        return _segment_users(
            features, embeddings, orders_per_month, cfg, converted, attributes, truth
        )


def _segment_users(features, embeddings, orders_per_month, cfg, converted, attributes, truth):
    """Body of segment_users, run under the configured thread limit."""
    _check_index(features)
    if orders_per_month is None and "orders_per_month" in features:
        orders_per_month = features["orders_per_month"]
    X, kept = shared_space(features)
    rules = (
        rule_based_segments(orders_per_month.reindex(features.index), cfg.rule_thresholds)
        if orders_per_month is not None else None
    )  # fmt: skip
    methods = [(name, SHARED_SPACE, X, make_clusterer(name, cfg)) for name in cfg.algorithms]
    for model, emb in (embeddings or {}).items():
        if len(emb) != len(features):
            raise DataError(
                f"segments: embedding {model!r} has {len(emb)} rows, features {len(features)}"
            )
        own = embedding_space(emb)
        methods.append((f"{model}+kmeans", f"{model} embedding, standardised", own,
                        make_clusterer("kmeans", cfg)))  # fmt: skip
    rows, labels = [], {}
    for name, space, X_own, est in methods:
        row, lab = _evaluate(name, space, est, X, X_own, rules, truth, features.index, cfg)
        rows.append(row)
        labels[name] = lab
    label_frame = pd.DataFrame(labels, index=features.index).astype("Int64")
    profiles = _all_profiles(label_frame, rules, features, orders_per_month, converted,
                             attributes)
    table = (
        paper_segment_table(orders_per_month, features, converted, cfg.rule_thresholds)
        if orders_per_month is not None else pd.DataFrame()
    )  # fmt: skip
    metrics = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    return SegmentationResult(metrics, label_frame, profiles, table, kept)


def _check_index(features: pd.DataFrame) -> None:
    if not features.index.is_unique:
        dup = features.index[features.index.duplicated()][0]
        raise DataError(f"segments: features index must be unique per user; {dup!r} repeats")


def _evaluate(name, space, est, X, X_own, rules, truth, index, cfg):
    """Fit one method and return (metrics row dict, labels array or all-NA)."""
    row = dict.fromkeys(METRIC_COLUMNS, math.nan)
    row.update(algorithm=name, space=space, n_users=len(X), note="")
    try:
        labels = est.fit(X_own).labels_
    except (DataError, ValueError) as err:  # e.g. agglomerative refusing a large n
        row["note"] = f"not fitted: {err}"
        return row, np.full(len(X), np.nan)
    shared = cluster_quality(X, labels, cfg.silhouette_sample, cfg.seed)
    # behaviour clusterers work in the shared space itself: score once
    own = shared if X_own is X else cluster_quality(X_own, labels, cfg.silhouette_sample, cfg.seed)
    row.update(
        n_clusters=shared["n_clusters"], noise_fraction=shared["noise_fraction"],
        silhouette_shared=shared["silhouette"], dbi_shared=shared["dbi"],
        silhouette_own=own["silhouette"], dbi_own=own["dbi"],
    )  # fmt: skip
    if rules is not None:
        row["ari_rule_based"] = ari(labels, rules.to_numpy())
    if truth is not None:
        row["ari_planted"] = ari(labels, truth.reindex(index).to_numpy())
    notes = [n for n in (shared["note"], getattr(est, "note_", "")) if n]
    if shared["noise_fraction"] > 0:  # say so beside the scores, not only in the docs
        notes.insert(0, NOISE_NOTE)
    if cfg.stability_sample > 0 and len(X_own) >= 4:
        sub = X_own[sample_rows(len(X_own), cfg.stability_sample, cfg.seed)]
        row["ari_stability_seeds"], row["ari_stability_bootstrap"] = stability_ari(
            est, sub, cfg.stability_seeds, cfg.stability_bootstraps, cfg.seed
        )
        if len(sub) < len(X_own):
            notes.append(f"stability on a seeded sample of {len(sub):,}")
    row["note"] = "; ".join(notes)
    return row, labels


def _all_profiles(label_frame, rules, features, orders_per_month, converted, attributes):
    """Profiles of every algorithm's segments and of the rule-based segments, stacked."""
    parts = []
    columns = {name: label_frame[name] for name in label_frame}
    if rules is not None:
        columns["rule_based"] = rules
    for name, seg in columns.items():
        prof = segment_profiles(seg, features, orders_per_month, converted, **attributes)
        parts.append(prof.assign(algorithm=name))
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    return out[["algorithm", *[c for c in out.columns if c != "algorithm"]]]


def monthly_metrics(
    monthly_features: dict[str, pd.DataFrame],
    cfg: SegmentConfig | None = None,
    monthly_orders_per_month: dict[str, pd.Series] | None = None,
    monthly_embeddings: dict[str, dict[str, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """Fit and score every method separately per calendar month.

    monthly_features : month label (e.g. "2011-01") -> per-user features of that month
        (features.monthly: the month's population over a trailing window).
    monthly_orders_per_month : optional, same month keys; without it the month's
        ``orders_per_month`` column is the rule-based reference's input (no column: no ARI).
    monthly_embeddings : optional, month -> {model name: (n_users_of_month, D) array}, rows
        aligned with that month's features; each adds a "<model>+kmeans" row for the month.
    Stability is skipped per month (cost; it is reported on the full period).
    Returns the metrics columns of ``segment_users`` with ``month`` after ``algorithm``.
    """
    cfg = cfg or SegmentConfig()
    per_month = cfg.model_copy(update={"stability_sample": 0})
    parts = []
    for month, feats in monthly_features.items():
        opm = (monthly_orders_per_month or {}).get(month)
        emb = (monthly_embeddings or {}).get(month)
        res = segment_users(feats, emb, opm, per_month)
        parts.append(res.metrics.assign(month=month))
    if not parts:
        return pd.DataFrame(columns=["algorithm", "month", *METRIC_COLUMNS[1:]])
    out = pd.concat(parts, ignore_index=True)
    return out[["algorithm", "month", *METRIC_COLUMNS[1:]]]
