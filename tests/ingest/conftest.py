"""Shared fixtures for ingest tests: a fresh single-threaded engine and a CSV writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from xbehavior.engine import DuckDBEngine


@pytest.fixture
def engine() -> DuckDBEngine:
    return DuckDBEngine(threads=1)


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[[str, str], Path]:
    """write_csv(text, name='log.csv') -> path of a CSV holding ``text`` verbatim."""

    def write(text: str, name: str = "log.csv") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
