"""Shared hand-built cases for the segments tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def three_blobs() -> tuple[np.ndarray, np.ndarray]:
    """60 points in 2-d: three tight blobs of 20 around (0,0), (10,0), (0,10); truth 0/1/2."""
    rng = np.random.default_rng(7)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    truth = np.repeat([0, 1, 2], 20)
    return centres[truth] + rng.normal(0.0, 0.3, (60, 2)), truth


@pytest.fixture(autouse=True)
def _one_thread():
    """Small sklearn fits spin badly under shared cores; tests run single-threaded."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield
