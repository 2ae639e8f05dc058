"""The shared feature space in which every method is scored.

Stated transform (docs/SEGMENTS.md): keep numeric columns; fill missing values with the column
median; signed log, ``sign(x) * log1p(|x|)`` (equal to ``log1p`` on the non-negative counts and
amounts that dominate behaviour features, and tames their right skew); then standardise to mean 0,
sd 1. Constant columns carry no information and are dropped (they would divide by zero).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xbehavior.errors import DataError


def shared_space(features: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Standardised signed-log behaviour features.

    Parameters
    ----------
    features : DataFrame (n_users, n_columns), indexed by user_id; non-numeric columns ignored.

    Returns
    -------
    X : ndarray (n_users, n_kept) float64, columns with mean 0 and sd 1.
    kept : names of the kept columns (numeric, not constant).
    """
    numeric = features.select_dtypes(include="number").astype("float64")
    if numeric.shape[1] == 0:
        raise DataError("segments: features have no numeric column; pass per-user numbers")
    if len(numeric) == 0:
        raise DataError("segments: features have no rows (no users to segment)")
    values = numeric.to_numpy(copy=True)
    values[~np.isfinite(values)] = np.nan
    # an all-missing column becomes 0 (then constant, then dropped)
    filled = np.where(np.isnan(values).all(axis=0), 0.0, values)
    medians = np.nanmedian(filled, axis=0)
    rows, cols = np.nonzero(np.isnan(values))
    values[rows, cols] = medians[cols]
    logged = np.sign(values) * np.log1p(np.abs(values))
    return standardise(logged, list(numeric.columns))


def standardise(values: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Mean 0, sd 1 per column, dropping constant columns; (n, d) -> (n, d_kept)."""
    sd = values.std(axis=0)
    keep = sd > 1e-12 * np.maximum(1.0, np.abs(values).max(axis=0))
    kept = [n for n, k in zip(names, keep, strict=True) if k]
    if not keep.any():
        # every column constant: all users identical, one point in a 1-d space
        return np.zeros((values.shape[0], 1)), []
    centred = values[:, keep] - values[:, keep].mean(axis=0)
    return centred / sd[keep], kept


def embedding_space(embedding: np.ndarray) -> np.ndarray:
    """An embedding's own space: its columns standardised, (n, D) -> (n, D_kept)."""
    emb = np.asarray(embedding, dtype="float64")
    if emb.ndim != 2:
        raise DataError(f"segments: an embedding must be 2-d (n_users, D), got shape {emb.shape}")
    if not np.isfinite(emb).all():
        raise DataError("segments: an embedding holds NaN or inf; re-export it from the model")
    return standardise(emb, [str(i) for i in range(emb.shape[1])])[0]
