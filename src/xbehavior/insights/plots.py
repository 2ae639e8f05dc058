"""Plotly twins of the headless insights tables (figures are returned, never saved here)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go


def rate_bars(table: pd.DataFrame, key: str, title: str = "") -> go.Figure:
    """Bar per group of a rate table with Wilson error bars, n in hover, base rate dashed."""
    fig = go.Figure(
        go.Bar(
            x=table[key].astype(str),
            y=table["rate"],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": table["ci_high"] - table["rate"],
                "arrayminus": table["rate"] - table["ci_low"],
            },
            customdata=table[["converters", "n"]],
            hovertemplate="%{x}: %{y:.1%} (%{customdata[0]}/%{customdata[1]})<extra></extra>",
        )
    )
    if len(table):  # an empty table (nothing counted) has no base rate to draw
        fig.add_hline(y=float(table["base_rate"].iloc[0]), line_dash="dash",
                      annotation_text="base")
    fig.update_layout(title=title, yaxis_tickformat=".0%", xaxis_title=key)
    return fig


def funnel_figure(table: pd.DataFrame, by: str | None = None) -> go.Figure:
    """Funnel chart (one trace per breakdown value) from ``funnels.funnel`` output."""
    fig = go.Figure()
    groups = table.groupby(by, sort=False) if by else [("all", table)]
    for name, part in groups:
        fig.add_trace(go.Funnel(name=str(name), y=part["step_name"], x=part["n"]))
    return fig


def retention_heatmap(wide: pd.DataFrame, title: str = "Retention") -> go.Figure:
    """Heatmap of a ``cohorts.retention_wide`` pivot (cohort x offset)."""
    fig = go.Figure(
        go.Heatmap(z=wide.to_numpy(), x=list(wide.columns), y=list(wide.index), zmin=0, zmax=1)
    )
    fig.update_layout(title=title, xaxis_title="periods after first purchase")
    return fig


def gain_figure(gain: pd.DataFrame) -> go.Figure:
    """Cumulative gain curve of ``targeting.gain_table`` against the random-targeting line."""
    x = [0.0, *gain["cum_share_targeted"]]
    fig = go.Figure(go.Scatter(x=x, y=[0.0, *gain["cum_gain"]], name="model", mode="lines+markers"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], name="random", line={"dash": "dash"}))
    fig.update_layout(xaxis_title="share targeted", yaxis_title="share of buyers captured")
    return fig
