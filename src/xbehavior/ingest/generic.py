"""The generic adapter: any CSV / Parquet (optionally gzipped) log, through a column mapping.

A mapping says which source column holds each canonical column, how to read timestamps and
what the shop's event names mean. Written as YAML (see ``examples/rees46_mapping.yaml``)::

    columns:            # canonical column: source column
      user_id: shopper
      ts: event_timestamp
      event_type: action
      price: unit_price
    ts_format: "%d/%m/%Y %H:%M:%S"   # strptime; 'epoch' / 'epoch_ms'; omit for ISO 8601
    timezone: Europe/Warsaw          # zone of timestamps without an offset; stored as UTC
    events:             # source event name: view|cart|remove_from_cart|checkout|purchase|
      add_to_basket: cart            #                    return|other|drop
    default_event: purchase          # when there is no event column (order-line exports)
    delimiter: ";"
    encoding: latin-1                # CSV text encoding (default utf-8)
    max_price: 1000000               # a higher price is an error (IN007)

A canonical column that is not mapped but exists in the file under its canonical name is used
as is, so a file already in canonical form needs no mapping at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from xbehavior.engine import Engine
from xbehavior.errors import ConfigError
from xbehavior.ingest.checks import check_columns, did_you_mean
from xbehavior.ingest.core import (
    SourceSpec,
    check_timezone,
    check_ts_format,
    load_events,
    read_relation,
    source_columns,
)
from xbehavior.ingest.quality import DataQuality
from xbehavior.ingest.schema import EVENT_COLUMNS, EVENT_TYPES

MAPPING_KEYS = (
    "columns", "ts_format", "timezone", "events", "default_event", "delimiter", "encoding",
    "max_price",
)

#: CSV encodings DuckDB reads without an extension (each spelt two ways)
ENCODINGS = ("utf-8", "utf8", "latin-1", "latin1", "utf-16", "utf16")
#: keys whose value must be text
_TEXT_KEYS = ("ts_format", "timezone", "default_event", "delimiter", "encoding")


def _unknown_key(key: str, allowed: tuple[str, ...] | list[str], where: str) -> ConfigError:
    return ConfigError(f"{where}: unknown key {key!r}{did_you_mean(key, allowed)}; "
                       f"allowed: {', '.join(allowed)}")


def _pairs_of(mapping: dict[str, Any], key: str, where: str) -> dict[str, str]:
    """``mapping[key]`` as a str -> str dict; a list, a scalar or an empty value is an error."""
    value = mapping.get(key) or {}
    example = "user_id: Shopper" if key == "columns" else "add_to_basket: cart"
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key!r} must be 'name: value' lines (e.g. {example}), "
                          f"not a {type(value).__name__}")
    for k, v in value.items():
        if isinstance(k, bool) or isinstance(v, bool):
            # YAML 1.1 reads on/off/yes/no/true/false as booleans: 'on' would become 'True'
            raise ConfigError(f"{where}: {key} holds {k!r}: {v!r}, and YAML reads an unquoted "
                              "on, off, yes, no, true or false as true/false; quote the name "
                              "(e.g. 'on': view)")
        if v is None or isinstance(v, dict | list) or str(v).strip() == "":
            raise ConfigError(f"{where}: {key}.{k} has no value; give one (e.g. {example}) "
                              "or remove the key")
    return {str(k): str(v) for k, v in value.items()}


def validate_mapping(mapping: dict[str, Any], where: str = "mapping") -> dict[str, Any]:
    """Check a mapping dict's keys, value types, canonical columns and event targets; return
    it normalised (``columns`` and ``events`` as str -> str dicts)."""
    for key in mapping:
        if key not in MAPPING_KEYS:
            raise _unknown_key(str(key), MAPPING_KEYS, where)
    for key in _TEXT_KEYS:
        value = mapping.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be text, not {type(value).__name__} "
                              f"{value!r}; quote it ({key}: \"...\")")
        # "" must not mean the default; a tab or a space is a delimiter, not blank
        if isinstance(value, str) and not (value if key == "delimiter" else value.strip()):
            raise ConfigError(f"{where}: {key} is empty; give a value or leave {key} out "
                              "for the default")
    if mapping.get("timezone"):
        check_timezone(mapping["timezone"], where)
    check_ts_format(mapping.get("ts_format"), where)
    encoding = mapping.get("encoding")
    if encoding is not None and encoding.lower().replace("_", "-") not in ENCODINGS:
        raise ConfigError(f"{where}: encoding {encoding!r} cannot be read; use one of "
                          f"{', '.join(ENCODINGS[::2])} (Windows-1252 text reads as latin-1 "
                          "but for a few symbols such as the euro sign; re-save it as UTF-8)")
    columns = _pairs_of(mapping, "columns", where)
    for key in columns:
        if key not in EVENT_COLUMNS:
            raise _unknown_key(key, list(EVENT_COLUMNS), f"{where} columns")
    events = _pairs_of(mapping, "events", where)
    targets = (*EVENT_TYPES, "drop")
    for src, dst in events.items():
        if dst not in targets:
            raise ConfigError(f"{where} events: {src!r} -> {dst!r} is not an event type"
                              f"{did_you_mean(dst, targets)}; use one of {', '.join(targets)}")
    max_price = _number(mapping.get("max_price"))
    if max_price is not None and not (
            isinstance(max_price, int | float) and not isinstance(max_price, bool)
            and 0 < max_price < float("inf")):
        raise ConfigError(f"{where}: max_price {max_price!r} must be a positive number "
                          "(e.g. 1000000)")
    default = mapping.get("default_event")
    if default is not None and default not in EVENT_TYPES:
        raise ConfigError(f"{where}: default_event {default!r} is not an event type"
                          f"{did_you_mean(str(default), EVENT_TYPES)}")
    normal = {**mapping, "columns": columns, "events": events}
    if max_price is not None:
        normal["max_price"] = max_price
    if encoding is not None:  # DuckDB takes the lower-case, hyphenated spelling only
        spelt = encoding.lower().replace("_", "-")
        normal["encoding"] = ENCODINGS[ENCODINGS.index(spelt) // 2 * 2]
    return normal


def _number(value: Any) -> Any:
    """``value``, or the number a text value spells: YAML 1.1 reads 1e6 (no dot) as text."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


