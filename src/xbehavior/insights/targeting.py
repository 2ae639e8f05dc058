"""Turning scores into actions: gain / lift tables, targeting table, abandoners, A/B maths.

Scores are predicted purchase probabilities in [0, 1] from any model of the models stage (this
module never imports it: it takes arrays and DataFrames).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from xbehavior.errors import ConfigError, DataError
from xbehavior.insights.descriptive import unit_column
from xbehavior.insights.stats import pool_small, wilson_interval, z_value


def gain_table(y_true: Sequence[int], score: Sequence[float], n_bins: int = 10) -> pd.DataFrame:
    """Cumulative gain and lift by score quantile (bin 1 = highest scores).

    In: labels (0/1) and scores, length N. Units are ranked by score descending (ties keep
    input order) and cut into ``n_bins`` near-equal bins. Out per bin: n, positives, rate,
    cum_share_targeted, cum_positives, cum_gain (share of all positives captured), cum_rate,
    lift (cum_rate / base_rate), base_rate, n_total, positives_total.
    """
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(score, dtype=float)
    if y.shape != s.shape or y.ndim != 1 or len(y) < n_bins:
        raise DataError(f"y_true and score must be 1-D of equal length >= n_bins ({n_bins})")
    order = np.argsort(-s, kind="mergesort")
    bins = np.arange(len(y)) * n_bins // len(y)  # near-equal bins over the ranking
    frame = pd.DataFrame({"bin": bins + 1, "y": y[order]})
    out = frame.groupby("bin")["y"].agg(n="size", positives="sum").reset_index()
    total_pos = out["positives"].sum()
    base = total_pos / len(y)
    out["rate"] = out["positives"] / out["n"]
    out["cum_share_targeted"] = out["n"].cumsum() / len(y)
    out["cum_positives"] = out["positives"].cumsum()
    out["cum_gain"] = out["cum_positives"] / total_pos if total_pos else np.nan
    out["cum_rate"] = out["cum_positives"] / out["n"].cumsum()
    out["lift"] = out["cum_rate"] / base if base else np.nan
    out["base_rate"] = base
    out["n_total"] = len(y)
    out["positives_total"] = int(total_pos)
    return out


def targeting_table(
    units: pd.DataFrame,
    score: str = "score",
    by: Sequence[str] = ("segment", "country"),
    relative_effect: float = 0.10,
    label: str | None = None,
    min_count: int = 30,
) -> pd.DataFrame:
    """Who to target: per group of ``by`` (e.g. segment x country), ranked by extra conversions.

    In: one row per unit with a propensity column ``score`` and the ``by`` columns, optionally
    an observed 0/1 ``label``. ASSUMPTION (shown in column ``assumed_relative_effect``):
    treating a unit multiplies its purchase probability p by (1 + relative_effect), capped at 1,
    so expected_extra = sum(min(p (1 + e), 1) - p). Out columns: by..., n, mean_score,
    expected_conversions, expected_extra, extra_per_1000, assumed_relative_effect, and with a
    label: converters, base_rate (observed rate of the group), overall_base_rate.
    Groups (label combinations) under ``min_count`` units are pooled into "Other".
    """
    if relative_effect <= -1:
        raise ConfigError("relative_effect must be > -1 (a relative change in probability)")
    missing = [c for c in (score, *by) if c not in units.columns]
    if missing:
        raise DataError(f"targeting input lacks column(s) {missing}")
    p = units[score].astype(float).clip(0, 1)
    frame = pd.DataFrame({"_p": p, "_extra": np.minimum(p * (1 + relative_effect), 1) - p})
    combo = units[list(by)].astype("string").fillna("(missing)").agg(" | ".join, axis=1)
    frame["_group"] = pool_small(combo, combo.value_counts(), min_count)
    if label:
        frame["_y"] = units[label].astype(float)
    agg = {
        "n": ("_p", "size"),
        "mean_score": ("_p", "mean"),
        "expected_conversions": ("_p", "sum"),
        "expected_extra": ("_extra", "sum"),
    }
    if label:
        agg |= {"converters": ("_y", "sum"), "base_rate": ("_y", "mean")}
    out = frame.groupby("_group").agg(**agg).reset_index()
    parts = out["_group"].str.split(" | ", regex=False)
    for i, col in enumerate(by):
        out.insert(i, col, parts.str[i].fillna(parts.str[0]))
    out = out.drop(columns="_group")
    out["extra_per_1000"] = 1000 * out["expected_extra"] / out["n"]
    out["assumed_relative_effect"] = relative_effect
    if label:
        out["overall_base_rate"] = frame["_y"].mean()
    return out.sort_values("expected_extra", ascending=False, kind="mergesort").reset_index(
        drop=True
    )


def cart_abandoners(
    events: pd.DataFrame, propensity: pd.Series | None = None, unit: str = "session"
) -> pd.DataFrame:
    """Units that carted and did not purchase at or after their last cart, for reminders.

    In: canonical events; ``propensity`` indexed by unit id (optional). Out: unit id,
    last_cart_ts, cart_events, cart_value (sum of price x quantity over cart events, to the
    cent), country,
    device (first non-null, when present) and propensity; sorted by propensity, then value.
    Per session, ``user_id`` (who to remind) comes right after the session id.
    """
    col = unit_column(unit)
    ev = events[events[col].notna()]
    carts = ev[ev["event_type"] == "cart"]
    last_buy = ev[ev["event_type"] == "purchase"].groupby(col)["ts"].max()
    value = carts["price"].astype(float) * carts["quantity"].fillna(1).astype(float)
    out = (
        carts.assign(_value=value)
        .groupby(col)
        .agg(last_cart_ts=("ts", "max"), cart_events=("ts", "size"), cart_value=("_value", "sum"))
    )
    out["cart_value"] = out["cart_value"].round(2)  # money: cents, not float noise
    bought_after = out.index.map(last_buy).to_series(index=out.index) >= out["last_cart_ts"]
    out = out[~bought_after.fillna(False).astype(bool)]
    props = ("user_id", "country", "device") if col != "user_id" else ("country", "device")
    for prop in props:
        if prop in ev.columns:
            out[prop] = ev.groupby(col)[prop].first().reindex(out.index)
    out["propensity"] = propensity.reindex(out.index) if propensity is not None else np.nan
    out = out.reset_index()
    return out.sort_values(["propensity", "cart_value"], ascending=False, na_position="last")


#: per-session counts of these event types are propensity features
PROPENSITY_EVENT_TYPES = ("view", "cart", "remove_from_cart", "checkout")


def propensity_features(events: pd.DataFrame) -> pd.DataFrame:
    """One row per session, built only from events BEFORE the session's first purchase.

    In: canonical events with session_id, ts, event_type, price (item_id, category, quantity
    optional). Cutting at the first purchase keeps the label out of the features. Out columns:
    session_id, user_id, start_ts, label (1 = the session has a purchase), then the numeric
    features n_events, n_<type> for PROPENSITY_EVENT_TYPES, n_items, n_categories, mean_price,
    max_price (0 when no kept event has a price), cart_value (sum of price x quantity over cart
    events), duration_s (first to last kept event, seconds). Sessions whose first event is a
    purchase keep no event and are left out; their number is in ``attrs['dropped_sessions']``.
    """
    ev = events[events["session_id"].notna()].sort_values(["session_id", "ts"], kind="mergesort")
    is_buy = (ev["event_type"] == "purchase").to_numpy()
    # events at or after the first purchase of their session are dropped (cumulative flag)
    bought_before = pd.Series(is_buy, index=ev.index).groupby(ev["session_id"]).cummax()
    label = pd.Series(is_buy, index=ev.index).groupby(ev["session_id"]).any()
    kept = ev[~bought_before.to_numpy()]
    g = kept.groupby("session_id", sort=True)
    price = kept["price"].astype(float)
    qty = kept["quantity"].astype(float).fillna(1.0) if "quantity" in kept else 1.0
    cart_value = (price * qty).where(kept["event_type"] == "cart", 0.0).fillna(0.0)
    out = pd.DataFrame({
        "user_id": g["user_id"].first(),
        "start_ts": g["ts"].min(),
        "label": label.reindex(g.size().index).astype(int),
        "n_events": g.size(),
    })
    for kind in PROPENSITY_EVENT_TYPES:
        out[f"n_{kind}"] = (kept["event_type"] == kind).groupby(kept["session_id"]).sum()
    for col, name in (("item_id", "n_items"), ("category", "n_categories")):
        out[name] = g[col].nunique() if col in kept else 0
    # a session whose kept events have no price gets 0, not NaN (no NaN reaches a model)
    out["mean_price"] = price.groupby(kept["session_id"]).mean().fillna(0.0)
    out["max_price"] = price.groupby(kept["session_id"]).max().fillna(0.0)
    out["cart_value"] = cart_value.groupby(kept["session_id"]).sum()
    out["duration_s"] = (g["ts"].max() - g["ts"].min()).dt.total_seconds()
    out = out.reset_index()
    out.attrs["dropped_sessions"] = int(label.size - len(out))
    return out


PROPENSITY_FEATURES = ("n_events", *(f"n_{k}" for k in PROPENSITY_EVENT_TYPES), "n_items",
                       "n_categories", "mean_price", "max_price", "cart_value", "duration_s")


def ab_sample_size(
    baseline: float,
    relative_uplift: float,
    alpha: float = 0.05,
    power: float = 0.80,
    two_sided: bool = True,
) -> int:
    """Units per arm to detect p1 = baseline -> p2 = baseline (1 + uplift), two proportions.

    n = (z_a sqrt(2 pbar qbar) + z_b sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2, pbar = (p1+p2)/2,
    z_a = z(1 - alpha/2) (two-sided) or z(1 - alpha), z_b = z(power); no continuity
    correction; rounded up.
    """
    p1 = baseline
    p2 = baseline * (1 + relative_uplift)
    if not (0 < p1 < 1 and 0 < p2 < 1) or p1 == p2:
        raise ConfigError(f"need 0 < p1 != p2 < 1, got p1={p1}, p2={p2}")
    z_a = norm.ppf(1 - alpha / 2) if two_sided else norm.ppf(1 - alpha)
    z_b = norm.ppf(power)
    pbar = (p1 + p2) / 2
    top = z_a * np.sqrt(2 * pbar * (1 - pbar)) + z_b * np.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return int(np.ceil(top**2 / (p2 - p1) ** 2))


def two_proportion_ztest(
    x_a: int, n_a: int, x_b: int, n_b: int, confidence: float = 0.95
) -> pd.DataFrame:
    """Two-sided z-test of arm B vs arm A (pooled SE) with a Wald interval of the difference.

    Out (one row): n_a, x_a, rate_a, ci_a_low/high (Wilson), same for b, diff (b - a),
    diff_ci_low/high (unpooled SE), relative_uplift, z, p_value.
    """
    if min(n_a, n_b) <= 0:
        raise DataError("both arms need n > 0")
    pa, pb = x_a / n_a, x_b / n_b
    pooled = (x_a + x_b) / (n_a + n_b)
    se0 = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = (pb - pa) / se0 if se0 > 0 else 0.0
    se1 = np.sqrt(pa * (1 - pa) / n_a + pb * (1 - pb) / n_b)
    zc = z_value(confidence)
    (la, lb), (ha, hb) = wilson_interval([x_a, x_b], [n_a, n_b], confidence)
    return pd.DataFrame(
        [
            {
                "n_a": n_a,
                "x_a": x_a,
                "rate_a": pa,
                "ci_a_low": la,
                "ci_a_high": ha,
                "n_b": n_b,
                "x_b": x_b,
                "rate_b": pb,
                "ci_b_low": lb,
                "ci_b_high": hb,
                "diff": pb - pa,
                "diff_ci_low": pb - pa - zc * se1,
                "diff_ci_high": pb - pa + zc * se1,
                "relative_uplift": (pb - pa) / pa if pa else np.nan,
                "z": z,
                "p_value": float(2 * norm.sf(abs(z))),
            }
        ]
    )
