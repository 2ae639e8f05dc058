"""Stage 1, ingest: raw shop logs -> the canonical ``events`` table, validated and counted."""

from __future__ import annotations

from pathlib import Path

from xbehavior.datasets import data_path
from xbehavior.engine import Engine
from xbehavior.errors import DataError
from xbehavior.ingest.online_retail import ingest_online_retail
from xbehavior.ingest.quality import DataQuality
from xbehavior.ingest.schema import EVENT_COLUMNS, EVENT_TYPES

__all__ = ["EVENT_COLUMNS", "EVENT_TYPES", "DataQuality", "ingest_dataset"]

_ADAPTERS = {"online_retail": ingest_online_retail}


def ingest_dataset(
    engine: Engine, name: str, path: Path | None = None, table: str = "events"
) -> DataQuality:
    """Ingest bundled dataset ``name`` (or a file of the same layout at ``path``)."""
    if name not in _ADAPTERS:
        known = ", ".join(sorted(_ADAPTERS))
        raise DataError(f"no event-log adapter for dataset {name!r} yet; choose one of {known}")
    return _ADAPTERS[name](engine, Path(path) if path else data_path(name), table)
