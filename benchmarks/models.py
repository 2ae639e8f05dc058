"""Every model on five tasks built from the bundled REAL data; every number on a held-out test set.

(a) online_retail: purchase again within 90 days (rolling cut-offs, test after training), all
    models + the xlstm_paper ablation;
(b) online_shoppers: session conversion, tabular, stratified 70/15/15, with / without PageValues;
(c) dunnhumby: purchase in the next 28 days from basket sequences (coupon share is a step
    feature and an aggregate) + ablation + permutation importance, lstm vs xlstm_paper;
(c2) dunnhumby: coupon redemption — for each household that received a campaign, will it redeem
    one of that campaign's coupons, from its baskets strictly before the campaign start, with
    campaign type as context; campaigns split by start date (train / val / test in time);
(d) rees46: cart sessions purchased vs abandoned, sequence cut before the first purchase,
    split by session start time (70/15/15 quantiles; --rees-split user: repeated user-disjoint
    splits) with 95 % intervals over repeats (small: 118 sessions);
(e) eshop_clickstream: next-click pretraining, test MSE vs baselines, embedding probe.

    python benchmarks/models.py --task a|b|c|c2|d|e|all [--seeds 3] [--max-epochs 100]
        [--patience 8] [--ablation-seeds 3] [--threads 1] [--out benchmarks/results/models.md]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from xbehavior.atomic import write_text
from xbehavior.config import make_config
from xbehavior.datasets import load_dunnhumby, load_eshop_clickstream, load_online_shoppers
from xbehavior.engine import DuckDBEngine
from xbehavior.features import (
    TABULAR_FEATURES,
    SequenceData,
    build_examples,
    build_orders,
    build_sequences,
    plan_cutoffs,
)
from xbehavior.features.session_sequences import (
    build_session_sequences,
    cart_session_steps,
    pad_last,
    session_examples,
    split_by_time,
    split_by_user,
    standardise,
    time_cutoffs,
)
from xbehavior.features.sessions import sessionise
from xbehavior.ingest import ingest_dataset
from xbehavior.insights.importance import compare_importance, sequence_permutation_importance
from xbehavior.models.metrics import aggregate_seeds, binary_metrics
from xbehavior.models.pretrain import PretrainConfig, pretrain_next_event
from xbehavior.models.tabular import fit_tabular
from xbehavior.models.train import TrainConfig, fit_sequence_model

SEQ = ("rnn", "lstm", "xlstm_paper", "xlstm")
TAB = ("lightgbm", "logreg", "base_rate")
METRICS = ("roc_auc", "pr_auc", "f1", "accuracy", "brier", "log_loss")
#: ablation rows: xlstm_paper config overrides (keys of XLSTMPaperConfig)
PARTS = ("context_forget", "feature_gate", "multi_cell", "attention")
ABLATION = {"all on": {}, **{f"-{p}": {p: False} for p in PARTS},
            "all off (= LSTM cell)": {p: False for p in PARTS}}
#: printed beside every classification table (issue 4: say what the probabilities mean)
WEIGHTING_NOTE = (
    "class weighting: sequence models use pos_weight = n_neg/n_pos (train), LightGBM "
    "scale_pos_weight = n_neg/n_pos, logreg class_weight='balanced'; their raw scores "
    "over-predict the positive class, so each model's scores are Platt-calibrated on "
    "validation (models.calibration: rankings, ROC-AUC and PR-AUC unchanged); brier / "
    "log_loss are those of the calibrated probabilities (base_rate predicts the training share)")


@dataclass
class Settings:
    seeds: int = 3
    max_epochs: int = 100
    patience: int = 8
    hidden: int = 32
    threads: int = 1
    ablation_seeds: int = 3
    rees_repeats: int = 20
    rees_split: str = "time"  # (d): "time" (start-time cut-offs) or "user" (user-disjoint)
    out: list[str] = field(default_factory=list)  # every printed line, for the results file

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.out.append(text)

    def line(self) -> str:
        return (f"settings: seeds={self.seeds} max_epochs={self.max_epochs} "
                f"patience={self.patience} hidden={self.hidden} batch=64 lr=1e-3 "
                f"threads={self.threads} torch={torch.__version__}")


# ---------------------------------------------------------------- running and tabulating
def run_sequence(name: str, train: SequenceData, val: SequenceData, test: SequenceData,
                 seed: int, s: Settings, overrides: dict | None = None) -> dict:
    """Fit one sequence model; test metrics, train seconds, inference sequences/s."""
    tcfg = TrainConfig(model={"hidden": s.hidden, **(overrides or {})},
                       max_epochs=s.max_epochs, patience=s.patience, seed=seed,
                       num_threads=s.threads)
    tm = fit_sequence_model(name, train, val, tcfg)
    t0 = time.perf_counter()
    p = tm.predict_proba(test)
    rate = len(test) / max(time.perf_counter() - t0, 1e-9)
    return {**binary_metrics(test.y, p, tm.threshold_), "train_s": tm.train_seconds,
            "infer_seq_s": rate, "epochs": len(tm.history), "_model": tm}


def run_tabular(name: str, X: pd.DataFrame, y: np.ndarray, split: np.ndarray, seed: int,
                s: Settings) -> dict:
    tr, va, te = (split == k for k in ("train", "val", "test"))
    t0 = time.perf_counter()
    m = fit_tabular(name, X[tr], y[tr], X[va], y[va], seed=seed, num_threads=s.threads)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    p = m.predict_proba(X[te])
    rate = int(te.sum()) / max(time.perf_counter() - t0, 1e-9)
    return {**binary_metrics(y[te], p, m.threshold_), "train_s": train_s, "infer_seq_s": rate,
            "epochs": np.nan}


def table(rows: list[dict], by: str = "model") -> str:
    """Markdown: metric mean ± std over seeds, base rate, n_test, seconds, throughput."""
    df = pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])
    agg = aggregate_seeds(df, by=[by])
    head = (f"| {by} | " + " | ".join(METRICS) + " | base rate | n_test | train s | "
            "infer seq/s | epochs | seeds |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for _, r in agg.iterrows():
        cells = [f"{r[m + '_mean']:.3f} ± {_std(r[m + '_std'])}" for m in METRICS]
        ep = "" if np.isnan(r["epochs_mean"]) else f"{r['epochs_mean']:.0f}"
        lines.append(f"| {r[by]} | " + " | ".join(cells) + f" | {r['base_rate_mean']:.3f} | "
                     f"{r['n_mean']:.0f} | {r['train_s_mean']:.1f} | "
                     f"{r['infer_seq_s_mean']:,.0f} | {ep} | {r['n_seeds']:.0f} |")
    return "\n".join(lines)


def markdown(df: pd.DataFrame) -> str:
    """A DataFrame as a markdown table (floats to 4 decimals, NaN blank)."""
    def cell(v):
        if isinstance(v, float):
            return "" if np.isnan(v) else f"{v:.4f}"
        return str(v)
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * df.shape[1]]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _std(v: float) -> str:
    return "n/a" if np.isnan(v) else f"{v:.3f}"


# ---------------------------------------------------------------- (a) and (c): repurchase
def prepare_repurchase(dataset: str, s: Settings):
    """The main job's data steps (jobs/data_prep.prepare), plus one repair: dunnhumby lines
    with quantity 0 have price NULL, which makes the order's mean/max price NULL and the
    sequence scaling NaN in features/repurchase.py; we price such a line at its sales value
    (one unit) before building orders. Returns (examples, sequences, tabular, plan)."""
    cfg = make_config(dataset=dataset, threads=s.threads)
    eng = DuckDBEngine(threads=s.threads)
    ingest_dataset(eng, dataset)
    eng.execute("UPDATE events SET price = revenue WHERE price IS NULL AND revenue IS NOT NULL")
    build_orders(eng)
    span = eng.sql("SELECT min(ts) AS a, max(ts) AS b FROM orders").iloc[0]
    horizon = {"online_retail": 90, "dunnhumby": 28}[dataset]
    plan = plan_cutoffs(pd.Timestamp(span["a"]), pd.Timestamp(span["b"]), horizon,
                        cfg.n_train_cutoffs, cfg.cutoff_step_days)
    examples = build_examples(eng, plan.frame(), horizon).reset_index(drop=True)
    seqs = build_sequences(eng, examples, cfg.max_len, cfg.top_countries)
    tab = pd.concat([examples[TABULAR_FEATURES],
                     pd.DataFrame(seqs.context, columns=seqs.context_names)], axis=1)
    return examples, seqs, tab, plan


def repurchase_task(dataset: str, s: Settings, importance: bool) -> None:
    examples, seqs, tab, plan = prepare_repurchase(dataset, s)
    split = examples["split"].to_numpy()
    parts = {k: seqs.subset(split == k) for k in ("train", "val", "test")}
    counts = {k: f"{(split == k).sum()} ({examples['label'][split == k].mean():.3f})"
              for k in parts}
    s.say(f"data: {dataset}, horizon {plan.horizon_days} d; cut-offs train "
          f"{[str(c.date()) for c in plan.train]}, val {plan.val.date()}, test "
          f"{plan.test.date()}; examples (base rate) {counts}; T={seqs.x.shape[1]} "
          f"F={seqs.x.shape[2]} S={seqs.context.shape[1]}")
    rows = every_model(parts, tab, examples["label"].to_numpy(), split, s)
    models = {r["model"]: r["_model"] for r in rows if r["seed"] == 0 and "_model" in r}
    ablation(parts, [r for r in rows if r["model"] == "xlstm_paper"], s)
    if importance:
        permutation(models, parts["test"], s)


def every_model(parts: dict, tab: pd.DataFrame, y: np.ndarray, split: np.ndarray,
                s: Settings) -> list[dict]:
    """Every sequence and tabular model for each seed on one split; prints the table, the
    class-weighting note and the settings; returns the rows (sequence rows keep ``_model``)."""
    rows = []
    for seed in range(s.seeds):
        rows += [{"model": n, "seed": seed, **run_sequence(n, *parts.values(), seed, s)}
                 for n in SEQ]
        rows += [{"model": n, "seed": seed, **run_tabular(n, tab, y, split, seed, s)}
                 for n in TAB]
    s.say(table(rows))
    s.say(WEIGHTING_NOTE)
    s.say(s.line())
    s.say()
    return rows


def ablation(parts: dict, all_on: list[dict], s: Settings) -> None:
    """xlstm_paper with each addition off in turn; 'all on' reuses the main table's runs."""
    s.say(f"xlstm_paper ablation ({s.ablation_seeds} seeds):")
    rows = [{"variant": "all on", **r} for r in all_on[: s.ablation_seeds]]
    for label, over in ABLATION.items():
        if over:
            rows += [{"variant": label, "seed": seed,
                      **run_sequence("xlstm_paper", *parts.values(), seed, s, over)}
                     for seed in range(s.ablation_seeds)]
    s.say(table(rows, by="variant"))
    s.say(WEIGHTING_NOTE)
    s.say()


