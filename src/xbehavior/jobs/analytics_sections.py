"""The catalogue behind ``xbehavior analyze``: every analysis, what it needs, how it runs.

Each ``Analysis`` has a ``check`` returning the one-line reason to skip it (None when the data
has what it needs) and a ``run`` that calls the headless ``xbehavior.insights`` functions and
returns tables (shown and exported), rate tables (read by the findings) and plotly figures.
The same catalogue runs on every dataset, so an analysis runs wherever its columns exist and
is listed as skipped, with its reason, everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from xbehavior.errors import DataError
from xbehavior.features.session_sequences import split_by_time
from xbehavior.insights import plots
from xbehavior.insights.acquisition import lead_conversion, leads_with_outcome
from xbehavior.insights.browsing import browsing_summary, category_mix
from xbehavior.insights.cohorts import (
    last_period_partial,
    repeat_purchase_rate,
    retention_matrix,
    retention_wide,
)
from xbehavior.insights.coupons import (
    INTERVAL_METHOD,
    REPEAT_DAYS,
    REPEAT_MIN_BASKETS,
    redeemer_comparison,
    redemption_rates,
)
from xbehavior.insights.coverage import in_gaps, tracking_gaps
from xbehavior.insights.descriptive import (
    DEFAULT_PRICE_EDGES,
    average_order_value,
    cart_abandonment,
    conversion_by,
    conversion_by_sessions,
    price_bands,
    visit_frequency,
)
from xbehavior.insights.funnels import MODES, funnel
from xbehavior.insights.returns import return_rate
from xbehavior.insights.stats import add_rates
from xbehavior.insights.targeting import (
    PROPENSITY_FEATURES,
    cart_abandoners,
    propensity_features,
)
from xbehavior.models.tabular import fit_tabular

FUNNEL_STEPS = ("view", "cart", "checkout", "purchase")
#: conversion windows every funnel is run for (from the attempt's first step)
FUNNEL_WINDOWS = ("1h", "1D")
#: conversion breakdowns of event logs (unit = session); derived ones come from ts / price;
#: ``segment`` exists only in an --input log that carries one
EVENT_PROPERTIES = ("country", "device", "os", "browser", "category", "brand", "price_band",
                    "hour", "weekday", "day_type", "month", "segment")
#: cart-abandonment breakdowns (category = the category of the session's first cart event)
ABANDONMENT_PROPERTIES = ("country", "device", "category")
#: candidate propensity models, the one with the higher validation ROC-AUC is used
PROPENSITY_MODELS = ("lightgbm", "logreg")
#: Online Shoppers session-table columns (as ingested) for conversion breakdowns
SESSION_PROPERTIES = ("visitor_type", "month", "weekend", "region", "browser", "os",
                      "traffic_type")
MODEL_REASON = ("needs a fitted model's scores on segmented users (gain/lift, segment x "
                "country targeting table, feature importance): `xbehavior run` computes them")

Check = Callable[["AnalyticsData"], str | None]


@dataclass
class AnalyticsData:
    """What an analysis may read: canonical events (session_id filled by sessionisation) or a
    one-row-per-session table; ``bundled`` is False when the log came from ``--input``;
    ``seed`` seeds every model fitted here (the abandoner propensity)."""

    dataset: str
    events: pd.DataFrame | None = None
    sessions: pd.DataFrame | None = None
    bundled: bool = True
    seed: int = 0


@dataclass
class Result:
    """Output of one analysis: tables by name, rate tables for findings, figures, notes,
    and exports (name -> table written as ``<name>.csv`` next to the report)."""

    tables: dict[str, pd.DataFrame]
    rates: dict[str, tuple[pd.DataFrame, str, str]] = field(default_factory=dict)
    figures: list[object] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exports: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # overall tables carry the pooling key "_all"; show it as a plain "group" column
        self.tables = {k: t.rename(columns={"_all": "group"}) for k, t in self.tables.items()}


@dataclass(frozen=True)
class Analysis:
    """One analysis: ``name`` (as listed when skipped), report ``group``, check and run."""

    name: str
    group: str
    check: Check
    run: Callable[[AnalyticsData], Result]


# ---------------------------------------------------------------- checks (reason or None)
def _first(*checks: Check) -> Check:
    """A check that returns the first reason any of ``checks`` gives."""

    def check(d: AnalyticsData) -> str | None:
        return next((r for c in checks if (r := c(d)) is not None), None)

    return check


def event_log(d: AnalyticsData) -> str | None:
    if d.events is not None:
        return None
    if d.dataset == "olist":
        return "olist is a lead -> closed-deal table, not an event log"
    return f"{d.dataset} is a session table (one row per session), not an event log"


def session_table(d: AnalyticsData) -> str | None:
    if d.sessions is not None:
        return None
    return ("needs a one-row-per-session table with an outcome (online_shoppers); event logs "
            "get 'conversion by <property>' instead")


def has_event(*types: str) -> Check:
    def check(d: AnalyticsData) -> str | None:
        present = set(d.events["event_type"].dropna().unique())
        if present & set(types):
            return None
        return f"no {' / '.join(types)} event in the log (event types: {sorted(present)})"

    return _first(event_log, check)


def conversion_defined(d: AnalyticsData) -> str | None:
    present = set(d.events["event_type"].dropna().unique())
    if "purchase" not in present:
        return "no purchase event in the log, so nothing converts"
    if not present & {"view", "cart", "checkout"}:
        return ("only purchases/returns are logged (order lines), so every session converts; "
                "see repeat purchase instead")
    return None


def derived_values(events: pd.DataFrame, column: str) -> pd.Series:
    """Values of a canonical or derived (hour, weekday, day_type, month, price_band) column."""
    ts = pd.to_datetime(events["ts"])
    derived = {
        "hour": lambda: ts.dt.hour,
        "weekday": lambda: ts.dt.day_name().str[:3],
        "day_type": lambda: (ts.dt.day_of_week >= 5).map({True: "weekend", False: "weekday"}),
        "month": lambda: ts.dt.strftime("%Y-%m"),
        "price_band": lambda: price_bands(events["price"], DEFAULT_PRICE_EDGES),
    }
    return derived[column]() if column in derived else events[column]


def varies(column: str, table: str = "events") -> Check:
    """The column has >= 2 distinct non-null values (else nothing to compare)."""

    def check(d: AnalyticsData) -> str | None:
        frame = d.events if table == "events" else d.sessions
        if column == "hour" and (pd.to_datetime(frame["ts"]).dt.normalize() == frame["ts"]).all():
            return "timestamps carry no time of day, so there is no hour"
        if column == "segment" and column not in frame.columns:
            return "the log has no `segment` column (pass --input with one to break down by it)"
        values = derived_values(frame, column) if table == "events" else frame[column]
        distinct = values.dropna().unique()
        if len(distinct) == 0:
            return f"`{column}` is NULL in every row"
        if len(distinct) == 1:
            return f"`{column}` has a single value ({distinct[0]}), nothing to compare"
        return None

    return _first(event_log if table == "events" else session_table, check)


def identified_buyers(d: AnalyticsData) -> str | None:
    buys = d.events[d.events["event_type"] == "purchase"]
    if buys.empty:
        return "no purchase event in the log"
    if buys["user_id"].isna().all():
        return "no purchase carries a user id"
    return None


def min_span(days: float, what: str) -> Check:
    def check(d: AnalyticsData) -> str | None:
        ts = pd.to_datetime(d.events["ts"])
        span = (ts.max() - ts.min()) / pd.Timedelta(days=1)
        if span >= days:
            return None
        shown = f"{span * 24:.1f} hours" if span < 2 else f"{span:.1f} days"
        return f"the log spans {shown}; {what} needs at least {days:g} days"

    return check


def _n_periods(ts: pd.Series, period: str) -> int:
    freq = "M" if period == "month" else "W-SUN"  # weeks run Monday..Sunday
    return pd.to_datetime(ts).dt.to_period(freq).nunique()


def purchase_periods(n: int, period: str = "month") -> Check:
    def check(d: AnalyticsData) -> str | None:
        ev = d.events
        buys = ev[(ev["event_type"] == "purchase") & ev["user_id"].notna()]
        count = _n_periods(buys["ts"], period)
        return None if count >= n else (
            f"identified purchases span {count} calendar {period}(s); cohorts need >= {n}")

    return _first(event_log, identified_buyers, check)


def log_periods(n: int, period: str = "month") -> Check:
    def check(d: AnalyticsData) -> str | None:
        count = _n_periods(d.events.loc[d.events["user_id"].notna(), "ts"], period)
        return None if count >= n else (
            f"identified events span {count} calendar {period}(s); cohorts need >= {n}")

    return check


def has_users(d: AnalyticsData) -> str | None:
    if d.events["user_id"].isna().all():
        return "no user ids, so visits cannot be tied to people"
    return None


def has_orders(d: AnalyticsData) -> str | None:
    buys = d.events[d.events["event_type"] == "purchase"]
    if buys.empty:
        return "no purchase event in the log"
    if buys["order_id"].isna().all():
        return "purchases carry no order id, so orders cannot be formed"
    return None


def funnel_steps(d: AnalyticsData) -> list[str]:
    present = set(d.events["event_type"].dropna().unique())
    return [s for s in FUNNEL_STEPS if s in present]


def funnel_ok(d: AnalyticsData) -> str | None:
    steps = funnel_steps(d)
    if len(steps) >= 2:
        return None
    return f"a funnel needs >= 2 of {'/'.join(FUNNEL_STEPS)} event types; the log has {steps}"


def dataset_is(name: str, what: str) -> Check:
    def check(d: AnalyticsData) -> str | None:
        return None if d.dataset == name else f"{what} exist only for the {name} dataset"

    return check


def never(reason: str) -> Check:
    return lambda d: reason


def not_here(d: AnalyticsData) -> Result:
    """Run of an analysis whose check always skips it (it lives in another command)."""
    raise AssertionError("this analysis is always skipped here")


# ---------------------------------------------------------------- runners
def _rate_result(name: str, table: pd.DataFrame, key: str, what: str) -> Result:
    """A rate table shown, exported, drawn, and offered to the findings."""
    figure = plots.rate_bars(table, key, f"{what} by {key}")
    return Result({name: table}, {name: (table, key, what)}, [figure])


#: breakdowns derived from the clock: a coverage gap distorts them, so its sessions are left out
TIME_PROPERTIES = ("hour", "weekday", "day_type", "month")


def has_time_of_day(d: AnalyticsData) -> str | None:
    ts = pd.to_datetime(d.events["ts"])
    if (ts.dt.normalize() == ts).all():
        return "timestamps carry no time of day, so gaps within a day cannot be seen"
    return None


def _coverage(d: AnalyticsData) -> Result:
    gaps = tracking_gaps(d.events["ts"])
    if gaps.empty:
        note = ("No coverage gap: no 30 minutes or more with under 5% of the usual events "
                "(usual = the same time of day on the log's other days, or the busiest bins "
                "of a log under two days).")
        return Result({}, notes=[note])
    note = (f"{len(gaps)} coverage gap(s): stretches of 30 minutes or more where the log "
            "holds under 5% of the usual events, i.e. a tracking outage or a closure. "
            "Time-of-day, weekday and month conversion leave out the sessions that start "
            "inside one.")
    return Result({"coverage_gaps": gaps}, notes=[note])


def _outside_gaps(events: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """``events`` without the sessions that start inside a coverage gap, and a note saying
    how many were left out (None when there is no gap)."""
    gaps = tracking_gaps(events["ts"])
    if gaps.empty:
        return events, None
    ts = pd.to_datetime(events["ts"])
    start = ts.groupby(events["session_id"]).transform("min").fillna(ts)
    inside = in_gaps(start, gaps)
    sessions = events.loc[inside, "session_id"].nunique()
    spans = "; ".join(f"{a:%Y-%m-%d %H:%M}–{b:%H:%M}" for a, b in zip(
        gaps["start"], gaps["end"], strict=True))
    note = (f"{sessions:,} sessions that start inside a coverage gap ({spans} UTC: under 5% "
            "of the usual events, an outage or a closure) are left out, so the gap does not "
            "pass for behaviour.")
    return events.loc[~inside], note


def _conversion(prop: str) -> Analysis:
    def run(d: AnalyticsData) -> Result:
        events, note = _outside_gaps(d.events) if prop in TIME_PROPERTIES else (d.events, None)
        table = conversion_by(events, prop, unit="session", min_count=30)
        result = _rate_result(f"conversion_by_{prop}", table, prop, "Session conversion")
        result.notes += [note] if note else []
        return result

    check = _first(event_log, conversion_defined, varies(prop))
    return Analysis(f"conversion by {prop}", "Conversion by property", check, run)


def _session_conversion(prop: str) -> Analysis:
    def run(d: AnalyticsData) -> Result:
        table = conversion_by_sessions(d.sessions, prop, label="converted", min_count=30)
        return _rate_result(f"session_conversion_by_{prop}", table, prop, "Session conversion")

    return Analysis(f"session conversion by {prop}", "Session conversion",
                    varies(prop, "sessions"), run)


def _page_value_leak(d: AnalyticsData) -> Result:
    s = d.sessions.assign(
        page_value_band=(d.sessions["page_value"] > 0).map({True: "> 0", False: "0"}))
    table = conversion_by_sessions(s, "page_value_band", label="converted", min_count=1)
    note = ("PageValues leaks the label: Google Analytics gives a page a value from the "
            "transactions that followed it, so sessions that bought carry it. The table shows "
            "it, and no model should use it.")
    return Result({"conversion_by_page_value": table}, notes=[note])


def _overall_table(flag: pd.Series) -> pd.DataFrame:
    frame = pd.DataFrame({"group": ["all"], "n": [len(flag)], "converters": [int(flag.sum())]})
    return add_rates(frame)


def _repeat(by: str | None) -> Analysis:
    def run(d: AnalyticsData) -> Result:
        table = repeat_purchase_rate(d.events, by=by, min_count=30)
        if by is None:
            return Result({"repeat_purchase": table})
        return _rate_result(f"repeat_purchase_by_{by}", table, by, "Repeat purchase (customers)")

    checks = [event_log, identified_buyers, min_span(28, "repeat purchase")]
    name = "repeat purchase" + (f" by {by}" if by else "")
    return Analysis(name, "Repeat purchase", _first(*checks, *([varies(by)] if by else [])), run)


def _aov(by: str | None) -> Analysis:
    def run(d: AnalyticsData) -> Result:
        return Result({f"aov{'_by_' + by if by else ''}": average_order_value(d.events, by, 30)})

    checks = [event_log, has_orders, *([varies(by)] if by else [])]
    name = "average order value" + (f" by {by}" if by else "")
    return Analysis(name, "Average order value", _first(*checks), run)


def _returns(by: str, unit: str) -> Analysis:
    def run(d: AnalyticsData) -> Result:
        table = return_rate(d.events, by=by, unit=unit, min_count=30)
        return _rate_result(f"return_rate_by_{by}", table, by, f"Return rate ({unit}s)")

    check = _first(has_event("return"), *([returns_in_orders] if unit == "order" else []),
                   varies(by))
    return Analysis(f"return rate by {by}", "Returns (cancellations)", check, run)


def returns_in_orders(d: AnalyticsData) -> str | None:
    """Skip reason of a return rate per order: no return event carries an order id."""
    returns = d.events[d.events["event_type"] == "return"]
    if returns["order_id"].isna().all():
        return "return events carry no order id, so no order can be counted as returned"
    return None


def _cohorts(period: str, anchor: str) -> Analysis:
    """Retention of first-``anchor`` cohorts by ``period`` (month: 12 offsets, week: 12)."""
    suffix = ("" if period == "month" else "_weekly") + ("" if anchor == "purchase" else "_visit")

    def run(d: AnalyticsData) -> Result:
        matrix = retention_matrix(d.events, period, max_offset=12, anchor=anchor)
        wide = retention_wide(matrix).rename(columns=lambda k: f"{period}+{k}")
        sizes = matrix.drop_duplicates("cohort").set_index("cohort")["cohort_size"]
        wide.insert(0, "cohort_size", sizes)
        who = "buyers" if anchor == "purchase" else "visitors"
        title = f"{period.capitalize()}ly retention of first-{anchor} cohorts ({who})"
        figure = plots.retention_heatmap(retention_wide(matrix), title)
        notes = []
        if last_period_partial(d.events["ts"], period):
            last = pd.to_datetime(d.events["ts"]).max()
            notes.append(f"The log ends {last:%Y-%m-%d}, inside its last {period}: cells of that "
                         f"{period} (partial_period = true in retention{suffix}_long) undercount.")
        return Result({f"retention{suffix}": wide.reset_index(),
                       f"retention{suffix}_long": matrix}, figures=[figure], notes=notes)

    if anchor == "purchase":
        check = purchase_periods(2, period)
    else:
        check = _first(has_event("view"), has_users, log_periods(2, period))
    return Analysis(f"cohort retention ({period}ly, first {anchor})", "Cohorts and retention",
                    check, run)


def _propensity_split(d: AnalyticsData) -> tuple[pd.DataFrame, np.ndarray]:
    """Pre-purchase session features and their time split (train earliest 70%, val, test)."""
    feats = propensity_features(d.events)
    return feats, split_by_time(feats["start_ts"])


#: buyers and non-buyers each split needs at least: a ROC-AUC on fewer is noise (one
#: session more or less moves it by 0.1 or more), and the model choice rests on it
MIN_PER_OUTCOME = 5


def propensity_ok(d: AnalyticsData) -> str | None:
    """Every split of the time split holds at least ``MIN_PER_OUTCOME`` buyers and as many
    non-buyers (else no fit, or an AUC too noisy to choose a model or report)."""
    try:
        feats, split = _propensity_split(d)
    except DataError as err:
        return str(err)
    for name in ("train", "val", "test"):
        labels = feats.loc[split == name, "label"]
        buyers = int(labels.sum())
        if min(buyers, len(labels) - buyers) < MIN_PER_OUTCOME:
            return (f"the {name} split holds {len(labels)} sessions, {buyers} with a purchase; "
                    f"a ROC-AUC needs at least {MIN_PER_OUTCOME} sessions with and "
                    f"{MIN_PER_OUTCOME} without one")
    return None


def _window_text(events: pd.DataFrame) -> str:
    """'a 3-hour window (2019-10-01 00:00 to 2019-10-01 02:49 UTC, 2.8 hours of events)'."""
    ts = pd.to_datetime(events["ts"])
    hours = (ts.max() - ts.min()) / pd.Timedelta(hours=1)
    size = f"{max(round(hours), 1)}-hour" if hours < 48 else f"{hours / 24:.0f}-day"
    return (f"a {size} window ({ts.min():%Y-%m-%d %H:%M} to {ts.max():%Y-%m-%d %H:%M} UTC, "
            f"{hours:.1f} hours of events)")


def _abandoner_propensity(d: AnalyticsData) -> Result:
    """Abandoned cart sessions after the training period, scored by a model of earlier ones."""
    feats, split = _propensity_split(d)
    X, y = feats[list(PROPENSITY_FEATURES)], feats["label"].to_numpy()
    tr, va, te = (split == "train"), (split == "val"), (split == "test")
    fits = {name: fit_tabular(name, X[tr], y[tr], X[va], y[va], seed=d.seed)
            for name in PROPENSITY_MODELS}
    val_auc = {name: roc_auc_score(y[va], m.predict_proba(X[va])) for name, m in fits.items()}
    scores = {name: pd.Series(m.predict_proba(X), index=feats["session_id"])
              for name, m in fits.items()}
    later = d.events[d.events["session_id"].isin(feats.loc[~tr, "session_id"])]
    listed_ids = cart_abandoners(later)["session_id"]  # which carts does not depend on a score
    # a model that gives every listed cart one score ranks nothing (a few trees fitted on a
    # small log can), so it is passed over for one that separates them, if there is one
    separates = [n for n in PROPENSITY_MODELS if scores[n].reindex(listed_ids).nunique() > 1]
    best = max(separates or PROPENSITY_MODELS, key=lambda n: val_auc[n])  # ties: first listed
    passed_over = [n for n in PROPENSITY_MODELS
                   if n not in separates and val_auc[n] > val_auc[best]]
    score = scores[best]
    listed = cart_abandoners(later, score)
    listed.insert(1, "split", listed["session_id"].map(dict(zip(feats["session_id"], split,
                                                                strict=True))))
    model = pd.DataFrame([{
        "model": best, "chosen_on": "validation ROC-AUC" + (
            f" ({', '.join(passed_over)} scored every listed cart alike)" if passed_over else ""),
        "distinct_propensities": int(listed["propensity"].nunique()),
        **{f"val_roc_auc_{n}": val_auc[n] for n in PROPENSITY_MODELS},
        "test_roc_auc": roc_auc_score(y[te], score[feats.loc[te, "session_id"]]),
        "test_sessions": int(te.sum()), "test_buyers": int(y[te].sum()),
        "test_base_rate": float(y[te].mean()), "train_sessions": int(tr.sum()),
        "train_base_rate": float(y[tr].mean()), "val_sessions": int(va.sum()),
        "abandoners_listed": len(listed), "seed": d.seed,
    }])
    notes = [
        f"The log is {_window_text(d.events)}, so the sample is small: the model "
        f"trains on the earliest {int(tr.sum())} sessions and is tested on the last "
        f"{int(te.sum())} ({int(y[te].sum())} buyers); treat its ROC-AUC as rough.",
        "Propensity = the model's score for 'this session purchases', from its events "
        "before any purchase (counts by event type, items, categories, prices, cart value, "
        "duration). Both candidate models reweight the rare buyers; the chosen one's "
        f"score is calibrated on the {int(va.sum())} validation sessions (Platt scaling), "
        "so read it as a rough probability. The list holds the abandoned cart "
        "sessions that started after the training period (split val or test), so none was "
        "trained on; it is exported as cart_abandoners.csv. Test ROC-AUC and base rate are "
        "in abandoner_model.",
    ]
    return Result({"abandoner_model": model, "cart_abandoners": listed}, notes=notes,
                  exports={"cart_abandoners": listed})


def _visits(by: str | None) -> Analysis:
    def run(d: AnalyticsData) -> Result:
        table = visit_frequency(d.events, "week", by=by, min_count=30)
        return Result({f"visit_frequency{'_by_' + by if by else ''}": table})

    checks = [event_log, has_users, min_span(7, "visit frequency per week")]
    name = "visit frequency" + (f" by {by}" if by else "")
    return Analysis(name, "Visit frequency", _first(*checks, *([varies(by)] if by else [])), run)


def _funnel(by: str | None) -> Analysis:
    def run(d: AnalyticsData) -> Result:
        unit = "session" if d.events["user_id"].isna().all() else "user"
        steps = funnel_steps(d)
        parts = [funnel(d.events, steps, window, mode, unit, by=by).assign(window=window,
                                                                           mode=mode)
                 for window in FUNNEL_WINDOWS for mode in MODES]
        table = pd.concat(parts, ignore_index=True)
        note = (f"Funnel {' -> '.join(steps)} per {unit}, windows {' and '.join(FUNNEL_WINDOWS)}"
                " from the first step, in three modes (ordered / strict / any_order; "
                "docs/ANALYTICS.md). The chart shows the ordered mode, longest window.")
        shown = table[(table["mode"] == "ordered") & (table["window"] == FUNNEL_WINDOWS[-1])]
        figure = plots.funnel_figure(shown, by)
        return Result({f"funnel{'_by_' + by if by else ''}": table}, figures=[figure],
                      notes=[note])

    checks = [event_log, funnel_ok, *([varies(by)] if by else [])]
    return Analysis("funnel" + (f" by {by}" if by else ""), "Funnels", _first(*checks), run)


def first_cart_category(events: pd.DataFrame) -> pd.DataFrame:
    """Events with ``category`` replaced by the category of the session's first cart event
    (what was abandoned, not what was browsed first); sessions without one get NULL."""
    carts = events[(events["event_type"] == "cart") & events["category"].notna()]
    first = carts.sort_values("ts", kind="mergesort").groupby("session_id")["category"].first()
    return events.assign(category=events["session_id"].map(first))


def _abandonment(by: str | None) -> Analysis:
    def run(d: AnalyticsData) -> Result:
        events = first_cart_category(d.events) if by == "category" else d.events
        table = cart_abandonment(events, unit="session", by=by, min_count=30)
        if by is None:
            return Result({"cart_abandonment": table})
        return _rate_result(f"cart_abandonment_by_{by}", table, by, "Cart abandonment")

    checks = [has_event("cart"), *([varies(by)] if by else [])]
    name = "cart abandonment" + (f" by {by}" if by else "")
    return Analysis(name, "Cart abandonment", _first(*checks), run)


def _browsing(by: str | None) -> Analysis:
    def run(d: AnalyticsData) -> Result:
        return Result({f"browsing{'_by_' + by if by else ''}": browsing_summary(d.events, by)})

    checks = [has_event("view"), *([varies(by)] if by else [])]
    return Analysis("browsing" + (f" by {by}" if by else ""), "Browsing", _first(*checks), run)


def _category_mix(d: AnalyticsData) -> Result:
    return Result({"category_mix_by_country": category_mix(d.events, "country")})


def _coupon_rates(by: str) -> Callable[[AnalyticsData], Result]:
    def run(d: AnalyticsData) -> Result:
        table = redemption_rates(by)
        if by == "campaign_id":
            return _rate_result("redemption_by_campaign", table, by, "Coupon redemption")
        if by == "coupon_upc":
            note = ("One row per (campaign, coupon); n = households that received the "
                    "campaign, converters = those that redeemed that coupon; highest rate "
                    "first (the report shows the first rows, analytics.json all).")
            return Result({"redemption_by_coupon": table}, notes=[note])
        return _rate_result("redemption_by_campaign_type", table, by, "Coupon redemption")

    return run


BUNDLED_ONLY = ("Coupon analyses read the bundled dunnhumby campaign, redemption and "
                "transaction tables, not the --input file.")


def _redeemers(d: AnalyticsData) -> Result:
    comparison = redeemer_comparison()
    notes = [
        f"Caveat: {comparison.caveat}",
        f"repeat_purchase = 1 when the household has >= {REPEAT_MIN_BASKETS} distinct baskets "
        f"in the {REPEAT_DAYS} days from the cutoff; active_last_4w = a basket in the final "
        "28 days of the data. 95% intervals of the differences: "
        f"{INTERVAL_METHOD} (docs/ANALYTICS.md).",
        "Uplift by segment repeats the matched comparison inside each paper rule segment "
        "(pre-cutoff baskets per month) and each income band (demographics; most households "
        "have none: '(missing)').",
        *([] if d.bundled else [BUNDLED_ONLY]),
    ]
    drop = ["caveat", "interval"]
    return Result({"redeemers_vs_matched": comparison.summary.drop(columns=drop),
                   "uplift_by_segment": comparison.by_segment.drop(columns=drop)},
                  notes=notes)


def _leads(by: str | None) -> Callable[[AnalyticsData], Result]:
    def run(d: AnalyticsData) -> Result:
        if by is None:
            leads = leads_with_outcome()
            table = _overall_table(leads["converted"])
            table["median_days_to_close"] = leads["days_to_close"].median()
            return Result({"lead_conversion": table})
        table = lead_conversion(by, min_count=50)
        return _rate_result(f"lead_conversion_by_{by}", table, by, "Lead-to-deal conversion")

    return run


def catalogue() -> list[Analysis]:
    """Every analysis ``xbehavior analyze`` knows, in report order."""
    coupons = dataset_is("dunnhumby", "coupon and campaign tables")
    olist = dataset_is("olist", "marketing lead and closed-deal tables")
    return [
        Analysis("coverage gaps", "Data coverage", _first(event_log, has_time_of_day),
                 _coverage),
        *[_conversion(p) for p in EVENT_PROPERTIES],
        *[_session_conversion(p) for p in SESSION_PROPERTIES],
        Analysis("page value vs conversion", "Session conversion",
                 _first(session_table, varies("page_value", "sessions")), _page_value_leak),
        _funnel(None), _funnel("country"), _funnel("device"),
        _abandonment(None), *[_abandonment(p) for p in ABANDONMENT_PROPERTIES],
        _repeat(None), _repeat("country"),
        _aov(None), _aov("country"),
        _returns("country", "order"), _returns("price_band", "line"),
        *[_cohorts(period, anchor) for anchor in ("purchase", "visit")
          for period in ("month", "week")],
        _visits(None), _visits("country"),
        _browsing(None), _browsing("country"),
        Analysis("category mix by country", "Browsing",
                 _first(varies("country"), varies("category")), _category_mix),
        Analysis("coupon redemption by campaign type", "Coupons and campaigns", coupons,
                 _coupon_rates("campaign_type")),
        Analysis("coupon redemption by campaign", "Coupons and campaigns", coupons,
                 _coupon_rates("campaign_id")),
        Analysis("coupon redemption by coupon", "Coupons and campaigns", coupons,
                 _coupon_rates("coupon_upc")),
        Analysis("redeemers vs matched non-redeemers", "Coupons and campaigns", coupons,
                 _redeemers),
        Analysis("lead conversion", "Acquisition funnel", olist, _leads(None)),
        Analysis("lead conversion by origin", "Acquisition funnel", olist, _leads("origin")),
        Analysis("lead conversion by landing page", "Acquisition funnel", olist,
                 _leads("landing_page_id")),
        Analysis("cart abandoners with purchase propensity", "Targeting",
                 _first(has_event("cart"), has_event("purchase"), propensity_ok),
                 _abandoner_propensity),
        Analysis("model-based targeting", "Targeting", never(MODEL_REASON), not_here),
    ]
