"""The main job's data steps: ingest -> orders -> cut-offs -> examples and sequences."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xbehavior.config import RunConfig
from xbehavior.engine import Engine
from xbehavior.errors import DataError
from xbehavior.features import (
    TABULAR_FEATURES,
    CutoffPlan,
    SequenceData,
    build_examples,
    build_orders,
    build_sequences,
    plan_cutoffs,
)
from xbehavior.ingest import OWN_LOG, DataQuality, ingest_source

#: datasets the repurchase job runs on, with their default label horizon (days); "file" is
#: your own order-line log (--input, --mapping)
REPURCHASE_DATASETS = {"online_retail": 90, "dunnhumby": 28, "file": 90}


@dataclass
class PreparedData:
    """Everything the model and analysis steps read."""

    quality: DataQuality
    mapping: dict | None  # the column mapping of a "file" log (saved with the models)
    plan: CutoffPlan
    examples: pd.DataFrame  # one row per (user_id, cutoff): split, label, features, country
    sequences: SequenceData  # rows aligned with ``examples``
    tabular: pd.DataFrame  # TABULAR_FEATURES + country one-hot, rows aligned with ``examples``

    def split(self, name: str) -> np.ndarray:
        return (self.examples["split"] == name).to_numpy()

    def labels(self, name: str) -> np.ndarray:
        """The 0/1 outcomes of split ``name``'s examples, in example order."""
        return self.examples.loc[self.split(name), "label"].to_numpy()


def horizon_for(cfg: RunConfig) -> int:
    return cfg.horizon_days or REPURCHASE_DATASETS[cfg.dataset]


def prepare(engine: Engine, cfg: RunConfig) -> PreparedData:
    """Ingest the dataset and build labelled examples with no look-ahead."""
    if cfg.dataset not in REPURCHASE_DATASETS:
        known = ", ".join(REPURCHASE_DATASETS)
        raise DataError(
            f"dataset {cfg.dataset!r} has no repeat purchases per customer, which "
            f"'xbehavior run' predicts; choose --dataset {known} (other datasets: "
            "'xbehavior ingest' and the analyses)"
        )
    quality, mapping = ingest_for(engine, cfg.dataset, cfg.input, cfg.mapping)
    orders_or_explain(engine, quality, cfg.dataset)
    span = engine.sql("SELECT min(ts) AS first, max(ts) AS last FROM orders").iloc[0]
    plan = plan_cutoffs(
        pd.Timestamp(span["first"]), pd.Timestamp(span["last"]), horizon_for(cfg),
        cfg.n_train_cutoffs, cfg.cutoff_step_days,
    )
    examples = build_examples(engine, plan.frame(), plan.horizon_days)
    for split in ("train", "val", "test"):
        rows = examples.loc[examples["split"] == split]
        if rows["label"].nunique() < 2:  # an example is one customer at one cut-off
            raise DataError(
                f"{quality.source}: the {split} split has {len(rows)} examples "
                f"({rows['user_id'].nunique()} customers) and only one outcome; the log is "
                "too small or too short for this horizon (lower --horizon-days)"
                + _stray_last_order_hint(engine)
            )
    sequences = build_sequences(engine, examples, cfg.max_len, cfg.top_countries)
    tabular = pd.concat(
        [
            examples[TABULAR_FEATURES].reset_index(drop=True),
            pd.DataFrame(sequences.context, columns=sequences.context_names),
        ],
        axis=1,
    )
    return PreparedData(quality, mapping, plan, examples.reset_index(drop=True), sequences,
                        tabular)


def _stray_last_order_hint(engine: Engine) -> str:
    """For the one-outcome message: the cut-offs are counted back from the last order, so a
    stray late date (a mistyped year) empties the test window; name the last orders' days."""
    days = engine.sql("SELECT ts::DATE AS d, count(*) AS n FROM orders GROUP BY d "
                      "ORDER BY d DESC LIMIT 2")
    if len(days) < 2:
        return ""
    (last, n_last), (before, _) = days.itertuples(index=False)
    gap = (pd.Timestamp(last) - pd.Timestamp(before)).days
    if gap < 30:
        return ""
    return (f"; or check the last order date: the cut-offs count back from {last:%Y-%m-%d} "
            f"({n_last} order{'s' if n_last > 1 else ''}), {gap} days after the one before "
            "it, so a mistyped date would place them after the real orders")


def ingest_for(engine: Engine, dataset: str, input: Path | None,
               mapping: Path | dict | None) -> tuple[DataQuality, dict | None]:
    """``ingest_source``, its errors worded for ``xbehavior run`` (an order-line log)."""
    return ingest_source(engine, dataset, input, mapping, asked_as="--dataset file",
                         log="your order-line log")


def orders_or_explain(engine: Engine, quality: DataQuality, dataset: str) -> int:
    """``build_orders``; if no order survives, a one-line DataError naming the input, the
    ingest counts (rows read = kept + dropped by reason) and the fix."""
    try:
        return build_orders(engine)
    except DataError:
        raise DataError(
            f"{quality.source}: no purchase row has both a customer id and an order id, so there "
            f"are no customers ({quality_line(quality.to_dict())}); {_orders_fix(dataset)}"
            ) from None


def _orders_fix(dataset: str) -> str:
    if dataset == OWN_LOG:
        return ("map the customer and order (invoice) id columns: 'columns: {user_id: ..., "
                "order_id: ...}' in the --mapping file, and keep purchase rows")
    return (f"give a file in the {dataset} layout whose customer and order id columns are "
            "filled (docs/SCHEMA.md)")


def quality_line(quality: dict) -> str:
    """One line from a ``DataQuality.to_dict()``: rows read, kept, dropped (by reason), flags."""
    reasons = ", ".join(f"{r} {n:,}" for r, n in sorted(quality["dropped_by_reason"].items()))
    flags = ", ".join(f"{f} {n:,}" for f, n in sorted(quality["kept_but_flagged"].items()) if n)
    return (f"data quality: {quality['rows_read']:,} rows read, {quality['rows_kept']:,} kept, "
            f"{quality['rows_dropped']:,} dropped{f' ({reasons})' if reasons else ''}"
            f"{f'; flagged {flags}' if flags else ''}")