def permutation(models: dict, test: SequenceData, s: Settings) -> None:
    """Permutation importance (drop in test ROC-AUC, 5 shuffles) for seed-0 lstm, xlstm_paper."""
    tables = {n: sequence_permutation_importance(models[n], test, n_repeats=5, seed=0)
              for n in ("lstm", "xlstm_paper")}
    cmp = compare_importance(tables)
    s.say("permutation importance on test (ROC-AUC drop, mean of 5 shuffles; seed-0 models):")
    s.say(markdown(cmp.head(12)))
    for n, df in tables.items():
        coupon = df.index[df["feature"] == "coupon_share"][0] + 1
        s.say(f"{n}: top feature {df['feature'].iloc[0]!r}; coupon_share ranks {coupon} of "
              f"{len(df)} (drop {df.loc[coupon - 1, 'importance_mean']:.4f} ± "
              f"{df.loc[coupon - 1, 'importance_std']:.4f})")
    s.say()


# ---------------------------------------------------------------- (c2) coupon redemption
#: a start-date group goes to the split whose share boundary its receipt midpoint falls under
COUPON_SPLIT = ((0.70, "train"), (0.85, "val"), (1.01, "test"))


def campaign_receipts() -> pd.DataFrame:
    """One row per (household, campaign received): type, start/end date, split, label.

    Split by time: campaigns ordered by start date and cut at campaign boundaries so that
    train / val / test hold ~70 / 15 / 15 % of receipts (a date group goes where the midpoint
    of its cumulative receipt share falls). label = 1 iff the household redeemed a coupon of
    that campaign (coupon_redemptions); prior_redemptions counts its redemptions of any
    campaign on days strictly before this campaign's start."""
    rec = load_dunnhumby("campaigns").merge(load_dunnhumby("campaign_descriptions"),
                                            on="campaign_id", how="inner", validate="m:1")
    by_date = rec.groupby("start_date").size().sort_index()
    mid = (by_date.cumsum() - by_date / 2) / by_date.sum()
    split_of = {d: next(name for edge, name in COUPON_SPLIT if m < edge) for d, m in mid.items()}
    red = load_dunnhumby("coupon_redemptions")
    redeemed = red[["household_id", "campaign_id"]].drop_duplicates().assign(label=1)
    rec = rec.merge(redeemed, on=["household_id", "campaign_id"], how="left")
    rec["label"] = rec["label"].fillna(0).astype(int)
    # one row per (household, start date): two campaigns can start on the same day
    pairs = (rec[["household_id", "start_date"]].drop_duplicates()
             .merge(red[["household_id", "redemption_date"]], on="household_id"))
    prior = (pairs[pairs["redemption_date"] < pairs["start_date"]]
             .groupby(["household_id", "start_date"]).size().rename("prior_redemptions"))
    rec = rec.merge(prior, on=["household_id", "start_date"], how="left")
    rec["prior_redemptions"] = rec["prior_redemptions"].fillna(0.0)
    return rec.assign(split=rec["start_date"].map(split_of),
                      user_id=rec["household_id"].astype(str),
                      cutoff=pd.to_datetime(rec["start_date"]))


