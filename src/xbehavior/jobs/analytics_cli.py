"""``xbehavior analyze DATASET``: every analysis the dataset supports, in one HTML report.

``analyze_app`` holds the one command; standalone it runs directly
(``python -m xbehavior.jobs.analytics_cli olist``). Mount it on the main app as
``app.command("analyze")(analyze)``: ``app.add_typer(analyze_app, name="analyze")`` would make
a group and need ``xbehavior analyze analyze`` (Typer 0.29), and a group callback cannot take
the positional DATASET before a subcommand.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from xbehavior.atomic import output_folder
from xbehavior.config import check_seed
from xbehavior.errors import XBehaviorError
from xbehavior.ingest.cli import (
    DefaultEventFlag,
    DelimiterFlag,
    EncodingFlag,
    EventFlags,
    MapFlags,
    MaxPriceFlag,
    TimezoneFlag,
    TsFormatFlag,
    mapping_from_options,
)
from xbehavior.jobs.analytics import DATASETS, OWN_LOG, run_analytics

analyze_app = typer.Typer(name="analyze", add_completion=False,
                          pretty_exceptions_enable=False)


@analyze_app.command("analyze")
def analyze(
    dataset: Annotated[str, typer.Argument(help=f"one of: {', '.join(DATASETS)} ({OWN_LOG}: "
                                           "your own log, --input PATH [--mapping YAML])")],
    out: Annotated[Path | None, typer.Option(
        help="output folder (default: runs/analyze-<dataset>-<time>)")] = None,
    input: Annotated[Path | None, typer.Option(
        "--input", help="a file in the dataset's layout instead of the bundled copy; for "
        f"{OWN_LOG}, your log (CSV/Parquet)")] = None,
    mapping: Annotated[Path | None, typer.Option(
        help=f"{OWN_LOG} only: YAML column mapping, as for xbehavior ingest file (not needed "
        "when the columns are canonical, e.g. ingest file --out)",
        rich_help_panel="Your own log: column mapping")] = None,
    map_: MapFlags = None,
    event: EventFlags = None,
    ts_format: TsFormatFlag = None,
    timezone: TimezoneFlag = None,
    default_event: DefaultEventFlag = None,
    delimiter: DelimiterFlag = None,
    encoding: EncodingFlag = None,
    max_price: MaxPriceFlag = None,
    seed: Annotated[int, typer.Option(
        help="seed of the models fitted here (cart-abandoner propensity); recorded")] = 0,
) -> None:
    """Run every analysis DATASET has the columns for; list the others with the reason.

    Your own log: xbehavior analyze file --input shop.csv --mapping shop.yaml, or the
    mapping as flags (--map ts=When --map user_id=Shopper ..., as for xbehavior ingest file)

    Writes OUT/report.html (findings first, skipped analyses last), OUT/analytics.json and
    one CSV per export a marketing tool can load (rees46: OUT/cart_abandoners.csv).
    """
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = out or Path("runs") / f"analyze-{dataset}-{stamp}"
    try:
        check_seed(seed)
        spec = mapping_from_options(
            mapping, map_, event, ts_format=ts_format, timezone=timezone,
            default_event=default_event, delimiter=delimiter, encoding=encoding,
            max_price=max_price)
        with output_folder(folder, inputs=(input, mapping)) as staging:
            run_analytics(dataset, staging, input, seed, spec)
    except XBehaviorError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None
    exports = json.loads((folder / "analytics.json").read_text()).get("exports", [])
    files = ", ".join(str(folder / name) for name in ("report.html", "analytics.json",
                                                       *exports))
    typer.echo(f"wrote {files}")


if __name__ == "__main__":
    analyze_app()
