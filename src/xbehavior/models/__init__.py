"""Models stage: sequence models (rnn, lstm, the paper's xlstm_paper, published xlstm), tabular
baselines, one training protocol, metrics and safe save/load. Reads features; never later stages.
"""

from xbehavior.models.metrics import aggregate_seeds, best_f1_threshold, binary_metrics
from xbehavior.models.registry import SEQUENCE_MODELS, build_model, make_config

__all__ = [
    "SEQUENCE_MODELS",
    "aggregate_seeds",
    "best_f1_threshold",
    "binary_metrics",
    "build_model",
    "make_config",
]
