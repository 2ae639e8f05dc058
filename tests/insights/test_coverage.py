"""Coverage gaps: a planted outage is found, quiet nights are not, and the documented REES46
tracking outage (SOURCE.md: 00:20-02:10) is found in the real bundled window."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xbehavior.engine import DuckDBEngine
from xbehavior.ingest import ingest_dataset
from xbehavior.insights.coverage import in_gaps, tracking_gaps


def _uniform(start: str, end: str, per_minute: int) -> pd.Series:
    """SYNTHETIC: ``per_minute`` events at every minute of [start, end)."""
    minutes = pd.date_range(start, end, freq="1min", inclusive="left")
    return pd.Series(np.repeat(minutes, per_minute))


def test_planted_outage_is_found_with_its_edges():
    ts = pd.concat([_uniform("2024-03-01 00:00", "2024-03-01 01:00", 10),
                    _uniform("2024-03-01 01:00", "2024-03-01 01:40", 0),
                    _uniform("2024-03-01 01:40", "2024-03-01 03:00", 10)])
    gaps = tracking_gaps(ts)
    assert gaps[["start", "end", "events"]].values.tolist() == [
        [pd.Timestamp("2024-03-01 01:00"), pd.Timestamp("2024-03-01 01:40"), 0]]
    assert in_gaps(pd.Series(pd.to_datetime(["2024-03-01 01:00", "2024-03-01 01:40"])),
                   gaps).tolist() == [True, False]


def test_short_dips_and_quiet_nights_are_not_gaps():
    # three days, each busy 08:00-20:00 and empty at night: the night is usual, not a gap;
    # a 20-minute dip (under the 30-minute minimum) is not one either
    days = [_uniform(f"2024-03-0{d} 08:00", f"2024-03-0{d} 20:00", 5) for d in (1, 2, 3)]
    ts = pd.concat(days)
    ts = ts[~((ts >= "2024-03-02 12:00") & (ts < "2024-03-02 12:20"))]
    assert tracking_gaps(ts).empty


def test_a_day_time_outage_among_normal_days_is_found():
    days = [_uniform(f"2024-03-0{d} 08:00", f"2024-03-0{d} 20:00", 5) for d in (1, 2, 3)]
    ts = pd.concat(days)
    ts = ts[~((ts >= "2024-03-02 10:00") & (ts < "2024-03-02 11:00"))]
    gaps = tracking_gaps(ts)
    assert gaps[["start", "end"]].values.tolist() == [
        [pd.Timestamp("2024-03-02 10:00"), pd.Timestamp("2024-03-02 11:00")]]


def test_small_logs_have_no_gaps():
    assert tracking_gaps(pd.Series(pd.to_datetime(["2024-03-01 10:00", "2024-03-01 14:00"]))).empty
    assert tracking_gaps(pd.Series([], dtype="datetime64[ns]")).empty


def test_rees46_documented_outage_and_none_in_online_retail():
    engine = DuckDBEngine()
    ingest_dataset(engine, "rees46")
    gaps = tracking_gaps(engine.sql("SELECT ts FROM events")["ts"])
    assert gaps[["start", "end"]].values.tolist() == [
        [pd.Timestamp("2019-10-01 00:20"), pd.Timestamp("2019-10-01 02:10")]]
    retail = DuckDBEngine()
    ingest_dataset(retail, "online_retail")
    assert tracking_gaps(retail.sql("SELECT ts FROM events")["ts"]).empty
