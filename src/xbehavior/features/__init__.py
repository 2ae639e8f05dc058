"""Stage 2, features: sessions, per-user orders, labelled examples and step sequences."""

from xbehavior.features.cutoffs import CutoffPlan, plan_cutoffs
from xbehavior.features.data import GROUPS, SequenceData
from xbehavior.features.orders import build_orders
from xbehavior.features.repurchase import (
    STEP_GROUPS,
    TABULAR_FEATURES,
    build_examples,
    build_sequences,
)

__all__ = [
    "GROUPS",
    "STEP_GROUPS",
    "TABULAR_FEATURES",
    "CutoffPlan",
    "SequenceData",
    "build_examples",
    "build_orders",
    "build_sequences",
    "plan_cutoffs",
]
