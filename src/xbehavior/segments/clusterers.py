"""Clusterers behind the scikit-learn estimator contract, wrapping sklearn's algorithms.

Every class: ``__init__`` only stores parameters; ``fit(X)`` returns ``self``; learned attributes
end in ``_`` (``labels_`` always, -1 meaning noise); ``fit_predict`` comes from ClusterMixin.
The number of clusters, when not given, is chosen by one stated rule (:func:`choose_k`).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_array, check_is_fitted, check_random_state, validate_data

from xbehavior.errors import DataError


def sample_rows(n: int, size: int, seed: int | np.random.RandomState | None) -> np.ndarray:
    """Sorted indices of a seeded sample of ``min(n, size)`` rows without replacement."""
    if n <= size:
        return np.arange(n)
    return np.sort(check_random_state(seed).choice(n, size=size, replace=False))


def choose_k(
    X: np.ndarray,
    k_min: int = 2,
    k_max: int = 8,
    sample: int = 1500,
    random_state: int = 0,
    n_splits: int = 5,
    threshold: float = 0.9,
) -> int:
    """Stated rule: the largest k in ``k_min..k_max`` whose K-means prediction strength >= 0.9.

    Prediction strength (Tibshirani & Walther 2005): split a seeded sample of ``sample`` rows
    into random halves A and B, cluster both with K-means (k-means++, 10 inits), and ask how
    often two points of the same B-cluster are also put together by A's centres; the strength
    of k is the worst cluster's share, averaged over ``n_splits`` halvings. A k that splits a
    real group in two scores low (the split line moves between halves). The sample is kept
    small (1,500: halves of 750) on purpose: with many rows even an arbitrary split of one
    smooth group becomes reproducible, and the strength of every k drifts up (measured:
    docs/SEGMENTS.md). If no k reaches
    ``threshold`` the most stable k wins (ties: the smaller). ``k_max`` is clipped to
    ``n_distinct_rows - 1`` and to half the sample; with fewer than 3 distinct rows the answer
    is 1 (nothing to split). Time O(n_splits * k_max^2 * sample * d); memory O(sample * d).
    """
    Xs = X[sample_rows(len(X), sample, random_state)]
    distinct = len(np.unique(Xs, axis=0))
    k_hi = min(k_max, distinct - 1, len(Xs) // 2 - 1)
    if k_hi < max(k_min, 2):
        return max(1, min(k_min, distinct))
    strength = {}
    for k in range(k_min, k_hi + 1):
        rng = check_random_state(random_state)  # same halvings for every k
        strength[k] = float(np.mean([_split_strength(Xs, k, rng, random_state)
                                     for _ in range(n_splits)]))  # fmt: skip
    passing = [k for k, s in strength.items() if s >= threshold]
    if passing:
        return max(passing)
    return max(strength, key=lambda k: (strength[k], -k))


def _split_strength(X: np.ndarray, k: int, rng: np.random.RandomState, seed: int) -> float:
    """Prediction strength of k on one random halving of X (n, d) -> float in [0, 1]."""
    order = rng.permutation(len(X))
    train, test = X[order[::2]], X[order[1::2]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fewer distinct rows than k
        # 10 inits: a half stuck in a poor local optimum would read as instability
        centres = KMeans(k, n_init=10, random_state=seed).fit(train).cluster_centers_
        test_labels = KMeans(k, n_init=10, random_state=seed).fit_predict(test)
    predicted = nearest_centre(test, centres)
    worst = 1.0
    for c in np.unique(test_labels):
        members = predicted[test_labels == c]
        n = len(members)
        if n < 2:
            continue  # a singleton has no pairs to keep together
        counts = np.bincount(members)
        worst = min(worst, float((counts * (counts - 1)).sum() / (n * (n - 1))))
    return worst


class KMeansClusterer(ClusterMixin, BaseEstimator):
    """K-means, switching to MiniBatchKMeans above ``minibatch_above`` rows.

    Parameters
    ----------
    n_clusters : int or None
        None chooses k by :func:`choose_k` (largest stable k by prediction strength).
    k_min, k_max, selection_sample : rule for choosing k (see :func:`choose_k`).
    minibatch_above : int
        Full Lloyd K-means (4 inits) up to this many rows, MiniBatchKMeans (batch 4096) above.
    random_state : int
        Seed of k-means++ initialisation and of every sample.

    Attributes
    ----------
    labels_ : ndarray (n_samples,) cluster of each row, 0..n_clusters_-1.
    cluster_centers_ : ndarray (n_clusters_, n_features).
    n_clusters_ : int, the k used.
    minibatch_ : bool, whether MiniBatchKMeans was used.

    Notes
    -----
    Time O(n k d iters) (plus the choice of k, O(k_max^2 selection_sample d)); memory O(n d).
    """

    def __init__(
        self,
        n_clusters: int | None = None,
        k_min: int = 2,
        k_max: int = 8,
        selection_sample: int = 1500,
        minibatch_above: int = 50_000,
        random_state: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.k_min = k_min
        self.k_max = k_max
        self.selection_sample = selection_sample
        self.minibatch_above = minibatch_above
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: object = None) -> KMeansClusterer:
        """Fit on X (n_samples, n_features); returns self."""
        X = check_array(X, dtype="float64")
        k = self.n_clusters
        if k is None:
            k = choose_k(X, self.k_min, self.k_max, self.selection_sample, self.random_state)
        k = min(k, len(X))  # fewer rows than clusters: at most one cluster per row
        self.minibatch_ = len(X) > self.minibatch_above
        if self.minibatch_:
            est = MiniBatchKMeans(k, batch_size=4096, n_init=3, random_state=self.random_state)
        else:
            est = KMeans(k, n_init=4, random_state=self.random_state)
        self.labels_ = est.fit_predict(X)
        self.cluster_centers_ = est.cluster_centers_
        self.n_clusters_ = int(k)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Nearest centre of each row of X (n, n_features) -> (n,) labels."""
        check_is_fitted(self, "cluster_centers_")
        return nearest_centre(
            validate_data(self, X, reset=False, dtype="float64"), self.cluster_centers_
        )


