"""Drawing for the segments stage, kept apart from the computation: figures are returned,
never saved or shown here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

#: metric column -> (title, colour scale, higher is better)
HEATMAP_METRICS = {
    "silhouette_shared": ("Silhouette (shared behaviour space, higher better)", "Viridis", True),
    "dbi_shared": ("Davies-Bouldin index (shared behaviour space, lower better)", "Viridis", False),
    "ari_rule_based": ("ARI vs rule-based frequent/occasional/window (higher better)",
                       "Viridis", True),
}  # fmt: skip


def metric_heatmap(monthly: pd.DataFrame, metric: str, title: str | None = None) -> go.Figure:
    """Algorithm (rows) x month (columns) heatmap of one metric from ``monthly_metrics``.

    Cells are annotated with the value; undefined cells are blank, their ``note`` on hover.
    For lower-is-better metrics the colour scale is reversed so that "better" looks the same.
    """
    default_title, scale, higher = HEATMAP_METRICS.get(metric, (metric, "Viridis", True))
    grid = monthly.pivot_table(index="algorithm", columns="month", values=metric, aggfunc="first",
                               dropna=False, sort=True)  # fmt: skip
    notes = monthly.pivot_table(index="algorithm", columns="month", values="note",
                                aggfunc="first", dropna=False, sort=True)  # fmt: skip
    notes = notes.reindex(index=grid.index, columns=grid.columns).fillna("")
    z = grid.to_numpy(dtype="float64")
    text = np.where(np.isnan(z), "", np.vectorize(lambda v: f"{v:.2f}", otypes=[object])(z))
    fig = go.Figure(
        go.Heatmap(
            z=z, x=[str(c) for c in grid.columns], y=[str(i) for i in grid.index],
            text=text, texttemplate="%{text}", customdata=notes.to_numpy(dtype=object),
            hovertemplate="%{y} %{x}: %{z:.3f}<br>%{customdata}<extra></extra>",
            colorscale=scale, reversescale=not higher, colorbar={"title": metric},
        )
    )  # fmt: skip
    fig.update_layout(title=title or default_title, xaxis_title="month", yaxis_title="algorithm")
    return fig


def metric_heatmaps(
    monthly: pd.DataFrame, metrics: tuple[str, ...] = tuple(HEATMAP_METRICS)
) -> dict[str, go.Figure]:
    """One heatmap per metric (only metrics present as columns), keyed by metric name."""
    return {m: metric_heatmap(monthly, m) for m in metrics if m in monthly}
