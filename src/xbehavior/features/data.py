"""The data contract between the features stage and the models/segments stages."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: feature groups of the paper's multi-dimensional cell state
GROUPS = ("behaviour", "product", "time")


@dataclass(frozen=True)
class FeatureVocabulary:
    """How raw steps were encoded: learned on training data, reused to score new data."""

    step_mean: np.ndarray  # (F,)
    step_std: np.ndarray  # (F,)
    countries: list[str]  # context one-hot vocabulary (plus an implicit Other)

    def to_dict(self) -> dict[str, list]:
        return {"step_mean": self.step_mean.tolist(), "step_std": self.step_std.tolist(),
                "countries": list(self.countries)}

    @classmethod
    def from_dict(cls, raw: dict[str, list]) -> FeatureVocabulary:
        return cls(np.asarray(raw["step_mean"], np.float32),
                   np.asarray(raw["step_std"], np.float32), [str(c) for c in raw["countries"]])


@dataclass(frozen=True)
class SequenceData:
    """Per-example event sequences, right-padded, with static context and labels.

    Shapes: N examples, T steps (most recent ``T`` kept, oldest first), F step features,
    S context features.

    x:        (N, T, F) float32, standardised; padded steps are 0
    mask:     (N, T) bool, True on real steps; every row has >= 1 real step, real steps first
    context:  (N, S) float32 static context (country one-hot, tenure, ...)
    y:        (N,) float32 in {0, 1}
    groups:   group name -> indices into F (behaviour / product / time), a partition of F
    keys:     (N,) frame with ``user_id`` and ``cutoff`` naming each example
    """

    x: np.ndarray
    mask: np.ndarray
    context: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    context_names: list[str]
    groups: dict[str, list[int]]
    keys: pd.DataFrame = field(repr=False)
    vocabulary: FeatureVocabulary | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def subset(self, rows: np.ndarray) -> SequenceData:
        """Examples at integer positions (in that order) or where boolean ``rows`` is True."""
        rows = np.asarray(rows)
        idx = np.flatnonzero(rows) if rows.dtype == bool else rows
        return SequenceData(
            x=self.x[idx], mask=self.mask[idx], context=self.context[idx], y=self.y[idx],
            feature_names=self.feature_names, context_names=self.context_names,
            groups=self.groups, keys=self.keys.iloc[idx].reset_index(drop=True),
            vocabulary=self.vocabulary,
        )
