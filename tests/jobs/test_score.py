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
    quality = json.loads((tmp_path / "scores.data_quality.json").read_text())
    raw = pd.read_parquet(path)
    assert quality["rows_read"] == len(raw)
    assert quality["rows_kept"] + sum(quality["dropped_by_reason"].values()) == len(raw)
    assert quality["dropped_by_reason"]["duplicate"] == raw.duplicated().sum()
    assert (f"data quality: {len(raw):,} rows read, {quality['rows_kept']:,} kept, "
            f"{quality['rows_dropped']:,} dropped (") in result.output


def _score(run, path, out, *extra):
    return runner.invoke(app, ["score", str(run), "--model", "logreg", "--input", str(path),
                               "--out", str(out), *extra])


def test_score_refuses_to_overwrite_its_input(trained) -> None:
    run, path, *_ = trained
    before = path.read_bytes()
    result = _score(run, path, path)
    assert result.exit_code == 2
    assert result.output.strip() == (f"error: --out {path} would overwrite the input {path}; "
                                      "write the scores to another file")
    assert path.read_bytes() == before


def test_score_refuses_a_folder_as_out(trained, tmp_path) -> None:
    run, path, *_ = trained
    result = _score(run, path, tmp_path)
    assert result.exit_code == 2
    assert result.output.strip() == (f"error: --out {tmp_path} is a folder; give a file name, "
                                      f"e.g. {tmp_path / 'scores.parquet'}")


def test_score_refuses_a_non_parquet_name_and_the_run_folder(trained, tmp_path) -> None:
    run, path, *_ = trained
    model = run / "models" / "logreg" / "config.json"
    before = model.read_bytes()
    result = _score(run, path, tmp_path / "scores.csv")
    assert result.exit_code == 2 and result.output.strip() == (
        f"error: --out {tmp_path / 'scores.csv'}: the scores are written as Parquet; give a "
        "name ending in .parquet (e.g. scores.parquet)")
    inside = run / "models" / "logreg" / "scores.parquet"
    result = _score(run, path, inside)
    assert result.exit_code == 2 and result.output.strip() == (
        f"error: --out {inside} is inside the run folder {run}, whose files it could replace; "
        "write the scores outside it")
    assert model.read_bytes() == before and not inside.exists()


@pytest.mark.parametrize("as_of, message", [
    ("now", "error: --as-of 'now' is not a date; use YYYY-MM-DD (or YYYY-MM-DDTHH:MM)"),
    ("2011-02-30", "error: --as-of '2011-02-30' is not a date; use YYYY-MM-DD "
                   "(or YYYY-MM-DDTHH:MM)"),
    ("2011-06-01T00:00+01:00", "error: --as-of '2011-06-01T00:00+01:00' has a time zone; give "
                               "the log's local time without one, e.g. 2011-06-01"),
])
def test_score_parses_as_of_strictly(trained, tmp_path, as_of, message) -> None:
    run, path, *_ = trained
    result = _score(run, path, tmp_path / "s.parquet", "--as-of", as_of)
    assert result.exit_code == 2 and result.output.strip() == message


def test_score_refuses_an_as_of_after_the_log(trained, tmp_path) -> None:
    run, path, *_ = trained
    last = pd.read_parquet(path)["InvoiceDate"].max()
    result = _score(run, path, tmp_path / "s.parquet", "--as-of", "2999-01-01")
    assert result.exit_code == 2
    assert f"no activity is known after {pd.Timestamp(last)}; scores would extrapolate; " \
           f"choose {pd.Timestamp(last).floor('D') + pd.Timedelta(days=1):%Y-%m-%d} or " \
           "earlier" in result.output
    assert not (tmp_path / "s.parquet").exists()


@pytest.mark.parametrize("spec, message", [
    ("{}", "features.json: 'dataset': field required (and 3 more); re-run 'xbehavior run' "
           "to recreate it"),
    ('{"dataset": "online_retail", "max_len": -5, "horizon_days": 90, "vocabulary": '
     '{"step_mean": [0], "step_std": [1], "countries": []}}',
     "features.json: 'max_len' = -5: input should be greater than or equal to 2; re-run"),
    ("[1]", "features.json holds a JSON list, not an object; re-run"),
])
def test_score_refuses_a_tampered_feature_spec(trained, tmp_path, spec, message) -> None:
    import shutil

    run, path, *_ = trained
    copy = shutil.copytree(run, tmp_path / "run")
    (copy / "models" / "features.json").write_text(spec)
    result = _score(copy, path, tmp_path / "s.parquet")
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unexpected_errors_are_one_line_exit_3(monkeypatch, capsys, trained, tmp_path) -> None:
    import xbehavior.jobs.score as score_job

    run, *_ = trained

    def boom(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(score_job, "score_customers", boom)
    monkeypatch.delenv("XBEHAVIOR_DEBUG", raising=False)
    with pytest.raises(SystemExit) as ended:
        app(["score", str(run), "--model", "logreg", "--out", str(tmp_path / "s.parquet")])
    assert ended.value.code == 3
    err = capsys.readouterr().err.strip()
    assert err == ("internal error: KeyError: 'oops' — please report it; set XBEHAVIOR_DEBUG=1 "
                   "for the traceback")
    monkeypatch.setenv("XBEHAVIOR_DEBUG", "1")
    with pytest.raises(KeyError):
        app(["score", str(run), "--model", "logreg", "--out", str(tmp_path / "s.parquet")])


def test_the_default_model_is_the_runs_best(tmp_path) -> None:
    from xbehavior.errors import DataError
    from xbehavior.jobs.score import best_model

    (tmp_path / "metrics.json").write_text('{"best_model": "logreg"}')
    assert best_model(tmp_path) == "logreg"
    (tmp_path / "metrics.json").unlink()
    with pytest.raises(DataError, match=r"metrics\.json: not found, so the run's best model is "
                                         r"unknown; give the folder of an 'xbehavior run' or "
                                         r"name a model with --model"):
        best_model(tmp_path)