def coupon_examples(s: Settings) -> tuple[pd.DataFrame, SequenceData, pd.DataFrame, dict]:
    """Receipts with history -> (examples, sequences, tabular frame, row accounting).

    Features come from orders with ts < campaign start (00:00 UTC of the start date, which is
    before the store-local midnight, so strictly before the campaign); a receipt whose household
    has no purchase before then is dropped. Train receipts whose campaign is still running when
    the first test campaign starts are dropped too, so every training label is settled before
    the test period (val receipts are kept: they only pick the epoch and threshold)."""
    rec = campaign_receipts()
    eng = DuckDBEngine(threads=s.threads)
    ingest_dataset(eng, "dunnhumby")
    eng.execute("UPDATE events SET price = revenue WHERE price IS NULL AND revenue IS NOT NULL")
    build_orders(eng)
    dates = rec[["cutoff", "split"]].drop_duplicates("cutoff")
    hist = build_examples(eng, dates, horizon_days=28).drop(columns=["label", "split"])
    ex = rec.merge(hist, on=["user_id", "cutoff"], how="inner", validate="m:1")
    test_start = rec.loc[rec["split"] == "test", "cutoff"].min()
    running = (ex["split"] == "train") & (pd.to_datetime(ex["end_date"]) >= test_start)
    counts = {"read": len(rec), "no purchase before campaign start": len(rec) - len(ex),
              "train label still open at test start": int(running.sum())}
    ex = ex[~running].sort_values(["cutoff", "campaign_id", "user_id"]).reset_index(drop=True)
    counts["kept"] = len(ex)
    seqs = build_sequences(eng, ex, make_config(dataset="dunnhumby").max_len, n_countries=1)
    types = sorted(rec["campaign_type"].unique())
    extra = np.column_stack([*(ex["campaign_type"] == t for t in types),
                             np.log1p(ex["prior_redemptions"]),
                             np.log1p((pd.to_datetime(ex["end_date"]) - ex["cutoff"]).dt.days)])
    names = [f"campaign={t}" for t in types] + ["log_prior_redemptions", "log_campaign_days"]
    seqs = dataclasses.replace(
        seqs, context=np.c_[seqs.context, extra].astype(np.float32),
        context_names=[*seqs.context_names, *names], y=ex["label"].to_numpy(np.float32))
    tab = pd.concat([ex[TABULAR_FEATURES],
                     pd.DataFrame(seqs.context, columns=seqs.context_names)], axis=1)
    return ex, seqs, tab, counts


