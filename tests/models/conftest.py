"""SYNTHETIC planted-truth data for model tests (never used for any reported figure)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from xbehavior.features.data import SequenceData
from xbehavior.models.registry import build_model

GROUPS = {"behaviour": [0, 1], "product": [2], "time": [3]}
#: the smallest useful config of each sequence model (xlstm with both block kinds)
TINY = {"rnn": {"hidden": 6}, "lstm": {"hidden": 6}, "xlstm_paper": {"hidden": 6},
        "xlstm": {"hidden": 6, "num_heads": 2, "blocks": "ms"}}


def synthetic_sequences(n: int, seed: int, t_max: int = 8) -> SequenceData:
    """y = 1 iff the sum of feature 0 over real steps is > 0 (separable); lengths 2..t_max."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, t_max, 4)).astype(np.float32)
    lengths = rng.integers(2, t_max + 1, n)
    mask = np.arange(t_max)[None, :] < lengths[:, None]
    x[~mask] = 0.0
    ctx = rng.normal(size=(n, 3)).astype(np.float32)
    y = ((x[:, :, 0] * mask).sum(axis=1) > 0).astype(np.float32)
    keys = pd.DataFrame({"user_id": np.arange(n), "cutoff": pd.Timestamp("2011-01-01")})
    return SequenceData(x, mask, ctx, y, [f"f{i}" for i in range(4)], ["c0", "c1", "c2"],
                        GROUPS, keys)


@pytest.fixture(scope="session")
def make_sequences():
    """The ``synthetic_sequences(n, seed, t_max=8)`` factory (tests import no helper module)."""
    return synthetic_sequences


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 shared cores: keep tests polite
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def tiny_model():
    """``tiny_model(name)``: a seeded, untrained model in eval mode for F=4 step features
    (groups behaviour / product / time) and S=3 context features."""
    def build(name: str) -> torch.nn.Module:
        torch.manual_seed(0)
        return build_model(name, TINY[name], 4, 3, GROUPS).eval()
    return build
