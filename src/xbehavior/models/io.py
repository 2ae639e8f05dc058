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

import lightgbm as lgb
import numpy as np
import pandas as pd
from safetensors.torch import load_file, save_file
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from xbehavior.atomic import write_text, write_with
from xbehavior.errors import DataError
from xbehavior.models.registry import build_model, config_dict, make_config
from xbehavior.models.tabular import BaseRateClassifier, NamedPipeline, TrainedTabularModel
from xbehavior.models.train import TrainedSequenceModel

FORMAT_VERSION = 1


def save_sequence_model(tm: TrainedSequenceModel, directory: str | Path) -> Path:
    """Write ``directory/model.safetensors`` and ``directory/config.json``; returns directory."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in tm.model.state_dict().items()}
    save_file(state, str(out / "model.safetensors"))
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
        "context_mean": tm.context_mean.tolist(),
        "context_std": tm.context_std.tolist(),
        "history": [vars(h) for h in tm.history],
        "train_seconds": tm.train_seconds,
    }
    (out / "config.json").write_text(json.dumps(meta, indent=2))
    return out


def load_sequence_model(directory: str | Path) -> TrainedSequenceModel:
    """Rebuild a model saved by ``save_sequence_model`` (in eval mode)."""
    src = Path(directory)
    w_path = src / "model.safetensors"
    if not w_path.is_file():
        raise DataError(f"{src}: expected config.json and model.safetensors; save a model there")
    meta = _read_config(src)
    groups = {k: [int(i) for i in v] for k, v in meta["groups"].items()}
    mcfg = make_config(meta["name"], meta["model_config"])
    model = build_model(meta["name"], mcfg, meta["n_features"], meta["n_context"], groups)
    model.load_state_dict(load_file(str(w_path)), strict=True)
    model.eval()
    return TrainedSequenceModel(
        name=meta["name"], model=model, model_config=mcfg,
        context_mean=np.asarray(meta["context_mean"], np.float32),
        context_std=np.asarray(meta["context_std"], np.float32),
        feature_names=list(meta["feature_names"]), context_names=list(meta["context_names"]),
        groups=groups,
        threshold_=float("nan") if meta["threshold"] is None else float(meta["threshold"]),
        train_seconds=float(meta.get("train_seconds", 0.0)),
    )


def _read_config(src: Path) -> dict:
    """``src/config.json`` as a dict, with a one-line DataError if missing or unsupported."""
    cfg_path = src / "config.json"
    if not cfg_path.is_file():
        raise DataError(f"{src}: expected config.json (and the model's weights); "
                        "save a model there")
    meta = json.loads(cfg_path.read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{cfg_path}: format_version {meta.get('format_version')} unsupported")
    return meta


def save_tabular_model(tm: TrainedTabularModel, directory: str | Path) -> Path:
    """Write a fitted baseline to ``directory`` (config.json, plus model.txt for lightgbm)."""
    out = Path(directory)
    meta = {"format_version": FORMAT_VERSION, "kind": "tabular", "name": tm.name,
            "feature_names": tm.feature_names, "threshold": tm.threshold_}
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
    """Rebuild a baseline saved by ``save_tabular_model``; predictions equal the original's."""
    src = Path(directory)
    meta = _read_config(src)
    n = len(meta["feature_names"])
    if meta["name"] == "lightgbm":
        if not (src / "model.txt").is_file():
            raise DataError(f"{src}: expected model.txt beside config.json; save the model again")
        est = _BoosterProba(lgb.Booster(model_file=str(src / "model.txt")))
    elif meta["name"] == "logreg":
        # the fitted attributes are all sklearn's predict_proba reads: same code, same numbers
        scaler = StandardScaler()
        scaler.mean_ = np.asarray(meta["scaler_mean"], float)
        scaler.scale_ = np.asarray(meta["scaler_scale"], float)
        scaler.var_ = scaler.scale_ ** 2
        clf = LogisticRegression()
        clf.coef_ = np.asarray(meta["coef"], float)
        clf.intercept_ = np.asarray(meta["intercept"], float)
        clf.classes_ = np.asarray(meta["classes"])
        for part in (scaler, clf):
            part.n_features_in_ = n
        est = NamedPipeline(make_pipeline(scaler, clf))
    elif meta["name"] == "base_rate":
        base = BaseRateClassifier()
        base.classes_ = np.asarray(meta["classes"])
        base.class_prior_ = np.asarray(meta["class_prior"], float)
        base.base_rate_, base.n_features_in_ = float(base.class_prior_[-1]), n
        est = NamedPipeline(base)
    else:
        raise DataError(f"{src / 'config.json'}: unknown tabular model {meta['name']!r}")
    return TrainedTabularModel(meta["name"], est, list(meta["feature_names"]),
                               float(meta["threshold"]))


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
