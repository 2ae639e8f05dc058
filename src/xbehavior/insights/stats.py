"""Shared statistics for the insights stage: Wilson intervals, "Other" pooling, rate tables.

Every rate table in this package has the same columns so that findings and plots can read any
of them: ``<key>, n, converters, rate, ci_low, ci_high, base_rate, rel_to_base`` where
``converters`` is the count of successes (buyers, redeemers, closed deals...), ``n`` the
denominator and ``base_rate`` the pooled rate over all rows of the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from xbehavior.errors import ConfigError

OTHER = "Other"
RATE_COLUMNS = ("n", "converters", "rate", "ci_low", "ci_high", "base_rate", "rel_to_base")
#: what ``converters`` counts, by the flag a rate table was built from (else the flag's name)
COUNT_LABELS = {"Revenue": "converted", "repeat": "repeat_buyers", "is_return": "cancelled"}


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` as a report shows it: ``converters`` named for what it counts
    (``attrs['counts']``, e.g. 'abandoned' in a cart-abandonment table), else as it is."""
    label = table.attrs.get("counts")
    if not label or "converters" not in table.columns:
        return table
    return table.rename(columns={"converters": label})


def z_value(confidence: float = 0.95) -> float:
    """Two-sided normal quantile for a confidence level (0.95 -> 1.95996...)."""
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}")
    return float(norm.ppf(0.5 + confidence / 2))


def wilson_interval(
    k: np.ndarray | float, n: np.ndarray | float, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes out of n (arrays broadcast); NaN where n == 0.

    Chosen over the Wald interval because it stays inside [0, 1] and keeps its coverage for
    small n and rates near 0, which is common for conversion.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    # at k = 0 (k = n) the lower (upper) bound is exactly 0 (1); avoid float residue
    low = np.where(k == 0, 0.0, centre - half)
    high = np.where(k == n, 1.0, centre + half)
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def pool_small(values: pd.Series, counts: pd.Series, min_count: int) -> pd.Series:
    """Map each value whose count (units) is below ``min_count`` to ``"Other"``.

    ``values`` holds one group label per unit; ``counts`` maps label -> number of units.
    Missing labels become the string "(missing)" so that they are shown, not dropped.
    """
    labels = values.astype("string").fillna("(missing)")
    small = set(counts[counts < min_count].index.astype(str))
    return labels.where(~labels.isin(small), OTHER)


def rate_table(
    units: pd.DataFrame,
    key: str,
    flag: str = "converted",
    min_count: int = 30,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Rate of ``flag`` per value of ``key`` over a table with one row per unit.

    In: ``units`` (one row per unit, a bool ``flag`` column and a ``key`` column). Groups
    with fewer than ``min_count`` units are pooled into "Other". Out: one row per group with
    ``key`` and RATE_COLUMNS, sorted by n descending, "Other" last; ``attrs['min_count']``
    records the pooling threshold.
    """
    labels = units[key].astype("string").fillna("(missing)")
    pooled = pool_small(labels, labels.value_counts(), min_count)
    hits = units[flag].astype(bool)
    grouped = hits.groupby(pooled.to_numpy()).agg(["size", "sum"])
    out = pd.DataFrame(
        {
            key: grouped.index.astype(str),
            "n": grouped["size"].to_numpy(),
            "converters": grouped["sum"].to_numpy(),
        }
    )
    out = add_rates(out, confidence)
    out["_other"] = out[key] == OTHER
    out = out.sort_values(["_other", "n", key], ascending=[True, False, True])
    out = out.drop(columns="_other").reset_index(drop=True)
    out.attrs["min_count"] = min_count
    out.attrs["counts"] = COUNT_LABELS.get(flag, flag)
    return out


def add_rates(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Add rate, Wilson interval, pooled base rate and rate/base to a table with n, converters."""
    out = table.copy()
    out["n"] = out["n"].astype("int64")
    out["converters"] = out["converters"].astype("int64")
    total_n = out["n"].sum()
    base = out["converters"].sum() / total_n if total_n else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate"] = out["converters"] / out["n"]
    out["ci_low"], out["ci_high"] = wilson_interval(out["converters"], out["n"], confidence)
    out["base_rate"] = base
    out["rel_to_base"] = out["rate"] / base if base else np.nan
    return out
