"""``xbehavior score``: apply a model saved by ``xbehavior run`` to a log, as of a date.

The run folder's ``models/features.json`` holds how training data was encoded (step scaling,
country vocabulary, sequence length); new data is encoded the same way, so a score means what
it meant on the test set. Sequence models read the encoded sequences; tabular models
(lightgbm, logreg, base_rate) read TABULAR_FEATURES + the same context one-hot columns, as in
``jobs/data_prep.prepare``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, Field, ValidationError, model_validator

from xbehavior.atomic import write_text, write_with
from xbehavior.config import validation_line
from xbehavior.engine import DuckDBEngine
from xbehavior.errors import DataError
from xbehavior.features import TABULAR_FEATURES, build_examples, build_orders, build_sequences
from xbehavior.features.data import FeatureVocabulary, SequenceData
from xbehavior.jobs.data_prep import (
    ingest_for,
    quality_line,  # noqa: F401 (cli prints it)
)
from xbehavior.models.io import RECREATE, load_model, read_json_object
from xbehavior.models.tabular import TrainedTabularModel

FEATURES_FILE = "features.json"
#: written beside the scores: the ingest DataQuality of the scored log
QUALITY_SUFFIX = ".data_quality.json"


def quality_path(out: Path) -> Path:
    """The ingest record written beside the scores: ``scores.parquet`` ->
    ``scores.data_quality.json``, so two score files in one folder keep their own."""
    return Path(out).with_name(Path(out).stem + QUALITY_SUFFIX)


class _Vocabulary(BaseModel):
    """features.json "vocabulary": step scaling (one mean / std per step feature), countries."""

    step_mean: list[float] = Field(min_length=1)
    step_std: list[float] = Field(min_length=1)
    countries: list[str]

    @model_validator(mode="after")
    def _same_length(self) -> _Vocabulary:
        if len(self.step_mean) != len(self.step_std):
            raise ValueError(f"step_mean has {len(self.step_mean)} entries, step_std "
                             f"{len(self.step_std)}")
        return self


class _FeatureSpec(BaseModel):
    """features.json: how the run encoded its data (see ``save_feature_spec``)."""

    dataset: str
    max_len: int = Field(ge=2, le=512)
    horizon_days: int = Field(ge=1, le=365)
    vocabulary: _Vocabulary
    mapping: dict | None = None  # dataset "file": the column mapping the run read its log with


def save_feature_spec(model_dir: Path, vocabulary: FeatureVocabulary, max_len: int,
                      dataset: str, horizon_days: int, mapping: dict | None = None) -> None:
    """Record how the run encoded sequences (and, for your own log, its column mapping, so
    that a log of the same shop scores without it), beside its saved models."""
    spec = {"dataset": dataset, "max_len": max_len, "horizon_days": horizon_days,
            "vocabulary": vocabulary.to_dict(), "mapping": mapping}
    write_text(model_dir / FEATURES_FILE, json.dumps(spec, indent=2))


def best_model(run_dir: Path) -> str:
    """The run's scoring model: ``best_model`` of its metrics.json (best validation ROC-AUC,
    the model behind audience.csv)."""
    path = Path(run_dir) / "metrics.json"
    if not path.is_file():
        raise DataError(f"{path}: not found, so the run's best model is unknown; give the "
                        "folder of an 'xbehavior run' or name a model with --model")
    name = read_json_object(path).get("best_model")
    if not isinstance(name, str) or not name:
        raise DataError(f"{path}: holds no best_model; name a model with --model")
    return name


def score_customers(
    run_dir: Path, model: str, out: Path, input: Path | None = None,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Score every customer with history before ``as_of`` (default: the day after the log ends).

    Writes ``out`` (Parquet: user_id, as_of, purchase_probability, predicted) and, beside
    it, ``<out stem>.data_quality.json`` (the ingest record of the scored log: rows read =
    kept + dropped by reason); returns the scores with that record in ``attrs["data_quality"]`` and
    the model's decision threshold (chosen on validation) in ``attrs["threshold"]``.
    """
    _check_out(Path(out), input, Path(run_dir))
    spec_path = Path(run_dir) / "models" / FEATURES_FILE
    spec = _read_spec(spec_path)
    model_dir = Path(run_dir) / "models" / model
    if not model_dir.is_dir():
        found = sorted(p.name for p in spec_path.parent.iterdir() if p.is_dir())
        raise DataError(f"{model_dir}: no such model; this run has {', '.join(found)}")
    fitted = load_model(model_dir)
    engine = DuckDBEngine()
    if spec.dataset == "file" and input is None:
        raise DataError(f"{run_dir} was trained on your own log; give the log to score with "
                        "--input FILE (it is read with the run's column mapping)")
    quality, _ = ingest_for(engine, spec.dataset, input, spec.mapping)
    build_orders(engine)
    last = pd.Timestamp(engine.sql("SELECT max(ts) AS t FROM orders")["t"].iloc[0])
    latest = last.floor("D") + pd.Timedelta(days=1)  # the default: the day after the log ends
    if as_of is None:
        as_of = latest
    elif as_of > latest:
        raise DataError(f"--as-of {as_of:%Y-%m-%d %H:%M}: no activity is known after {last}; "
                        f"scores would extrapolate; choose {latest:%Y-%m-%d} or earlier")
    cutoffs = pd.DataFrame({"cutoff": [pd.Timestamp(as_of)], "split": ["score"]})
    examples = build_examples(engine, cutoffs, spec.horizon_days)
    if examples.empty:
        raise DataError(f"no customer has a purchase before {as_of}; choose a later --as-of")
    vocab = FeatureVocabulary.from_dict(spec.vocabulary.model_dump())
    try:
        data = build_sequences(engine, examples, spec.max_len, vocabulary=vocab)
    except ValueError as err:  # step scaling of the wrong length: cannot broadcast
        raise DataError(f"{spec_path}: vocabulary does not fit this version's step features "
                        f"({str(err).splitlines()[0]}); {RECREATE}") from None
    proba = fitted.predict_proba(_model_input(fitted, examples, data, model_dir))
    scores = pd.DataFrame({
        "user_id": examples["user_id"].astype(str), "as_of": examples["cutoff"],
        "purchase_probability": proba, "predicted": (proba >= fitted.threshold_).astype(int),
    })
    write_with(Path(out), lambda p: scores.to_parquet(p, index=False))
    write_text(quality_path(out), json.dumps(quality.to_dict(), indent=2))
    scores.attrs["data_quality"] = quality.to_dict()
    scores.attrs["threshold"] = float(fitted.threshold_)
    return scores


