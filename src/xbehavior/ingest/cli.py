"""``xbehavior ingest``: load a bundled dataset or your own log, print the data-quality summary.

The lead mounts ``ingest_app`` as ``xbehavior ingest``; it runs standalone too
(``python -m xbehavior.ingest.cli --help``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer

from xbehavior.engine import DuckDBEngine
from xbehavior.errors import ConfigError, XBehaviorError
from xbehavior.ingest import ADAPTERS, TABLES, ingest_dataset
from xbehavior.ingest.generic import MAPPING_KEYS, ingest_file, load_mapping, validate_mapping
from xbehavior.ingest.quality import DataQuality, events_profile

MAPPING_HELP = """Load a shop's event log into the canonical events table.

\b
Map your columns to the canonical ones (canonical=source). For a file
with columns Shopper, Visit, When, Action, SKU, Amount:
  xbehavior ingest file shop.csv \\
    --map user_id=Shopper --map session_id=Visit --map ts=When \\
    --map event_type=Action --map item_id=SKU --map price=Amount \\
    --ts-format "%d/%m/%Y %H:%M:%S" --timezone Europe/Warsaw \\
    --event product_view=view --event add_to_basket=cart \\
    --event order=purchase
or put the same in a YAML file (see examples/rees46_mapping.yaml):
  xbehavior ingest file examples/rees46_renamed.csv \\
    --mapping examples/rees46_mapping.yaml
Every flag: xbehavior ingest file --help.

Canonical columns: user_id session_id ts event_type order_id item_id
category brand price quantity revenue country device os browser coupon,
and user attributes age gender rating social_share (only ts and an event
are required; a column already named canonically needs no mapping). A
price above --max-price (default 1e6) is an error.
Event types: view cart remove_from_cart checkout purchase return other
(map to 'drop' to discard).
Timestamps: ISO 8601 by default (an offset such as +02:00 or ' UTC' is
honoured); --ts-format takes strptime codes or epoch / epoch_ms;
--timezone is the clock of values without an offset; everything is stored
as UTC.
"""

ingest_app = typer.Typer(name="ingest", help=MAPPING_HELP, no_args_is_help=True)


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            example = "add_to_basket=cart" if option == "--event" else "ts=When"
            raise ConfigError(f"{option} {item!r}: write it as KEY=VALUE, e.g. {option} {example}")
        if key.strip() in out and out[key.strip()] != value.strip():
            raise ConfigError(f"{option} {key.strip()} is given twice ({out[key.strip()]!r} and "
                              f"{value.strip()!r}); give it once")
        out[key.strip()] = value.strip()
    return out


def _report(quality: DataQuality, profile: dict[str, Any] | None, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({**quality.to_dict(), **({"kept": profile} if profile else {})},
                              indent=2))
        return
    typer.echo(f"source      {quality.source}")
    typer.echo(f"rows read   {quality.rows_read:,}")
    typer.echo(f"rows kept   {quality.rows_kept:,}")
    for reason, n in sorted(quality.dropped.items()):
        typer.echo(f"  dropped   {reason:<20} {n:,}")
    for flag, n in sorted(quality.notes.items()):
        typer.echo(f"  flagged   {flag:<20} {n:,}")
    if profile:
        _report_profile(profile)


def _report_profile(p: dict[str, Any]) -> None:
    """The kept rows at a glance: who, when, what, and which columns are empty."""
    typer.echo(f"users       {p['users']:,} (rows without a user id: "
               f"{p['rows_without_user_id']:,})")
    typer.echo(f"time (UTC)  {p['first_ts_utc']} .. {p['last_ts_utc']}")
    typer.echo("events      " + ", ".join(f"{k} {n:,}" for k, n in p["event_types"].items()))
    typer.echo(f"empty cols  {' '.join(p['empty_columns']) or '-'} (analyses needing them "
               "skip)")


def _check_out(out: Path | None, *inputs: Path | None) -> None:
    """Refuse an ``--out`` that is a folder, not a Parquet name, or one of the input files
    (the log, the mapping: inputs are never modified); checked before ingesting so a bad
    path fails fast."""
    if out is None:
        return
    if out.is_dir():
        raise ConfigError(f"--out {out}: is a folder; give a file name such as "
                          f"{out / 'events.parquet'}")
    if out.suffix.lower() not in (".parquet", ".pq"):
        raise ConfigError(f"--out {out}: the table is written as Parquet; give a name ending "
                          f"in .parquet (e.g. {out.with_suffix('.parquet').name})")
    for source in inputs:
        if source is not None and out.exists() and source.exists() and (
                os.path.samefile(out, source)):
            raise ConfigError(f"--out {out}: is an input file ({source}), which is never "
                              "overwritten; write to another file (e.g. events.parquet)")


def _finish(engine: DuckDBEngine, quality: DataQuality, table: str, out: Path | None,
            as_json: bool) -> None:
    is_events = {"user_id", "ts", "event_type"} <= set(engine.columns(table))
    _report(quality, events_profile(engine, table) if is_events else None, as_json)
    if out is not None:
        try:  # a missing folder is created; any other failure is one line, not a traceback
            engine.to_parquet(table, out)
        except (OSError, duckdb.Error) as err:
            detail = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ConfigError(f"--out {out}: cannot write the Parquet file ({detail}); "
                              "give a writable file path") from None
        typer.echo(f"wrote {table} to {out}")


def _run(fn: Any) -> None:
    try:
        fn()
    except XBehaviorError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None


@ingest_app.command("dataset")
def dataset_cmd(
    name: Annotated[str, typer.Argument(help=f"one of: {', '.join(sorted(ADAPTERS))}")],
    input_path: Annotated[Path | None, typer.Option("--input", help="file of that layout")] = None,
    out: Annotated[Path | None, typer.Option(help="write the table to this Parquet file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Ingest a bundled real dataset (or a file with the same layout)."""

    def go() -> None:
        _check_out(out, input_path)
        engine = DuckDBEngine()
        quality = ingest_dataset(engine, name, input_path)
        table = TABLES.get(name, "events")
        _finish(engine, quality, table, out, as_json)

    _run(go)


