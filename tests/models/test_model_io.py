import json

import numpy as np
import pandas as pd
import pytest

from xbehavior.errors import DataError
from xbehavior.models.io import (
    load_model,
    load_sequence_model,
    save_sequence_model,
    save_tabular_model,
)
from xbehavior.models.tabular import TABULAR_MODELS, fit_tabular
from xbehavior.models.train import TrainConfig, fit_sequence_model

SMALL = {"rnn": {"hidden": 6}, "lstm": {"hidden": 6}, "xlstm_paper": {"hidden": 6},
         "xlstm": {"hidden": 6, "num_heads": 2}}


@pytest.mark.parametrize("name", list(SMALL))
def test_save_load_gives_identical_predictions(name, tmp_path, make_sequences):
    train, val = make_sequences(80, 0), make_sequences(40, 1)
    train.context[:, 0] = train.context[:, 0] * 50 + 7  # non-trivial standardisation
    tm = fit_sequence_model(name, train, val, TrainConfig(model=SMALL[name], max_epochs=2))
    save_sequence_model(tm, tmp_path / name)
    assert sorted(p.name for p in (tmp_path / name).iterdir()) == [
        "config.json", "model.safetensors"]
    back = load_sequence_model(tmp_path / name)
    np.testing.assert_array_equal(back.predict_proba(val), tm.predict_proba(val))
    np.testing.assert_array_equal(back.embed(val), tm.embed(val))
    assert back.threshold_ == tm.threshold_ and back.groups == tm.groups
    meta = json.loads((tmp_path / name / "config.json").read_text())
    assert meta["name"] == name and meta["feature_names"] == train.feature_names


def test_load_missing_folder_is_data_error(tmp_path):
    with pytest.raises(DataError, match=r"config\.json"):
        load_sequence_model(tmp_path)


def _tabular(n, seed):
    """SYNTHETIC: y = 1 iff a + 0.5 b > 0.8 (about 25 % positives)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n) * 30 + 5,
                      "noise": rng.normal(size=n)})
    return X, (X["a"] + 0.5 * (X["b"] - 5) / 30 > 0.8).astype(int).to_numpy()


@pytest.mark.parametrize("name", TABULAR_MODELS)
def test_tabular_save_load_gives_identical_predictions(name, tmp_path):
    (xt, yt), (xv, yv) = _tabular(400, 0), _tabular(200, 1)
    tm = fit_tabular(name, xt, yt, xv, yv, seed=0)
    save_tabular_model(tm, tmp_path / name)
    files = sorted(p.name for p in (tmp_path / name).iterdir())
    assert files == (["config.json", "model.txt"] if name == "lightgbm" else ["config.json"])
    back = load_model(tmp_path / name)
    assert back.name == name and back.feature_names == ["a", "b", "noise"]
    assert back.threshold_ == tm.threshold_
    shuffled = xv[["noise", "a", "b"]]  # columns are matched by name on load too
    np.testing.assert_array_equal(back.predict_proba(shuffled), tm.predict_proba(xv))
    np.testing.assert_array_equal(back.predict(xv), tm.predict(xv))
    meta = json.loads((tmp_path / name / "config.json").read_text())
    assert meta["kind"] == "tabular"
    if name == "base_rate":
        assert meta["class_prior"][1] == yt.mean()


def test_lightgbm_without_its_tree_file_is_data_error(tmp_path):
    (xt, yt), (xv, yv) = _tabular(400, 0), _tabular(200, 1)
    save_tabular_model(fit_tabular("lightgbm", xt, yt, xv, yv), tmp_path)
    (tmp_path / "model.txt").unlink()
    with pytest.raises(DataError, match=r"model\.txt"):
        load_model(tmp_path)