def nearest_centre(X: np.ndarray, centres: np.ndarray, chunk: int = 100_000) -> np.ndarray:
    """Index of the nearest centre (Euclidean) per row; chunked so memory stays O(chunk k)."""
    out = np.empty(len(X), dtype=np.int64)
    c2 = (centres**2).sum(axis=1)
    for start in range(0, len(X), chunk):
        part = X[start : start + chunk]
        out[start : start + chunk] = np.argmin(c2 - 2 * part @ centres.T, axis=1)
    return out


def kdistance_knee(X: np.ndarray, k: int, sample: int = 5000, random_state: int = 0) -> float:
    """eps for DBSCAN by the knee of the sorted k-distance curve.

    The k-distance of a row is the distance to its k-th nearest row counting itself (so that
    ``eps`` = that distance makes it a core point for ``min_samples = k``). Distances of a seeded
    sample of rows (against all rows) are sorted; both axes are scaled to [0, 1] and the knee is
    the point furthest below the chord from first to last (the "kneedle" rule). Returns a
    positive float (a tiny eps when every distance is 0, i.e. duplicated points).
    Time O(sample * n d) brute force or O(sample log n) with a tree; memory O(n d).
    """
    k = max(1, min(k, len(X)))
    nn = NearestNeighbors(n_neighbors=k).fit(X)
    query = X[sample_rows(len(X), sample, random_state)]
    dist = np.sort(nn.kneighbors(query)[0][:, -1])
    span = dist[-1] - dist[0]
    if span <= 0:
        return float(dist[-1]) if dist[-1] > 0 else 1e-6
    x = np.linspace(0.0, 1.0, len(dist))
    y = (dist - dist[0]) / span
    return float(max(dist[int(np.argmax(x - y))], 1e-6))