def _check_out(out: Path, input: Path | None, run_dir: Path) -> None:
    """Refuse an ``out`` that is a folder, not a .parquet name, inside the run folder (whose
    models and metrics it would replace), or that (or the quality file beside it) is the
    input: inputs are never overwritten."""
    if out.is_dir():
        raise DataError(f"--out {out} is a folder; give a file name, e.g. {out / 'scores.parquet'}")
    if out.suffix.lower() != ".parquet":
        raise DataError(f"--out {out}: the scores are written as Parquet; give a name ending "
                        f"in .parquet (e.g. {out.with_suffix('.parquet').name})")
    if out.absolute().is_relative_to(run_dir.absolute()):
        raise DataError(f"--out {out} is inside the run folder {run_dir}, whose files it could "
                        "replace; write the scores outside it")
    if input is not None:
        for target in (out, quality_path(out)):
            if target.resolve() == Path(input).resolve():
                with_ = "" if target == out else f" (with {target.name})"
                raise DataError(f"--out {out} would overwrite the input {input}{with_}; "
                                "write the scores to another file")


def _read_spec(spec_path: Path) -> _FeatureSpec:
    """The run's features.json, validated; a one-line DataError naming the file if not."""
    if not spec_path.is_file():
        raise DataError(f"{spec_path}: not found; give the folder of an 'xbehavior run'")
    raw = read_json_object(spec_path)
    try:
        return _FeatureSpec.model_validate(raw)
    except ValidationError as err:
        raise DataError(f"{validation_line(err, f'{spec_path}:')}; {RECREATE}") from None


def _model_input(fitted: object, examples: pd.DataFrame, data: SequenceData,
                 model_dir: Path) -> SequenceData | pd.DataFrame:
    """What ``fitted.predict_proba`` reads: the sequences, or the tabular frame (N, columns)."""
    if not isinstance(fitted, TrainedTabularModel):
        for what, built, saved in (("feature", data.feature_names, fitted.feature_names),
                                   ("context", data.context_names, fitted.context_names)):
            if list(built) != list(saved):
                raise DataError(f"{model_dir}/config.json: {len(saved)} {what} names, but "
                                f"features.json encodes {len(built)} different ones; {RECREATE}")
        return data
    frame = pd.concat([examples[TABULAR_FEATURES].reset_index(drop=True),
                       pd.DataFrame(data.context, columns=data.context_names)], axis=1)
    missing = [c for c in fitted.feature_names if c not in frame.columns]
    if missing:
        raise DataError(f"{model_dir}/config.json: feature(s) {', '.join(missing[:5])} are not "
                        "built by this version; re-run 'xbehavior run' to retrain the model")
    return frame
