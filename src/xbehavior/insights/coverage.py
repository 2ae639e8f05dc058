"""Tracking gaps: stretches of the timeline where the log records far fewer events than usual.

A collection outage (a broken tag, a crashed collector) looks like real behaviour in every
time-of-day table: the hours it covers seem to have few visitors who never buy. This finds
such stretches from the event timestamps alone, so time-of-day analyses can leave them out
and say so.

Rule (10-minute bins from the first to the last event, empty bins included): a bin is *low*
when it holds fewer than ``drop`` (5%) of its expected count. The expected count of a bin is
the median count of the same 10-minute slot of the day over the log's days when the log
spans at least two days, so a shop's quiet nights are expected and not gaps; for a shorter
log it is the 90th percentile of all bins. A gap is a run of at least ``min_bins`` (3, i.e.
30 minutes) low bins whose expected count is at least ``min_expected`` (20) events: a small
log's sparse bins are noise, not an outage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GAP_COLUMNS = ("start", "end", "events", "expected_events")


def tracking_gaps(ts: pd.Series, bin_minutes: int = 10, drop: float = 0.05,
                  min_bins: int = 3, min_expected: float = 20.0) -> pd.DataFrame:
    """Detected gaps, one row each: ``start``, ``end`` (bin edges, UTC), ``events`` recorded
    in the gap and ``expected_events`` there (see the module docstring)."""
    ts = pd.to_datetime(ts).dropna()
    if ts.empty:
        return pd.DataFrame(columns=list(GAP_COLUMNS))
    width = pd.Timedelta(minutes=bin_minutes)
    counts = ts.dt.floor(width).value_counts()
    bins = pd.date_range(counts.index.min(), counts.index.max(), freq=width)
    counts = counts.reindex(bins, fill_value=0)
    expected = _expected(counts)
    low = ((counts < drop * expected) & (expected >= min_expected)).to_numpy()
    rows = []
    for start, stop in _runs(low):
        if stop - start >= min_bins:
            rows.append((bins[start], bins[stop - 1] + width, int(counts.iloc[start:stop].sum()),
                         float(expected.iloc[start:stop].sum())))
    return pd.DataFrame(rows, columns=list(GAP_COLUMNS))


def _expected(counts: pd.Series) -> pd.Series:
    """Expected events per bin: the median of the same slot of the day over the log's days
    (two days or more), else the 90th percentile of all bins."""
    days = counts.index.normalize().nunique()
    if days < 2:
        return pd.Series(float(np.percentile(counts, 90)), index=counts.index)
    slot = counts.index - counts.index.normalize()
    return counts.groupby(slot).transform("median").astype(float)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True in ``flags``."""
    edges = np.diff(np.concatenate([[0], flags.astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def in_gaps(ts: pd.Series, gaps: pd.DataFrame) -> pd.Series:
    """Whether each timestamp falls inside one of ``gaps`` (start inclusive, end exclusive)."""
    ts = pd.to_datetime(ts)
    inside = pd.Series(False, index=ts.index)
    for start, end in zip(gaps["start"], gaps["end"], strict=True):
        inside |= (ts >= start) & (ts < end)
    return inside
