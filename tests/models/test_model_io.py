import json

import numpy as np
import pytest

from xbehavior.errors import DataError
from xbehavior.models.io import load_sequence_model, save_sequence_model
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
