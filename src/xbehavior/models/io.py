"""Save / load trained models; opening a model folder never executes code from it.

- sequence models: ``model.safetensors`` (tensors) + ``config.json`` (settings);
- ``lightgbm``: ``model.txt`` (LightGBM's own text format, read by ``lgb.Booster``) +
  ``config.json``;
- ``logreg``: ``config.json`` holding the scaler statistics and the coefficients;
- ``base_rate``: ``config.json`` holding the training class shares.

No pickle, no ``torch.load``: tensors via safetensors, settings via json, trees via LightGBM's
text parser. ``load_model`` reads ``config.json``'s ``kind`` and dispatches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from xbehavior.atomic import write_text, write_with
from xbehavior.config import validation_line
from xbehavior.errors import DataError, XBehaviorError
from xbehavior.models.calibration import PlattScaling
from xbehavior.models.registry import build_model, config_dict, make_config
from xbehavior.models.tabular import BaseRateClassifier, NamedPipeline, TrainedTabularModel
from xbehavior.models.train import TrainedSequenceModel

FORMAT_VERSION = 1
#: appended to every "this saved model is damaged" error
RECREATE = "re-run 'xbehavior run' to recreate it"


class _Calibration(BaseModel):
    """Platt scaling's two numbers (``models.calibration``); a > 0 keeps the ranking."""

    model_config = ConfigDict(extra="forbid")

    a: float = Field(gt=0, allow_inf_nan=False)
    b: float = Field(allow_inf_nan=False)


class _SequenceMeta(BaseModel):
    """config.json of a sequence model; lengths must agree with n_features / n_context."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    kind: Literal["sequence"] = "sequence"
    name: str
    settings: dict[str, Any] = Field(alias="model_config")
    n_features: int = Field(ge=1)
    n_context: int = Field(ge=0)
    feature_names: list[str]
    context_names: list[str]
    groups: dict[str, list[int]]
    threshold: float | None = Field(ge=0, le=1)
    calibration: _Calibration | None = None  # absent in models saved before calibration
    context_mean: list[float]
    context_std: list[float]
    train_seconds: float = 0.0

    @model_validator(mode="after")
    def _lengths(self) -> _SequenceMeta:
        _check_len("feature_names", self.feature_names, self.n_features, "n_features")
        for key in ("context_names", "context_mean", "context_std"):
            _check_len(key, getattr(self, key), self.n_context, "n_context")
        if any(s <= 0 for s in self.context_std):
            raise ValueError("context_std must be > 0")
        bad = [i for v in self.groups.values() for i in v if not 0 <= i < self.n_features]
        if bad:
            raise ValueError(f"groups index {bad[0]} is outside 0..{self.n_features - 1}")
        return self


class _TabularMeta(BaseModel):
    """config.json of a baseline; the per-model arrays must match feature_names."""

    model_config = ConfigDict(extra="ignore")

    kind: Literal["tabular"]
    name: Literal["lightgbm", "logreg", "base_rate"]
    feature_names: list[str] = Field(min_length=1)
    threshold: float = Field(ge=0, le=1)
    calibration: _Calibration | None = None  # absent in models saved before calibration
    scaler_mean: list[float] | None = None
    scaler_scale: list[float] | None = None
    coef: list[list[float]] | None = None
    intercept: list[float] | None = None
    classes: list[int] | None = None
    class_prior: list[float] | None = None

    @model_validator(mode="after")
    def _shapes(self) -> _TabularMeta:
        n = len(self.feature_names)
        if self.name == "logreg":
            _check_len("scaler_mean", self.scaler_mean, n, "feature_names")
            _check_len("scaler_scale", self.scaler_scale, n, "feature_names")
            _check_len("coef", self.coef, 1, "one row")
            _check_len("coef[0]", self.coef[0], n, "feature_names")
            _check_len("intercept", self.intercept, 1, "one value")
            _check_len("classes", self.classes, 2, "two classes")
            if any(s <= 0 for s in self.scaler_scale):
                raise ValueError("scaler_scale must be > 0")
        elif self.name == "base_rate":
            _check_len("classes", self.classes, 2, "two classes")
            _check_len("class_prior", self.class_prior, 2, "two classes")
        return self


def _check_len(key: str, value: list | None, n: int, against: str) -> None:
    """ValueError unless ``value`` is a list of length ``n`` (``against`` names where n is from)."""
    if value is None:
        raise ValueError(f"{key} is missing")
    if len(value) != n:
        raise ValueError(f"{key} has {len(value)} entries, {against} says {n}")


def _parse_meta(cfg_path: Path, meta: dict, schema: type[BaseModel]) -> Any:
    """``meta`` validated by ``schema``; a one-line DataError naming ``cfg_path`` if it fails."""
    try:
        return schema.model_validate(meta)
    except ValidationError as err:
        raise DataError(f"{validation_line(err, f'{cfg_path}:')}; {RECREATE}") from None


def save_sequence_model(tm: TrainedSequenceModel, directory: str | Path) -> Path:
    """Write ``directory/model.safetensors`` and ``directory/config.json``; returns directory."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in tm.model.state_dict().items()}
    write_with(out / "model.safetensors", lambda p: save_file(state, str(p)))
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": "sequence",
        "name": tm.name,
        "model_config": config_dict(tm.model_config),
        "n_features": len(tm.feature_names),
        "n_context": len(tm.context_names),
        "feature_names": tm.feature_names,
        "context_names": tm.context_names,
        "groups": tm.groups,
        "threshold": None if np.isnan(tm.threshold_) else tm.threshold_,  # NaN: pretrained
        "calibration": tm.calibration.to_dict(),
        "context_mean": tm.context_mean.tolist(),
        "context_std": tm.context_std.tolist(),
        "history": [vars(h) for h in tm.history],
        "train_seconds": tm.train_seconds,
    }
    write_text(out / "config.json", json.dumps(meta, indent=2))
    return out


