"""Stage 6, report: one self-contained HTML file from computed tables and figures."""

from xbehavior.report.html import Section, render_report

__all__ = ["Section", "render_report"]
