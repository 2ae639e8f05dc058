"""Stage 2, features: sessions, per-user orders and behaviour, labelled examples, sequences."""

from xbehavior.features.cutoffs import CutoffPlan, plan_cutoffs
from xbehavior.features.data import GROUPS, SequenceData
from xbehavior.features.orders import build_orders
from xbehavior.features.repurchase import (
    STEP_GROUPS,
    TABULAR_FEATURES,
    build_examples,
    build_sequences,
)
from xbehavior.features.user_features import USER_FEATURES, user_features

__all__ = [
    "GROUPS",
    "STEP_GROUPS",
    "TABULAR_FEATURES",
    "USER_FEATURES",
    "CutoffPlan",
    "SequenceData",
    "build_examples",
    "build_orders",
    "build_sequences",
    "plan_cutoffs",
    "user_features",
]