class DBSCANClusterer(ClusterMixin, BaseEstimator):
    """DBSCAN with ``eps`` from the k-distance knee unless given; -1 labels noise.

    Parameters
    ----------
    eps : float or None
        None: :func:`kdistance_knee` with k = ``min_samples``.
    min_samples : int or None
        None: ``2 * n_features`` (Sander et al.'s rule of thumb), clipped to [3, n_samples].
    max_n : int
        Above this many rows DBSCAN runs on a seeded sample of ``max_n``; every other row joins
        the cluster of its nearest sample core point if that is within ``eps``, else is noise.
    random_state : int

    Attributes
    ----------
    labels_, eps_, min_samples_, n_clusters_ (excluding noise), subsampled_ : bool.

    Notes
    -----
    Time O(m log m) to O(m^2) for m = min(n, max_n) depending on density; memory O(m * average
    neighbourhood size).
    """

    def __init__(
        self,
        eps: float | None = None,
        min_samples: int | None = None,
        max_n: int = 50_000,
        random_state: int = 0,
    ) -> None:
        self.eps = eps
        self.min_samples = min_samples
        self.max_n = max_n
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: object = None) -> DBSCANClusterer:
        """Fit on X (n_samples, n_features); returns self."""
        X = check_array(X, dtype="float64")
        ms = self.min_samples if self.min_samples is not None else 2 * X.shape[1]
        self.min_samples_ = int(max(1, min(max(ms, 3), len(X))))
        idx = sample_rows(len(X), self.max_n, self.random_state)
        Xs = X[idx]
        self.eps_ = (
            self.eps
            if self.eps is not None
            else kdistance_knee(Xs, self.min_samples_, random_state=self.random_state)
        )
        est = DBSCAN(eps=self.eps_, min_samples=self.min_samples_).fit(Xs)
        self.subsampled_ = len(idx) < len(X)
        self.labels_ = (
            est.labels_
            if not self.subsampled_
            else _assign_within(
                X, Xs[est.core_sample_indices_], est.labels_[est.core_sample_indices_], self.eps_
            )
        )
        self.n_clusters_ = len(set(self.labels_.tolist()) - {-1})
        self.n_features_in_ = X.shape[1]
        return self


def _assign_within(X: np.ndarray, ref: np.ndarray, ref_labels: np.ndarray, radius: float):
    """Label of the nearest reference row if within ``radius`` (inf: always), else -1."""
    if len(ref) == 0:
        return np.full(len(X), -1, dtype=np.int64)
    dist, ind = NearestNeighbors(n_neighbors=1).fit(ref).kneighbors(X)
    labels = ref_labels[ind[:, 0]].astype(np.int64)
    labels[dist[:, 0] > radius] = -1
    return labels


