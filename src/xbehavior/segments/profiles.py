"""Segment profiles: who is in each segment, with denominators beside every rate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xbehavior.segments.config import PAPER_RULE_THRESHOLDS
from xbehavior.segments.rules import RULE_SEGMENTS, rule_based_segments


def segment_profiles(
    segments: pd.Series,
    features: pd.DataFrame,
    orders_per_month: pd.Series | None = None,
    converted: pd.Series | None = None,
    country: pd.Series | None = None,
    top_n: int = 3,
    *,
    device: pd.Series | None = None,
    category: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per segment.

    segments : label per user (index user_id); missing labels are left out; -1 is "noise".
    features : per-user frame; ``avg_order_value`` and ``monetary`` columns used when present.
    converted : optional bool per user; conversion_rate = n_converted / n_with_outcome.
    country, device, category : optional value per user (e.g. the user's main device);
        top_countries / top_devices / top_categories = "name share%; ... (n=...)" of the top_n,
        "" when not given.
    Returns columns: segment, n_users, share (of labelled users), orders_per_month (mean),
    avg_order_value (mean of per-user values), monetary (mean), n_with_outcome, n_converted,
    conversion_rate, top_countries, top_devices, top_categories. Means are per user; NaN where
    the input is absent.
    """
    seg = segments.dropna()
    seg = seg.astype(str).replace({"-1": "noise"})
    frame = pd.DataFrame({"segment": seg})
    frame["orders_per_month"] = _aligned(orders_per_month, seg.index)
    for col in ("avg_order_value", "monetary"):
        frame[col] = _aligned(features.get(col), seg.index)
    frame["converted"] = _aligned(converted, seg.index)
    grouped = frame.groupby("segment", sort=True)
    out = pd.DataFrame({"n_users": grouped.size()})
    out["share"] = out["n_users"] / out["n_users"].sum()
    for col in ("orders_per_month", "avg_order_value", "monetary"):
        out[col] = grouped[col].mean()
    out["n_with_outcome"] = grouped["converted"].count()
    out["n_converted"] = grouped["converted"].sum()
    out["conversion_rate"] = out["n_converted"] / out["n_with_outcome"].replace(0, np.nan)
    if converted is None:
        out[["n_with_outcome", "n_converted"]] = np.nan
    for column, values in (("top_countries", country), ("top_devices", device),
                           ("top_categories", category)):  # fmt: skip
        out[column] = _top_values(seg, values, top_n) if values is not None else ""
    return out.reset_index()


def _aligned(values: pd.Series | None, index: pd.Index) -> np.ndarray:
    """values re-indexed to ``index`` as float (NaN where absent)."""
    if values is None:
        return np.full(len(index), np.nan)
    return pd.to_numeric(values.reindex(index), errors="coerce").to_numpy(dtype="float64")


def _top_values(seg: pd.Series, values: pd.Series, top_n: int) -> pd.Series:
    """Per segment, "value share%; ..." for the top_n values by users (denominator: users of
    the segment with a known value; ties: alphabetical). Segments with none known get ""."""
    pairs = pd.DataFrame({"segment": seg, "value": values.reindex(seg.index)}).dropna()
    texts = {}
    for name, group in pairs.groupby("segment"):
        counts = group["value"].value_counts()
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:top_n]
        texts[name] = "; ".join(f"{v} {c / len(group):.0%}" for v, c in ranked) + (
            f" (n={len(group)})"
        )
    return pd.Series(texts, dtype="string").reindex(sorted(set(seg))).fillna("")


def paper_segment_table(
    orders_per_month: pd.Series,
    features: pd.DataFrame,
    converted: pd.Series | None = None,
    thresholds: tuple[float, float] = PAPER_RULE_THRESHOLDS,
) -> pd.DataFrame:
    """The paper's segment table computed on the data given (see rules.py for the thresholds).

    Returns one row per segment, frequent first: segment, n_users, share,
    purchase_frequency_per_month, avg_purchase_value, monetary, n_with_outcome, n_converted,
    conversion_rate.
    """
    segs = rule_based_segments(orders_per_month, thresholds)
    prof = segment_profiles(segs, features, orders_per_month, converted)
    prof = prof.set_index("segment").reindex(list(reversed(RULE_SEGMENTS))).reset_index()
    prof["n_users"] = prof["n_users"].fillna(0).astype("int64")
    prof = prof.drop(columns=["top_countries", "top_devices", "top_categories"])
    return prof.rename(
        columns={
            "orders_per_month": "purchase_frequency_per_month",
            "avg_order_value": "avg_purchase_value",
        }
    )
