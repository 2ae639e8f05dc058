"""Arrange the main job's tables and figures into report sections (no computation here)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from xbehavior.config import RunConfig
from xbehavior.insights.findings import findings_frame, shown_findings
from xbehavior.insights.plots import gain_figure, rate_bars
from xbehavior.insights.stats import shown
from xbehavior.jobs.analysis import Analysis
from xbehavior.jobs.data_prep import PreparedData
from xbehavior.jobs.modelling import ModelResult, metrics_table
from xbehavior.report import Section, render_report
from xbehavior.segments.plots import metric_heatmaps


def build_report(
    path: Path, cfg: RunConfig, data: PreparedData, results: list[ModelResult],
    analysis: Analysis, metrics: dict[str, object],
) -> None:
    horizon = data.plan.horizon_days
    sections = [
        _findings(analysis),
        _data_section(data),
        _models_section(results, horizon),
        _importance_section(analysis),
        _segments_section(analysis),
        _targeting_section(analysis),
    ]
    subtitle = (
        f"Dataset {cfg.dataset}; task: will a customer purchase again within {horizon} days "
        f"of the cut-off; test cut-off {data.plan.test.date()}; seed {cfg.seed}; "
        f"{metrics['seconds']:.0f} s."
    )
    render_report("xbehavior report", subtitle, sections, path)


def _findings(analysis: Analysis) -> Section:
    frame = findings_frame(analysis.findings)
    bullets = [f.text for f in analysis.findings] or ["No group differed enough to report."]
    cols = [c for c in ("source", "group", "converters", "n", "rate", "ref_group",
                        "ref_converters", "ref_n", "ref_rate", "ratio", "overlap") if c in frame]
    return Section(
        "Findings",
        paragraphs=["The strongest differences in the test period, each with its numerator, "
                    "denominator and 95% Wilson interval; overlapping intervals are flagged."],
        bullets=bullets,
        tables=[("Numbers behind the findings", shown_findings(frame[cols]))]
        if len(frame) else [],
    )


def _data_section(data: PreparedData) -> Section:
    q = data.quality.to_dict()
    dropped = pd.DataFrame(
        [{"reason": k, "rows": v} for k, v in q["dropped_by_reason"].items()]
        + [{"reason": f"kept, flagged: {k}", "rows": v} for k, v in q["kept_but_flagged"].items()]
    )
    splits = (
        data.examples.groupby("split")["label"]
        .agg(examples="size", buyers="sum", base_rate="mean")
        .reindex(["train", "val", "test"]).reset_index()
    )
    cut = data.plan
    return Section(
        "Data and split",
        paragraphs=[
            f"Read {q['rows_read']:,} rows from {q['source']}; kept {q['rows_kept']:,}, "
            f"dropped {q['rows_dropped']:,} (kept + dropped = read).",
            f"Examples are (customer, cut-off) pairs. Train cut-offs "
            f"{', '.join(str(c.date()) for c in cut.train)}; validation {cut.val.date()}; "
            f"test {cut.test.date()}. Each split's label window ends before the next split's "
            "cut-off, so no model sees the test period while training.",
        ],
        tables=[("Rows dropped or flagged, by reason", dropped),
                ("Examples per split (base rate = share who bought again)", splits)],
    )


def _models_section(results: list[ModelResult], horizon: int) -> Section:
    table = metrics_table(results)
    fig = go.Figure(go.Bar(x=table["model"], y=table["roc_auc"], name="ROC-AUC"))
    fig.add_trace(go.Bar(x=table["model"], y=table["pr_auc"], name="PR-AUC"))
    fig.add_hline(y=float(table["base_rate"].iloc[0]), line_dash="dot",
                  annotation_text="base rate (PR-AUC of a constant score)")
    fig.update_layout(barmode="group", title="Test ROC-AUC and PR-AUC", height=380)
    return Section(
        "Models",
        paragraphs=[
            f"All models see the same examples and predict a purchase within {horizon} days. "
            "Sequence models read each customer's last orders step by step; tabular models "
            "read aggregated features of the same history. Thresholds (for F1 and accuracy) "
            "were chosen on validation; every number here is on the held-out test set.",
            "Models are trained with buyers up-weighted, so their raw scores overstate the "
            "odds of buying; each model's scores are then calibrated on the validation split "
            "(Platt scaling; column calibrated). Calibration keeps every ranking, so ROC-AUC "
            "and PR-AUC are unchanged by it; Brier score and log loss judge the calibrated "
            "probabilities, which the audience file and the expected conversions use. Where "
            "the base rate drifts from validation to test (see the split table), calibrated "
            "probabilities carry the validation period's level.",
        ],
        tables=[("Test metrics (one seed; see benchmarks for mean ± std over seeds)", table)],
        figures=[fig],
    )


def _importance_section(analysis: Analysis) -> Section:
    imp = analysis.importance
    if imp.table.empty:
        return Section("Feature importance", paragraphs=[
            "Skipped: no model other than base_rate was trained."])
    views = imp.views
    tables = [(f"{title}, with ranks (1 = most important)", views[key])
              for key, title in _IMPORTANCE_TITLES.items() if not views[key].empty]
    shap = imp.table[imp.table["method"] == "tree_shap"]
    if len(shap):
        tables.append(("LightGBM TreeSHAP: mean |SHAP| and mean signed SHAP (log-odds; > 0 "
                       "pushes towards purchase)",
                       shap[["feature", "importance_mean", "mean_signed", "n"]]))
    figures = []
    if not imp.comparison.empty:
        tables.insert(0, ("LSTM vs XLSTM (paper) permutation importance, with ranks",
                          imp.comparison))
        figures.append(_comparison_figure(imp.comparison))
    return Section(
        "Feature importance",
        paragraphs=[
            "The paper compares what drives purchase under LSTM and under its XLSTM. Permutation "
            "importance (every model): each step feature (all steps at once), context feature "
            "or tabular column is shuffled across test customers and the drop in test ROC-AUC "
            "is recorded (mean of 3 shuffles); near-zero or negative: the model does not rely "
            "on it. Integrated gradients (sequence models, captum): mean |attribution| of the "
            f"logit against an all-zero (mean) input, on {imp.ig_examples:,} test customers. "
            "TreeSHAP (LightGBM's own, exact): mean |contribution| to the log-odds. The "
            f"importance step took {imp.seconds:.0f} s.",
        ],
        tables=tables,
        figures=figures,
    )


_IMPORTANCE_TITLES = {
    "permutation_sequence": "Permutation importance (drop in test ROC-AUC), sequence models",
    "permutation_tabular": "Permutation importance (drop in test ROC-AUC), tabular models",
    "integrated_gradients": "Integrated gradients (mean |attribution|, logit), sequence models",
}


def _comparison_figure(table: pd.DataFrame) -> go.Figure:
    models = [c for c in table.columns if c != "feature" and not c.endswith("_rank")]
    top = table.head(15)
    fig = go.Figure([go.Bar(y=top["feature"], x=top[m], name=m, orientation="h")
                     for m in models])
    fig.update_layout(barmode="group", height=520, yaxis_autorange="reversed",
                      title="Permutation importance: drop in test ROC-AUC when a feature is "
                            "shuffled")
    return fig


def _segments_section(analysis: Analysis) -> Section:
    seg = analysis.segmentation
    heatmaps = list(metric_heatmaps(analysis.monthly).values())
    return Section(
        "Segments",
        paragraphs=[
            "Clusterings of the test customers. 'shared' silhouette / DBI are computed in one "
            "space for every method (standardised log-transformed behaviour features); 'own' "
            "in each method's own space (e.g. a model's embedding). ARI 'rule_based' compares "
            "with the paper's frequent / occasional / window-shopper segments by purchases per "
            "month; 'stability' is the mean pairwise ARI across seeds and bootstrap resamples. "
            "Month by month, a month's customers are those with a purchase in it or the two "
            "months before; '<model>+kmeans' embeds them from their orders before the month's "
            "end. Noise points (DBSCAN/HDBSCAN) are excluded from silhouette/DBI.",
        ],
        tables=[
            ("Clustering metrics", seg.metrics),
            ("The paper's segment table on this data", seg.paper_table),
            ("Segment profiles", seg.profiles),
            ("Month by month (each month clustered separately)", analysis.monthly),
        ],
        figures=heatmaps,
    )


def _targeting_section(analysis: Analysis) -> Section:
    return Section(
        "Who to target",
        paragraphs=[
            f"Scores from {analysis.best_model}, the model with the best validation ROC-AUC "
            "(chosen before looking at test figures). Cumulative gain: the "
            "share of all test-period buyers found in the top-scored customers. Expected extra "
            "conversions assume a treatment raises each customer's purchase probability by "
            "10% (relative), an assumption to replace with your A/B-test result.",
        ],
        tables=[
            *[(f"Repurchase by {key.replace('_', ' ')}", shown(table))
              for key, table in analysis.rates.items()],
            ("Share of orders cancelled, by country (history before the test cut-off)",
             shown(analysis.order_returns)),
            ("Cumulative gain and lift by score decile", analysis.gains),
            ("Targeting: segment x country", analysis.targeting),
            ("A/B test plan: customers per arm to detect a relative uplift (alpha 0.05 "
             "two-sided, power 0.8)", analysis.ab_plan),
        ],
        figures=[rate_bars(analysis.rates["country"], "country", "Repurchase rate by country"),
                 gain_figure(analysis.gains)],
    )