def coupon_task(s: Settings) -> None:
    ex, seqs, tab, counts = coupon_examples(s)
    split = ex["split"].to_numpy()
    parts = {k: seqs.subset(split == k) for k in ("train", "val", "test")}
    kept = counts.pop("kept")
    dropped = sum(v for k, v in counts.items() if k != "read")
    assert kept + dropped == counts["read"]  # rows kept + dropped (by reason) = rows read
    desc = {k: (f"{(split == k).sum()} receipts, {ex.loc[split == k, 'campaign_id'].nunique()} "
                f"campaign(s) starting {ex.loc[split == k, 'cutoff'].min().date()}.."
                f"{ex.loc[split == k, 'cutoff'].max().date()}, base rate "
                f"{ex.loc[split == k, 'label'].mean():.3f}") for k in parts}
    s.say(f"data: dunnhumby campaign receipts read {counts['read']}, kept {kept}, dropped "
          + ", ".join(f"{v} ({k})" for k, v in counts.items() if k != "read") + "; split BY "
          "TIME (campaigns ordered by start date, cut near 70/15/15 of receipts): "
          + "; ".join(f"{k} {v}" for k, v in desc.items()))
    s.say(f"features: orders strictly before the campaign start; T={seqs.x.shape[1]} "
          f"F={seqs.x.shape[2]}; context = campaign type one-hot, log prior redemptions "
          "(redemption day < start day), log campaign length in days")
    every_model(parts, tab, ex["label"].to_numpy(), split, s)


