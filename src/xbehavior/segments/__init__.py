"""Segments stage: cluster users, score the clusterings honestly, profile the segments.

Entry points: :func:`segment_users` (one period) and :func:`monthly_metrics` (per calendar
month); drawing lives in :mod:`xbehavior.segments.plots`. See docs/SEGMENTS.md for every rule.
"""

from xbehavior.segments.clusterers import (
    AgglomerativeClusterer,
    DBSCANClusterer,
    GaussianMixtureClusterer,
    HDBSCANClusterer,
    KMeansClusterer,
    choose_k,
    kdistance_knee,
)
from xbehavior.segments.config import PAPER_RULE_THRESHOLDS, SegmentConfig
from xbehavior.segments.metrics import ari, cluster_quality, stability_ari, stratified_sample
from xbehavior.segments.profiles import paper_segment_table, segment_profiles
from xbehavior.segments.rules import RULE_SEGMENTS, rule_based_segments
from xbehavior.segments.segment import SegmentationResult, monthly_metrics, segment_users
from xbehavior.segments.space import embedding_space, shared_space

__all__ = [
    "PAPER_RULE_THRESHOLDS",
    "RULE_SEGMENTS",
    "AgglomerativeClusterer",
    "DBSCANClusterer",
    "GaussianMixtureClusterer",
    "HDBSCANClusterer",
    "KMeansClusterer",
    "SegmentConfig",
    "SegmentationResult",
    "ari",
    "choose_k",
    "cluster_quality",
    "embedding_space",
    "kdistance_knee",
    "monthly_metrics",
    "paper_segment_table",
    "rule_based_segments",
    "segment_profiles",
    "segment_users",
    "shared_space",
    "stability_ari",
    "stratified_sample",
]
