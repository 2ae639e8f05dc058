"""Stage 1, ingest: raw shop logs -> the canonical ``events`` table, validated and counted.

``ingest_dataset`` reads a bundled dataset (or a file of the same layout); ``ingest_file``
reads any log through a column mapping; ``ingest_source`` is either, by dataset name
(``OWN_LOG`` = your own log). All return a DataQuality record
(rows read = kept + dropped by reason) and raise one-line DataError / ConfigError.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from xbehavior.datasets import data_path
from xbehavior.engine import Engine
from xbehavior.errors import ConfigError, DataError
from xbehavior.ingest.bundled import (
    ingest_dunnhumby,
    ingest_eshop_clickstream,
    ingest_online_shoppers,
    ingest_rees46,
)
from xbehavior.ingest.generic import ingest_file, load_mapping, validate_mapping
from xbehavior.ingest.leads import LEAD_COLUMNS, ingest_olist
from xbehavior.ingest.online_retail import ingest_online_retail
from xbehavior.ingest.quality import DataQuality
from xbehavior.ingest.schema import EVENT_COLUMNS, EVENT_TYPES, SESSION_COLUMNS

__all__ = [
    "ADAPTERS",
    "EVENT_COLUMNS",
    "EVENT_TYPES",
    "LEAD_COLUMNS",
    "OWN_LOG",
    "SESSION_COLUMNS",
    "DataQuality",
    "ingest_dataset",
    "ingest_file",
    "ingest_source",
    "load_mapping",
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


#: the dataset name that means your own log (``--input``, optionally ``--mapping``)
OWN_LOG = "file"


def ingest_source(engine: Engine, dataset: str, input: Path | None = None,
                  mapping: Path | dict | None = None, *, asked_as: str = OWN_LOG,
                  log: str = "your log") -> tuple[DataQuality, dict | None]:
    """Ingest bundled ``dataset`` (or ``input`` in its layout), or for ``OWN_LOG`` your log
    ``input`` through ``mapping`` (a YAML path or the mapping itself; None: the columns are
    canonical). Returns the quality record and the mapping used (None for a bundled dataset).

    ``asked_as`` (how the command names the own-log choice, e.g. '--dataset file') and
    ``log`` (what the log is) only word the one-line errors."""
    if dataset != OWN_LOG:
        if mapping is not None:
            raise ConfigError(f"--mapping and the mapping flags (--map, --event, --ts-format, "
                              f"...) are for your own log ({asked_as} --input PATH); {dataset} "
                              "is read in its own layout, so drop them")
        return ingest_dataset(engine, dataset, input), None
    if input is None:
        raise ConfigError(f"{asked_as} needs --input PATH: {log} (CSV or Parquet), with "
                          "--mapping YAML when its columns are not named canonically")
    spec = validate_mapping(load_mapping(mapping) if isinstance(mapping, Path) else mapping or {})
    return ingest_file(engine, input, spec), spec