class HDBSCANClusterer(ClusterMixin, BaseEstimator):
    """HDBSCAN (sklearn), an extra: no eps to choose; -1 labels noise.

    Parameters
    ----------
    min_cluster_size : int or None
        None: ``max(5, n // 100)`` (a segment smaller than 1 % of users is not actionable).
    max_n : int
        Above this, fit on a seeded sample; other rows take the label of the nearest sample row.
    random_state : int (only for the sample).

    Attributes
    ----------
    labels_, n_clusters_ (excluding noise), min_cluster_size_, subsampled_.

    Notes
    -----
    Time about O(m log m) with a tree for m = min(n, max_n), O(m^2) worst case; memory O(m).
    """

    def __init__(
        self, min_cluster_size: int | None = None, max_n: int = 50_000, random_state: int = 0
    ) -> None:
        self.min_cluster_size = min_cluster_size
        self.max_n = max_n
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: object = None) -> HDBSCANClusterer:
        """Fit on X (n_samples, n_features); returns self."""
        X = check_array(X, dtype="float64")
        idx = sample_rows(len(X), self.max_n, self.random_state)
        m = len(idx)
        size = self.min_cluster_size or max(5, m // 100)
        self.min_cluster_size_ = int(max(2, min(size, m)))
        self.subsampled_ = m < len(X)
        if m < 2:
            labels = np.full(m, -1, dtype=np.int64)
        else:
            labels = HDBSCAN(min_cluster_size=self.min_cluster_size_, copy=True).fit_predict(X[idx])
        self.labels_ = _assign_within(X, X[idx], labels, np.inf) if self.subsampled_ else labels
        self.n_clusters_ = len(set(self.labels_.tolist()) - {-1})
        self.n_features_in_ = X.shape[1]
        return self


class AgglomerativeClusterer(ClusterMixin, BaseEstimator):
    """Agglomerative clustering (Ward) that will not exhaust memory on large n.

    Parameters
    ----------
    n_clusters : int or None
        None: :func:`choose_k` (K-means prediction-strength rule, shared by all methods).
    max_n : int
        Ward needs O(n^2) memory (pairwise distances): 5,000 rows ~ 100 MB. Above ``max_n`` the
        estimator either refuses (``on_large="refuse"``: a DataError saying so) or fits on a
        seeded sample of ``max_n`` rows and assigns every row to the nearest centroid of those
        clusters (``on_large="subsample"``; ``subsampled_`` and ``note_`` say so).
    on_large : {"subsample", "refuse"}
    k_min, k_max, selection_sample, random_state : as in :class:`KMeansClusterer`.

    Attributes
    ----------
    labels_, n_clusters_, cluster_centers_ (centroids of the Ward clusters), subsampled_, note_.

    Notes
    -----
    Time O(m^2 log m) or O(m^2) (nearest-neighbour chain), memory O(m^2), m = min(n, max_n);
    the assignment step is O(n k d).
    """

    def __init__(
        self,
        n_clusters: int | None = None,
        max_n: int = 5000,
        on_large: str = "subsample",
        k_min: int = 2,
        k_max: int = 8,
        selection_sample: int = 1500,
        random_state: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.max_n = max_n
        self.on_large = on_large
        self.k_min = k_min
        self.k_max = k_max
        self.selection_sample = selection_sample
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: object = None) -> AgglomerativeClusterer:
        """Fit on X (n_samples, n_features); returns self. Raises DataError when refusing."""
        X = check_array(X, dtype="float64", ensure_min_samples=1)
        n = len(X)
        self.subsampled_ = n > self.max_n
        self.note_ = ""
        if self.subsampled_:
            msg = f"agglomerative (Ward) needs O(n^2) memory; n={n:,} exceeds max_n={self.max_n:,}"
            if self.on_large == "refuse":
                raise DataError(f"{msg}: use on_large='subsample' or K-means for this size")
            self.note_ = (
                f"{msg}: fitted on a seeded sample of {self.max_n:,}, rest -> nearest centroid"
            )
        idx = sample_rows(n, self.max_n, self.random_state)
        Xs = X[idx]
        k = self.n_clusters
        if k is None:
            k = choose_k(Xs, self.k_min, self.k_max, self.selection_sample, self.random_state)
        k = int(max(1, min(k, len(Xs))))
        labels = (
            AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(Xs)
            if len(Xs) >= 2
            else np.zeros(len(Xs), dtype=np.int64)
        )
        self.cluster_centers_ = np.stack([Xs[labels == c].mean(axis=0) for c in range(k)])
        self.labels_ = nearest_centre(X, self.cluster_centers_) if self.subsampled_ else labels
        self.n_clusters_ = k
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Nearest Ward centroid of each row of X (n, n_features) -> (n,) labels."""
        check_is_fitted(self, "cluster_centers_")
        return nearest_centre(
            validate_data(self, X, reset=False, dtype="float64"), self.cluster_centers_
        )


class GaussianMixtureClusterer(ClusterMixin, BaseEstimator):
    """Gaussian mixture (full covariances), an extra; components chosen by BIC unless given.

    Parameters
    ----------
    n_components : int or None
        None: the k in ``k_min..k_max`` with the lowest BIC, fitted on a seeded sample of
        ``selection_sample`` rows (BIC, not silhouette: it is the mixture's own criterion).
    covariance_type : str, passed to sklearn's GaussianMixture.
    random_state : int

    Attributes
    ----------
    labels_ (most probable component), n_clusters_, means_.

    Notes
    -----
    Time O(n k d^2 iters); memory O(n k + k d^2).
    """

    def __init__(
        self,
        n_components: int | None = None,
        covariance_type: str = "full",
        k_min: int = 2,
        k_max: int = 8,
        selection_sample: int = 1500,
        random_state: int = 0,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.k_min = k_min
        self.k_max = k_max
        self.selection_sample = selection_sample
        self.random_state = random_state

    def _mixture(self, k: int) -> GaussianMixture:
        # reg_covar above sklearn's 1e-6 keeps duplicated or constant rows from a singular fit
        return GaussianMixture(
            k, covariance_type=self.covariance_type, reg_covar=1e-4, random_state=self.random_state
        )

    def fit(self, X: np.ndarray, y: object = None) -> GaussianMixtureClusterer:
        """Fit on X (n_samples, n_features); returns self."""
        X = check_array(X, dtype="float64", ensure_min_samples=2)
        k = self.n_components
        if k is None:
            Xs = X[sample_rows(len(X), self.selection_sample, self.random_state)]
            # no more components than distinct rows (duplicates cannot be split)
            distinct = len(np.unique(Xs, axis=0))
            ks = list(range(self.k_min, min(self.k_max, len(Xs) - 1, distinct) + 1)) or [1]
            bics = [self._mixture(c).fit(Xs).bic(Xs) for c in ks]
            k = ks[int(np.argmin(bics))]
        k = int(max(1, min(k, len(X))))
        self.estimator_ = self._mixture(k).fit(X)
        self.labels_ = self.estimator_.predict(X)
        self.means_ = self.estimator_.means_
        self.n_clusters_ = k
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable component of each row of X (n, n_features) -> (n,)."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(validate_data(self, X, reset=False, dtype="float64"))
