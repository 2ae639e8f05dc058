"""``xbehavior analyze``: every analysis on one dataset that has what it needs, in one report.

Writes into ``out`` (each file atomically):
  report.html      self-contained report: findings first, one section per analysis group,
                   data quality, and the skipped analyses with their reasons last
  analytics.json   every table as records, findings, the skipped list and data quality
  <name>.csv       exports a marketing tool can load (cart_abandoners.csv: abandoned cart
                   sessions with their purchase propensity), when the analysis ran

Datasets: the bundled event logs and the online_shoppers session table go through ingest
(``--input`` may point at a file of the same layout); ``olist`` (leads -> closed deals) is
read from its bundled tables; ``file`` is your own log (``--input``, through the generic
adapter and a ``--mapping`` YAML unless its columns are already canonical, e.g. the output of
``xbehavior ingest file --out``). The catalogue of analyses is in ``analytics_sections``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from xbehavior.atomic import write_json, write_with
from xbehavior.datasets import BUNDLED
from xbehavior.engine import DuckDBEngine
from xbehavior.errors import ConfigError
from xbehavior.features.sessions import sessionise
from xbehavior.ingest import OWN_LOG, ingest_source
from xbehavior.insights.findings import Finding, findings_frame, make_findings, shown_findings
from xbehavior.insights.stats import OTHER, shown
from xbehavior.jobs.analytics_sections import AnalyticsData, Result, catalogue
from xbehavior.report import Section, render_report

DATASETS = (*BUNDLED, OWN_LOG)

#: one paragraph per report group saying what the unit and the rate are
GROUP_NOTES = {
    "Data coverage": (
        "Unit: 10-minute bin of the event timeline. A coverage gap is 30 minutes or more with "
        "under 5% of the expected events (the same time of day on the log's other days; for "
        "a log under two days, its 90th-percentile bin), where at least 20 were expected."),
    "Conversion by property": (
        "Unit: session; a session converted when it holds a purchase. Country, device, OS, "
        "browser, hour, weekday/weekend and month are the session's first value; for category, "
        "brand and price band a session counts once per value it touched and converted for "
        "that value when it bought an item with it. Groups under 30 sessions pooled in Other."),
    "Session conversion": (
        "Unit: session of the pre-aggregated session table; converted = the session ended in "
        "a transaction. Groups under 30 sessions pooled in Other."),
    "Repeat purchase": (
        "Unit: customer with >= 1 purchase; repeat = >= 2 distinct orders. Country is the "
        "customer's first. Groups under 30 customers pooled in Other."),
    "Average order value": (
        "Order = distinct order id of purchase lines; value = sum of line revenue (returns not "
        "netted). Country is the order's. Groups under 30 orders pooled in Other."),
    "Returns (cancellations)": (
        "By country: share of invoices (orders) that are cancellations; by price band: share "
        "of lines that are cancellation lines."),
    "Cohorts and retention": (
        "Cohort = month (or Monday week) of a customer's first purchase (or, for logs with "
        "views, first visit); cell = share of the cohort active k periods later (buying; for "
        "first-visit cohorts any event); periods after the log ends are blank (not observed) "
        "and cells of a last period the log ends inside are flagged partial_period."),
    "Visit frequency": (
        "Sessions per customer per week of the observed span; repeat visitors = customers "
        "with >= 2 sessions."),
    "Cart abandonment": (
        "Unit: session with a cart event; abandoned = no purchase at or after its last cart. "
        "Country and device are the session's first; category is that of its first cart "
        "event. Groups under 30 sessions pooled in Other."),
    "Funnels": (
        "Steps are event types; one attempt per unit starts at a first-step event and counts "
        "later events inside the window (1 hour and 1 day); the unit keeps its best attempt."),
    "Coupons and campaigns": (
        "Redemption: n = (household, campaign) receipts, converters = receipts redeemed. "
        "Redeemers vs non-redeemers: post-2017-07-01 outcomes, strata of pre-period spend x "
        "baskets, non-redeemer means weighted by redeemer counts."),
    "Acquisition funnel": (
        "Unit: marketing-qualified lead; converted = it appears among the closed deals; days "
        "to close = won date - first contact. Pages or channels under 50 leads pooled."),
    "Targeting": (
        "Unit: session. A model trained on the earliest sessions scores later abandoned cart "
        "sessions; the test ROC-AUC and base rate stand beside the list."),
    "Browsing": (
        "No outcome is logged, so only browsing is described: sessions, clicks (events) per "
        "session and the share of clicks per category, by the session's first country."),
}


@dataclass
class AnalyticsRun:
    """Everything the report and analytics.json show."""

    dataset: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    groups: dict[str, list[tuple[str, Result]]] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    exports: dict[str, pd.DataFrame] = field(default_factory=dict)
    quality: dict[str, object] = field(default_factory=dict)


def load_data(dataset: str, input: Path | None = None,
              mapping: Path | dict | None = None) -> tuple[AnalyticsData, dict]:
    """Ingest ``dataset`` (or ``input`` of its layout; for ``file``, your log through
    ``mapping``: a YAML path or the mapping itself) and pull the canonical table(s).

    Out: the data (events with session_id set by sessionisation, or the session table) and
    a data-quality dict (ingest accounting plus sessionisation counts).
    """
    if dataset not in DATASETS:
        raise ConfigError(f"unknown dataset {dataset!r}: choose one of {', '.join(DATASETS)} "
                          f"({OWN_LOG} = your own log: --input PATH [--mapping YAML])")
    if dataset == "olist":
        if input is not None:
            raise ConfigError("olist is read from its bundled lead and deal tables; "
                              "drop --input")
        # the analyses read the same ingested leads table (insights.acquisition)
        quality = ingest_source(DuckDBEngine(), "olist", None, mapping)[0].to_dict()
        return AnalyticsData("olist"), quality
    engine = DuckDBEngine()
    quality = ingest_source(engine, dataset, input, mapping)[0].to_dict()
    if dataset == "online_shoppers":
        sessions = engine.sql("SELECT * FROM sessions ORDER BY CAST(session_id AS INTEGER)")
        return AnalyticsData(dataset, sessions=sessions, bundled=input is None), quality
    quality["sessionisation"] = sessionise(engine, source=str(quality["source"]))
    # keep the source session id where there is one, else the sessionised key; input order
    events = engine.sql(
        "SELECT e.* REPLACE (coalesce(k.session_key, e.session_id) AS session_id) "
        "FROM events e LEFT JOIN session_events_keys k ON e.rowid = k.event_row "
        "ORDER BY e.rowid")
    return AnalyticsData(dataset, events=events, bundled=input is None), quality


def analyse(data: AnalyticsData) -> AnalyticsRun:
    """Run every applicable analysis of the catalogue; record the others with their reason."""
    run = AnalyticsRun(data.dataset)
    rates: dict[str, tuple[pd.DataFrame, str, str]] = {}
    for analysis in catalogue():
        reason = analysis.check(data)
        if reason is not None:
            run.skipped.append({"analysis": analysis.name, "reason": reason})
            continue
        result = analysis.run(data)
        reason = _all_pooled(result)
        if reason is not None:
            run.skipped.append({"analysis": analysis.name, "reason": reason})
            continue
        run.groups.setdefault(analysis.group, []).append((analysis.name, result))
        run.tables.update(result.tables)
        run.exports.update(result.exports)
        rates.update(result.rates)
    run.findings = make_findings(rates, max_findings=10, min_n=30)
    return run


def _all_pooled(result: Result) -> str | None:
    """Why a breakdown compares nothing: every group of its rate tables was too small and
    pooled into the one row 'Other' (which is just the overall rate again); else None."""
    breakdowns = [(t, key) for t, key, _ in result.rates.values() if key != "_all"]
    if not breakdowns or any(len(t) != 1 or t[key].iloc[0] != OTHER for t, key in breakdowns):
        return None
    table, key = breakdowns[0]
    unit = table.attrs.get("unit", "unit")
    return (f"every {key} has fewer than {table.attrs.get('min_count')} {unit}s, so all were "
            "pooled into 'Other': nothing to compare")


def run_analytics(dataset: str, out: Path, input: Path | None = None, seed: int = 0,
                  mapping: Path | dict | None = None) -> Path:
    """Analyse ``dataset`` and write ``out/report.html`` and ``out/analytics.json``.

    ``seed`` seeds the models fitted here (abandoner propensity) and is recorded; the rest is
    deterministic. Also writes ``out/<name>.csv`` per export. Returns ``out``.
    """
    start = time.perf_counter()
    out = Path(out)
    data, quality = load_data(dataset, input, mapping)
    data.seed = seed
    run = analyse(data)
    run.quality = quality
    seconds = time.perf_counter() - start
    write_analytics_json(run, out / "analytics.json", input, seed, mapping)
    for name, table in run.exports.items():
        write_with(out / f"{name}.csv", lambda path, t=table: t.to_csv(
            path, index=False, date_format="%Y-%m-%dT%H:%M:%S"))
    subtitle = (f"Dataset {dataset}{f' (from {input})' if input else ''}; "
                f"{sum(len(g) for g in run.groups.values())} analyses ran, "
                f"{len(run.skipped)} skipped; seed {seed}; {seconds:.0f} s.")
    render_report(f"xbehavior analytics: {dataset}", subtitle, build_sections(run),
                  out / "report.html")
    return out


def _records(frame: pd.DataFrame) -> list[dict]:
    """Table -> JSON-safe records (NaN -> null, timestamps ISO)."""
    frame = frame.rename(columns=str)
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def write_analytics_json(run: AnalyticsRun, path: Path, input: Path | None, seed: int,
                         mapping: Path | dict | None = None) -> None:
    """``analytics.json``: what ran and was skipped, findings, exports, tables (strict JSON)."""
    findings = [asdict(f) for f in run.findings]
    payload = {
        "dataset": run.dataset,
        "input": str(input) if input else None,
        "mapping": str(mapping) if isinstance(mapping, Path) else mapping,
        "seed": seed,
        "ran": [name for group in run.groups.values() for name, _ in group],
        "skipped": run.skipped,
        "findings": findings,
        "exports": [f"{name}.csv" for name in run.exports],
        "data_quality": run.quality,
        "tables": {name: _records(t) for name, t in run.tables.items()},
    }
    write_json(path, payload, indent=1)


# ---------------------------------------------------------------- report sections
def build_sections(run: AnalyticsRun) -> list[Section]:
    """Findings, one section per analysis group, data quality, skipped analyses (last)."""
    sections = [_findings_section(run)]
    for group, results in run.groups.items():
        paragraphs = [GROUP_NOTES[group]] if group in GROUP_NOTES else []
        section = Section(group, paragraphs=paragraphs)
        for name, result in results:
            section.paragraphs.extend(result.notes)
            section.tables.extend((f"{name}: {key}", shown(t))
                                  for key, t in result.tables.items()
                                  if not key.endswith("_long"))
            section.figures.extend(result.figures)
        sections.append(section)
    sections.append(_quality_section(run.quality))
    skipped = pd.DataFrame(run.skipped, columns=["analysis", "reason"])
    sections.append(Section(
        "Skipped analyses",
        paragraphs=["Analyses this dataset cannot support, each with the reason."],
        tables=[("Skipped", skipped)]))
    return sections


def _findings_section(run: AnalyticsRun) -> Section:
    frame = findings_frame(run.findings)
    cols = ["source", "group", "converters", "n", "rate", "ci_low", "ci_high", "ref_group",
            "ref_converters", "ref_n", "ref_rate", "ratio", "strength", "overlap"]
    return Section(
        "Findings",
        paragraphs=["The best-evidenced gaps between groups in the rate tables below (up to 2 "
                    "per table, ranked by |log rate ratio| / SE), each with numerator, "
                    "denominator and 95% Wilson interval; overlapping intervals are flagged "
                    "as not established."],
        bullets=[f.text for f in run.findings] or ["No rate table has two groups to compare."],
        tables=[("Numbers behind the findings", shown_findings(frame[cols]))]
        if len(frame) else [],
    )


def _quality_section(quality: dict) -> Section:
    rows = [{"item": k, "value": json.dumps(v, default=str) if isinstance(v, dict) else v}
            for k, v in quality.items()]
    return Section("Data quality",
                   paragraphs=["What ingest kept and dropped (rows read = kept + dropped)."],
                   tables=[("Data quality", pd.DataFrame(rows, columns=["item", "value"]))])
