"""Rolling cut-off dates for "will this customer purchase again within H days".

Every example is (customer, cut-off): the model sees activity strictly before the cut-off and
the label is a purchase in [cut-off, cut-off + H). To keep the future out of training:

    test cut-off        t = last event - H            (test labels: the last H days)
    validation cut-off  v = t - H                     (its labels end where test begins)
    train cut-offs      v - H - k * step, k = 0..K-1  (their labels end before v)

so no label window of one split overlaps the next split's, and test lies strictly after
training and validation.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from xbehavior.errors import DataError


@dataclass(frozen=True)
class CutoffPlan:
    """Cut-off dates per split and the label horizon in days."""

    train: tuple[pd.Timestamp, ...]
    val: pd.Timestamp
    test: pd.Timestamp
    horizon_days: int

    def frame(self) -> pd.DataFrame:
        """One row per cut-off: ``cutoff`` (timestamp), ``split`` (train / val / test)."""
        rows = [(c, "train") for c in self.train] + [(self.val, "val"), (self.test, "test")]
        return pd.DataFrame(rows, columns=["cutoff", "split"])


def plan_cutoffs(
    first_ts: pd.Timestamp,
    last_ts: pd.Timestamp,
    horizon_days: int = 90,
    n_train_cutoffs: int = 4,
    step_days: int = 30,
    min_history_days: int = 7,
) -> CutoffPlan:
    """Place cut-offs at day boundaries so that each split's labels precede the next split."""
    horizon = pd.Timedelta(days=horizon_days)
    test = (last_ts - horizon).floor("D")
    val = test - horizon
    train = [val - horizon - pd.Timedelta(days=step_days * k) for k in range(n_train_cutoffs)]
    train = [c for c in train if c - first_ts >= pd.Timedelta(days=min_history_days)]
    if not train:
        span = (last_ts - first_ts).days
        raise DataError(
            f"the log spans {span} days, too short for a {horizon_days}-day horizon with "
            f"train, validation and test periods (needs > {3 * horizon_days + min_history_days});"
            " lower --horizon-days"
        )
    return CutoffPlan(tuple(sorted(train)), val, test, horizon_days)
