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

from xbehavior.atomic import write_text, write_with
from xbehavior.engine import DuckDBEngine
from xbehavior.errors import DataError
from xbehavior.features import TABULAR_FEATURES, build_examples, build_orders, build_sequences
from xbehavior.features.data import FeatureVocabulary, SequenceData
from xbehavior.ingest import ingest_dataset
from xbehavior.models.io import load_model
from xbehavior.models.tabular import TrainedTabularModel

FEATURES_FILE = "features.json"
#: written beside the scores: the ingest DataQuality of the scored log
QUALITY_FILE = "data_quality.json"


def save_feature_spec(model_dir: Path, vocabulary: FeatureVocabulary, max_len: int,
                      dataset: str, horizon_days: int) -> None:
    """Record how the run encoded sequences, beside its saved models."""
    spec = {"dataset": dataset, "max_len": max_len, "horizon_days": horizon_days,
            "vocabulary": vocabulary.to_dict()}
    write_text(model_dir / FEATURES_FILE, json.dumps(spec, indent=2))


def score_customers(
    run_dir: Path, model: str, out: Path, input: Path | None = None,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Score every customer with history before ``as_of`` (default: the day after the log ends).

    Writes ``out`` (Parquet: user_id, as_of, purchase_probability, predicted) and, beside
    it, ``data_quality.json`` (the ingest record of the scored log: rows read = kept +
    dropped by reason); returns the scores with that record in ``attrs["data_quality"]``.
    """
    spec_path = Path(run_dir) / "models" / FEATURES_FILE
    if not spec_path.is_file():
        raise DataError(f"{spec_path}: not found; give the folder of an 'xbehavior run'")
    spec = json.loads(spec_path.read_text())
    model_dir = Path(run_dir) / "models" / model
    if not model_dir.is_dir():
        found = sorted(p.name for p in spec_path.parent.iterdir() if p.is_dir())
        raise DataError(f"{model_dir}: no such model; this run has {', '.join(found)}")
    fitted = load_model(model_dir)
    engine = DuckDBEngine()
    quality = ingest_dataset(engine, spec["dataset"], input)
    build_orders(engine)
    if as_of is None:
        last = engine.sql("SELECT max(ts) AS t FROM orders")["t"].iloc[0]
        as_of = pd.Timestamp(last).floor("D") + pd.Timedelta(days=1)
    cutoffs = pd.DataFrame({"cutoff": [pd.Timestamp(as_of)], "split": ["score"]})
    examples = build_examples(engine, cutoffs, spec["horizon_days"])
    if examples.empty:
        raise DataError(f"no customer has a purchase before {as_of}; choose a later --as-of")
    vocab = FeatureVocabulary.from_dict(spec["vocabulary"])
    data = build_sequences(engine, examples, spec["max_len"], vocabulary=vocab)
    proba = fitted.predict_proba(_model_input(fitted, examples, data, model_dir))
    scores = pd.DataFrame({
        "user_id": examples["user_id"].astype(str), "as_of": examples["cutoff"],
        "purchase_probability": proba, "predicted": (proba >= fitted.threshold_).astype(int),
    })
    write_with(Path(out), lambda p: scores.to_parquet(p, index=False))
    write_text(Path(out).parent / QUALITY_FILE, json.dumps(quality.to_dict(), indent=2))
    scores.attrs["data_quality"] = quality.to_dict()
    return scores


def quality_line(quality: dict) -> str:
    """One line from a ``DataQuality.to_dict()``: rows read, kept, dropped (by reason), flags."""
    reasons = ", ".join(f"{r} {n:,}" for r, n in sorted(quality["dropped_by_reason"].items()))
    flags = ", ".join(f"{f} {n:,}" for f, n in sorted(quality["kept_but_flagged"].items()) if n)
    return (f"data quality: {quality['rows_read']:,} rows read, {quality['rows_kept']:,} kept, "
            f"{quality['rows_dropped']:,} dropped{f' ({reasons})' if reasons else ''}"
            f"{f'; flagged {flags}' if flags else ''}")


def _model_input(fitted: object, examples: pd.DataFrame, data: SequenceData,
                 model_dir: Path) -> SequenceData | pd.DataFrame:
    """What ``fitted.predict_proba`` reads: the sequences, or the tabular frame (N, columns)."""
    if not isinstance(fitted, TrainedTabularModel):
        return data
    frame = pd.concat([examples[TABULAR_FEATURES].reset_index(drop=True),
                       pd.DataFrame(data.context, columns=data.context_names)], axis=1)
    missing = [c for c in fitted.feature_names if c not in frame.columns]
    if missing:
        raise DataError(f"{model_dir}/config.json: feature(s) {', '.join(missing[:5])} are not "
                        "built by this version; re-run 'xbehavior run' to retrain the model")
    return frame
