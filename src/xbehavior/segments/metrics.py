"""Cluster quality and agreement, computed the same stated way for every method.

- Silhouette and Davies-Bouldin (DBI) exclude noise points (label -1); the noise fraction is
  reported beside them. Fewer than 2 clusters, or as many clusters as points, gives NaN and a
  ``note`` naming the reason, never an exception.
- Silhouette on more than ``sample_size`` points is computed on a seeded sample stratified by
  cluster (each cluster keeps its share, and at least 2 points when it has them); DBI always
  uses every non-noise point (it is O(n k d)).
- ARI compares two labelings of the same users; noise counts as one more group (so a method is
  not rewarded for declaring hard users noise).
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score, silhouette_score
from sklearn.utils.validation import check_random_state


def stratified_sample(labels: np.ndarray, size: int, random_state: int = 0) -> np.ndarray:
    """Sorted row indices: about ``size`` rows, each cluster keeping its share (>= 2 if it can).

    labels : (n,) int. Returns all rows when n <= size.
    """
    n = len(labels)
    if n <= size:
        return np.arange(n)
    rng = check_random_state(random_state)
    picked = []
    for lab in np.unique(labels):
        rows = np.flatnonzero(labels == lab)
        take = min(len(rows), max(2, round(size * len(rows) / n)))
        picked.append(rng.choice(rows, size=take, replace=False))
    return np.sort(np.concatenate(picked))


def cluster_quality(
    X: np.ndarray, labels: np.ndarray, sample_size: int = 10_000, random_state: int = 0
) -> dict[str, float | int | str]:
    """Silhouette and DBI of ``labels`` in the space ``X``, noise excluded.

    X : (n, d) float; labels : (n,) int, -1 = noise.
    Returns {n_clusters, noise_fraction, silhouette, dbi, note}; silhouette/dbi NaN with a
    reason in ``note`` when undefined.
    """
    labels = np.asarray(labels)
    n = len(labels)
    keep = labels != -1
    noise = float(1.0 - keep.mean()) if n else math.nan
    n_clusters = len(np.unique(labels[keep]))
    out: dict[str, float | int | str] = {
        "n_clusters": n_clusters,
        "noise_fraction": noise,
        "silhouette": math.nan,
        "dbi": math.nan,
        "note": "",
    }
    reason = _undefined_reason(X[keep], labels[keep], n_clusters)
    if reason:
        out["note"] = reason
        return out
    Xk, lk = X[keep], labels[keep]
    idx = stratified_sample(lk, sample_size, random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # coincident centroids: DBI = inf
        out["silhouette"] = float(silhouette_score(Xk[idx], lk[idx]))
        out["dbi"] = float(davies_bouldin_score(Xk, lk))
    notes = []
    if len(idx) < len(lk):
        notes.append(f"silhouette on stratified sample of {len(idx):,}")
    if not np.isfinite(out["dbi"]):
        out["dbi"] = math.nan
        notes.append("dbi undefined: two clusters share a centroid")
    out["note"] = "; ".join(notes)
    return out


def _undefined_reason(X: np.ndarray, labels: np.ndarray, n_clusters: int) -> str:
    """Why silhouette/DBI are undefined for these non-noise points, or '' when defined."""
    if len(labels) == 0:
        return "undefined: all points are noise"
    if n_clusters < 2:
        return "undefined: only one cluster"
    if n_clusters >= len(labels):
        return "undefined: every point is its own cluster"
    if len(np.unique(X, axis=0)) < 2:
        return "undefined: all points identical"
    return ""


def ari(labels: np.ndarray | pd.Series, reference: np.ndarray | pd.Series) -> float:
    """Adjusted Rand index of two (n,) labelings; rows where either is missing are dropped.

    Missing = NaN / None / pd.NA; -1 (noise) is a group, not missing. NaN if < 2 rows remain.
    """
    a, _ = pd.factorize(pd.Series(np.asarray(labels, dtype=object)))
    b, _ = pd.factorize(pd.Series(np.asarray(reference, dtype=object)))
    ok = (a != -1) & (b != -1)  # factorize codes missing values as -1
    if ok.sum() < 2:
        return math.nan
    return float(adjusted_rand_score(a[ok], b[ok]))


def stability_ari(
    estimator: object, X: np.ndarray, n_seeds: int = 4, n_boot: int = 4, random_state: int = 0
) -> tuple[float, float]:
    """Mean pairwise ARI across seeds and across bootstrap resamples (two numbers).

    Seeds: the estimator is refitted on all of X with ``random_state = random_state + i``,
    i < n_seeds; mean ARI over the n_seeds*(n_seeds-1)/2 pairs (1.0 for a deterministic method).
    Bootstrap: refitted on n_boot seeded resamples (with replacement) of X; each pair is compared
    on the distinct rows both resamples contain. X : (n, d); estimator: sklearn clusterer with a
    ``random_state`` parameter. Time: (n_seeds + n_boot) fits.
    """
    by_seed = [
        clone(estimator).set_params(random_state=random_state + i).fit(X).labels_
        for i in range(n_seeds)
    ]
    seeds = float(np.mean([ari(a, b) for a, b in itertools.combinations(by_seed, 2)]))
    rng = check_random_state(random_state)
    boots = []
    for _ in range(n_boot):
        rows = rng.randint(0, len(X), size=len(X))
        labels = clone(estimator).fit(X[rows]).labels_
        per_row = np.full(len(X), -2, dtype=np.int64)  # -2: row not drawn
        per_row[rows] = labels  # a row drawn twice has one label either way (same point)
        boots.append(per_row)
    pairs = []
    for a, b in itertools.combinations(boots, 2):
        both = (a != -2) & (b != -2)
        pairs.append(ari(a[both], b[both]))
    return seeds, float(np.nanmean(pairs)) if pairs else math.nan
