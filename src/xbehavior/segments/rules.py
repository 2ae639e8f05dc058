"""The paper's rule-based segments: frequent / occasional / window shoppers.

The paper gives typical purchase frequencies (5, 2 and 0.5 purchases per month) but no
boundaries. Our stated rule: boundaries at the geometric means of neighbouring typical values,
``sqrt(0.5 * 2) = 1.0`` and ``sqrt(2 * 5) = 3.16`` orders per month (log scale, because purchase
frequency is right-skewed). A user with < 1.0 / month is a window shopper, 1.0 to < 3.16
occasional, >= 3.16 frequent. Missing frequency -> missing segment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xbehavior.segments.config import PAPER_RULE_THRESHOLDS

#: segment names, lowest frequency first
RULE_SEGMENTS = ("window", "occasional", "frequent")


def rule_based_segments(
    orders_per_month: pd.Series, thresholds: tuple[float, float] = PAPER_RULE_THRESHOLDS
) -> pd.Series:
    """Segment per user from purchases per month.

    orders_per_month : Series indexed by user_id (float, orders / month).
    Returns a Series of ``window`` / ``occasional`` / ``frequent`` (string, <NA> where missing),
    same index, name ``rule_segment``.
    """
    low, high = thresholds
    values = pd.to_numeric(orders_per_month, errors="coerce").to_numpy(dtype="float64")
    codes = np.digitize(values, [low, high])  # 0: < low, 1: [low, high), 2: >= high
    names = np.array(RULE_SEGMENTS, dtype=object)[np.minimum(codes, 2)]
    names[np.isnan(values)] = None
    return pd.Series(names, index=orders_per_month.index, name="rule_segment", dtype="string")