# ---------------------------------------------------------------- (b) online shoppers
def shoppers_task(s: Settings) -> None:
    raw = load_online_shoppers()
    y = raw["Revenue"].astype(int).to_numpy()
    X = pd.get_dummies(raw.drop(columns="Revenue"),
                       columns=["Month", "VisitorType", "OperatingSystems", "Browser",
                                "Region", "TrafficType"], dtype=float)
    X["Weekend"] = X["Weekend"].astype(float)
    X.columns = [str(c).replace(" ", "_") for c in X.columns]
    s.say(f"data: online_shoppers, {len(X)} sessions, base rate {y.mean():.3f}; "
          "stratified 70/15/15 split, re-drawn per seed (std includes split variance)")
    rows = []
    for seed in range(s.seeds):
        split = stratified_split(y, seed)
        for with_pv in (True, False):
            cols = X if with_pv else X.drop(columns="PageValues")
            tag = "" if with_pv else " (no PageValues)"
            rows += [{"model": n + tag, "seed": seed, **run_tabular(n, cols, y, split, seed, s)}
                     for n in TAB]
    s.say(table(rows))
    s.say(WEIGHTING_NOTE)
    s.say("published: gradient boosting ROC-AUC 0.937, PR-AUC 0.754 with PageValues "
          "(Sakar et al. 2019) on their own split, not this one")
    s.say(s.line().replace(f"max_epochs={s.max_epochs} patience={s.patience} "
                           f"hidden={s.hidden} batch=64 lr=1e-3 ", ""))
    s.say()


def stratified_split(y: np.ndarray, seed: int) -> np.ndarray:
    idx = np.arange(len(y))
    tr, rest = train_test_split(idx, test_size=0.30, stratify=y, random_state=seed)
    va, te = train_test_split(rest, test_size=0.50, stratify=y[rest], random_state=seed)
    split = np.empty(len(y), dtype=object)
    split[tr], split[va], split[te] = "train", "val", "test"
    return split


