"""Settings of the segments stage: one pydantic object, passed down explicitly."""

from __future__ import annotations

import difflib
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xbehavior.config import SEED_LIMIT, validation_line
from xbehavior.errors import ConfigError

#: every clusterer on behaviour features that ``segment_users`` knows by name
BEHAVIOUR_ALGORITHMS = ("kmeans", "dbscan", "agglomerative", "hdbscan", "gmm")

#: boundaries (orders / month) between window | occasional | frequent shoppers: the geometric
#: means of the paper's typical values 0.5, 2 and 5 per month (frequencies are skewed, so the
#: midpoint is taken on a log scale): sqrt(0.5 * 2) = 1.0 and sqrt(2 * 5) = 3.162.
PAPER_RULE_THRESHOLDS = (1.0, math.sqrt(10.0))


class SegmentConfig(BaseModel):
    """Everything the segments stage decides; defaults are the stated rules of docs/SEGMENTS.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithms: tuple[str, ...] = BEHAVIOUR_ALGORITHMS
    n_clusters: int | None = Field(None, ge=2, description="None: choose_k (prediction strength)")
    k_min: int = Field(2, ge=2)
    k_max: int = Field(8, ge=2)
    selection_sample: int = Field(1500, ge=10, description="rows used to choose k (seeded)")
    minibatch_above: int = Field(50_000, ge=1, description="MiniBatchKMeans when n exceeds")
    dbscan_eps: float | None = Field(None, gt=0)
    dbscan_min_samples: int | None = Field(None, ge=2)
    density_max_n: int = Field(50_000, ge=10, description="DBSCAN/HDBSCAN fit on a sample above")
    agglomerative_max_n: int = Field(5000, ge=10)
    agglomerative_on_large: Literal["subsample", "refuse"] = "subsample"
    hdbscan_min_cluster_size: int | None = Field(None, ge=2)
    silhouette_sample: int = Field(10_000, ge=10, description="stratified sample for silhouette")
    stability_sample: int = Field(2000, ge=0, description="0 switches stability ARI off")
    stability_seeds: int = Field(4, ge=2)
    stability_bootstraps: int = Field(4, ge=2)
    rule_thresholds: tuple[float, float] = PAPER_RULE_THRESHOLDS
    seed: int = Field(0, ge=0, lt=SEED_LIMIT)
    #: BLAS/OpenMP threads while segmenting. 1 by default: the many small fits (choice of k,
    #: stability refits) are dominated by thread start-up and spin under shared cores (measured
    #: 28 s with default threads vs 1.8 s with 1 on 1,500 users, 2 busy cores).
    n_threads: int | None = Field(1, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _did_you_mean(cls, data: Any) -> Any:
        """Reject unknown keys with a one-line hint naming the closest known key."""
        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields:
                    close = difflib.get_close_matches(str(key), list(cls.model_fields), n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise ConfigError(f"unknown segments setting {key!r}{hint}")
        return data

    @model_validator(mode="after")
    def _check(self) -> SegmentConfig:
        if self.k_max < self.k_min:
            raise ConfigError(f"k_max={self.k_max} is below k_min={self.k_min}")
        low, high = self.rule_thresholds
        if not 0 < low < high:
            raise ConfigError(f"rule_thresholds must be 0 < low < high, got {self.rule_thresholds}")
        unknown = [a for a in self.algorithms if a not in BEHAVIOUR_ALGORITHMS]
        if unknown:
            raise ConfigError(
                f"unknown algorithm(s) {unknown}: choose from {', '.join(BEHAVIOUR_ALGORITHMS)}"
            )
        return self


def segment_config(**settings: Any) -> SegmentConfig:
    """A SegmentConfig; a failed validation becomes a one-line ConfigError (field, value, rule)."""
    try:
        return SegmentConfig(**settings)
    except ValidationError as err:
        raise ConfigError(validation_line(err, "segments setting")) from None
