"""Every model on five tasks built from the bundled REAL data; every number on a held-out test set.

(a) online_retail: purchase again within 90 days (rolling cut-offs, test after training), all
    models + the xlstm_paper ablation;
(b) online_shoppers: session conversion, tabular, stratified 70/15/15, with / without PageValues;
(c) dunnhumby: purchase in the next 28 days from basket sequences (coupon share is a step
    feature and an aggregate) + ablation + permutation importance, lstm vs xlstm_paper;
(d) rees46: cart sessions purchased vs abandoned, sequence cut before the first purchase,
    repeated user-disjoint splits with 95 % intervals (small: 118 sessions);
(e) eshop_clickstream: next-click pretraining, test MSE vs baselines, embedding probe.

    python benchmarks/models.py --task a|b|c|d|e|all [--seeds 3] [--max-epochs 100]
        [--patience 8] [--ablation-seeds 3] [--threads 1] [--out benchmarks/results/models.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from xbehavior.config import make_config
from xbehavior.datasets import load_eshop_clickstream, load_online_shoppers
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
    split_by_user,
    standardise,
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


@dataclass
class Settings:
    seeds: int = 3
    max_epochs: int = 100
    patience: int = 8
    hidden: int = 32
    threads: int = 1
    ablation_seeds: int = 3
    rees_repeats: int = 20
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
    rows, models = [], {}
    for seed in range(s.seeds):
        for name in SEQ:
            r = run_sequence(name, *parts.values(), seed, s)
            rows.append({"model": name, "seed": seed, **r})
            models.setdefault(name, r["_model"])
        y = examples["label"].to_numpy()
        rows += [{"model": n, "seed": seed, **run_tabular(n, tab, y, split, seed, s)}
                 for n in TAB]
    s.say(table(rows))
    s.say(s.line())
    s.say()
    ablation(parts, [r for r in rows if r["model"] == "xlstm_paper"], s)
    if importance:
        permutation(models, parts["test"], s)


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
          "repeated user-disjoint stratified 70/15/15 splits, one seed each; interval = "
          "2.5-97.5 percentile over repeats")
    rows = []
    for rep in range(s.rees_repeats):
        ex = base.assign(split=split_by_user(base["user_id"], base["label"].to_numpy(), seed=rep))
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
    s.say(s.line().replace(f"seeds={s.seeds}", f"repeats used={len({r['seed'] for r in rows})}"))
    s.say()


def session_aggregates(data: SequenceData) -> pd.DataFrame:
    """Per-session means of the (standardised) step features over real steps + step count."""
    m = data.mask[..., None]
    mean = (data.x * m).sum(axis=1) / m.sum(axis=1)
    frame = pd.DataFrame(mean, columns=[f"mean_{n}" for n in data.feature_names])
    frame["log_steps"] = np.log1p(data.mask.sum(axis=1))
    return frame


def interval_table(rows: list[dict]) -> str:
    df = pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows])
    head = "| model | " + " | ".join(f"{m} mean [95% interval]" for m in METRICS[:4]) + \
        " | test base rate | n_test | repeats |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, g in df.groupby("model", sort=False):
        cells = [f"{g[m].mean():.3f} [{np.nanpercentile(g[m], 2.5):.3f}, "
                 f"{np.nanpercentile(g[m], 97.5):.3f}]" for m in METRICS[:4]]
        lines.append(f"| {name} | " + " | ".join(cells) +
                     f" | {g['base_rate'].mean():.3f} | {g['n'].mean():.0f} | {len(g)} |")
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
        weekday_sin=np.sin(2 * np.pi * day.dt.dayofweek / 7),
        weekday_cos=np.cos(2 * np.pi * day.dt.dayofweek / 7))
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


def eshop_task(s: Settings, models: tuple[str, ...] = ("lstm", "xlstm_paper")) -> None:
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
                         "best_val_mse": min(h.val_loss for h in tm.history),
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
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="also write the tables (markdown) here")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    s = Settings(a.seeds, a.max_epochs, a.patience, a.hidden, a.threads,
                 a.ablation_seeds or a.seeds, a.rees_repeats)
    command = "python benchmarks/models.py " + " ".join(argv if argv is not None else sys.argv[1:])
    s.say(f"# Model benchmark\n\n`{command}` — {dt.datetime.now():%Y-%m-%d %H:%M}\n")
    run = {"a": lambda: repurchase_task("online_retail", s, False), "b": lambda: shoppers_task(s),
           "c": lambda: repurchase_task("dunnhumby", s, True), "d": lambda: rees_task(s),
           "e": lambda: eshop_task(s)}
    for key in (TASKS if a.task == "all" else [a.task]):
        s.say(f"## {TASKS[key]}\n")
        t0 = time.perf_counter()
        run[key]()
        s.say(f"task wall time: {time.perf_counter() - t0:.0f} s\n")
        if a.out:
            with open(a.out, "w") as fh:
                fh.write("\n".join(s.out) + "\n")


if __name__ == "__main__":
    main()
