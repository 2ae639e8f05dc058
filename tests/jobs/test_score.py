"""`xbehavior score` with saved tabular models, on a small real slice of Online Retail."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from xbehavior.cli import app
from xbehavior.config import make_config
from xbehavior.datasets import load_online_retail
from xbehavior.engine import DuckDBEngine
from xbehavior.jobs.data_prep import prepare
from xbehavior.jobs.modelling import train_tabular_models

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """All lines of 900 seeded-random real customers; the run's tabular step saving its models.

    Returns (run folder, test cut-off, {model: test scores by user_id})."""
    raw = load_online_retail()
    customers = raw["CustomerID"].dropna().unique()
    chosen = np.random.default_rng(7).choice(customers, size=900, replace=False)
    path = tmp_path_factory.mktemp("retail") / "slice.parquet"
    raw[raw["CustomerID"].isin(chosen)].to_parquet(path, index=False)
    run = tmp_path_factory.mktemp("run")
    cfg = make_config(dataset="online_retail", input=path, threads=1)
    data = prepare(DuckDBEngine(threads=1), cfg)
    results = train_tabular_models(data, cfg, run / "models")
    users = data.examples.loc[data.split("test"), "user_id"].astype(str).to_numpy()
    scores = {r.name: pd.Series(r.test_proba, index=users) for r in results}
    return run, path, data.plan.test, scores


def test_tabular_models_are_saved_without_pickles(trained) -> None:
    run, *_ = trained
    models = run / "models"
    assert sorted(p.name for p in models.iterdir()) == [
        "base_rate", "features.json", "lightgbm", "logreg"]
    assert sorted(p.name for p in (models / "lightgbm").iterdir()) == ["config.json", "model.txt"]
    assert json.loads((models / "logreg" / "config.json").read_text())["kind"] == "tabular"


@pytest.mark.parametrize("name", ["lightgbm", "logreg"])
def test_score_applies_a_saved_tabular_model_like_in_training(trained, name, tmp_path) -> None:
    run, path, test_cutoff, scores = trained
    out = tmp_path / "scores.parquet"
    result = runner.invoke(app, ["score", str(run), "--model", name, "--input", str(path),
                                 "--as-of", str(test_cutoff.date()), "--out", str(out)])
    assert result.exit_code == 0, result.output
    scored = pd.read_parquet(out).set_index("user_id")
    # as of the test cut-off: the same customers get the same probabilities as in training
    assert sorted(scored.index) == sorted(scores[name].index)
    np.testing.assert_allclose(scored.loc[scores[name].index, "purchase_probability"],
                               scores[name].to_numpy(), rtol=0, atol=1e-12)
    # the ingest record of the scored log, beside the scores and as one printed line
    quality = json.loads((tmp_path / "data_quality.json").read_text())
    raw = pd.read_parquet(path)
    assert quality["rows_read"] == len(raw)
    assert quality["rows_kept"] + sum(quality["dropped_by_reason"].values()) == len(raw)
    assert quality["dropped_by_reason"]["duplicate"] == raw.duplicated().sum()
    assert (f"data quality: {len(raw):,} rows read, {quality['rows_kept']:,} kept, "
            f"{quality['rows_dropped']:,} dropped (") in result.output
