"""Plain-language findings, each backed by two rows of a rate table.

A finding compares two groups of one table (groups with at least ``min_n`` units, "Other" and
"(missing)" excluded) and quotes both numerators, denominators and Wilson intervals. When the
intervals overlap the text says the difference is not established.

Strength of evidence of a pair (higher rate r1 = k1/n1 vs r2 = k2/n2) is the z of the log rate
ratio, |log(r1 / r2)| / SE with SE^2 = 1/k1 - 1/n1 + 1/k2 - 1/n2 (delta method); a zero count
gets 0.5 added to k and n for this score only. Each table offers its ``per_table`` (2) strongest
pairs; all offered findings are ranked non-overlapping first, then by strength, and the first
``max_findings`` (10) kept, so 3 tables of >= 3 comparable groups already give 5-10 findings.
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
    strength: float = 0.0


def log_ratio_z(k1: float, n1: float, k2: float, n2: float) -> float:
    """|log((k1/n1) / (k2/n2))| / SE (module doc); 0.5 is added to a zero count's k and n."""
    if k1 == 0 or k2 == 0:
        k1, n1, k2, n2 = k1 + 0.5, n1 + 0.5, k2 + 0.5, n2 + 0.5
    se = np.sqrt(1 / k1 - 1 / n1 + 1 / k2 - 1 / n2)
    ratio = np.log((k1 / n1) / (k2 / n2))
    return float(abs(ratio) / se) if se > 0 else 0.0


def _fmt(row: pd.Series) -> str:
    return (
        f"{int(row['converters'])}/{int(row['n'])} = {row['rate']:.1%}, "
        f"95% CI {row['ci_low']:.1%}–{row['ci_high']:.1%}"
    )


def _eligible(table: pd.DataFrame, key: str, min_n: int) -> pd.DataFrame:
    """Rows with n >= min_n, not Other / (missing), highest rate first (ties: table order)."""
    rows = table[(table["n"] >= min_n) & ~table[key].isin([OTHER, "(missing)"])]
    return rows.sort_values("rate", ascending=False, kind="mergesort")


def compare_pair(source: str, hi: pd.Series, lo: pd.Series, key: str, what: str) -> Finding:
    """Finding for group row ``hi`` (the higher rate) against group row ``lo``."""
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
        strength=log_ratio_z(hi["converters"], hi["n"], lo["converters"], lo["n"]),
    )


def compare_extremes(
    source: str, table: pd.DataFrame, key: str, what: str, min_n: int = 30
) -> Finding | None:
    """Finding for the highest vs lowest rate group of a rate table (None if < 2 groups)."""
    rows = _eligible(table, key, min_n)
    if len(rows) < 2:
        return None
    return compare_pair(source, rows.iloc[0], rows.iloc[-1], key, what)


def table_findings(
    source: str, table: pd.DataFrame, key: str, what: str, min_n: int = 30, per_table: int = 2
) -> list[Finding]:
    """The ``per_table`` strongest pairs (by ``log_ratio_z``) of groups with unequal rates."""
    rows = _eligible(table, key, min_n)
    found = [
        compare_pair(source, rows.iloc[i], rows.iloc[j], key, what)
        for i in range(len(rows))
        for j in range(i + 1, len(rows))
        if rows.iloc[i]["rate"] > rows.iloc[j]["rate"]
    ]
    found.sort(key=lambda f: -f.strength)  # stable: ties keep the rate order
    return found[:per_table]


def make_findings(
    tables: dict[str, tuple[pd.DataFrame, str, str]],
    max_findings: int = 10,
    min_n: int = 30,
    per_table: int = 2,
) -> list[Finding]:
    """Findings from ``{source: (rate table, key column, what is measured)}``, ranked
    non-overlapping first, then by strength of evidence (module doc)."""
    found = [
        f
        for name, (t, key, what) in tables.items()
        for f in table_findings(name, t, key, what, min_n, per_table)
    ]
    found.sort(key=lambda f: (f.overlap, -f.strength))
    return found[:max_findings]


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    """The findings as a DataFrame (one row each, all fields)."""
    return pd.DataFrame([asdict(f) for f in findings])


def shown_findings(frame: pd.DataFrame) -> pd.DataFrame:
    """A findings frame as a report shows it: its rows come from tables that count different
    things (buyers, abandoned carts, redemptions...), so ``converters`` is shown as the
    neutral ``count`` (the numerator of ``rate``; each finding's text says what it counts)."""
    return frame.rename(columns={"converters": "count", "ref_converters": "ref_count"})


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