class _DuplicateKey(Exception):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice (by default the last one wins, so a
    repeated ``user_id:`` would silently map the wrong column)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool):
                continue  # an unhashable key: SafeLoader's own error names it
            if key in seen:
                line = key_node.start_mark.line + 1
                raise _DuplicateKey(f"key {key!r} is given twice (again at line {line})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_mapping(path: Path) -> dict[str, Any]:
    """Read and validate a YAML mapping file."""
    if not path.exists():
        raise ConfigError(f"{path}: mapping file not found; check the --mapping path")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; give the mapping's YAML file (--mapping)")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader) or {}
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror or err}); check that this "
                          "user may read the mapping file") from None
    except _DuplicateKey as err:
        raise ConfigError(f"{path}: {err}; keep one of them") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text; a mapping is a YAML text file") from None
    except yaml.YAMLError as err:  # safe_load: a !!python tag is an error here, never run
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        fix = ("tags such as !!python are not allowed" if "constructor" in problem
               else "check the indentation and quoting")
        raise ConfigError(f"{path}: not valid YAML{where} ({problem}); {fix}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a mapping file holds 'key: value' lines (see --help)")
    return validate_mapping(data, str(path))


def _ident(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def spec_from_mapping(path: Path, mapping: dict[str, Any], present: list[str],
                      relation: str) -> SourceSpec:
    """Turn a validated mapping into a SourceSpec over ``relation`` (columns ``present``)."""
    columns = dict(mapping["columns"])
    for canonical in EVENT_COLUMNS:  # canonical names present in the file map to themselves
        if canonical not in columns and canonical in present:
            columns[canonical] = canonical
    if "ts" not in columns:
        hint = did_you_mean("ts", present) or did_you_mean("timestamp", present)
        raise ConfigError(f"{path}: no timestamp column mapped{hint}; map it with "
                          "'columns: {ts: COLUMN}' in a --mapping file (or xbehavior ingest "
                          "file --map ts=COLUMN)")
    check_columns(path, {src: canonical for canonical, src in columns.items()}, present)
    # numbers are parsed (and a bad cell reported) by load_events, not cast here
    exprs = {c: _ident(src) for c, src in columns.items() if c not in ("ts", "event_type")}
    event_col = columns.get("event_type")
    return SourceSpec(
        path=path, relation=relation, ts_expr=_ident(columns["ts"]), exprs=exprs,
        event_expr=_ident(event_col) if event_col else None,
        default_event=mapping.get("default_event"), event_map=mapping["events"],
        ts_format=mapping.get("ts_format"), timezone=mapping.get("timezone") or "UTC",
        max_price=float(mapping.get("max_price", 1e6)), columns=columns,
    )


def ingest_file(engine: Engine, path: Path, mapping: dict[str, Any] | None = None,
                table: str = "events") -> DataQuality:
    """Ingest any event log at ``path`` into canonical ``table`` through ``mapping``.

    ``mapping`` is a dict of the YAML form above (``None``: the file is already canonical).
    Returns the DataQuality record; raises DataError / ConfigError with a one-line message.
    """
    path = Path(path)
    mapping = validate_mapping(mapping or {}, "mapping")
    relation = read_relation(path, mapping.get("delimiter"), mapping.get("encoding"))
    present = source_columns(engine, path, relation)
    spec = spec_from_mapping(path, mapping, present, relation)
    return load_events(engine, spec, table)
