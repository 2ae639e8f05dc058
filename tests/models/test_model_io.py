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


@pytest.fixture(scope="module")
def saved_rnn(tmp_path_factory, make_sequences):
    """A small rnn saved once; tests tamper with copies of its folder."""
    train, val = make_sequences(60, 0), make_sequences(30, 1)
    tm = fit_sequence_model("rnn", train, val, TrainConfig(model={"hidden": 4}, max_epochs=1))
    return save_sequence_model(tm, tmp_path_factory.mktemp("rnn") / "rnn")


def _copy(src, tmp_path):
    import shutil

    return shutil.copytree(src, tmp_path / src.name)


def _edit(folder, **changes):
    meta = json.loads((folder / "config.json").read_text())
    for key, change in changes.items():
        meta[key] = change(meta[key]) if callable(change) else change
    (folder / "config.json").write_text(json.dumps(meta))


def test_saving_leaves_no_temporary_files(saved_rnn):
    assert sorted(p.name for p in saved_rnn.iterdir()) == ["config.json", "model.safetensors"]


@pytest.mark.parametrize("tamper, message", [
    (lambda d: (d / "model.safetensors").write_bytes(b"garbage"),
     r"rnn/model\.safetensors is not a valid safetensors file \(.*\); re-run 'xbehavior run' "
     r"to recreate it$"),
    (lambda d: (d / "config.json").write_text("{not json"),
     r"rnn/config\.json is not valid JSON \("),
    (lambda d: (d / "config.json").write_text("[1]"),
     r"rnn/config\.json holds a JSON list, not an object; re-run"),
    (lambda d: _edit(d, threshold="high"),
     r"rnn/config\.json: 'threshold' = 'high': input should be a valid number"),
    (lambda d: _edit(d, n_features=lambda n: n + 1),
     r"rnn/config\.json: .*feature_names has 4 entries, n_features says 5"),
    (lambda d: _edit(d, context_mean=lambda v: v[:-1]),
     r"rnn/config\.json: 'settings': value error, context_mean has 2 entries, n_context says 3"),
    (lambda d: _edit(d, model_config={"hidden_size": 4}),
     r"rnn/config\.json: rnn: unknown setting\(s\) \['hidden_size'\]"),
    (lambda d: _edit(d, model_config={"hidden": 5}),
     r"rnn/model\.safetensors: tensor '.*' has shape \(.*\), config\.json implies"),
    (lambda d: _edit(d, calibration={"a": -1.0, "b": 0.0}),
     r"rnn/config\.json: 'calibration\.a' = -1\.0: input should be greater than 0"),
])
def test_a_tampered_sequence_model_is_one_line_data_error(saved_rnn, tmp_path, tamper, message):
    folder = _copy(saved_rnn, tmp_path)
    tamper(folder)
    with pytest.raises(DataError, match=message) as err:
        load_model(folder)
    assert "\n" not in str(err.value)


def test_a_removed_tensor_is_named(saved_rnn, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _copy(saved_rnn, tmp_path)
    state = load_file(str(folder / "model.safetensors"))
    dropped = sorted(state)[0]
    del state[dropped]
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(DataError, match=rf"missing tensor\(s\) \['{dropped}'\], unexpected \[\]"):
        load_model(folder)


@pytest.fixture(scope="module")
def saved_tabular(tmp_path_factory):
    (xt, yt), (xv, yv) = _tabular(400, 0), _tabular(200, 1)
    root = tmp_path_factory.mktemp("tab")
    return {name: save_tabular_model(fit_tabular(name, xt, yt, xv, yv), root / name)
            for name in ("lightgbm", "logreg")}


@pytest.mark.parametrize("name, tamper, message", [
    ("lightgbm", lambda d: (d / "model.txt").write_text("garbage\n"),
     r"lightgbm/model\.txt is not a valid LightGBM model \("),
    ("lightgbm", lambda d: _edit(d, feature_names=lambda v: v[::-1]),
     r"lightgbm/config\.json: feature_names differ from those stored in model\.txt "
     r"\(3 features\)"),
    ("lightgbm", lambda d: _edit(d, feature_names=lambda v: v[:-1]),
     r"feature_names differ from those stored in model\.txt"),
    ("logreg", lambda d: _edit(d, coef=lambda v: [v[0][:-1]]),
     r"logreg/config\.json: .*coef\[0\] has 2 entries, feature_names says 3"),
    ("logreg", lambda d: _edit(d, calibration={"a": 1.0}),
     r"logreg/config\.json: 'calibration\.b': field required"),
    ("logreg", lambda d: _edit(d, name="svm"),
     r"logreg/config\.json: 'name' = 'svm': input should be 'lightgbm', 'logreg' or "
     r"'base_rate'"),
])
def test_a_tampered_tabular_model_is_one_line_data_error(saved_tabular, tmp_path, name, tamper,
                                                         message):
    folder = _copy(saved_tabular[name], tmp_path)
    tamper(folder)
    with pytest.raises(DataError, match=message) as err:
        load_model(folder)
    assert "\n" not in str(err.value)
