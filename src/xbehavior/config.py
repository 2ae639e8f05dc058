"""One configuration object per run, validated, passed down explicitly."""

from __future__ import annotations

import difflib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from xbehavior.errors import ConfigError

SEQUENCE_MODELS = ("rnn", "lstm", "xlstm_paper", "xlstm")
TABULAR_MODELS = ("base_rate", "logreg", "lightgbm")


class RunConfig(BaseModel):
    """Settings of ``xbehavior run`` (the main job). Unknown keys are refused with a hint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = "online_retail"
    input: Path | None = Field(None, description="a file in the dataset's layout, else bundled")
    mapping: Path | dict | None = Field(
        None, description="dataset 'file' only: column mapping, a YAML path or the mapping")
    out: Path | None = Field(None, description="output folder; default runs/<timestamp>")
    seed: int = Field(0, ge=0, lt=2**32, description="numpy / sklearn seeds: 32-bit")
    # learning task: purchase again within horizon_days of a cut-off
    horizon_days: int | None = Field(None, ge=7, le=365, description="None: dataset default")
    n_train_cutoffs: int = Field(4, ge=1, le=24)
    cutoff_step_days: int = Field(30, ge=1, le=365)
    max_len: int = Field(32, ge=2, le=512)
    top_countries: int = Field(10, ge=1, le=100)
    # models (one protocol for all)
    sequence_models: tuple[str, ...] = ("rnn", "lstm", "xlstm_paper", "xlstm")
    tabular_models: tuple[str, ...] = TABULAR_MODELS
    hidden_size: int = Field(32, ge=4, le=512)
    max_epochs: int = Field(100, ge=1, le=1000)
    patience: int = Field(8, ge=1, le=100)
    batch_size: int = Field(64, ge=8, le=4096)
    learning_rate: float = Field(1e-3, gt=0, lt=1)
    # segmentation
    n_clusters: int | None = Field(None, ge=2, le=50)
    # reproducibility
    threads: int | None = Field(None, ge=1, le=256)

    @field_validator("sequence_models")
    @classmethod
    def _known_sequence_models(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_names(value, SEQUENCE_MODELS, "sequence model")

    @field_validator("tabular_models")
    @classmethod
    def _known_tabular_models(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_names(value, TABULAR_MODELS, "tabular model")


def _check_names(value: tuple[str, ...], known: tuple[str, ...], what: str) -> tuple[str, ...]:
    for name in value:
        if name not in known:
            raise ValueError(f"unknown {what} {name!r}{_hint(name, known)}; choose from {known}")
    return value


def _hint(name: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def make_config(**settings: object) -> RunConfig:
    """Build a RunConfig, turning validation failures into one-line ConfigErrors."""
    try:
        return RunConfig(**settings)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        if first["type"] == "extra_forbidden":
            hint = _hint(field, list(RunConfig.model_fields))
            raise ConfigError(f"unknown setting {field!r}{hint}") from None
        raise ConfigError(validation_line(err, "setting")) from None


#: numpy / sklearn seeds are unsigned 32-bit integers
SEED_LIMIT = 2**32


def check_seed(seed: int) -> int:
    """``seed`` if 0 <= seed < 2**32, else a one-line ConfigError."""
    if not 0 <= seed < SEED_LIMIT:
        raise ConfigError(f"--seed {seed} is out of range; use a whole number from 0 to "
                          f"{SEED_LIMIT - 1}")
    return seed


def validation_line(err: ValidationError, where: str) -> str:
    """One line from a pydantic ValidationError: ``where``, the first bad field, its value and
    what is allowed (pydantic's own message), plus how many other fields failed."""
    first = err.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "settings"
    value = repr(first.get("input"))
    value = value if len(value) <= 60 else value[:57] + "..."
    more = f" (and {len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    # a missing field's or a whole-object check's "input" is the parent object: not shown
    shown = "" if first["type"] == "missing" or not first["loc"] else f" = {value}"
    return f"{where} {field!r}{shown}: {first['msg'].lower()}{more}"
