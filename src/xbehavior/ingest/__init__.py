"""Stage 1, ingest: raw shop logs -> the canonical ``events`` table, validated and counted.

``ingest_dataset`` reads a bundled dataset (or a file of the same layout); ``ingest_file``
reads any log through a column mapping. Both return a DataQuality record
(rows read = kept + dropped by reason) and raise one-line DataError / ConfigError.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from xbehavior.datasets import data_path
from xbehavior.engine import Engine
from xbehavior.errors import DataError
from xbehavior.ingest.bundled import (
    ingest_dunnhumby,
    ingest_eshop_clickstream,
    ingest_online_shoppers,
    ingest_rees46,
)
from xbehavior.ingest.generic import ingest_file, load_mapping
from xbehavior.ingest.leads import LEAD_COLUMNS, ingest_olist
from xbehavior.ingest.online_retail import ingest_online_retail
from xbehavior.ingest.quality import DataQuality
from xbehavior.ingest.schema import EVENT_COLUMNS, EVENT_TYPES, SESSION_COLUMNS

__all__ = [
    "ADAPTERS", "EVENT_COLUMNS", "EVENT_TYPES", "LEAD_COLUMNS", "SESSION_COLUMNS", "DataQuality",
    "ingest_dataset", "ingest_file", "load_mapping",
]

Adapter = Callable[[Engine, Path, str], DataQuality]

#: bundled dataset -> adapter; online_shoppers yields the session-table form, olist the leads
#: table (see TABLES)
ADAPTERS: dict[str, Adapter] = {
    "online_retail": ingest_online_retail,
    "rees46": ingest_rees46,
    "eshop_clickstream": ingest_eshop_clickstream,
    "dunnhumby": ingest_dunnhumby,
    "online_shoppers": ingest_online_shoppers,
    "olist": ingest_olist,
}

#: the table a dataset's adapter writes when not told otherwise (event logs: ``events``)
TABLES = {"online_shoppers": "sessions", "olist": "leads"}


def ingest_dataset(
    engine: Engine, name: str, path: Path | None = None, table: str = "events"
) -> DataQuality:
    """Ingest bundled dataset ``name`` (or a file of the same layout at ``path``).

    Event logs go to ``table``; ``online_shoppers`` (a session table) and ``olist`` (a leads
    table) go to ``TABLES[name]`` unless another ``table`` than the default is given.
    """
    if name not in ADAPTERS:
        known = ", ".join(sorted(ADAPTERS))
        raise DataError(f"no adapter for dataset {name!r}; choose one of {known}, or ingest "
                        "your own file with a column mapping (xbehavior ingest file --help)")
    if table == "events":
        table = TABLES.get(name, table)
    return ADAPTERS[name](engine, Path(path) if path else data_path(name), table)
