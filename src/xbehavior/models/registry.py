"""``build_model(name, cfg, ...)``: one place that maps a model name to its class and config."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from xbehavior.errors import ConfigError
from xbehavior.models.common import SequenceClassifier
from xbehavior.models.lstm import LSTMClassifier, LSTMConfig
from xbehavior.models.rnn import RNNClassifier, RNNConfig
from xbehavior.models.xlstm import XLSTMClassifier, XLSTMConfig
from xbehavior.models.xlstm_paper import XLSTMPaperClassifier, XLSTMPaperConfig

CONFIGS: dict[str, type] = {
    "rnn": RNNConfig,
    "lstm": LSTMConfig,
    "xlstm_paper": XLSTMPaperConfig,
    "xlstm": XLSTMConfig,
}
SEQUENCE_MODELS = tuple(CONFIGS)


def make_config(name: str, cfg: Any = None) -> Any:
    """The config dataclass for ``name`` from None (defaults), a dict of overrides, or itself."""
    if name not in CONFIGS:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(CONFIGS)}")
    cls = CONFIGS[name]
    if cfg is None:
        return cls()
    if isinstance(cfg, cls):
        return cfg
    if isinstance(cfg, dict):
        known = {f.name for f in fields(cls)}
        bad = sorted(set(cfg) - known)
        if bad:
            raise ConfigError(f"{name}: unknown setting(s) {bad}; known: {sorted(known)}")
        return cls(**cfg)
    raise ConfigError(f"{name}: config must be None, a dict or {cls.__name__}")


def config_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-ready dict of a model config dataclass."""
    return asdict(cfg)


def build_model(name: str, cfg: Any, n_features: int, n_context: int,
                groups: dict[str, list[int]] | None = None) -> SequenceClassifier:
    """A fresh model. ``groups`` (feature group -> indices into F) is used by xlstm_paper."""
    c = make_config(name, cfg)
    if name == "rnn":
        return RNNClassifier(c, n_features, n_context)
    if name == "lstm":
        return LSTMClassifier(c, n_features, n_context)
    if name == "xlstm_paper":
        return XLSTMPaperClassifier(c, n_features, n_context, groups)
    return XLSTMClassifier(c, n_features, n_context)
