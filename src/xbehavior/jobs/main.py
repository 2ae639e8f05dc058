"""``xbehavior run``: the whole pipeline on one dataset, from raw log to report.

Writes into the output folder (each file atomically):
  report.html      self-contained report
  metrics.json     test metrics per model, clustering metrics, data quality, split sizes
  scores.parquet   per test customer: scores of every model, segment labels, outcome
  audience.csv     marketing export: user, country, segment, score, decile, action
  models/<name>/   every model: sequence (safetensors + config.json), lightgbm
                   (model.txt + config.json), logreg / base_rate (config.json)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from xbehavior import __version__
from xbehavior.atomic import output_folder, write_json, write_with
from xbehavior.config import RunConfig
from xbehavior.engine import DuckDBEngine
from xbehavior.jobs.analysis import Analysis, analyse, decile
from xbehavior.jobs.data_prep import PreparedData, horizon_for, prepare
from xbehavior.jobs.modelling import (
    ModelResult,
    TrainingHooks,
    best_on_validation,
    metrics_table,
    test_summary,
    train_sequence_models,
    train_tabular_models,
    validation_roc_auc,
)
from xbehavior.jobs.report_sections import build_report
from xbehavior.models.train import EpochLog
from xbehavior.segments.segment import SegmentationResult


def default_out_dir() -> Path:
    return Path("runs") / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def run_main(cfg: RunConfig, console: Console | None = None) -> Path:
    """Run the main job; return the output folder."""
    console = console or Console(stderr=True)
    out = Path(cfg.out) if cfg.out else default_out_dir()
    # written into a staging folder that becomes ``out`` whole when the run succeeds
    with output_folder(out, inputs=(cfg.input, cfg.mapping)) as staging:
        _run_into(staging, cfg, console, shown=out)
    return out


def _run_into(out: Path, cfg: RunConfig, console: Console, shown: Path) -> None:
    """The main job's steps, writing into the existing folder ``out``, which becomes
    ``shown`` (named in the messages) when the job has succeeded."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    started = time.perf_counter()
    engine = DuckDBEngine(threads=cfg.threads)
    columns = (TextColumn("{task.description:<24}"), BarColumn(bar_width=24),
               TextColumn("{task.fields[info]}"), TimeElapsedColumn())
    # off a terminal the plain step lines are the log: the bars' final table would repeat it
    with Progress(*columns, console=console, transient=False,
                  disable=not console.is_terminal) as progress:
        done = _step_logger(progress, console)
        step = progress.add_task("ingest + features", total=1, info="")
        data = prepare(engine, cfg)
        done(step, _data_info(data))
        step = progress.add_task("tabular baselines", total=1, info="")
        results = train_tabular_models(data, cfg, out / "models")
        done(step, _best_info(results, data))
        results += train_sequence_models(data, cfg, out / "models", _epoch_bars(progress, done))
        steps = [progress.add_task("segments", total=1, info="")]

        def segmented(segmentation: SegmentationResult) -> None:
            done(steps[-1], f"{len(segmentation.metrics)} clusterings, 6 months each")
            steps.append(progress.add_task("insights + importance", total=1, info=""))

        analysis = analyse(engine, data, results, cfg, on_segmented=segmented)
        done(steps[-1], f"{len(analysis.findings)} findings")
        step = progress.add_task("report", total=1, info="")
        _write_outputs(out, cfg, data, results, analysis, time.perf_counter() - started)
        done(step, str(shown / "report.html"))


def _data_info(data: PreparedData) -> str:
    sizes = data.examples["split"].value_counts()
    return " / ".join(f"{split} {sizes.get(split, 0)}" for split in ("train", "val", "test"))


def _best_info(results: list[ModelResult], data: PreparedData) -> str:
    best = best_on_validation(results, data.labels("val"))
    return f"best on validation {best.name}: {test_summary(best)}"


def _step_logger(progress: Progress, console: Console) -> Callable[[object, str], None]:
    """Mark a step done; off a terminal (CI, logs) also print a plain line as it happens."""

    def done(task: object, info: str) -> None:
        progress.update(task, completed=progress.tasks[task].total, info=info)
        if not console.is_terminal:
            console.print(f"{progress.tasks[task].description}: {info}", highlight=False,
                          soft_wrap=True)  # one log line per step, however long

    return done


def _epoch_bars(progress: Progress, done: Callable[[object, str], None]) -> TrainingHooks:
    """A progress bar per sequence model, advanced every epoch, closed when training ends."""

    def start(name: str, max_epochs: int) -> tuple[Callable[[EpochLog], None],
                                                   Callable[[str], None]]:
        task = progress.add_task(f"train {name}", total=max_epochs, info="")

        def on_epoch(log: EpochLog) -> None:
            progress.update(task, completed=log.epoch,
                            info=f"epoch {log.epoch} val loss {log.val_loss:.4f}")

        return on_epoch, lambda summary: done(task, summary)

    return start