# The mapping options, shared by every command that reads your own log (ingest file, analyze
# file, run --dataset file); flags override the --mapping file.
PANEL = "Your own log: column mapping"
MappingFile = Annotated[Path | None, typer.Option(
    "--mapping", help="YAML mapping file", rich_help_panel=PANEL)]
MapFlags = Annotated[list[str] | None, typer.Option(
    "--map", help="canonical=source column, repeatable (overrides the file)",
    rich_help_panel=PANEL)]
EventFlags = Annotated[list[str] | None, typer.Option(
    "--event", help="source_event=type, repeatable (type may be 'drop')", rich_help_panel=PANEL)]
TsFormatFlag = Annotated[str | None, typer.Option(
    "--ts-format", help="strptime format, epoch, epoch_ms", rich_help_panel=PANEL)]
TimezoneFlag = Annotated[str | None, typer.Option(
    "--timezone", help="zone of offset-less times", rich_help_panel=PANEL)]
DefaultEventFlag = Annotated[str | None, typer.Option(
    "--default-event", help="event type when there is no event column (e.g. purchase)",
    rich_help_panel=PANEL)]
DelimiterFlag = Annotated[str | None, typer.Option(
    "--delimiter", help="CSV delimiter (default: sniffed)", rich_help_panel=PANEL)]
EncodingFlag = Annotated[str | None, typer.Option(
    "--encoding", help="CSV text encoding: utf-8 (default), latin-1 or utf-16",
    rich_help_panel=PANEL)]
MaxPriceFlag = Annotated[float | None, typer.Option(
    "--max-price", help="highest plausible unit price; above it is an error (default 1e6)",
    rich_help_panel=PANEL)]


def mapping_from_options(mapping: Path | None = None, map_: list[str] | None = None,
                         event: list[str] | None = None, **flags: Any) -> Path | dict | None:
    """The column mapping the options give: None if none is given, the ``mapping`` path
    alone if only it is given, else the file's mapping with the flags over it, validated.
    ``flags``: ts_format, timezone, default_event, delimiter, encoding, max_price."""
    given = {k: v for k, v in flags.items() if v is not None}
    if not (map_ or event or given):
        return mapping
    unknown = set(given) - set(MAPPING_KEYS)
    if unknown:
        raise ConfigError(f"not a mapping option: {', '.join(sorted(unknown))}")
    spec: dict[str, Any] = load_mapping(mapping) if mapping else {}
    spec["columns"] = {**spec.get("columns", {}), **_pairs(map_, "--map")}
    spec["events"] = {**spec.get("events", {}), **_pairs(event, "--event")}
    spec.update(given)
    return validate_mapping(spec, f"{mapping} with the flags" if mapping else "flags")


@ingest_app.command("file")
def file_cmd(
    path: Annotated[Path, typer.Argument(help="CSV / TSV (optionally .gz) or Parquet")],
    mapping: MappingFile = None,
    map_: MapFlags = None,
    event: EventFlags = None,
    ts_format: TsFormatFlag = None,
    timezone: TimezoneFlag = None,
    default_event: DefaultEventFlag = None,
    delimiter: DelimiterFlag = None,
    encoding: EncodingFlag = None,
    max_price: MaxPriceFlag = None,
    out: Annotated[Path | None, typer.Option(help="write events to this Parquet file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Ingest your own log through a column mapping (flags override the mapping file)."""

    def go() -> None:
        _check_out(out, path, mapping)
        spec = mapping_from_options(
            mapping, map_, event, ts_format=ts_format, timezone=timezone,
            default_event=default_event, delimiter=delimiter, encoding=encoding,
            max_price=max_price)
        if isinstance(spec, Path):
            spec = load_mapping(spec)
        engine = DuckDBEngine()
        quality = ingest_file(engine, path, spec)
        _finish(engine, quality, "events", out, as_json)

    _run(go)


if __name__ == "__main__":
    ingest_app()
