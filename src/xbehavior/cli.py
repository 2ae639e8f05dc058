"""The ``xbehavior`` command line. Errors of the user's making print one line, no traceback.

Any other exception is a bug: it prints one "internal error" line and exits 3 (the traceback
only with ``XBEHAVIOR_DEBUG=1``).
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from xbehavior.errors import ConfigError, XBehaviorError
from xbehavior.ingest.cli import (
    DefaultEventFlag,
    DelimiterFlag,
    EncodingFlag,
    EventFlags,
    MapFlags,
    MaxPriceFlag,
    TimezoneFlag,
    TsFormatFlag,
    ingest_app,
    mapping_from_options,
)
from xbehavior.jobs.analytics_cli import analyze

#: exit code of an unexpected exception (2: the user's error)
INTERNAL_ERROR = 3


class _App(typer.Typer):
    """A Typer app whose console entry turns any exception into one line (last defence)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except XBehaviorError as err:
            console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
            sys.exit(2)
        except Exception as err:
            if os.environ.get("XBEHAVIOR_DEBUG") == "1":
                raise
            message = str(err).strip().splitlines()
            console.print(f"[bold red]internal error:[/] {type(err).__name__}: "
                          f"{message[0] if message else ''} — please report it; set "
                          "XBEHAVIOR_DEBUG=1 for the traceback", highlight=False, soft_wrap=True)
            sys.exit(INTERNAL_ERROR)


app = _App(
    name="xbehavior",
    help="Cross-national e-commerce behaviour analytics: models, segments, insights, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(ingest_app, name="ingest")
app.command("analyze")(analyze)
console = Console(stderr=True)


def fail(err: Exception) -> None:
    """Print a user error as one line and exit 2."""
    console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@app.command()
def run(
    dataset: Annotated[str, typer.Option(
        help="bundled dataset: online_retail or dunnhumby; or file: your own order-line log "
        "(--input FILE, --mapping YAML)")] = "online_retail",
    input: Annotated[Path | None, typer.Option(
        "--input", help="a file in the dataset's layout instead of the bundled copy")] = None,
    mapping: Annotated[Path | None, typer.Option(
        help="--dataset file: YAML column mapping, as for xbehavior ingest file",
        rich_help_panel="Your own log: column mapping")] = None,
    map_: MapFlags = None,
    event: EventFlags = None,
    ts_format: TsFormatFlag = None,
    timezone: TimezoneFlag = None,
    default_event: DefaultEventFlag = None,
    delimiter: DelimiterFlag = None,
    encoding: EncodingFlag = None,
    max_price: MaxPriceFlag = None,
    out: Annotated[Path | None, typer.Option(help="output folder (default: runs/<time>)")] = None,
    seed: Annotated[int, typer.Option(help="seed for every random choice")] = 0,
    horizon_days: Annotated[int | None, typer.Option(
        help="label: purchase within this many days (default: 90, dunnhumby 28)")] = None,
    max_epochs: Annotated[int, typer.Option(help="epoch cap (early stopping on val)")] = 100,
    models: Annotated[str, typer.Option(
        help="comma-separated sequence models")] = "rnn,lstm,xlstm_paper,xlstm",
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: all)")] = None,
) -> None:
    """Run the whole pipeline (ingest -> models -> segments -> insights -> report)."""
    from xbehavior.config import make_config
    from xbehavior.jobs.main import run_main

    try:
        spec = mapping_from_options(
            mapping, map_, event, ts_format=ts_format, timezone=timezone,
            default_event=default_event, delimiter=delimiter, encoding=encoding,
            max_price=max_price)
        cfg = make_config(
            dataset=dataset, input=input, mapping=spec, out=out, seed=seed,
            horizon_days=horizon_days,
            max_epochs=max_epochs, threads=threads,
            sequence_models=tuple(m.strip() for m in models.split(",") if m.strip()),
        )
        folder = run_main(cfg, console)
    except XBehaviorError as err:
        fail(err)
    console.print(f"[green]done:[/] {folder / 'report.html'}  (metrics.json, scores.parquet, "
                  "audience.csv, models/)")


@app.command()
def segment(
    dataset: Annotated[str, typer.Option(
        help="online_retail, dunnhumby (order history) or rees46 (user_features)")
    ] = "online_retail",
    input: Annotated[Path | None, typer.Option(
        "--input", help="a file in the dataset's layout instead of the bundled copy")] = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/segments"),
    n_clusters: Annotated[int | None, typer.Option(
        help="clusters (default: largest stable k in 2..8, prediction strength)")] = None,
    seed: Annotated[int, typer.Option(help="seed for every random choice")] = 0,
) -> None:
    """Segment customers: every clusterer, honest metrics, month-by-month heatmaps."""
    from xbehavior.atomic import output_folder
    from xbehavior.jobs.segment_job import run_segmentation
    from xbehavior.segments.config import segment_config

    try:
        segment_config(n_clusters=n_clusters, seed=seed)  # refuse bad settings before ingest
        with output_folder(out, inputs=(input,)) as staging:
            result = run_segmentation(dataset, staging, input, n_clusters, seed)
    except XBehaviorError as err:
        fail(err)
    console.print(f"[green]segmented[/] {len(result.labels):,} customers -> "
                  f"{out / 'segments.html'}")


@app.command()
def score(
    run_dir: Annotated[Path, typer.Argument(help="folder written by 'xbehavior run'")],
    model: Annotated[str | None, typer.Option(
        help="saved model to apply: a sequence model, lightgbm or logreg (default: the "
        "run's best on validation, the model behind audience.csv)")] = None,
    input: Annotated[Path | None, typer.Option(
        "--input", help="log to score, in the run dataset's layout (default: bundled)")] = None,
    as_of: Annotated[str | None, typer.Option(
        help="score as of this date, YYYY-MM-DD or YYYY-MM-DDTHH:MM "
             "(default: the day after the log ends)")] = None,
    out: Annotated[Path, typer.Option(help="output Parquet file")] = Path("scores.parquet"),
) -> None:
    """Apply a saved model to a log: purchase probability per customer, as of a date."""
    from xbehavior.jobs.score import best_model, quality_line, quality_path, score_customers

    try:
        when = parse_as_of(as_of) if as_of else None
        model = model or best_model(run_dir)
        scores = score_customers(run_dir, model, out, input, when)
    except XBehaviorError as err:
        fail(err)
    as_of_used = scores["as_of"].iloc[0]
    cut = scores.attrs["threshold"]
    cut_text = f"predicted = probability >= {cut:.3f} (chosen on validation)" if cut == cut else (
        "no decision threshold (model trained without labels)")
    console.print(f"[green]scored[/] {len(scores):,} customers as of {as_of_used:%Y-%m-%d %H:%M} "
                  f"with {model} -> {out} (data quality: {quality_path(out)}); {cut_text}",
                  soft_wrap=True)
    console.print(quality_line(scores.attrs["data_quality"]), soft_wrap=True)


def parse_as_of(text: str) -> Any:
    """``--as-of`` as a naive pandas Timestamp: ISO date or date-time only (no "now", no zone)."""
    import pandas as pd

    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--as-of {text!r} is not a date; use YYYY-MM-DD "
                          "(or YYYY-MM-DDTHH:MM)") from None
    if when.tzinfo is not None:
        raise ConfigError(f"--as-of {text!r} has a time zone; give the log's local time "
                          "without one, e.g. 2011-06-01")
    return pd.Timestamp(when)


if __name__ == "__main__":  # pragma: no cover
    app()