def _write_outputs(
    out: Path, cfg: RunConfig, data: PreparedData, results: list[ModelResult],
    analysis: Analysis, seconds: float,
) -> None:
    metrics = _metrics_json(cfg, data, results, analysis, seconds)
    write_json(out / "metrics.json", metrics)
    scores = analysis.users.copy()
    for algo in analysis.segmentation.labels.columns:
        scores[f"cluster_{algo}"] = (
            analysis.segmentation.labels[algo].reindex(scores["user_id"]).to_numpy()
        )
    write_with(out / "scores.parquet", lambda p: scores.to_parquet(p, index=False))
    write_with(out / "audience.csv", lambda p: audience(analysis).to_csv(p, index=False))
    build_report(out / "report.html", cfg, data, results, analysis, metrics)


def audience(analysis: Analysis) -> pd.DataFrame:
    """A file a marketing tool can import: one row per test customer, with a suggested action,
    the date the probability is as of (the test cut-off, whose outcomes the report checks)
    and the model behind it."""
    users = analysis.users
    frame = pd.DataFrame({
        "user_id": users["user_id"].astype(str),
        "country": users["country"].fillna("Unknown"),
        "segment": users["segment"],
        "purchase_probability": users["score"].round(4),
        "score_decile": decile(users["score"]),
        "as_of": pd.to_datetime(users["cutoff"]).dt.strftime("%Y-%m-%d"),
        "model": analysis.best_model,
    })
    frame["suggested_action"] = frame["score_decile"].map(_action)
    return frame.sort_values("purchase_probability", ascending=False, kind="mergesort")


def _action(score_decile: int) -> str:
    if score_decile <= 3:
        return "likely buyer: cross-sell, no discount needed"
    if score_decile <= 7:
        return "persuadable: reminder or time-limited offer"
    return "lapsing: win-back campaign or suppress"


def _metrics_json(
    cfg: RunConfig, data: PreparedData, results: list[ModelResult], analysis: Analysis,
    seconds: float,
) -> dict[str, object]:
    split_sizes = data.examples.groupby("split")["label"].agg(["size", "mean"])
    y_val = data.labels("val")
    return {
        "xbehavior_version": __version__,
        "dataset": cfg.dataset,
        "task": f"purchase again within {horizon_for(cfg)} days of a cut-off",
        "config": json.loads(cfg.model_dump_json()),
        "data_quality": data.quality.to_dict(),
        "cutoffs": {
            "train": [str(c.date()) for c in data.plan.train],
            "val": str(data.plan.val.date()),
            "test": str(data.plan.test.date()),
            "horizon_days": data.plan.horizon_days,
        },
        "splits": {
            split: {"n": int(row["size"]), "base_rate": float(row["mean"])}
            for split, row in split_sizes.iterrows()
        },
        "test_metrics": {r.name: r.metrics | {
            "train_seconds": r.train_seconds, "epochs": r.epochs,
            # what best_model was chosen on (validation, never test)
            "val_roc_auc": validation_roc_auc(r, y_val),
            # Platt (a, b) fitted on validation; identity (1, 0): not calibrated
            "calibration": r.fitted.calibration.to_dict()} for r in results},
        "best_model": analysis.best_model,
        "clustering": analysis.segmentation.metrics.to_dict(orient="records"),
        "clustering_monthly": analysis.monthly.to_dict(orient="records"),
        "segment_profiles": analysis.segmentation.profiles.to_dict(orient="records"),
        "paper_segment_table": analysis.segmentation.paper_table.to_dict(orient="records"),
        "findings": [f.text for f in analysis.findings],
        # each finding's numbers and the table rows they come from
        "findings_detail": [asdict(f) for f in analysis.findings],
        # the report's targeting tables, on the test customers
        "repurchase_rates": {key: table.to_dict(orient="records")
                             for key, table in analysis.rates.items()},
        "order_returns_by_country": analysis.order_returns.to_dict(orient="records"),
        "gains": analysis.gains.to_dict(orient="records"),
        "targeting": analysis.targeting.to_dict(orient="records"),
        "ab_plan": analysis.ab_plan.to_dict(orient="records"),
        "importance": {
            "table": analysis.importance.table.to_dict(orient="records"),
            "lstm_vs_xlstm_paper": analysis.importance.comparison.to_dict(orient="records"),
            "seconds": analysis.importance.seconds,
            "ig_examples": analysis.importance.ig_examples,
        },
        "seconds": seconds,
    }


__all__ = ["metrics_table", "run_main"]
