"""Stage 6b: one self-contained HTML page per run (pipeline, prognostic, study), for reading and review."""

from typing import TYPE_CHECKING

from necml._lazy import lazy_exports

if TYPE_CHECKING:
    from necml.report._html import MAX_ROWS, REPORT_FILE, flatten_provenance, render_html, write_html_report

__all__ = ["MAX_ROWS", "REPORT_FILE", "flatten_provenance", "render_html", "write_html_report"]

__getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
