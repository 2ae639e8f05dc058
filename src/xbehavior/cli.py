"""The ``xbehavior`` command line. Errors of the user's making print one line, no traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from xbehavior.errors import XBehaviorError
from xbehavior.ingest.cli import ingest_app
from xbehavior.jobs.analytics_cli import analyze

app = typer.Typer(
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
    dataset: Annotated[str, typer.Option(help="bundled dataset: online_retail or dunnhumby")] = (
        "online_retail"
    ),
    input: Annotated[Path | None, typer.Option(
        "--input", help="a file in the dataset's layout instead of the bundled copy")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder [default: runs/<time>]")] = None,
    seed: Annotated[int, typer.Option(help="seed for every random choice")] = 0,
    horizon_days: Annotated[int | None, typer.Option(
        help="label: purchase within this many days [default: 90, dunnhumby 28]")] = None,
    max_epochs: Annotated[int, typer.Option(help="epoch cap (early stopping on val)")] = 100,
    models: Annotated[str, typer.Option(
        help="comma-separated sequence models")] = "rnn,lstm,xlstm_paper,xlstm",
    threads: Annotated[int | None, typer.Option(help="CPU threads [default: all]")] = None,
) -> None:
    """Run the whole pipeline (ingest -> models -> segments -> insights -> report)."""
    from xbehavior.config import make_config
    from xbehavior.jobs.main import run_main

    try:
        cfg = make_config(
            dataset=dataset, input=input, out=out, seed=seed, horizon_days=horizon_days,
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
        help="clusters [default: largest stable k in 2..8, prediction strength]")] = None,
    seed: Annotated[int, typer.Option(help="seed for every random choice")] = 0,
) -> None:
    """Segment customers: every clusterer, honest metrics, month-by-month heatmaps."""
    from xbehavior.jobs.segment_job import run_segmentation

    try:
        result = run_segmentation(dataset, out, input, n_clusters, seed)
    except XBehaviorError as err:
        fail(err)
    console.print(f"[green]segmented[/] {len(result.labels):,} customers -> "
                  f"{out / 'segments.html'}")


@app.command()
def score(
    run_dir: Annotated[Path, typer.Argument(help="folder written by 'xbehavior run'")],
    model: Annotated[str, typer.Option(
        help="saved model to apply: a sequence model, lightgbm or logreg")] = "xlstm_paper",
    input: Annotated[Path | None, typer.Option(
        "--input", help="log to score, in the run dataset's layout [default: bundled]")] = None,
    as_of: Annotated[str | None, typer.Option(
        help="score as of this date, YYYY-MM-DD [default: the day after the log ends]")] = None,
    out: Annotated[Path, typer.Option(help="output Parquet file")] = Path("scores.parquet"),
) -> None:
    """Apply a saved model to a log: purchase probability per customer, as of a date."""
    import pandas as pd

    from xbehavior.jobs.score import quality_line, score_customers

    try:
        when = pd.Timestamp(as_of) if as_of else None
    except ValueError:
        fail(XBehaviorError(f"--as-of {as_of!r} is not a date; use YYYY-MM-DD"))
    try:
        scores = score_customers(run_dir, model, out, input, when)
    except XBehaviorError as err:
        fail(err)
    console.print(f"[green]scored[/] {len(scores):,} customers -> {out}")
    console.print(quality_line(scores.attrs["data_quality"]), soft_wrap=True)


def main() -> None:  # pragma: no cover - console entry
    try:
        app()
    except XBehaviorError as err:
        console.print(f"error: {err}")
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
