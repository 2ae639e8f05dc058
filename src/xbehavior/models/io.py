"""Save / load a trained sequence model as ``model.safetensors`` + ``config.json``.

Loading reads tensors with safetensors and settings with json: no pickle, no ``torch.load``,
so opening a model folder never executes code from it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.torch import load_file, save_file

from xbehavior.errors import DataError
from xbehavior.models.registry import build_model, config_dict, make_config
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
    cfg_path, w_path = src / "config.json", src / "model.safetensors"
    if not cfg_path.is_file() or not w_path.is_file():
        raise DataError(f"{src}: expected config.json and model.safetensors; save a model there")
    meta = json.loads(cfg_path.read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{cfg_path}: format_version {meta.get('format_version')} unsupported")
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