# ---------------------------------------------------------------- (d) rees46 cart sessions
def rees_task(s: Settings) -> None:
    eng = DuckDBEngine(threads=s.threads)
    ingest_dataset(eng, "rees46")
    sessionise(eng)
    steps = cart_session_steps(eng)
    base = session_examples(steps)
    s.say(f"data: rees46 window, {len(base)} cart sessions with >= 1 event before the first "
          f"purchase ({int(base['label'].sum())} purchased), {base['user_id'].nunique()} "
          f"users; median {base['n_steps'].median():.0f} steps. SMALL: {s.rees_repeats} "
          f"repeats; {rees_split_text(base, s)}; interval = 2.5-97.5 percentile over repeats")
    rows = []
    for rep in range(s.rees_repeats):
        ex = base.assign(split=split_by_time(base["start_ts"]) if s.rees_split == "time" else
                         split_by_user(base["user_id"], base["label"].to_numpy(), seed=rep))
        if any(ex.loc[ex["split"] == k, "label"].nunique() < 2 for k in ("val", "test")):
            continue
        data = build_session_sequences(steps, ex, max_len=32)
        split = ex["split"].to_numpy()
        parts = [data.subset(split == k) for k in ("train", "val", "test")]
        rows += [{"model": n, "seed": rep, **run_sequence(n, *parts, rep, s)} for n in SEQ]
        agg = session_aggregates(data)
        rows += [{"model": n, "seed": rep,
                  **run_tabular(n, agg, ex["label"].to_numpy(), split, rep, s)} for n in TAB]
    s.say(interval_table(rows))
    s.say(WEIGHTING_NOTE)
    s.say(s.line().replace(f"seeds={s.seeds}", f"repeats used={len({r['seed'] for r in rows})}"))
    s.say()


def rees_split_text(base: pd.DataFrame, s: Settings) -> str:
    """How task (d) splits its sessions, for the printed description."""
    if s.rees_split == "user":
        return "user-disjoint stratified 70/15/15 split per repeat (seed = repeat)"
    t1, t2 = time_cutoffs(base["start_ts"])
    return (f"one time-based split, train = sessions starting before {t1}, val in [{t1}, {t2}), "
            f"test from {t2} (70 / 85 % quantiles of start time; a user may be in several "
            "splits, labels are per session); repeats vary only the model seed")


def session_aggregates(data: SequenceData) -> pd.DataFrame:
    """Per-session means of the (standardised) step features over real steps + step count."""
    m = data.mask[..., None]
    mean = (data.x * m).sum(axis=1) / m.sum(axis=1)
    frame = pd.DataFrame(mean, columns=[f"mean_{n}" for n in data.feature_names])
    frame["log_steps"] = np.log1p(data.mask.sum(axis=1))
    return frame


