import math

import numpy as np
import pandas as pd
import pytest

from xbehavior.errors import ConfigError, DataError
from xbehavior.segments.config import SegmentConfig
from xbehavior.segments.rules import rule_based_segments
from xbehavior.segments.space import embedding_space, shared_space


def test_shared_space_is_standardised_signed_log():
    e = math.e
    feats = pd.DataFrame(
        {"a": [0.0, e - 1], "b": [-(e - 1), 0.0], "const": [3.0, 3.0], "name": ["x", "y"]},
        index=pd.Index([1, 2], name="user_id"),
    )
    X, kept = shared_space(feats)
    assert kept == ["a", "b"]  # text column ignored, constant column dropped
    # log1p: a -> [0, 1], b -> [-1, 0]; standardised (population sd 0.5) -> [-1, 1]
    np.testing.assert_allclose(X, [[-1.0, -1.0], [1.0, 1.0]])


def test_missing_values_take_the_median():
    feats = pd.DataFrame({"a": [0.0, np.nan, 2.0, 4.0]})
    X, _ = shared_space(feats)
    assert X[1, 0] == pytest.approx(X[2, 0])  # NaN -> median 2


def test_all_constant_features_give_one_point():
    X, kept = shared_space(pd.DataFrame({"a": [1.0, 1.0, 1.0]}))
    assert kept == [] and X.shape == (3, 1) and not X.any()


def test_no_numeric_columns_is_a_data_error():
    with pytest.raises(DataError, match="no numeric column"):
        shared_space(pd.DataFrame({"c": ["x"]}))


def test_embedding_must_be_finite_2d():
    with pytest.raises(DataError, match="2-d"):
        embedding_space(np.zeros(3))
    with pytest.raises(DataError, match="NaN or inf"):
        embedding_space(np.array([[np.nan, 1.0]]))


def test_rule_thresholds_at_paper_geometric_midpoints():
    opm = pd.Series([0.99, 1.0, 3.16, 3.17, np.nan, 40.0], index=list("abcdef"))
    got = rule_based_segments(opm)
    expected = ["window", "occasional", "occasional", "frequent", pd.NA, "frequent"]
    assert got.tolist() == expected
    assert got.index.tolist() == list("abcdef")


def test_config_did_you_mean():
    with pytest.raises(ConfigError, match="did you mean 'n_clusters'"):
        SegmentConfig(n_cluster=3)
    with pytest.raises(ConfigError, match="unknown algorithm"):
        SegmentConfig(algorithms=("kmeans", "spectral"))
    with pytest.raises(ConfigError, match="k_max=2 is below k_min=3"):
        SegmentConfig(k_min=3, k_max=2)
