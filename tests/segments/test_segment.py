import math

import numpy as np
import pandas as pd
import pytest

from xbehavior.errors import DataError
from xbehavior.segments import SegmentConfig, monthly_metrics, segment_users
from xbehavior.segments.plots import metric_heatmaps
from xbehavior.segments.segment import METRIC_COLUMNS
from xbehavior.segments.simulate import SYNTHETIC, simulate_users

FAST = SegmentConfig(stability_sample=300, stability_seeds=2, stability_bootstraps=2, k_max=5)


@pytest.fixture(scope="module")
def easy():
    """SYNTHETIC: 1,500 simulated users with three well-separated planted segments."""
    return simulate_users(1500, spread=0.15, seed=11)


def test_simulator_is_labelled_synthetic(easy):
    assert easy.features.attrs["source"] == SYNTHETIC
    assert easy.truth.attrs["source"] == SYNTHETIC
    assert easy.features.index[0].startswith("syn-")


def test_planted_truth_recovered_with_the_default_k_rule(easy):
    # default SegmentConfig k rule (prediction strength over 2..8): no n_clusters given
    cfg = SegmentConfig(stability_sample=0, algorithms=("kmeans", "agglomerative"))
    res = segment_users(easy.features, {}, easy.orders_per_month, cfg, truth=easy.truth)
    m = res.metrics.set_index("algorithm")
    assert m["n_clusters"].tolist() == [3, 3]
    assert m.loc["kmeans", "ari_planted"] >= 0.9 and m.loc["agglomerative", "ari_planted"] >= 0.9


def test_metrics_table_shape_and_embeddings(easy):
    emb = {"lstm": np.random.default_rng(0).normal(size=(len(easy.features), 4))}
    res = segment_users(easy.features, emb, easy.orders_per_month, FAST, truth=easy.truth)
    m = res.metrics
    assert m.columns.tolist() == METRIC_COLUMNS
    assert m["algorithm"].tolist() == ["kmeans", "dbscan", "agglomerative", "hdbscan", "gmm",
                                       "lstm+kmeans"]  # fmt: skip
    row = m.set_index("algorithm").loc["lstm+kmeans"]
    assert row["space"] == "lstm embedding, standardised"
    # behaviour clusterers cluster in the shared space, so both scores coincide
    km = m.set_index("algorithm").loc["kmeans"]
    assert km["silhouette_own"] == km["silhouette_shared"]
    assert res.labels.shape == (1500, 6) and res.labels.index.equals(easy.features.index)
    assert set(res.profiles["algorithm"]) >= {"kmeans", "rule_based"}
    assert res.paper_table["segment"].tolist() == ["frequent", "occasional", "window"]


def test_same_seed_same_result(easy):
    cfg = FAST.model_copy(update={"algorithms": ("kmeans", "dbscan")})
    a = segment_users(easy.features, {}, None, cfg)
    b = segment_users(easy.features, {}, None, cfg)
    pd.testing.assert_frame_equal(a.labels, b.labels)
    pd.testing.assert_frame_equal(a.metrics, b.metrics)


def test_one_user_gives_nan_and_reason():
    feats = pd.DataFrame({"frequency": [3.0], "monetary": [10.0]}, index=["u1"])
    res = segment_users(feats, {}, pd.Series([1.0], index=["u1"]), FAST)
    m = res.metrics.set_index("algorithm")
    assert m["silhouette_shared"].isna().all()
    assert m.loc["kmeans", "note"].startswith("undefined: only one cluster")
    assert m.loc["gmm", "note"].startswith("not fitted:")


def test_duplicate_users_rows_give_one_cluster():
    feats = pd.DataFrame({"frequency": [2.0] * 30, "monetary": [5.0] * 30})
    res = segment_users(feats, {}, None, FAST)
    m = res.metrics.set_index("algorithm")
    assert (m.loc[["kmeans", "dbscan", "agglomerative"], "n_clusters"] == 1).all()
    assert m.loc["kmeans", "note"].startswith("undefined")


