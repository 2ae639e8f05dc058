"""Plain-language findings, each backed by two rows of a rate table.

A finding compares the highest-rate and the lowest-rate group of one table (groups with at
least ``min_n`` units, "Other" and "(missing)" excluded) and quotes both numerators,
denominators and Wilson intervals. When the intervals overlap the text says the difference is
not established. Findings are ranked: non-overlapping first, then by rate ratio.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from xbehavior.insights.stats import OTHER


@dataclass(frozen=True)
class Finding:
    """One sentence plus the table rows (source, key, group) whose numbers it quotes."""

    text: str
    source: str
    key: str
    group: str
    converters: int
    n: int
    rate: float
    ci_low: float
    ci_high: float
    ref_group: str
    ref_converters: int
    ref_n: int
    ref_rate: float
    ref_ci_low: float
    ref_ci_high: float
    ratio: float
    overlap: bool


def _fmt(row: pd.Series) -> str:
    return (
        f"{int(row['converters'])}/{int(row['n'])} = {row['rate']:.1%}, "
        f"95% CI {row['ci_low']:.1%}–{row['ci_high']:.1%}"
    )


def compare_extremes(
    source: str, table: pd.DataFrame, key: str, what: str, min_n: int = 30
) -> Finding | None:
    """Finding for the highest vs lowest rate group of a rate table (None if < 2 groups)."""
    rows = table[(table["n"] >= min_n) & ~table[key].isin([OTHER, "(missing)"])]
    if len(rows) < 2:
        return None
    rows = rows.sort_values("rate", ascending=False, kind="mergesort")
    hi, lo = rows.iloc[0], rows.iloc[-1]
    ratio = hi["rate"] / lo["rate"] if lo["rate"] > 0 else np.inf
    overlap = bool(lo["ci_high"] >= hi["ci_low"])
    times = f"{ratio:.2f}×" if np.isfinite(ratio) else "above zero, unlike"
    verdict = (
        "the intervals overlap, so the difference is not established"
        if overlap
        else "the intervals do not overlap"
    )
    text = (
        f"{what} for {key} = {hi[key]} is {times} that of {lo[key]} "
        f"({_fmt(hi)} vs {_fmt(lo)}); {verdict}."
    )
    return Finding(
        text=text,
        source=source,
        key=key,
        group=str(hi[key]),
        converters=int(hi["converters"]),
        n=int(hi["n"]),
        rate=float(hi["rate"]),
        ci_low=float(hi["ci_low"]),
        ci_high=float(hi["ci_high"]),
        ref_group=str(lo[key]),
        ref_converters=int(lo["converters"]),
        ref_n=int(lo["n"]),
        ref_rate=float(lo["rate"]),
        ref_ci_low=float(lo["ci_low"]),
        ref_ci_high=float(lo["ci_high"]),
        ratio=float(ratio),
        overlap=overlap,
    )


def make_findings(
    tables: dict[str, tuple[pd.DataFrame, str, str]], max_findings: int = 10, min_n: int = 30
) -> list[Finding]:
    """Findings from ``{source: (rate table, key column, what is measured)}``, ranked."""
    found = [compare_extremes(name, t, key, what, min_n) for name, (t, key, what) in tables.items()]
    found = [f for f in found if f is not None]
    found.sort(key=lambda f: (f.overlap, -f.ratio if np.isfinite(f.ratio) else -1e9))
    return found[:max_findings]


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    """The findings as a DataFrame (one row each, all fields)."""
    return pd.DataFrame([asdict(f) for f in findings])


def bundled_tables() -> dict[str, tuple[pd.DataFrame, str, str]]:
    """Rate tables computed on the bundled real data that findings are drawn from."""
    from xbehavior.datasets import load_online_shoppers
    from xbehavior.insights.acquisition import lead_conversion
    from xbehavior.insights.coupons import redemption_rates
    from xbehavior.insights.descriptive import conversion_by_sessions

    shoppers = load_online_shoppers()
    tables = {
        f"online_shoppers.{col}": (
            conversion_by_sessions(shoppers, col, min_count=100),
            col,
            "Session conversion",
        )
        for col in ("VisitorType", "Month", "Weekend", "TrafficType", "Browser", "Region")
    }
    tables["dunnhumby.campaign_type"] = (
        redemption_rates("campaign_type"),
        "campaign_type",
        "Coupon redemption",
    )
    tables["olist.origin"] = (lead_conversion("origin"), "origin", "Lead-to-deal conversion")
    return tables
