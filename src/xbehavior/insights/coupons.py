"""Coupon campaigns in dunnhumby The Complete Journey: redemption and redeemer comparison.

Denominators: a household "received" a campaign when it appears in ``campaigns`` for it;
it "redeemed" when ``coupon_redemptions`` has a row for that household and campaign. A coupon
(``coupon_upc``) belongs to a campaign in ``coupons``; every household that received the
campaign received its coupons, so a coupon's denominator is its campaign's receipts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xbehavior.datasets import load_dunnhumby
from xbehavior.insights.stats import add_rates, z_value
from xbehavior.segments.rules import rule_based_segments

CAVEAT = (
    "Observational comparison: households choose to redeem, so redeemers differ from "
    "non-redeemers in ways the matching on pre-period spend and visits does not remove "
    "(interest in the product, price sensitivity, planned purchases). The difference is an "
    "association, not the effect of a coupon; only a randomised hold-out measures that."
)
#: outcomes compared, all measured on or after the cutoff
OUTCOMES = ("post_spend", "post_baskets", "repeat_purchase", "active_last_4w")
#: "repeat purchase": >= REPEAT_MIN_BASKETS distinct baskets in the REPEAT_DAYS from the cutoff
REPEAT_DAYS = 28
REPEAT_MIN_BASKETS = 2
#: 95% intervals of the differences: normal approximation (see ``stratified_difference``)
INTERVAL_METHOD = "normal approximation, strata weights fixed"


def _receipts_and_redemptions() -> pd.DataFrame:
    """One row per (campaign, household) receipt with campaign_type and a ``redeemed`` flag."""
    receipts = load_dunnhumby("campaigns")[["campaign_id", "household_id"]].drop_duplicates()
    types = load_dunnhumby("campaign_descriptions")[["campaign_id", "campaign_type"]]
    red = load_dunnhumby("coupon_redemptions")[["campaign_id", "household_id"]]
    red = red.drop_duplicates().assign(redeemed=True)
    out = receipts.merge(types, on="campaign_id", how="left")
    out = out.merge(red, on=["campaign_id", "household_id"], how="left")
    out["redeemed"] = out["redeemed"].fillna(False).astype(bool)
    return out


def redemption_rates(by: str = "campaign_type") -> pd.DataFrame:
    """Redemption rate per ``campaign_type``, ``campaign_id`` or ``coupon_upc``.

    n = (household, campaign) receipts, converters = receipts with >= 1 redemption (of that
    coupon, for ``coupon_upc``: see ``coupon_redemption_rates``); rate with Wilson interval
    and the pooled base rate over all rows.
    """
    if by == "coupon_upc":
        return coupon_redemption_rates(
            load_dunnhumby("campaigns"), load_dunnhumby("coupons"),
            load_dunnhumby("coupon_redemptions"), load_dunnhumby("campaign_descriptions"))
    pairs = _receipts_and_redemptions()
    keys = ["campaign_id", "campaign_type"] if by == "campaign_id" else [by]
    grouped = pairs.groupby(keys)["redeemed"].agg(n="size", converters="sum").reset_index()
    out = add_rates(grouped)
    out.attrs.update(unit="household x campaign receipt", what="redemption", counts="redeemed")
    return out.sort_values("rate", ascending=False, kind="mergesort").reset_index(drop=True)


def coupon_redemption_rates(
    campaigns: pd.DataFrame, coupons: pd.DataFrame, redemptions: pd.DataFrame,
    descriptions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Redemption rate per coupon: one row per (campaign_id, coupon_upc) of ``coupons``.

    n = distinct households that received the campaign (rows of ``campaigns``), converters =
    distinct households of those that redeemed this coupon in this campaign. Redemptions by
    households not listed as receiving the campaign are not counted (no denominator for them).
    Out: campaign_id, [campaign_type], coupon_upc and the rate columns, highest rate first.
    """
    receipts = campaigns[["campaign_id", "household_id"]].drop_duplicates()
    offered = coupons[["campaign_id", "coupon_upc"]].drop_duplicates()
    n = receipts.groupby("campaign_id").size().rename("n")
    red = redemptions[["campaign_id", "coupon_upc", "household_id"]].drop_duplicates()
    red = red.merge(receipts, on=["campaign_id", "household_id"])
    hits = red.groupby(["campaign_id", "coupon_upc"]).size().rename("converters")
    out = offered.join(n, on="campaign_id", how="inner")
    out = out.join(hits, on=["campaign_id", "coupon_upc"]).fillna({"converters": 0})
    if descriptions is not None:
        types = descriptions.set_index("campaign_id")["campaign_type"]
        out.insert(1, "campaign_type", out["campaign_id"].map(types))
    out = add_rates(out)
    out.attrs.update(unit="household x campaign receipt", what="coupon redemption")
    order = ["rate", "n", "campaign_id", "coupon_upc"]
    return out.sort_values(order, ascending=[False, False, True, True],
                           kind="mergesort").reset_index(drop=True)


