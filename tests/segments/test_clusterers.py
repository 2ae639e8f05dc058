import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from xbehavior.errors import DataError
from xbehavior.segments.clusterers import (
    AgglomerativeClusterer,
    DBSCANClusterer,
    GaussianMixtureClusterer,
    HDBSCANClusterer,
    KMeansClusterer,
    choose_k,
    kdistance_knee,
)
from xbehavior.segments.metrics import ari

ALL = [
    KMeansClusterer(),
    DBSCANClusterer(),
    HDBSCANClusterer(),
    AgglomerativeClusterer(),
    GaussianMixtureClusterer(k_max=3),
]


@parametrize_with_checks(ALL)
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)


def test_choose_k_finds_three_blobs(three_blobs):
    X, _ = three_blobs
    assert choose_k(X, 2, 8, random_state=0) == 3


@pytest.mark.parametrize(
    "est",
    [KMeansClusterer(), AgglomerativeClusterer(), GaussianMixtureClusterer(), HDBSCANClusterer(5)],
    ids=lambda e: type(e).__name__,
)
def test_blobs_recovered_exactly(three_blobs, est):
    X, truth = three_blobs
    assert ari(est.fit(X).labels_, truth) == 1.0
    assert est.n_clusters_ == 3


def test_dbscan_knee_separates_blobs_and_flags_outlier(three_blobs):
    X, truth = three_blobs
    X = np.vstack([X, [[50.0, 50.0]]])
    est = DBSCANClusterer(min_samples=4).fit(X)
    assert 0.0 < est.eps_ < 5.0  # the knee sits between within-blob and between-blob scales
    assert est.labels_[-1] == -1
    assert ari(est.labels_[:-1], truth) == 1.0


def test_kdistance_knee_hand_built():
    # 1-d: ten points 1 apart and one far point; k=2 distances (self counted): nine 1s, then
    # the far point's 91 -> sorted curve is flat then jumps; the knee is the last flat point.
    X = np.array([[float(i)] for i in range(10)] + [[100.0]])
    assert kdistance_knee(X, k=2) == 1.0


def test_agglomerative_refuses_above_max_n():
    X = np.random.default_rng(0).normal(size=(60, 2))
    with pytest.raises(DataError, match=r"O\(n\^2\) memory; n=60 exceeds max_n=50"):
        AgglomerativeClusterer(2, max_n=50, on_large="refuse").fit(X)


def test_agglomerative_subsamples_then_assigns_nearest_centroid(three_blobs):
    X, truth = three_blobs
    est = AgglomerativeClusterer(3, max_n=30).fit(X)
    assert est.subsampled_ and "seeded sample of 30" in est.note_
    assert ari(est.labels_, truth) == 1.0


def test_kmeans_switches_to_minibatch_above_threshold(three_blobs):
    X, truth = three_blobs
    est = KMeansClusterer(3, minibatch_above=10).fit(X)
    assert est.minibatch_
    assert ari(est.labels_, truth) == 1.0


def test_fewer_rows_than_clusters_caps_k():
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    assert KMeansClusterer(n_clusters=5).fit(X).n_clusters_ == 2
    assert AgglomerativeClusterer(n_clusters=5).fit(X).n_clusters_ == 2


def test_duplicate_points_give_one_cluster():
    X = np.ones((20, 3))
    assert choose_k(X) == 1
    assert set(KMeansClusterer().fit(X).labels_) == {0}
    assert set(DBSCANClusterer().fit(X).labels_) == {0}


@pytest.mark.parametrize(
    "make",
    [lambda: KMeansClusterer(), lambda: AgglomerativeClusterer(), lambda: DBSCANClusterer()],
)
def test_same_seed_same_labels(make):
    X = np.random.default_rng(3).normal(size=(200, 3))
    np.testing.assert_array_equal(make().fit(X).labels_, make().fit(X).labels_)
