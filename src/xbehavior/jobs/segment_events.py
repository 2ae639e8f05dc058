"""``xbehavior segment`` for clickstream event logs: users described by ``user_features``.

Order-line logs (Online Retail, dunnhumby) are segmented on their order history in
``segment_job``; an event log with user ids (REES46) is sessionised and each user is
described by the behaviour features of ``features.user_features`` over the whole log.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from xbehavior.engine import DuckDBEngine
from xbehavior.errors import DataError
from xbehavior.features.sessions import sessionise
from xbehavior.features.user_features import user_features
from xbehavior.ingest import DataQuality, ingest_dataset
from xbehavior.segments.config import segment_config
from xbehavior.segments.segment import SegmentationResult, monthly_metrics, segment_users

#: bundled event logs whose users can be segmented on user_features
EVENT_LOGS = ("rees46",)
#: bundled datasets that cannot be segmented per user, and why
NO_USERS = {
    "eshop_clickstream": "has no user id (only session ids)",
    "online_shoppers": "is a session table without user ids",
    "olist": "is a lead table (one row per marketing lead, no purchases)",
}

#: user_features that count or derive from purchases: clustering on them would split buyers
#: from non-buyers and then report that split back as the segments' conversion
OUTCOME_FEATURES = ("n_purchases", "monetary", "coupon_share", "cart_to_purchase",
                    "browse_without_buying")

#: the report's sentence on how these users are described
EVENT_LOG_DESCRIBED = (
    "Users described by their browsing behaviour over the whole log (features.user_features: "
    "recency, events, sessions, visits per active day, hour-band and weekend shares, "
    "category interest; unavailable and duplicate columns dropped). Features that count "
    "purchases (purchases, monetary, coupon share, cart-to-purchase, browsing without buying) "
    "are left out, so the segments' conversion ('converted' = bought within the log window) "
    "is an outcome of the segments, not what defines them. No month-by-month run: the "
    "monthly features are order-based.")


def behaviour_matrix(features: pd.DataFrame) -> pd.DataFrame:
    """Numeric user_features indexed by user_id, for clustering.

    Dropped: ``OUTCOME_FEATURES``, unavailable features (NULL for everyone) and columns
    identical to an earlier one (on a one-day log sessions / active day = sessions), which
    would count twice.
    """
    numeric = features.set_index("user_id").select_dtypes(include="number")
    dropped = [*OUTCOME_FEATURES, *features.attrs.get("unavailable", {})]
    numeric = numeric.drop(columns=dropped, errors="ignore")
    return numeric.loc[:, ~numeric.T.duplicated().to_numpy()]


def segment_event_log(
    dataset: str, input: Path | None = None, n_clusters: int | None = None, seed: int = 0,
) -> tuple[SegmentationResult, pd.DataFrame, DataQuality]:
    """Segment the users of event log ``dataset`` (bundled copy, or ``input`` in its layout).

    Returns the SegmentationResult, an empty month-by-month frame (the per-month
    features are order-based; see segment_job) and the ingest DataQuality. No rule-based
    reference: it needs orders per month, which a short clickstream window cannot estimate.
    """
    if dataset in NO_USERS:
        raise DataError(f"dataset {dataset!r} {NO_USERS[dataset]}, so its customers cannot be "
                        "segmented; choose online_retail, dunnhumby or rees46")
    engine = DuckDBEngine()
    quality = ingest_dataset(engine, dataset, input)
    sessionise(engine, source=quality.source)
    features = user_features(engine)
    if features.empty:
        raise DataError(f"dataset {dataset!r}: no event has a user id, so there are no "
                        "customers to segment; map a user_id column at ingest")
    by_user = features.set_index("user_id")
    unavailable = features.attrs["unavailable"]

    def attribute(column: str) -> pd.Series | None:
        return None if column in unavailable else by_user[column]

    matrix = behaviour_matrix(features)
    check_n_clusters(n_clusters, matrix)
    cfg = segment_config(n_clusters=n_clusters, seed=seed)
    result = segment_users(matrix, None, None, cfg, converted=by_user["n_purchases"] > 0,
                           country=attribute("modal_country"),
                           device=attribute("modal_device"),
                           category=attribute("top_category"))
    return result, monthly_metrics({}, cfg), quality


def check_n_clusters(n_clusters: int | None, features: pd.DataFrame) -> None:
    """Refuse ``--n-clusters`` above the number of distinct customer rows of ``features``
    (more clusters than distinct points cannot be found)."""
    if n_clusters is None:
        return
    distinct = len(features.drop_duplicates())
    if n_clusters > distinct:
        raise DataError(f"--n-clusters {n_clusters} is more than the {distinct:,} distinct "
                        f"customer profiles ({len(features):,} customers); choose 2 to "
                        f"{distinct:,}, or leave it out to choose k")
