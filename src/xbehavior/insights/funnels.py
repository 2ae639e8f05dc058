"""Conversion funnels over canonical events: ordered steps, a window, three matching modes.

Steps are event types, e.g. ``("view", "cart", "checkout", "purchase")``, all distinct. The
unit (user or session) is the entity that moves through the funnel. Events of a unit are put
in time order (ties keep input order). An *attempt* starts at any event of step 1; the window
is measured from that start: an event at time t counts only if ``t - t_start <= window``.

Modes (how far an attempt gets):
- ``ordered``: step k+1 must happen after step k (later in the event order); any other events
  may happen in between. The earliest match of each next step is taken (greedy, which is
  optimal for reaching as many steps as possible).
- ``strict``: step k+1 must be the unit's very next event after step k; any other event in
  between (even a repeat of step k or an event type not in the funnel) ends the attempt.
- ``any_order``: step k is reached when events of every step 1..k (order irrelevant) all fall in
  one window that starts at the attempt's start event; the start can be any event of steps
  1..n, and the unit enters the funnel only if step 1 occurs in the window.

A unit's result is its best attempt: the most steps reached; among equals, the earliest start.
Time to convert to step k is the time from the attempt's start to the event that completed
step k (for any_order, the time at which the last of steps 1..k had first appeared).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from xbehavior.errors import ConfigError
from xbehavior.insights.descriptive import unit_table
from xbehavior.insights.stats import OTHER, pool_small, wilson_interval

MODES = ("ordered", "strict", "any_order")


def _check(steps: Sequence[str], mode: str) -> None:
    if len(steps) < 2:
        raise ConfigError("a funnel needs at least 2 steps")
    if len(set(steps)) != len(steps):
        raise ConfigError(f"funnel steps must be distinct, got {list(steps)}")
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")


def _ordered_attempt(codes, secs, start, window, n_steps, strict):
    """Times (seconds from start) at which steps 1..k were reached from event ``start``."""
    times = [0.0]
    for j in range(start + 1, len(codes)):
        if len(times) == n_steps or secs[j] - secs[start] > window:
            break
        if codes[j] == len(times):
            times.append(secs[j] - secs[start])
        elif strict:
            break
    return times


def _any_order_attempt(codes, secs, start, window, n_steps):
    """Times at which steps 1..k were all covered, for the window opening at ``start``."""
    first_seen = np.full(n_steps, np.inf)
    for j in range(start, len(codes)):
        if secs[j] - secs[start] > window:
            break
        if codes[j] >= 0 and np.isinf(first_seen[codes[j]]):
            first_seen[codes[j]] = secs[j] - secs[start]
    times = []
    for k in range(n_steps):
        done = np.max(first_seen[: k + 1])
        if np.isinf(done):
            break
        times.append(float(done))
    return times


def _best_attempt(codes, secs, mode, window, n_steps):
    """Best attempt of one unit: list of times to reach steps 1..k (empty if not entered)."""
    best: list[float] = []
    starts = np.flatnonzero(codes >= 0) if mode == "any_order" else np.flatnonzero(codes == 0)
    for start in starts:
        if mode == "any_order":
            times = _any_order_attempt(codes, secs, start, window, n_steps)
        else:
            times = _ordered_attempt(codes, secs, start, window, n_steps, mode == "strict")
        if len(times) > len(best):
            best = times
            if len(best) == n_steps:
                break
    return best


def funnel_units(
    events: pd.DataFrame,
    steps: Sequence[str],
    window: pd.Timedelta | str = "14D",
    mode: str = "ordered",
    unit: str = "user",
) -> pd.DataFrame:
    """Per unit that entered the funnel: ``reached`` (1..n steps) and ``t_<k>`` seconds to step k.

    In: canonical events (ts, event_type, user_id/session_id). Units without a step-1 event in
    any attempt are left out. Out columns: unit id, reached, t_1..t_n (NaN when not reached).
    """
    _check(steps, mode)
    window_s = pd.Timedelta(window).total_seconds()
    col = "user_id" if unit == "user" else "session_id"
    ev = events[events[col].notna()].sort_values([col, "ts"], kind="mergesort")
    code_of = {step: i for i, step in enumerate(steps)}
    codes_all = ev["event_type"].map(code_of).fillna(-1).astype(int).to_numpy()
    # seconds since epoch, independent of the datetime resolution (ns / us / s in pandas 3)
    epoch = pd.Timestamp("1970-01-01")
    secs_all = ((pd.to_datetime(ev["ts"]) - epoch) / pd.Timedelta(seconds=1)).to_numpy()
    ids = ev[col].to_numpy()
    bounds = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    rows = []
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(ids)], strict=True):
        times = _best_attempt(codes_all[lo:hi], secs_all[lo:hi], mode, window_s, len(steps))
        if times:
            rows.append([ids[lo], len(times), *times, *[np.nan] * (len(steps) - len(times))])
    names = [col, "reached", *[f"t_{k + 1}" for k in range(len(steps))]]
    return pd.DataFrame(rows, columns=names)


def funnel(
    events: pd.DataFrame,
    steps: Sequence[str],
    window: pd.Timedelta | str = "14D",
    mode: str = "ordered",
    unit: str = "user",
    by: str | None = None,
    min_count: int = 30,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Funnel table: one row per (breakdown value, step).

    ``by`` is a unit property (first non-null value of the unit, e.g. country or device);
    groups with fewer than ``min_count`` entering units are pooled into "Other". Out columns:
    [by], step (1-based), step_name, n (units reaching the step), entered (units at step 1),
    step_conversion (n / n of previous step, 1 for step 1) with Wilson step_ci_low/high,
    overall_conversion (n / entered) with overall_ci_low/high, drop_off (previous n - n),
    median_time_to_convert_s (from start to this step, over units that reached it).
    """
    units = funnel_units(events, steps, window, mode, unit)
    col = units.columns[0]
    key = by or "_all"
    if by:
        props = unit_table(events, unit, [by]).set_index(col)[by]
        labels = units[col].map(props)
        units[key] = pool_small(labels, labels.astype("string").value_counts(), min_count)
    else:
        units[key] = "all"
    parts = [
        _funnel_rows(g, steps, confidence).assign(**{key: name})
        for name, g in units.groupby(key, sort=True)
    ]
    if not parts:
        return pd.DataFrame(columns=[key, "step", "step_name", "n", "entered"])
    out = pd.concat(parts, ignore_index=True)
    out["_other"] = out[key] == OTHER
    out = out.sort_values(["_other", "entered", key, "step"], ascending=[True, False, True, True])
    out = out.drop(columns="_other")
    # the breakdown column goes first; without a breakdown it is dropped
    out = out[[key, *[c for c in out.columns if c != key]]] if by else out.drop(columns=key)
    out.attrs.update(unit=unit, mode=mode, window=str(pd.Timedelta(window)), steps=list(steps))
    return out.reset_index(drop=True)


def _funnel_rows(units: pd.DataFrame, steps: Sequence[str], confidence: float) -> pd.DataFrame:
    """Per-step counts and rates for one group of funnel units."""
    reached = units["reached"].to_numpy()
    n = np.array([(reached >= k + 1).sum() for k in range(len(steps))])
    prev = np.r_[n[0], n[:-1]]
    entered = n[0]
    step_lo, step_hi = wilson_interval(n, prev, confidence)
    all_lo, all_hi = wilson_interval(n, np.full_like(n, entered), confidence)
    medians = [units[f"t_{k + 1}"].median() for k in range(len(steps))]
    with np.errstate(invalid="ignore", divide="ignore"):  # a step nobody reached: NaN rate
        step_rate, overall_rate = n / prev, n / entered
    return pd.DataFrame(
        {
            "step": np.arange(1, len(steps) + 1),
            "step_name": list(steps),
            "n": n,
            "entered": entered,
            "step_conversion": step_rate,
            "step_ci_low": step_lo,
            "step_ci_high": step_hi,
            "overall_conversion": overall_rate,
            "overall_ci_low": all_lo,
            "overall_ci_high": all_hi,
            "drop_off": prev - n,
            "median_time_to_convert_s": medians,
        }
    )