def test_agglomerative_refusal_is_a_note_not_a_crash(easy):
    cfg = FAST.model_copy(update={"algorithms": ("agglomerative",), "agglomerative_max_n": 100,
                                  "agglomerative_on_large": "refuse"})  # fmt: skip
    note = segment_users(easy.features, {}, None, cfg).metrics.loc[0, "note"]
    assert note.startswith("not fitted: agglomerative (Ward) needs O(n^2) memory; n=1,500")


def test_bad_inputs_are_data_errors(easy):
    with pytest.raises(DataError, match="embedding 'x' has 2 rows"):
        segment_users(easy.features, {"x": np.zeros((2, 2))}, None, FAST)
    with pytest.raises(DataError, match="'u' repeats"):
        segment_users(pd.DataFrame({"a": [1.0, 2.0]}, index=["u", "u"]), {}, None, FAST)


def test_monthly_metrics_and_heatmaps():
    cfg = SegmentConfig(algorithms=("kmeans", "dbscan"), n_clusters=3, stability_sample=0)
    months = {f"2011-0{m}": simulate_users(200, seed=m) for m in (1, 2)}
    monthly = monthly_metrics({k: v.features for k, v in months.items()}, cfg)
    assert monthly[["algorithm", "month"]].values.tolist() == [
        ["kmeans", "2011-01"], ["dbscan", "2011-01"], ["kmeans", "2011-02"], ["dbscan", "2011-02"],
    ]  # fmt: skip
    assert monthly["ari_stability_seeds"].isna().all()
    figs = metric_heatmaps(monthly)
    assert list(figs) == ["silhouette_shared", "dbi_shared", "ari_rule_based"]
    heat = figs["silhouette_shared"].data[0]
    assert list(heat.x) == ["2011-01", "2011-02"] and list(heat.y) == ["dbscan", "kmeans"]
    expected = monthly.set_index(["algorithm", "month"])["silhouette_shared"]
    got = heat.z[1][0]
    assert (math.isnan(got) and math.isnan(expected["kmeans", "2011-01"])) or got == pytest.approx(
        expected["kmeans", "2011-01"]
    )


def test_monthly_uses_orders_per_month_column_and_embeddings():
    # features.monthly gives each month an orders_per_month column (trailing-window rate)
    cfg = SegmentConfig(algorithms=("kmeans",), n_clusters=2, stability_sample=0)
    feats = pd.DataFrame({"orders_per_month": [0.5] * 10 + [5.0] * 10,
                          "revenue": [1.0] * 10 + [9.0] * 10})  # fmt: skip
    emb = {"2011-01": {"xlstm": np.repeat([[0.0, 1.0], [4.0, -1.0]], 10, axis=0)}}
    monthly = monthly_metrics({"2011-01": feats}, cfg, monthly_embeddings=emb)
    assert monthly["algorithm"].tolist() == ["kmeans", "xlstm+kmeans"]
    # window (< 1 / month) vs frequent (>= 3.16) users, split exactly by both methods
    assert monthly["ari_rule_based"].tolist() == [1.0, 1.0]
    assert monthly.loc[1, "space"] == "xlstm embedding, standardised"


def test_noise_is_stated_in_the_note():
    # 10 + 10 identical users and one far outlier; DBSCAN (eps 0.5, 3 neighbours) calls the
    # outlier noise: 1 of 21 users
    feats = pd.DataFrame({"frequency": [1.0] * 10 + [20.0] * 10 + [400.0],
                          "monetary": [10.0] * 10 + [500.0] * 10 + [1.0]})  # fmt: skip
    cfg = SegmentConfig(algorithms=("kmeans", "dbscan"), n_clusters=2, stability_sample=0,
                        dbscan_eps=0.5, dbscan_min_samples=3)  # fmt: skip
    m = segment_users(feats, {}, None, cfg).metrics.set_index("algorithm")
    assert m.loc["dbscan", "noise_fraction"] == pytest.approx(1 / 21)
    assert m.loc["dbscan", "n_clusters"] == 2
    assert m.loc["dbscan", "note"].startswith("noise points excluded from silhouette/DBI")
    assert m.loc["kmeans", "noise_fraction"] == 0 and "noise" not in m.loc["kmeans", "note"]
