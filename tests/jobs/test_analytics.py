"""``xbehavior analyze``: skip rules on hand-built logs, and real runs spot-checked by hand.

Real runs use the bundled data; online_retail and dunnhumby use small real slices (first two
months of invoices; the first 150 households) passed as ``input`` to keep the suite fast.
Expected numbers are recomputed from the RAW files with plain pandas, not through ingest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from xbehavior.datasets import (
    data_path,
    load_dunnhumby,
    load_eshop_clickstream,
    load_olist,
    load_online_retail,
    load_online_shoppers,
    load_rees46,
)
from xbehavior.ingest.bundled import ESHOP_COUNTRIES
from xbehavior.insights.browsing import browsing_summary, category_mix
from xbehavior.insights.findings import log_ratio_z
from xbehavior.insights.returns import return_rate
from xbehavior.jobs.analytics import analyse, run_analytics
from xbehavior.jobs.analytics_cli import analyze_app
from xbehavior.jobs.analytics_sections import AnalyticsData, first_cart_category

N_HOUSEHOLDS = 150  # dunnhumby slice: the 150 smallest household ids


def make_events(rows: list[tuple]) -> pd.DataFrame:
    """Canonical events from (user, session, ts, type, order, category, price, country)."""
    cols = ["user_id", "session_id", "ts", "event_type", "order_id", "category", "price",
            "country"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["ts"] = pd.to_datetime(frame["ts"])
    for col in ("quantity", "revenue", "brand", "device", "os", "browser", "coupon", "item_id"):
        frame[col] = None
    return frame


# ------------------------------------------------------------ hand-built: skip rules
@pytest.fixture(scope="module")
def toy_run():
    # 4 sessions of 3 users on one day; s1 and s3 buy; s2 carts and leaves; country NULL
    rows = [
        ("u1", "s1", "2024-03-04 10:00", "view", None, "shoes", 10.0, None),
        ("u1", "s1", "2024-03-04 10:01", "cart", None, "shoes", 10.0, None),
        ("u1", "s1", "2024-03-04 10:02", "purchase", None, "shoes", 10.0, None),
        ("u2", "s2", "2024-03-04 11:00", "view", None, "hats", 30.0, None),
        ("u2", "s2", "2024-03-04 11:05", "cart", None, "hats", 30.0, None),
        ("u3", "s3", "2024-03-04 12:00", "view", None, "hats", 30.0, None),
        ("u3", "s3", "2024-03-04 12:10", "purchase", None, "hats", 30.0, None),
        ("u3", "s4", "2024-03-04 15:00", "view", None, "shoes", 10.0, None),
    ]
    return analyse(AnalyticsData("toy", events=make_events(rows)))


def _reasons(run) -> dict[str, str]:
    return {s["analysis"]: s["reason"] for s in run.skipped}


def _reasons_of(analytics_json: dict) -> dict[str, str]:
    return {s["analysis"]: s["reason"] for s in analytics_json["skipped"]}


def _no_nan(name: str) -> None:
    raise AssertionError(f"analytics.json holds {name}, which strict JSON parsers reject")


def test_toy_log_runs_what_it_can_and_says_why_not(toy_run):
    ran = {name for group in toy_run.groups.values() for name, _ in group}
    assert ran == {"coverage gaps", "funnel", "cart abandonment", "browsing"}
    why = _reasons(toy_run)
    # hours 10, 11, 12, 15 hold one session each, all under min_count: one "Other" row, the
    # overall rate again, so the breakdown is skipped rather than shown as if it compared
    assert why["conversion by hour"] == (
        "every hour has fewer than 30 sessions, so all were pooled into 'Other': nothing to "
        "compare")
    for name in ("conversion by category", "conversion by price_band",
                 "cart abandonment by category"):
        assert why[name].endswith("so all were pooled into 'Other': nothing to compare")
    assert why["conversion by device"] == "`device` is NULL in every row"
    assert why["conversion by month"] == "`month` has a single value (2024-03), nothing to compare"
    assert why["average order value"] == "purchases carry no order id, so orders cannot be formed"
    assert why["repeat purchase"] == (
        "the log spans 5.0 hours; repeat purchase needs at least 28 days")
    assert why["cohort retention (monthly, first purchase)"] == (
        "identified purchases span 1 calendar month(s); cohorts need >= 2")
    assert why["cohort retention (weekly, first visit)"] == (
        "identified events span 1 calendar week(s); cohorts need >= 2")
    assert why["conversion by weekday"] == "`weekday` has a single value (Mon), nothing to compare"
    assert why["conversion by segment"].startswith("the log has no `segment` column")
    # 4 sessions cannot fill a 70/15/15 time split
    assert why["cart abandoners with purchase propensity"].startswith("time split: 4 sessions")
    assert why["coupon redemption by campaign type"].endswith("only for the dunnhumby dataset")
    assert why["lead conversion"].endswith("only for the olist dataset")
    assert why["session conversion by visitor_type"].startswith("needs a one-row-per-session")


def test_returns_without_orders_and_prices_without_values_are_handled():
    # a return with no order id cannot make an order return rate (it crashed drawing an
    # empty table); views without a price must not reach the abandoner model as NaN
    rows = [("u1", "s1", "2024-03-04 10:00", "return", None, "shoes", 5.0, "DE"),
            ("u2", "s2", "2024-03-04 11:00", "view", None, "hats", None, "FR")]
    run = analyse(AnalyticsData("toy", events=make_events(rows)))
    assert _reasons(run)["return rate by country"] == (
        "return events carry no order id, so no order can be counted as returned")


def test_toy_log_numbers(toy_run):
    assert "conversion_by_hour" not in toy_run.tables  # skipped: see the test above
    # carts in s1 (bought after) and s2 (not): 1 of 2 abandoned
    cart = toy_run.tables["cart_abandonment"]
    assert cart[["group", "n", "converters"]].values.tolist() == [["all", 2, 1]]
    # Wilson 95% for 1/2: centre 0.5, half-width 0.40547
    assert cart["ci_low"].iloc[0] == pytest.approx(0.09453, abs=1e-5)
    assert cart["ci_high"].iloc[0] == pytest.approx(0.90547, abs=1e-5)
    # ordered funnel view -> cart -> purchase per user: u1 all 3 steps, u2 2, u3 1
    fun = toy_run.tables["funnel"]
    assert set(fun["window"]) == {"1h", "1D"}  # every step fits inside an hour here
    for window in ("1h", "1D"):
        ordered = fun[(fun["mode"] == "ordered") & (fun["window"] == window)]
        assert ordered["n"].tolist() == [3, 2, 1]


def test_abandonment_category_is_the_first_cart():
    # s1 views hats, carts shoes then hats and leaves; s2 carts hats, buys; s3 never carts
    rows = [("u1", "s1", "2024-03-04 10:00", "view", None, "hats", 1.0, "PL"),
            ("u1", "s1", "2024-03-04 10:01", "cart", None, "shoes", 1.0, "PL"),
            ("u1", "s1", "2024-03-04 10:02", "cart", None, "hats", 1.0, "PL"),
            ("u2", "s2", "2024-03-04 11:00", "cart", None, "hats", 1.0, "DE"),
            ("u2", "s2", "2024-03-04 11:05", "purchase", "o1", "hats", 1.0, "DE"),
            ("u3", "s3", "2024-03-04 12:00", "view", None, "hats", 1.0, "DE")]
    out = first_cart_category(make_events(rows))
    assert out["category"].iloc[:5].tolist() == ["shoes"] * 3 + ["hats"] * 2
    assert out["category"].isna().iloc[5]  # s3 has no cart
    from xbehavior.insights.descriptive import cart_abandonment
    table = cart_abandonment(out, by="category", min_count=1).set_index("category")
    assert table.loc["shoes", ["n", "converters"]].tolist() == [1, 1]
    assert table.loc["hats", ["n", "converters"]].tolist() == [1, 0]


def test_return_rate_units_hand_built():
    rows = [  # order o1: 2 lines; o2: a cancellation of 1 line; o3: 1 line by u2
        ("u1", None, "2024-01-01 10:00", "purchase", "o1", None, 2.0, "UK"),
        ("u1", None, "2024-01-01 10:00", "purchase", "o1", None, 60.0, "UK"),
        ("u1", None, "2024-01-02 09:00", "return", "o2", None, 60.0, "UK"),
        ("u2", None, "2024-01-03 09:00", "purchase", "o3", None, 3.0, "FR"),
    ]
    ev = make_events(rows)
    by_order = return_rate(ev, "country", "order", min_count=1)
    assert by_order[["country", "n", "converters"]].values.tolist() == [["UK", 2, 1], ["FR", 1, 0]]
    by_line = return_rate(ev, "price_band", "line", min_count=1)
    assert dict(zip(by_line["price_band"], by_line["converters"], strict=True)) == {
        "0-5": 0, "50-100": 1}
    assert return_rate(ev, None, "user", min_count=1)["converters"].tolist() == [1]


def test_browsing_hand_built():
    rows = [  # PL: s1 3 clicks, s2 1 click; DE: s3 2 clicks
        (None, "s1", "2024-01-01", "view", None, "a", None, "PL"),
        (None, "s1", "2024-01-01", "view", None, "a", None, "PL"),
        (None, "s1", "2024-01-01", "view", None, "b", None, "PL"),
        (None, "s2", "2024-01-01", "view", None, "b", None, "PL"),
        (None, "s3", "2024-01-01", "view", None, "a", None, "DE"),
        (None, "s3", "2024-01-01", "view", None, None, None, "DE"),
    ]
    ev = make_events(rows)
    summary = browsing_summary(ev, "country", min_count=1)
    assert summary[["country", "sessions", "clicks", "clicks_per_session"]].values.tolist() == [
        ["PL", 2, 4, 2.0], ["DE", 1, 2, 2.0]]
    mix = category_mix(ev, "country", min_count=1).set_index(["country", "category"])["share"]
    assert mix[("PL", "b")] == 0.5 and mix[("DE", "(missing)")] == 0.5


# ------------------------------------------------------------ real data runs
@pytest.fixture(scope="module")
def slices(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("slices")
    retail = load_online_retail()
    retail[retail["InvoiceDate"] < "2011-02-01"].to_parquet(folder / "retail.parquet")
    tx = load_dunnhumby("transactions")
    keep = sorted(tx["household_id"].unique())[:N_HOUSEHOLDS]
    (folder / "dh").mkdir()
    tx[tx["household_id"].isin(keep)].to_parquet(folder / "dh" / "transactions.parquet")
    os.symlink(data_path("dunnhumby", "products.parquet"), folder / "dh" / "products.parquet")
    return {"online_retail": folder / "retail.parquet",
            "dunnhumby": folder / "dh" / "transactions.parquet"}


@pytest.fixture(scope="module")
def runs(slices, tmp_path_factory) -> dict[str, dict]:
    """analytics.json of every dataset (a real slice where ``slices`` has one)."""
    out = {}
    for name in ("online_retail", "online_shoppers", "rees46", "eshop_clickstream",
                 "dunnhumby", "olist"):
        folder = run_analytics(name, tmp_path_factory.mktemp(name), slices.get(name), seed=0)
        html = (folder / "report.html").read_text(encoding="utf-8")
        assert html.index("Findings") < html.index("Skipped analyses")
        out[name] = json.loads((folder / "analytics.json").read_text(encoding="utf-8"),
                               parse_constant=_no_nan)
        out[name]["folder"] = folder
    return out


def _table(run: dict, name: str, key: str) -> pd.DataFrame:
    return pd.DataFrame(run["tables"][name]).set_index(key)


def test_every_dataset_ran_something_and_lists_skips(runs):
    for name, run in runs.items():
        assert run["ran"], name
        assert all(s["reason"] for s in run["skipped"]), name
        assert {s["analysis"] for s in run["skipped"]}.isdisjoint(run["ran"]), name
        assert "model-based targeting" in {s["analysis"] for s in run["skipped"]}


def test_eshop_skips_conversion_and_counts_browsing(runs):
    run = runs["eshop_clickstream"]
    why = {s["analysis"]: s["reason"] for s in run["skipped"]}
    conversion = [a for a in why if a.startswith("conversion by")]
    assert len(conversion) == 12
    assert all(why[a] == "no purchase event in the log, so nothing converts" for a in conversion)
    raw = load_eshop_clickstream()
    poland = raw[raw["country"] == ESHOP_COUNTRIES.index("Poland") + 1]
    row = _table(run, "browsing_by_country", "country").loc["Poland"]
    assert (row["sessions"], row["clicks"]) == (poland["session ID"].nunique(), len(poland))


def test_rees46_skips_coupons_and_device_and_matches_raw(runs):
    run = runs["rees46"]
    skipped = {s["analysis"] for s in run["skipped"]}
    assert {"conversion by device", "coupon redemption by campaign type"} <= skipped
    raw = load_rees46().drop_duplicates()
    raw["ts"] = pd.to_datetime(raw["event_time"].str.replace(" UTC", ""))
    # a session is a (user, user_session) pair: SOURCE.md's one id shared by 2 users is 2
    raw["session"] = raw["user_id"].astype(str) + "/" + raw["user_session"]
    # by hour: sessions starting inside the documented tracking outage (SOURCE.md,
    # 00:20-02:10) are left out, so its near-empty hour 1 is not read as behaviour
    hour = pd.DataFrame(run["tables"]["conversion_by_hour"])
    start = raw.groupby("session")["ts"].transform("min")
    kept = raw[~((start >= "2019-10-01 00:20") & (start < "2019-10-01 02:10"))]
    buyers = kept.loc[kept["event_type"] == "purchase", "session"].nunique()
    assert (hour["n"].sum(), hour["converters"].sum()) == (kept["session"].nunique(), buyers)
    assert "1" not in set(hour["hour"].astype(str))
    assert pd.DataFrame(run["tables"]["coverage_gaps"])["events"].tolist() == [197]
    # cart abandonment: sessions with a cart and no purchase at or after their last cart
    last_cart = raw[raw["event_type"] == "cart"].groupby("session")["ts"].max()
    last_buy = raw[raw["event_type"] == "purchase"].groupby("session")["ts"].max()
    abandoned = (~(last_buy.reindex(last_cart.index) >= last_cart)).sum()
    cart = pd.DataFrame(run["tables"]["cart_abandonment"]).iloc[0]
    assert (cart["n"], cart["converters"]) == (len(last_cart), abandoned)


def test_olist_overall_and_origin(runs):
    run = runs["olist"]
    overall = pd.DataFrame(run["tables"]["lead_conversion"]).iloc[0]
    assert (overall["n"], overall["converters"]) == (8000, 842)
    leads, deals = load_olist("leads"), load_olist("deals")
    organic = leads[leads["origin"] == "organic_search"]
    row = _table(run, "lead_conversion_by_origin", "origin").loc["organic_search"]
    assert (row["n"], row["converters"]) == (len(organic), organic["mql_id"].isin(
        deals["mql_id"]).sum())


def test_online_shoppers_visitor_type_matches_raw(runs):
    raw = load_online_shoppers()
    returning = raw[raw["VisitorType"] == "Returning_Visitor"]
    row = _table(runs["online_shoppers"], "session_conversion_by_visitor_type",
                 "visitor_type").loc["Returning_Visitor"]
    assert (row["n"], row["converters"]) == (len(returning), returning["Revenue"].sum())
    assert "page value vs conversion" in runs["online_shoppers"]["ran"]


def _retail_kept(slice_path: Path) -> pd.DataFrame:
    """Raw Online Retail lines that ingest keeps (no bad debt, stock adjustment, zero price)."""
    raw = pd.read_parquet(slice_path)
    inv = raw["InvoiceNo"]
    drop = inv.str.startswith("A") | ((raw["Quantity"] < 0) & ~inv.str.startswith("C"))
    return raw[~drop & (raw["UnitPrice"] != 0)]


def test_online_retail_returns_and_aov_match_raw(runs, slices):
    kept = _retail_kept(slices["online_retail"])
    uk = kept[kept["Country"] == "United Kingdom"]
    row = _table(runs["online_retail"], "return_rate_by_country", "country").loc["United Kingdom"]
    cancelled = uk.loc[uk["InvoiceNo"].str.startswith("C"), "InvoiceNo"].nunique()
    assert (row["n"], row["converters"]) == (uk["InvoiceNo"].nunique(), cancelled)
    sales = kept[~kept["InvoiceNo"].str.startswith("C")].drop_duplicates()
    value = (sales["Quantity"] * sales["UnitPrice"]).groupby(sales["InvoiceNo"]).sum()
    aov = pd.DataFrame(runs["online_retail"]["tables"]["aov"]).iloc[0]
    assert aov["n_orders"] == len(value)
    assert aov["aov"] == pytest.approx(value.mean(), rel=1e-9)


def test_dunnhumby_coupons_and_repeat_match_raw(runs):
    run = runs["dunnhumby"]
    receipts = load_dunnhumby("campaigns")[["campaign_id", "household_id"]].drop_duplicates()
    types = load_dunnhumby("campaign_descriptions").set_index("campaign_id")["campaign_type"]
    red = load_dunnhumby("coupon_redemptions")[["campaign_id", "household_id"]].drop_duplicates()
    type_a = receipts[receipts["campaign_id"].map(types) == "Type A"]
    hits = type_a.merge(red, on=["campaign_id", "household_id"])
    row = _table(run, "redemption_by_campaign_type", "campaign_type").loc["Type A"]
    assert (row["n"], row["converters"]) == (len(type_a), len(hits))
    tx = load_dunnhumby("transactions")
    tx = tx[tx["household_id"].isin(sorted(tx["household_id"].unique())[:N_HOUSEHOLDS])]
    baskets = tx.groupby("household_id")["basket_id"].nunique()
    rep = pd.DataFrame(run["tables"]["repeat_purchase"]).iloc[0]
    assert (rep["n"], rep["converters"]) == (len(baskets), (baskets >= 2).sum())
    assert any(s["analysis"] == "conversion by country" for s in run["skipped"])


def test_findings_quote_their_tables(runs):
    checked = 0
    for name, run in runs.items():
        found = run["findings"]
        assert len(found) <= 10
        sources = pd.Series([f["source"] for f in found])
        assert (sources.value_counts() <= 2).all()  # at most 2 findings per table
        if name in ("rees46", "online_shoppers"):  # >= 3 rate tables of >= 3 groups each
            assert len(found) >= 5, name
        for f in found:
            table = pd.DataFrame(run["tables"][f["source"]])
            table = table.set_index(table[f["key"]].astype(str))
            for prefix in ("", "ref_"):
                row = table.loc[f[prefix + "group"] if prefix else f["group"]]
                assert (row["converters"], row["n"]) == (f[prefix + "converters"], f[prefix + "n"])
                assert (row["rate"], row["ci_low"], row["ci_high"]) == pytest.approx(
                    (f[prefix + "rate"], f[prefix + "ci_low"], f[prefix + "ci_high"]))
                assert f"{f[prefix + 'converters']}/{f[prefix + 'n']}" in f["text"]
                checked += 1
            assert f["strength"] == pytest.approx(log_ratio_z(
                f["converters"], f["n"], f["ref_converters"], f["ref_n"]))
            assert f["overlap"] == (f["ref_ci_high"] >= f["ci_low"])
        overlaps = [f["overlap"] for f in found]
        assert overlaps == sorted(overlaps)  # established differences first
    assert checked >= 20


def test_rees46_cart_abandoner_export_matches_raw(runs):
    run = runs["rees46"]
    model = run["tables"]["abandoner_model"][0]
    assert model["test_base_rate"] == pytest.approx(model["test_buyers"] / model["test_sessions"])
    assert 0 <= model["test_roc_auc"] <= 1 and model["model"] in ("lightgbm", "logreg")
    listed = pd.read_csv(run["folder"] / "cart_abandoners.csv")
    assert list(listed.columns) == ["session_id", "split", "last_cart_ts", "cart_events",
                                    "cart_value", "user_id", "country", "device",
                                    "propensity"]
    assert listed["propensity"].is_monotonic_decreasing and listed["propensity"].notna().all()
    # lightgbm on this small log gave every listed cart one score: the list must rank them
    assert listed["propensity"].nunique() > 1
    assert model["distinct_propensities"] == listed["propensity"].nunique()
    assert set(listed["split"]) <= {"val", "test"}
    # expected: raw sessions whose last cart has no purchase at or after it, starting at or
    # after the time-split cut-off t1 = start of the (train_sessions + 1)-th session (sessions
    # whose first event is a purchase have no features and are not counted)
    raw = load_rees46().drop_duplicates()
    raw["ts"] = pd.to_datetime(raw["event_time"].str.replace(" UTC", ""))
    raw = raw.sort_values(["user_session", "ts"], kind="mergesort")
    first = raw.groupby("user_session").first()
    # who to remind: each listed session's own user
    assert (listed["user_id"].to_numpy() == first.loc[listed["session_id"], "user_id"]
            .to_numpy()).all()
    starts = first.loc[first["event_type"] != "purchase", "ts"].sort_values(kind="mergesort")
    t1 = starts.iloc[model["train_sessions"]]
    last_cart = raw[raw["event_type"] == "cart"].groupby("user_session")["ts"].max()
    last_buy = raw[raw["event_type"] == "purchase"].groupby("user_session")["ts"].max()
    abandoned = last_cart.index[~(last_buy.reindex(last_cart.index) >= last_cart)]
    expected = {s for s in abandoned if s in starts.index and starts[s] >= t1}
    assert set(listed["session_id"]) == expected and len(listed) == model["abandoners_listed"]
    assert "cart_abandoners.csv" in run["exports"]


def test_cli_writes_and_fails_in_one_line(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(analyze_app, ["olist", "--out", str(tmp_path / "o")])
    assert ok.exit_code == 0 and (tmp_path / "o" / "analytics.json").exists()
    bad = runner.invoke(analyze_app, ["nope", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "unknown dataset 'nope'" in bad.output


def test_own_log_in_canonical_form_gives_the_bundled_run(runs, tmp_path):
    # the bundled rees46 events, exported canonical (what `ingest ... --out` writes), analysed
    # as your own log: every table and finding must equal the bundled run's
    from xbehavior.engine import DuckDBEngine
    from xbehavior.ingest import ingest_dataset

    engine = DuckDBEngine(threads=1)
    ingest_dataset(engine, "rees46")
    engine.to_parquet("events", tmp_path / "events.parquet")
    folder = run_analytics("file", tmp_path / "own", tmp_path / "events.parquet", seed=0)
    own = json.loads((folder / "analytics.json").read_text(encoding="utf-8"))
    bundled = runs["rees46"]
    assert own["dataset"] == "file" and own["ran"] == bundled["ran"]
    assert own["tables"] == bundled["tables"] and own["findings"] == bundled["findings"]
    assert own["exports"] == bundled["exports"] == ["cart_abandoners.csv"]


def test_own_log_through_a_mapping_and_its_option_errors(tmp_path):
    runner = CliRunner()
    examples = Path(__file__).parents[2] / "examples"
    ok = runner.invoke(analyze_app, [
        "file", "--input", str(examples / "rees46_renamed.csv"),
        "--mapping", str(examples / "rees46_mapping.yaml"), "--out", str(tmp_path / "m")])
    assert ok.exit_code == 0, ok.output
    run = json.loads((tmp_path / "m" / "analytics.json").read_text(encoding="utf-8"))
    assert run["mapping"].endswith("rees46_mapping.yaml") and run["ran"]
    assert run["data_quality"]["rows_read"] == 278
    # 278 events are too few for the abandoner model's ROC-AUC to mean anything
    assert _reasons_of(run)["cart abandoners with purchase propensity"] == (
        "the val split holds 9 sessions, 5 with a purchase; a ROC-AUC needs at least 5 "
        "sessions with and 5 without one")
    no_input = runner.invoke(analyze_app, ["file", "--out", str(tmp_path / "a")])
    assert no_input.exit_code == 2 and no_input.output.strip() == (
        "error: file needs --input PATH: your log (CSV or Parquet), with --mapping YAML when "
        "its columns are not named canonically")
    for option in (["--mapping", "m.yaml"], ["--map", "ts=When"]):
        stray = runner.invoke(analyze_app, ["rees46", *option, "--out", str(tmp_path / "b")])
        assert stray.exit_code == 2 and stray.output.strip() == (
            "error: --mapping and the mapping flags (--map, --event, --ts-format, ...) are for "
            "your own log (file --input PATH); rees46 is read in its own layout, so drop them")


def test_own_log_mapping_given_as_flags_reads_as_the_file_does(tmp_path):
    """The flags of xbehavior ingest file, on analyze: the same mapping as
    examples/rees46_mapping.yaml, written out as flags, gives the same analyses."""
    runner = CliRunner()
    examples = Path(__file__).parents[2] / "examples"
    log = str(examples / "rees46_renamed.csv")
    by_file = runner.invoke(analyze_app, ["file", "--input", log, "--mapping",
                                          str(examples / "rees46_mapping.yaml"),
                                          "--out", str(tmp_path / "file")])
    flags = [f"--map={c}" for c in ("user_id=Shopper", "session_id=Visit", "ts=When",
                                    "event_type=Action", "item_id=SKU", "category=Category",
                                    "brand=Maker", "price=Amount")]
    flags += ["--ts-format", "%d/%m/%Y %H:%M:%S", "--timezone", "Europe/Warsaw",
              "--event", "product_view=view", "--event", "add_to_basket=cart",
              "--event", "order=purchase"]
    by_flags = runner.invoke(analyze_app, ["file", "--input", log, *flags,
                                           "--out", str(tmp_path / "flags")])
    assert by_file.exit_code == 0 and by_flags.exit_code == 0, by_flags.output
    runs = {name: json.loads((tmp_path / name / "analytics.json").read_text(encoding="utf-8"))
            for name in ("file", "flags")}
    assert runs["flags"]["mapping"]["columns"]["ts"] == "When"  # recorded as given
    assert runs["flags"]["mapping"]["events"] == {"product_view": "view",
                                                  "add_to_basket": "cart", "order": "purchase"}
    for key in ("ran", "skipped", "findings", "tables", "data_quality"):
        assert runs["flags"][key] == runs["file"][key], key


def test_own_log_session_id_clash_names_the_file(tmp_path):
    # a's first event has no session id, so its gap session's key is 'a#1': the source id
    # 'a#1' on the next event would merge the two sessions
    log = tmp_path / "log.csv"
    log.write_text("user_id,session_id,ts,event_type\n"
                   "a,,2024-01-01 10:00:00,view\na,a#1,2024-01-01 12:00:00,view\n")
    out = CliRunner().invoke(analyze_app, ["file", "--input", str(log),
                                           "--out", str(tmp_path / "o")])
    assert out.exit_code == 2 and out.output.strip().startswith(
        f"error: {log}: user 'a': source session id 'a#1' (column session_id) is also the key")
    assert "\n" not in out.output.strip()


def test_report_tables_name_what_they_count(toy_run):
    """analytics.json keeps the shared column ``converters``; the report shows each rate
    table's count by what it counts, and the findings' as the neutral ``count``."""
    from xbehavior.jobs.analytics import build_sections

    shown = {caption: frame for section in build_sections(toy_run)
             for caption, frame in section.tables}
    cart = shown["cart abandonment: cart_abandonment"]
    assert "abandoned" in cart.columns and "converters" not in cart.columns
    assert "converters" in toy_run.tables["cart_abandonment"].columns
    from xbehavior.insights.findings import shown_findings

    mixed = pd.DataFrame({"converters": [1], "n": [2], "ref_converters": [3], "ref_n": [4]})
    assert shown_findings(mixed).columns.tolist() == ["count", "n", "ref_count", "ref_n"]