def interval_table(rows: list[dict]) -> str:
    """Markdown: every metric's mean [2.5, 97.5 percentile] over repeats, then means of the
    test base rate, n_test, train seconds and inference sequences/s."""
    df = pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])
    head = "| model | " + " | ".join(f"{m} mean [95% interval]" for m in METRICS) + \
        " | test base rate | n_test | train s | infer seq/s | repeats |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, g in df.groupby("model", sort=False):
        cells = [f"{g[m].mean():.3f} [{np.nanpercentile(g[m], 2.5):.3f}, "
                 f"{np.nanpercentile(g[m], 97.5):.3f}]" for m in METRICS]
        lines.append(f"| {name} | " + " | ".join(cells) +
                     f" | {g['base_rate'].mean():.3f} | {g['n'].mean():.0f} | "
                     f"{g['train_s'].mean():.1f} | {g['infer_seq_s'].mean():,.0f} | {len(g)} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- (e) e-shop pretraining
def eshop_sequences(max_len: int, seed: int) -> tuple[SequenceData, np.ndarray, np.ndarray]:
    """Click sequences (session = sequence; first ``max_len`` clicks... kept: the last ones),
    session-level split (seeded 70/15/15) and the target: session country is Poland."""
    raw = load_eshop_clickstream().sort_values(["session ID", "order"], kind="stable")
    onehot = {col: pd.get_dummies(raw[col].astype(int), prefix=col, dtype=float)
              for col in ("location", "page", "page 1 (main category)", "colour")}
    groups_cols = {
        "behaviour": [*onehot["location"].columns, *onehot["page"].columns],
        "product": [*onehot["page 1 (main category)"].columns, *onehot["colour"].columns,
                    "log_price", "price_above_category_mean", "model_profile_photo"],
        "time": ["log_click_index", "weekday_sin", "weekday_cos"],
    }
    day = pd.to_datetime(raw[["year", "month", "day"]])
    feats = pd.concat([*onehot.values()], axis=1).assign(
        log_price=np.log1p(raw["price"]), price_above_category_mean=(raw["price 2"] == 1) * 1.0,
        model_profile_photo=(raw["model photography"] == 2) * 1.0,
        log_click_index=np.log1p(raw["order"]),
        weekday_sin=np.sin(2 * np.pi * day.dt.day_of_week / 7),
        weekday_cos=np.cos(2 * np.pi * day.dt.day_of_week / 7))
    names = [c for g in groups_cols.values() for c in g]
    sessions, example = np.unique(raw["session ID"].to_numpy(), return_inverse=True)
    x, mask = pad_last(example, feats[names].to_numpy(np.float32), len(sessions), max_len)
    rng = np.random.default_rng(seed)
    cut = rng.random(len(sessions))
    split = np.where(cut < 0.70, "train", np.where(cut < 0.85, "val", "test"))
    x, _, _ = standardise(x, mask, split == "train")
    poland = (raw.groupby("session ID", sort=True)["country"].first() == 29).to_numpy(int)
    pos, groups = 0, {}
    for g, cols in groups_cols.items():
        groups[g] = list(range(pos, pos + len(cols)))
        pos += len(cols)
    data = SequenceData(x=x, mask=mask, context=np.zeros((len(sessions), 1), np.float32),
                        y=poland.astype(np.float32), feature_names=[str(n) for n in names],
                        context_names=["no_context"], groups=groups,
                        keys=pd.DataFrame({"session_id": sessions}))
    return data, split, poland


def next_event_mse(pred: np.ndarray, data: SequenceData) -> float:
    """MSE of predictions (N, T-1, F) of x_{t+1} over real (t, t+1) pairs."""
    pair = (data.mask[:, :-1] & data.mask[:, 1:])[..., None]
    return float((((pred - data.x[:, 1:]) ** 2) * pair).sum() / (pair.sum() * data.x.shape[2]))


def hidden_states(tm, data: SequenceData) -> np.ndarray:
    x, mask, ctx = tm.tensors(data)
    with torch.no_grad():
        return torch.cat([tm.model.hidden_states(x[i:i + 2048], mask[i:i + 2048],
                                                 ctx[i:i + 2048])
                          for i in range(0, len(x), 2048)]).numpy()


def refit_decoder_mse(tm, train: SequenceData, test: SequenceData) -> float:
    """pretrain_next_event keeps no decoder, so a linear decoder (ridge 1e-3) is refit on the
    frozen train hidden states and scored on test."""
    def pairs(d):
        h = hidden_states(tm, d)[:, :-1]
        keep = d.mask[:, :-1] & d.mask[:, 1:]
        return np.c_[h[keep], np.ones(keep.sum())], d.x[:, 1:][keep]
    H, Y = pairs(train)
    W = np.linalg.solve(H.T @ H + 1e-3 * np.eye(H.shape[1]), H.T @ Y)
    Ht, Yt = pairs(test)
    return float(((Ht @ W - Yt) ** 2).mean())


def probe_auc(Xtr, ytr, Xte, yte, seed: int) -> float:
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    return float(roc_auc_score(yte, clf.fit(Xtr, ytr).predict_proba(Xte)[:, 1]))


def eshop_task(s: Settings, models: tuple[str, ...] = SEQ) -> None:
    """Pretrain every sequence model on next-click; test-set MSE and embedding probe only
    (validation MSE picks the epoch, so it is not reported beside test numbers)."""
    rows = []
    for seed in range(s.seeds):
        data, split, poland = eshop_sequences(32, seed)
        tr, va, te = (data.subset(split == k) for k in ("train", "val", "test"))
        if seed == 0:
            s.say(f"data: eshop_clickstream, {len(data)} sessions (= sequences, last 32 clicks),"
                  f" F={data.x.shape[2]}; split by session 70/15/15 (seeded, "
                  f"{len(tr)}/{len(va)}/{len(te)}); probe target: country = Poland (base rate "
                  f"{poland[split == 'test'].mean():.3f} on test)")
        pair_tr = (tr.mask[:, :-1] & tr.mask[:, 1:])
        mean_next = tr.x[:, 1:][pair_tr].mean(axis=0)
        rows.append({"model": "predict the train mean", "seed": seed,
                     "test_mse": next_event_mse(np.broadcast_to(mean_next, te.x[:, 1:].shape), te)})
        rows.append({"model": "repeat the last click", "seed": seed,
                     "test_mse": next_event_mse(te.x[:, :-1], te)})
        agg = session_aggregates(tr), session_aggregates(te)
        rows.append({"model": "aggregates (no model)", "seed": seed,
                     "probe_auc_poland": probe_auc(agg[0], tr.y, agg[1], te.y, seed)})
        for name in models:
            cfg = PretrainConfig(model={"hidden": s.hidden}, max_epochs=s.max_epochs,
                                 patience=3, seed=seed)
            torch.set_num_threads(s.threads)
            tm = pretrain_next_event(name, tr, va, cfg)
            t0 = time.perf_counter()
            emb_te = tm.embed(te)
            rate = len(te) / (time.perf_counter() - t0)
            rows.append({"model": name, "seed": seed, "test_mse": refit_decoder_mse(tm, tr, te),
                         "probe_auc_poland": probe_auc(tm.embed(tr), tr.y, emb_te, te.y, seed),
                         "train_s": tm.train_seconds, "epochs": len(tm.history),
                         "infer_seq_s": rate})
    df = pd.DataFrame(rows)
    out = df.drop(columns="seed").groupby("model", sort=False).agg(["mean", "std"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    s.say(markdown(out.reset_index()))
    s.say("test_mse: next-click MSE on standardised features (model: linear decoder refit on "
          "train hidden states); probe_auc_poland: logistic probe ROC-AUC on test")
    s.say(s.line().replace(f"patience={s.patience}", "patience=3"))
    s.say()


# ---------------------------------------------------------------- entry point
TASKS = {"a": "(a) online_retail: repurchase within 90 days",
         "b": "(b) online_shoppers: session conversion (tabular)",
         "c": "(c) dunnhumby: purchase in the next 28 days (4 weeks)",
         "c2": "(c2) dunnhumby: coupon redemption in a received campaign",
         "d": "(d) rees46: cart session purchased vs abandoned",
         "e": "(e) eshop_clickstream: next-click pretraining and embeddings"}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="all", choices=[*TASKS, "all"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--max-epochs", type=int, default=100)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--ablation-seeds", type=int, default=None, help="default: --seeds")
    ap.add_argument("--rees-repeats", type=int, default=20)
    ap.add_argument("--rees-split", default="time", choices=["time", "user"],
                    help="(d): split cart sessions by start time (default) or by user")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="also write the tables (markdown) here")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    s = Settings(a.seeds, a.max_epochs, a.patience, a.hidden, a.threads,
                 a.ablation_seeds or a.seeds, a.rees_repeats, a.rees_split)
    command = "python benchmarks/models.py " + " ".join(argv if argv is not None else sys.argv[1:])
    s.say(f"# Model benchmark\n\n`{command}` — {dt.datetime.now():%Y-%m-%d %H:%M}\n")
    run = {"a": lambda: repurchase_task("online_retail", s, False), "b": lambda: shoppers_task(s),
           "c": lambda: repurchase_task("dunnhumby", s, True),
           "c2": lambda: coupon_task(s), "d": lambda: rees_task(s),
           "e": lambda: eshop_task(s)}
    for key in (TASKS if a.task == "all" else [a.task]):
        s.say(f"## {TASKS[key]}\n")
        t0 = time.perf_counter()
        run[key]()
        s.say(f"task wall time: {time.perf_counter() - t0:.0f} s\n")
        if a.out:  # after every task, so a long run keeps what it has; creates the folder
            write_text(Path(a.out), "\n".join(s.out) + "\n")


if __name__ == "__main__":
    main()