def load_sequence_model(directory: str | Path) -> TrainedSequenceModel:
    """Rebuild a model saved by ``save_sequence_model`` (in eval mode).

    Every fault of the folder (bad json, settings, tensor names or shapes) is a DataError.
    """
    src = Path(directory)
    w_path = src / "model.safetensors"
    if not w_path.is_file():
        raise DataError(f"{src}: expected config.json and model.safetensors; save a model there")
    cfg_path = src / "config.json"
    meta = _parse_meta(cfg_path, _read_config(src), _SequenceMeta)
    try:
        mcfg = make_config(meta.name, meta.settings)
        model = build_model(meta.name, mcfg, meta.n_features, meta.n_context, meta.groups)
    except XBehaviorError as err:
        raise DataError(f"{cfg_path}: {err}; {RECREATE}") from None
    except (TypeError, ValueError, RuntimeError) as err:  # a setting of the wrong type or size
        raise DataError(f"{cfg_path}: model_config {meta.settings} cannot build a {meta.name}: "
                        f"{_first_line(err)}; {RECREATE}") from None
    model.load_state_dict(_read_tensors(w_path, model.state_dict()), strict=True)
    model.eval()
    return TrainedSequenceModel(
        name=meta.name, model=model, model_config=mcfg,
        context_mean=np.asarray(meta.context_mean, np.float32),
        context_std=np.asarray(meta.context_std, np.float32),
        feature_names=meta.feature_names, context_names=meta.context_names,
        groups=meta.groups,
        threshold_=float("nan") if meta.threshold is None else meta.threshold,
        calibration=_calibration(meta.calibration), train_seconds=meta.train_seconds,
    )


def _calibration(saved: _Calibration | None) -> PlattScaling:
    return PlattScaling.from_dict(None if saved is None else saved.model_dump())


def _read_tensors(w_path: Path, expected: dict) -> dict:
    """The tensors in ``w_path``, checked against ``expected`` (the built model's state dict):
    same names, same shapes; else a one-line DataError."""
    try:
        state = load_file(str(w_path))
    except (SafetensorError, OSError) as err:
        raise DataError(f"{w_path} is not a valid safetensors file ({_first_line(err)}); "
                        f"{RECREATE}") from None
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or extra:
        raise DataError(f"{w_path} does not match config.json: missing tensor(s) {missing[:3]}, "
                        f"unexpected {extra[:3]}; {RECREATE}")
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise DataError(f"{w_path}: tensor {key!r} has shape {tuple(state[key].shape)}, "
                            f"config.json implies {tuple(tensor.shape)}; {RECREATE}")
    return state


