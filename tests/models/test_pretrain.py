import math

import numpy as np
import pandas as pd
import pytest

from xbehavior.features.data import SequenceData
from xbehavior.models.io import load_sequence_model, save_sequence_model
from xbehavior.models.pretrain import PretrainConfig, pretrain_next_event


def _ar1(n: int, seed: int) -> SequenceData:
    """SYNTHETIC unlabelled sequences: x_{t+1} = 0.8 x_t + 0.3 ε (stationary variance 0.25)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 10, 3), np.float32)
    x[:, 0] = rng.normal(scale=0.5, size=(n, 3))
    for t in range(1, 10):
        x[:, t] = 0.8 * x[:, t - 1] + 0.3 * rng.normal(size=(n, 3))
    mask = np.arange(10)[None] < rng.integers(3, 11, n)[:, None]
    x[~mask] = 0.0
    return SequenceData(x, mask, np.zeros((n, 1), np.float32), np.zeros(n, np.float32),
                        ["a", "b", "c"], ["c0"], {"behaviour": [0, 1, 2]},
                        pd.DataFrame({"user_id": np.arange(n)}))


@pytest.mark.parametrize("name", ["lstm", "xlstm_paper"])
def test_next_event_pretraining_learns_the_dynamics(name, tmp_path):
    train, val = _ar1(300, 0), _ar1(100, 1)
    cfg = PretrainConfig(model={"hidden": 8}, lr=1e-2, max_epochs=20)
    tm = pretrain_next_event(name, train, val, cfg)
    best = min(h.val_loss for h in tm.history)
    # predicting 0 scores the variance, 0.25; the best possible is the noise, 0.09
    assert best < 0.15
    assert tm.embed(val).shape == (100, tm.model.embed_dim) and math.isnan(tm.threshold_)
    back = load_sequence_model(save_sequence_model(tm, tmp_path / name))
    np.testing.assert_array_equal(back.embed(val), tm.embed(val))
    assert math.isnan(back.threshold_)
