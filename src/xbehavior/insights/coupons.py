"""Coupon campaigns in dunnhumby The Complete Journey: redemption and redeemer comparison.

Denominators: a household "received" a campaign when it appears in ``campaigns`` for it;
it "redeemed" when ``coupon_redemptions`` has a row for that household and campaign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xbehavior.datasets import load_dunnhumby
from xbehavior.insights.stats import add_rates

CAVEAT = (
    "Observational comparison: households choose to redeem, so redeemers differ from "
    "non-redeemers in ways the matching on pre-period spend and visits does not remove "
    "(interest in the product, price sensitivity, planned purchases). The difference is an "
    "association, not the effect of a coupon; only a randomised hold-out measures that."
)


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
    """Redemption rate per ``campaign_type`` or ``campaign_id``.

    n = (household, campaign) receipts, converters = receipts with >= 1 redemption; rate with
    Wilson interval and the pooled base rate over all receipts.
    """
    pairs = _receipts_and_redemptions()
    keys = ["campaign_id", "campaign_type"] if by == "campaign_id" else [by]
    grouped = pairs.groupby(keys)["redeemed"].agg(n="size", converters="sum").reset_index()
    out = add_rates(grouped)
    out.attrs.update(unit="household x campaign receipt", what="redemption")
    return out.sort_values("rate", ascending=False, kind="mergesort").reset_index(drop=True)


@dataclass
class RedeemerComparison:
    """Redeemers vs stratum-matched non-redeemers: summary per outcome, strata, caveat."""

    summary: pd.DataFrame
    strata: pd.DataFrame
    caveat: str = CAVEAT


def _household_periods(cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per household: pre_spend, pre_baskets (before cutoff), post_spend, post_baskets, and
    active_last_4w (a basket in the final 28 days of the data)."""
    tx = load_dunnhumby("transactions")[
        ["household_id", "basket_id", "sales_value", "transaction_timestamp"]
    ]
    pre = tx["transaction_timestamp"] < cutoff
    end = tx["transaction_timestamp"].max()
    last = tx["transaction_timestamp"] >= end - pd.Timedelta(days=28)
    g_pre = tx[pre].groupby("household_id")
    g_post = tx[~pre].groupby("household_id")
    out = pd.DataFrame(
        {
            "pre_spend": g_pre["sales_value"].sum(),
            "pre_baskets": g_pre["basket_id"].nunique(),
            "post_spend": g_post["sales_value"].sum(),
            "post_baskets": g_post["basket_id"].nunique(),
        }
    ).fillna(0.0)
    out["active_last_4w"] = out.index.isin(tx.loc[last, "household_id"]).astype(float)
    return out


def redeemer_comparison(cutoff: str = "2017-07-01", n_bins: int = 4) -> RedeemerComparison:
    """Post-cutoff spend, baskets and late activity of redeemers vs comparable non-redeemers.

    Population: households that received >= 1 campaign. Redeemers: first redemption on or
    after ``cutoff``; non-redeemers: never redeemed; households that redeemed before the
    cutoff are left out (their pre-period is already treated). Matching: strata = quantile
    bins (``n_bins`` each) of pre-cutoff spend x pre-cutoff baskets; non-redeemer means are
    weighted by the redeemers' stratum counts (effect on the redeemers); strata without both
    groups are dropped and counted in ``summary['unmatched_redeemers']``.
    """
    cut = pd.Timestamp(cutoff)
    hh = _household_periods(cut)
    received = load_dunnhumby("campaigns")["household_id"].unique()
    red = load_dunnhumby("coupon_redemptions")
    first = red.groupby("household_id")["redemption_date"].min()
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
    outcomes = ["post_spend", "post_baskets", "active_last_4w"]
    strata = hh.groupby(["stratum", "group"])[outcomes].agg(["mean", "size"])
    return RedeemerComparison(_summary(hh, outcomes), strata)


def _summary(hh: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """Redeemer mean vs redeemer-weighted non-redeemer mean per outcome over matched strata."""
    counts = hh.groupby(["stratum", "group"]).size().unstack(fill_value=0)
    matched = counts[(counts.get("redeemer", 0) > 0) & (counts.get("non_redeemer", 0) > 0)]
    weights = matched["redeemer"] / matched["redeemer"].sum()
    means = hh[hh["stratum"].isin(matched.index)].groupby(["stratum", "group"])[outcomes].mean()
    rows = []
    for col in outcomes:
        red = (means[col].xs("redeemer", level="group") * weights).sum()
        non = (means[col].xs("non_redeemer", level="group") * weights).sum()
        rows.append(
            {
                "outcome": col,
                "redeemers_mean": red,
                "matched_non_redeemers_mean": non,
                "difference": red - non,
                "ratio": red / non if non else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    out["n_redeemers"] = int(matched["redeemer"].sum())
    out["n_non_redeemers"] = int(matched["non_redeemer"].sum())
    out["unmatched_redeemers"] = int(
        counts.get("redeemer", pd.Series(dtype=int)).sum() - matched["redeemer"].sum()
    )
    out["caveat"] = CAVEAT
    return out
