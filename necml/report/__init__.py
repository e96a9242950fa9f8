"""Stage 6b: one self-contained HTML page per run (pipeline, prognostic, study), for reading and review."""

from necml.report._html import MAX_ROWS, REPORT_FILE, flatten_provenance, render_html, write_html_report

__all__ = ["MAX_ROWS", "REPORT_FILE", "flatten_provenance", "render_html", "write_html_report"]