def _first_line(err: BaseException) -> str:
    """An exception's message cut to its first line (library messages can span several)."""
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def read_json_object(path: Path) -> dict:
    """A run file holding one JSON object; a one-line DataError naming it if it does not."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path} is not valid JSON ({_first_line(err)}); {RECREATE}") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path} holds a JSON {type(raw).__name__}, not an object; {RECREATE}")
    return raw


def _read_config(src: Path) -> dict:
    """``src/config.json`` as a dict, with a one-line DataError if missing, not a JSON object
    or of an unsupported format version."""
    cfg_path = src / "config.json"
    if not cfg_path.is_file():
        raise DataError(f"{src}: expected config.json (and the model's weights); "
                        "save a model there")
    meta = read_json_object(cfg_path)
    if meta.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{cfg_path}: format_version {meta.get('format_version')} unsupported")
    return meta


def save_tabular_model(tm: TrainedTabularModel, directory: str | Path) -> Path:
    """Write a fitted baseline to ``directory`` (config.json, plus model.txt for lightgbm)."""
    out = Path(directory)
    meta = {"format_version": FORMAT_VERSION, "kind": "tabular", "name": tm.name,
            "feature_names": tm.feature_names, "threshold": tm.threshold_,
            "calibration": tm.calibration.to_dict()}
    if tm.name == "lightgbm":
        booster = tm.estimator.booster_
        # num_iteration=None saves up to the early-stopped best iteration, as predict_proba uses
        write_with(out / "model.txt", lambda p: booster.save_model(str(p)))
        meta["best_iteration"] = int(booster.best_iteration)
    elif tm.name == "logreg":
        scaler, clf = tm.estimator.est[0], tm.estimator.est[-1]
        meta.update(scaler_mean=scaler.mean_.tolist(), scaler_scale=scaler.scale_.tolist(),
                    coef=clf.coef_.tolist(), intercept=clf.intercept_.tolist(),
                    classes=clf.classes_.tolist())
    elif tm.name == "base_rate":
        est = tm.estimator.est
        meta.update(classes=est.classes_.tolist(), class_prior=est.class_prior_.tolist())
    else:
        raise DataError(f"tabular model {tm.name!r} has no save format")
    write_text(out / "config.json", json.dumps(meta, indent=2))
    return out


def load_tabular_model(directory: str | Path) -> TrainedTabularModel:
    """Rebuild a baseline saved by ``save_tabular_model``; predictions equal the original's.

    config.json is validated (types, array lengths vs feature_names); lightgbm's feature
    names must equal the booster's own, so a reordered config cannot shift columns.
    """
    src = Path(directory)
    meta = _parse_meta(src / "config.json", _read_config(src), _TabularMeta)
    n = len(meta.feature_names)
    if meta.name == "lightgbm":
        est = _BoosterProba(_read_booster(src / "model.txt", meta.feature_names))
    elif meta.name == "logreg":
        # the fitted attributes are all sklearn's predict_proba reads: same code, same numbers
        scaler = StandardScaler()
        scaler.mean_ = np.asarray(meta.scaler_mean, float)
        scaler.scale_ = np.asarray(meta.scaler_scale, float)
        scaler.var_ = scaler.scale_ ** 2
        clf = LogisticRegression()
        clf.coef_ = np.asarray(meta.coef, float)
        clf.intercept_ = np.asarray(meta.intercept, float)
        clf.classes_ = np.asarray(meta.classes)
        for part in (scaler, clf):
            part.n_features_in_ = n
        est = NamedPipeline(make_pipeline(scaler, clf))
    else:  # base_rate (the schema allows no other name)
        base = BaseRateClassifier()
        base.classes_ = np.asarray(meta.classes)
        base.class_prior_ = np.asarray(meta.class_prior, float)
        base.base_rate_, base.n_features_in_ = float(base.class_prior_[-1]), n
        est = NamedPipeline(base)
    return TrainedTabularModel(meta.name, est, meta.feature_names, meta.threshold,
                               _calibration(meta.calibration))


def _read_booster(path: Path, feature_names: list[str]) -> lgb.Booster:
    """LightGBM's text model at ``path``, whose feature names must equal ``feature_names``."""
    if not path.is_file():
        raise DataError(f"{path.parent}: expected model.txt beside config.json; save the model "
                        "again")
    try:
        booster = lgb.Booster(model_file=str(path))
    except lgb.basic.LightGBMError as err:
        raise DataError(f"{path} is not a valid LightGBM model ({_first_line(err)}); "
                        f"{RECREATE}") from None
    # LightGBM stores names with spaces turned into underscores
    if booster.feature_name() != [name.replace(" ", "_") for name in feature_names]:
        raise DataError(f"{path.parent / 'config.json'}: feature_names differ from those stored "
                        f"in model.txt ({booster.num_feature()} features); {RECREATE}")
    return booster


def load_model(directory: str | Path) -> TrainedSequenceModel | TrainedTabularModel:
    """Load any saved model: ``kind`` in config.json picks the loader (missing: sequence)."""
    kind = _read_config(Path(directory)).get("kind", "sequence")
    return load_tabular_model(directory) if kind == "tabular" else load_sequence_model(directory)


class _BoosterProba:
    """A loaded LightGBM booster with sklearn's ``predict_proba`` shape: (N, 2)."""

    def __init__(self, booster: lgb.Booster):
        self.booster = booster

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p1 = np.asarray(self.booster.predict(X), float)
        return np.column_stack([1.0 - p1, p1])