@dataclass
class RedeemerComparison:
    """Redeemers vs stratum-matched non-redeemers: summary per outcome, strata, per-segment
    uplift (long: segmentation, segment, outcome, ...), the households and the caveat."""

    summary: pd.DataFrame
    strata: pd.DataFrame
    by_segment: pd.DataFrame
    households: pd.DataFrame
    caveat: str = CAVEAT


def household_periods(tx: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per household of ``tx`` (household_id, basket_id, sales_value, transaction_timestamp):
    pre_spend, pre_baskets (before cutoff), post_spend, post_baskets (on or after it),
    repeat_purchase (1 when >= REPEAT_MIN_BASKETS distinct baskets fall in the REPEAT_DAYS
    days from the cutoff), active_last_4w (a basket in the final 28 days of ``tx``)."""
    when = tx["transaction_timestamp"]
    pre = when < cutoff
    early = ~pre & (when < cutoff + pd.Timedelta(days=REPEAT_DAYS))
    last = when >= when.max() - pd.Timedelta(days=28)
    g_pre, g_post = tx[pre].groupby("household_id"), tx[~pre].groupby("household_id")
    out = pd.DataFrame(
        {
            "pre_spend": g_pre["sales_value"].sum(),
            "pre_baskets": g_pre["basket_id"].nunique(),
            "post_spend": g_post["sales_value"].sum(),
            "post_baskets": g_post["basket_id"].nunique(),
        }
    ).fillna(0.0)
    early_baskets = tx[early].groupby("household_id")["basket_id"].nunique()
    out["repeat_purchase"] = (early_baskets.reindex(out.index, fill_value=0)
                              >= REPEAT_MIN_BASKETS).astype(float)
    out["active_last_4w"] = out.index.isin(tx.loc[last, "household_id"]).astype(float)
    return out


def household_segments(hh: pd.DataFrame, cutoff: pd.Timestamp, start: pd.Timestamp,
                       demographics: pd.DataFrame | None = None) -> pd.DataFrame:
    """Segments per household: ``rule_segment`` (the paper's rule on pre-cutoff baskets per
    month, months = (cutoff - start) / 30.44 days) and ``income`` band from ``demographics``
    ("(missing)" for households without a demographics row)."""
    months = (cutoff - start) / pd.Timedelta(days=30.44)
    out = pd.DataFrame(index=hh.index)
    out["rule_segment"] = rule_based_segments(hh["pre_baskets"] / months).fillna("(missing)")
    income = (demographics.set_index("household_id")["income"] if demographics is not None
              else pd.Series(dtype="string"))
    out["income"] = income.reindex(hh.index).astype("string").fillna("(missing)")
    return out


def redeemer_comparison(cutoff: str = "2017-07-01", n_bins: int = 4) -> RedeemerComparison:
    """Post-cutoff spend, baskets, repeat purchase and late activity of redeemers vs
    comparable non-redeemers, overall and per segment (rule segment, income band).

    Population: households that received >= 1 campaign. Redeemers: first redemption on or
    after ``cutoff``; non-redeemers: never redeemed; households that redeemed before the
    cutoff are left out (their pre-period is already treated). Matching: strata = quantile
    bins (``n_bins`` each) of pre-cutoff spend x pre-cutoff baskets; non-redeemer means are
    weighted by the redeemers' stratum counts (effect on the redeemers); strata without both
    groups are dropped and counted in ``summary['unmatched_redeemers']``. Per segment the
    same weighting runs inside the segment (strata from the whole population).
    """
    cut = pd.Timestamp(cutoff)
    tx = load_dunnhumby("transactions")[
        ["household_id", "basket_id", "sales_value", "transaction_timestamp"]
    ]
    hh = household_periods(tx, cut)
    received = load_dunnhumby("campaigns")["household_id"].unique()
    first = load_dunnhumby("coupon_redemptions").groupby("household_id")["redemption_date"].min()
    hh = hh[hh.index.isin(received)].copy()
    hh["group"] = np.where(
        hh.index.isin(first[first >= cut].index),
        "redeemer",
        np.where(hh.index.isin(first.index), "excluded", "non_redeemer"),
    )
    hh = hh[hh["group"] != "excluded"]
    spend_bin = pd.qcut(hh["pre_spend"].rank(method="first"), n_bins, labels=False)
    visit_bin = pd.qcut(hh["pre_baskets"].rank(method="first"), n_bins, labels=False)
    hh["stratum"] = spend_bin.astype(int) * n_bins + visit_bin.astype(int)
    segments = household_segments(hh, cut, tx["transaction_timestamp"].min(),
                                  load_dunnhumby("demographics"))
    hh = hh.join(segments)
    outcomes = list(OUTCOMES)
    strata = hh.groupby(["stratum", "group"])[outcomes].agg(["mean", "size"])
    return RedeemerComparison(stratified_difference(hh, outcomes), strata,
                              uplift_by_segment(hh, ["rule_segment", "income"], outcomes), hh)


def _variance(hh: pd.DataFrame, col: str) -> pd.Series:
    """Sample variance (ddof 1) per (stratum, group); a cell of one household takes its
    group's variance over all rows given (one value has no spread of its own); NaN when the
    whole group is one household, so the interval is NaN rather than falsely narrow."""
    cell = hh.groupby(["stratum", "group"])[col].var(ddof=1)
    pooled = hh.groupby("group")[col].var(ddof=1)
    fill = pd.Series(cell.index.get_level_values("group").map(pooled), index=cell.index)
    return cell.fillna(fill)


def stratified_difference(
    hh: pd.DataFrame, outcomes: list[str], confidence: float = 0.95
) -> pd.DataFrame:
    """Redeemer mean vs redeemer-weighted non-redeemer mean per outcome over matched strata.

    In: one row per household with ``stratum``, ``group`` ('redeemer' / 'non_redeemer') and the
    outcome columns. Weights w_s = redeemers in stratum s / matched redeemers; difference =
    sum_s w_s (mean_red_s - mean_non_s). Interval: normal approximation with the weights
    held fixed, SE^2 = sum_s w_s^2 (var_red_s / n_red_s + var_non_s / n_non_s) (sample
    variances, see ``_variance``). Out per outcome: redeemers_mean, matched_non_redeemers_mean,
    difference, diff_ci_low, diff_ci_high, ratio, n_redeemers, n_non_redeemers,
    unmatched_redeemers, interval, caveat.
    """
    counts = hh.groupby(["stratum", "group"]).size().unstack(fill_value=0)
    for g in ("redeemer", "non_redeemer"):
        if g not in counts:
            counts[g] = 0
    matched = counts[(counts["redeemer"] > 0) & (counts["non_redeemer"] > 0)]
    weights = matched["redeemer"] / matched["redeemer"].sum()
    kept = hh[hh["stratum"].isin(matched.index)]
    means = kept.groupby(["stratum", "group"])[outcomes].mean()
    z = z_value(confidence)
    rows = []
    for col in outcomes:
        var = _variance(kept, col)
        red = (means[col].xs("redeemer", level="group") * weights).sum()
        non = (means[col].xs("non_redeemer", level="group") * weights).sum()
        cell_var = (var.xs("redeemer", level="group") / matched["redeemer"]
                    + var.xs("non_redeemer", level="group") / matched["non_redeemer"])
        se = np.sqrt((weights**2 * cell_var).sum(skipna=False))  # NaN variance -> NaN CI
        rows.append({"outcome": col, "redeemers_mean": red, "matched_non_redeemers_mean": non,
                     "difference": red - non, "diff_ci_low": red - non - z * se,
                     "diff_ci_high": red - non + z * se, "ratio": red / non if non else np.nan})
    out = pd.DataFrame(rows)
    out["n_redeemers"] = int(matched["redeemer"].sum())
    out["n_non_redeemers"] = int(matched["non_redeemer"].sum())
    out["unmatched_redeemers"] = int(counts["redeemer"].sum() - matched["redeemer"].sum())
    out["interval"] = INTERVAL_METHOD
    out["caveat"] = CAVEAT
    return out


def uplift_by_segment(hh: pd.DataFrame, segmentations: list[str],
                      outcomes: list[str]) -> pd.DataFrame:
    """``stratified_difference`` inside each segment of each segmentation column of ``hh``.

    Out (long): segmentation, segment, then the ``stratified_difference`` columns; segments
    without a matched stratum are left out.
    """
    parts = []
    for seg_col in segmentations:
        for segment, part in hh.groupby(seg_col, sort=True):
            both = part.groupby("stratum")["group"].nunique()
            if not (both == 2).any():  # no stratum holds both groups: nothing to compare
                continue
            table = stratified_difference(part, outcomes)
            parts.append(table.assign(segmentation=seg_col, segment=str(segment)))
    out = pd.concat(parts, ignore_index=True)
    first = ["segmentation", "segment"]
    return out[first + [c for c in out.columns if c not in first]]
