"""`xbehavior run` end to end on a small real slice of Online Retail, and its bad-input errors."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from xbehavior.cli import app
from xbehavior.datasets import load_online_retail

runner = CliRunner()


@pytest.fixture(scope="module")
def retail_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All lines of 900 randomly chosen real customers (seeded), plus anonymous lines."""
    raw = load_online_retail()
    customers = raw["CustomerID"].dropna().unique()
    chosen = np.random.default_rng(7).choice(customers, size=900, replace=False)
    subset = raw[raw["CustomerID"].isin(chosen)]
    path = tmp_path_factory.mktemp("retail") / "slice.parquet"
    subset.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def run_dir(retail_slice: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    result = runner.invoke(app, [
        "run", "--input", str(retail_slice), "--out", str(out), "--max-epochs", "3",
        "--models", "lstm,xlstm_paper", "--threads", "2",
    ])
    assert result.exit_code == 0, result.output
    # off a terminal (here, and in CI logs) each step is logged once, as a plain line
    steps = [line for line in result.output.splitlines()
             if line.startswith(("ingest + fe", "train lstm", "report"))]
    assert [s.split(":")[0] for s in steps] == ["ingest + features", "train lstm", "report"]
    return out


def _no_nan(name: str) -> None:
    raise AssertionError(f"metrics.json holds {name}, which strict JSON parsers reject")


def test_outputs_exist(run_dir: Path) -> None:
    for name in ("report.html", "metrics.json", "scores.parquet", "audience.csv",
                 "models/lstm/model.safetensors", "models/xlstm_paper/config.json"):
        assert (run_dir / name).is_file(), name
    html = (run_dir / "report.html").read_text()
    assert "Findings" in html and "Test metrics" in html
    assert "<script src=\"http" not in html  # self-contained: plotly.js is inlined


def test_metrics_on_the_same_test_set_and_above_chance(run_dir: Path) -> None:
    metrics = json.loads((run_dir / "metrics.json").read_text(), parse_constant=_no_nan)
    test = metrics["test_metrics"]
    assert {"lightgbm", "logreg", "base_rate", "lstm", "xlstm_paper"} <= set(test)
    sizes = {m["n"] for m in test.values()}
    assert sizes == {metrics["splits"]["test"]["n"]}  # one test set for every model
    # ~700 test customers: ROC-AUC's standard error under chance is ~0.02, so 0.55 is
    # well clear of chance even after 3 epochs
    for name in ("lightgbm", "lstm", "xlstm_paper"):
        assert test[name]["roc_auc"] > 0.55, (name, test[name]["roc_auc"])
        assert test[name]["pr_auc"] > test[name]["base_rate"]
        assert test[name]["calibration"]["a"] > 0  # Platt-fitted on validation
    # the report's tables are in metrics.json too, as numbers
    for key in ("gains", "targeting", "ab_plan", "segment_profiles", "order_returns_by_country"):
        assert metrics[key], key
    assert {"segment", "country"} <= set(metrics["repurchase_rates"])
    assert [f["text"] for f in metrics["findings_detail"]] == metrics["findings"]
    fitted = [name for name in test if name != "base_rate"]
    assert metrics["best_model"] == max(fitted, key=lambda n: test[n]["val_roc_auc"])
    assert test["base_rate"]["calibration"] == {"a": 1.0, "b": 0.0}  # a probability already
    # calibrated on validation: the audience's probabilities add up to about the buyers
    # validation's base rate implies (a class-weighted raw score overstates them)
    audience = pd.read_csv(run_dir / "audience.csv")
    val_rate = metrics["splits"]["val"]["base_rate"]
    assert abs(audience["purchase_probability"].mean() - val_rate) < 0.05
    quality = metrics["data_quality"]
    assert quality["rows_kept"] + quality["rows_dropped"] == quality["rows_read"]
    algos = {row["algorithm"] for row in metrics["clustering"]}
    every = {"kmeans", "dbscan", "agglomerative", "hdbscan", "gmm", "lstm+kmeans",
             "xlstm_paper+kmeans"}  # fmt: skip
    assert algos == every
    for row in metrics["clustering"]:  # a score, or null (NaN) with the reason in the note
        for score in ("silhouette_shared", "dbi_shared"):
            value = row[score]
            assert (value is not None and math.isfinite(value)) or "undefined" in row["note"], (
                row, score)
    kmeans = {r["algorithm"]: r for r in metrics["clustering"]}["xlstm_paper+kmeans"]
    assert -1 <= kmeans["silhouette_shared"] <= 1 and kmeans["dbi_shared"] > 0
    months = pd.DataFrame(metrics["clustering_monthly"]).groupby("algorithm")["month"].nunique()
    assert set(months.index) == every and (months >= 1).all()  # embedding rows every month too



def test_importance_for_every_trained_model(run_dir: Path) -> None:
    imp = json.loads((run_dir / "metrics.json").read_text())["importance"]
    pairs = {(row["model"], row["method"]) for row in imp["table"]}
    assert pairs == {("lstm", "permutation"), ("lstm", "integrated_gradients"),
                     ("xlstm_paper", "permutation"), ("xlstm_paper", "integrated_gradients"),
                     ("logreg", "permutation"), ("lightgbm", "permutation"),
                     ("lightgbm", "tree_shap")}  # base_rate: constant score, skipped
    n_test = json.loads((run_dir / "metrics.json").read_text())["splits"]["test"]["n"]
    for row in imp["table"]:
        expected_n = min(n_test, imp["ig_examples"]) if row["method"] == "integrated_gradients" \
            else n_test
        assert row["n"] == expected_n, row
    assert {"feature", "lstm", "lstm_rank", "xlstm_paper", "xlstm_paper_rank"} == set(
        imp["lstm_vs_xlstm_paper"][0])
    assert "Integrated gradients" in (run_dir / "report.html").read_text()

def test_scores_and_audience(run_dir: Path) -> None:
    scores = pd.read_parquet(run_dir / "scores.parquet")
    assert scores["user_id"].is_unique
    assert {"score_lstm", "score_xlstm_paper", "score_lightgbm", "segment"} <= set(scores)
    audience = pd.read_csv(run_dir / "audience.csv")
    assert len(audience) == len(scores)
    assert audience["score_decile"].between(1, 10).all()
    # each row says what its probability is as of, and from which model
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert audience["model"].eq(metrics["best_model"]).all()
    assert audience["as_of"].eq(metrics["cutoffs"]["test"][:10]).all()


def test_a_stray_late_order_date_is_named(retail_slice: Path, tmp_path: Path) -> None:
    # one line with a mistyped year moves every cut-off past the real orders
    frame = pd.read_parquet(retail_slice)
    bought = frame[frame["CustomerID"].notna() & (frame["Quantity"] > 0)]
    stray = bought.iloc[[0]].assign(InvoiceDate="2012-09-01 10:00:00", InvoiceNo="999999")
    path = tmp_path / "typo.parquet"
    pd.concat([frame, stray]).to_parquet(path, index=False)
    result = runner.invoke(app, ["run", "--input", str(path), "--out", str(tmp_path / "o"),
                                 "--max-epochs", "1", "--models", "rnn"])
    assert result.exit_code == 2, result.output
    assert re.search(r"or check the last order date: the cut-offs count back from 2012-09-01 "
                     r"\(1 order\), \d+ days after the one before it, so a mistyped date would "
                     r"place them after the real orders$", result.output.strip())
    assert not (tmp_path / "o").exists()


def test_missing_file_is_one_line_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--input", str(tmp_path / "nope.parquet"),
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "file not found" in result.output and "Traceback" not in result.output


def test_wrong_columns_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"Invoice": ["1"], "When": ["2011-01-01 10:00:00"]}).to_csv(bad, index=False)
    result = runner.invoke(app, ["run", "--input", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "[IN003 missing_column]" in result.output and "Traceback" not in result.output
    # every missing column in one line, with a suggestion where a present one is close
    last = result.output.strip().splitlines()[-1]
    assert "'InvoiceNo' (for order_id) (did you mean 'Invoice'?)" in last
    assert "'StockCode' (for item_id)" in last and "'Country' (for country)" in last


def test_unknown_model_suggests_the_name(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--models", "lsmt", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "did you mean 'lstm'" in result.output


def test_score_applies_a_saved_model_like_in_training(run_dir: Path, retail_slice: Path,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "scores.parquet"
    result = runner.invoke(app, ["score", str(run_dir), "--model", "lstm", "--input",
                                 str(retail_slice), "--as-of", "2011-09-10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    scored = pd.read_parquet(out)
    run_scores = pd.read_parquet(run_dir / "scores.parquet")
    # the run's test cut-off is 2011-09-10: same customers, same probabilities
    merged = run_scores.merge(scored, on="user_id")
    assert len(merged) == len(run_scores) == len(scored)
    assert np.allclose(merged["score_lstm"], merged["purchase_probability"], atol=1e-5)


def test_score_unknown_model_lists_the_saved_ones(run_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["score", str(run_dir), "--model", "gru",
                                 "--out", str(tmp_path / "s.parquet")])
    assert result.exit_code == 2 and "this run has" in result.output


def test_own_order_log_through_a_mapping_runs_and_scores(retail_slice: Path,
                                                         tmp_path: Path) -> None:
    # the real slice with a shop's own column names, read through a mapping (no adapter)
    raw = pd.read_parquet(retail_slice)
    few = raw["CustomerID"].dropna().unique()[:400]  # fewer customers: a quicker run
    sold = raw[raw["CustomerID"].isin(few) & ~raw["InvoiceNo"].astype(str).str.startswith("C")]
    log = tmp_path / "orders.csv"
    sold.rename(columns={"CustomerID": "customer", "InvoiceNo": "order", "InvoiceDate": "when",
                         "StockCode": "sku", "UnitPrice": "unit_price", "Quantity": "qty",
                         "Country": "market"}).to_csv(log, index=False)
    mapping = tmp_path / "orders.yaml"
    mapping.write_text("columns: {user_id: customer, order_id: order, ts: when, item_id: sku, "
                       "price: unit_price, quantity: qty}\n")
    out = tmp_path / "run"
    # the file and the flags of xbehavior ingest file together: the flags add to it
    result = runner.invoke(app, ["run", "--dataset", "file", "--input", str(log), "--mapping",
                                 str(mapping), "--map", "country=market", "--default-event",
                                 "purchase", "--out", str(out), "--max-epochs", "2",
                                 "--models", "lstm", "--threads", "2"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data_quality"]["rows_read"] == len(sold)
    used = metrics["config"]["mapping"]
    assert used["columns"]["country"] == "market" and used["default_event"] == "purchase"
    assert used["columns"]["user_id"] == "customer"
    # the saved mapping reads the log again: the run's test cut-off gives its test scores
    scores = tmp_path / "scores.parquet"
    cutoff = metrics["cutoffs"]["test"]
    result = runner.invoke(app, ["score", str(out), "--model", "lstm", "--input", str(log),
                                 "--as-of", cutoff, "--out", str(scores)])
    assert result.exit_code == 0, result.output
    merged = pd.read_parquet(out / "scores.parquet").merge(pd.read_parquet(scores), on="user_id")
    assert len(merged) == metrics["splits"]["test"]["n"]
    assert np.allclose(merged["score_lstm"], merged["purchase_probability"], atol=1e-5)
    no_log = runner.invoke(app, ["score", str(out), "--model", "lstm",
                                 "--out", str(tmp_path / "s2.parquet")])
    assert no_log.exit_code == 2 and "trained on your own log" in no_log.output


@pytest.mark.parametrize(("args", "message"), [
    (["--dataset", "file"], "error: --dataset file needs --input PATH: your order-line log "
     "(CSV or Parquet), with --mapping YAML when its columns are not named canonically"),
    (["--mapping", "m.yaml"], "error: --mapping and the mapping flags (--map, --event, "
     "--ts-format, ...) are for your own log (--dataset file --input PATH); online_retail is "
     "read in its own layout, so drop them"),
    (["--event", "order=purchase"], "error: --mapping and the mapping flags (--map, --event, "
     "--ts-format, ...) are for your own log (--dataset file --input PATH); online_retail is "
     "read in its own layout, so drop them"),
])
def test_own_log_option_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["run", *args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and result.output.strip().splitlines()[-1] == message
    assert not (tmp_path / "o").exists()
