import math

import numpy as np
import pytest

from xbehavior.segments.clusterers import KMeansClusterer
from xbehavior.segments.metrics import ari, cluster_quality, stability_ari, stratified_sample

# 1-d: clusters {0, 1} and {4, 5}. Silhouette by hand: for 0, a=1, b=(4+5)/2=4.5 -> 1-1/4.5;
# for 1, a=1, b=(3+4)/2=3.5 -> 1-1/3.5; symmetric for 5 and 4. DBI: spreads 0.5 and 0.5,
# centroid distance 4 -> (0.5+0.5)/4 = 0.25.
X4 = np.array([[0.0], [1.0], [4.0], [5.0]])
L4 = np.array([0, 0, 1, 1])
SIL4 = ((1 - 1 / 4.5) + (1 - 1 / 3.5)) / 2


def test_hand_worked_silhouette_and_dbi():
    q = cluster_quality(X4, L4)
    assert q["silhouette"] == pytest.approx(SIL4)
    assert q["dbi"] == pytest.approx(0.25)
    assert (q["n_clusters"], q["noise_fraction"], q["note"]) == (2, 0.0, "")


def test_noise_excluded_and_reported():
    X = np.vstack([X4, [[100.0]]])
    q = cluster_quality(X, np.array([0, 0, 1, 1, -1]))
    assert q["silhouette"] == pytest.approx(SIL4)
    assert q["dbi"] == pytest.approx(0.25)
    assert q["noise_fraction"] == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ([0, 0, 0, 0], "undefined: only one cluster"),
        ([-1, -1, -1, -1], "undefined: all points are noise"),
        ([0, 1, 2, 3], "undefined: every point is its own cluster"),
        ([0, -1, 1, -1], "undefined: every point is its own cluster"),
    ],
)
def test_degenerate_labelings_give_nan_with_reason(labels, reason):
    q = cluster_quality(X4, np.array(labels))
    assert math.isnan(q["silhouette"]) and math.isnan(q["dbi"])
    assert q["note"] == reason


def test_identical_points_undefined():
    q = cluster_quality(np.ones((4, 2)), L4)
    assert q["note"] == "undefined: all points identical"


def test_sampled_silhouette_is_stratified_and_stated():
    labels = np.array([0] * 900 + [1] * 100)
    idx = stratified_sample(labels, 100, random_state=0)
    assert (labels[idx] == 0).sum() == 90 and (labels[idx] == 1).sum() == 10
    X = labels[:, None].astype(float) + np.random.default_rng(0).normal(0, 0.1, (1000, 1))
    q = cluster_quality(X, labels, sample_size=100)
    assert q["note"] == "silhouette on stratified sample of 100"


def test_ari_hand_worked_and_missing_dropped():
    assert ari([0, 0, 1, 1], [1, 1, 0, 0]) == 1.0
    # 6 pairs; together in a: 2, in b: 1, in both: 1; expected 2*1/6 = 1/3, max (2+1)/2
    # -> (1 - 1/3) / (3/2 - 1/3) = 4/7
    assert ari([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(4 / 7)
    assert ari([0, 0, 1, 1, 5], ["a", "a", "b", "b", None]) == 1.0
    assert math.isnan(ari([0], [0]))


def test_stability_is_one_on_separated_blobs(three_blobs):
    X, _ = three_blobs
    seeds, boot = stability_ari(KMeansClusterer(3), X, n_seeds=3, n_boot=3)
    assert seeds == 1.0 and boot == 1.0
