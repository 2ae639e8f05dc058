"""Render a list of sections (text, tables, figures) into one self-contained HTML file.

The report knows nothing of the analyses: earlier stages compute DataFrames and plotly
figures; the pipeline arranges them into ``Section``s. plotly.js is inlined once, so the file
opens offline.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from xbehavior.atomic import write_text


@dataclass
class Section:
    """One report section: a title, paragraphs, tables (caption -> frame) and figures."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[object] = field(default_factory=list)  # plotly figures
    bullets: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "".join(ch if ch.isalnum() else "-" for ch in self.title.lower()).strip("-")


def _table_html(frame: pd.DataFrame, max_rows: int = 60) -> str:
    shown = frame.head(max_rows)
    body = shown.to_html(
        index=False, border=0, classes="tbl", na_rep="–", float_format=lambda v: f"{v:,.4g}"
    )
    if len(frame) > max_rows:
        body += f"<p class='note'>First {max_rows} of {len(frame):,} rows.</p>"
    return body


def _figure_html(figures: list[object], include_js: list[bool]) -> list[str]:
    out = []
    for fig in figures:
        # inline the plotly.js bundle with the first figure only
        out.append(
            fig.to_html(full_html=False, include_plotlyjs=not include_js[0], default_width="100%")
        )
        include_js[0] = True
    return out


def render_report(title: str, subtitle: str, sections: list[Section], path: Path) -> Path:
    """Write the report to ``path`` atomically and return the path."""
    env = Environment(
        loader=PackageLoader("xbehavior.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    js_done = [False]
    rendered = [
        {
            "title": s.title,
            "anchor": s.anchor,
            "paragraphs": s.paragraphs,
            "bullets": s.bullets,
            "tables": [(cap, _table_html(df)) for cap, df in s.tables],
            "figures": _figure_html(s.figures, js_done),
        }
        for s in sections
    ]
    page = env.get_template("report.html.j2").render(
        title=html.unescape(title), subtitle=subtitle, sections=rendered
    )
    write_text(Path(path), page)
    return Path(path)
