"""Fidelity report: every published statistic next to its synthetic value."""

from necml.fidelity._conflicts import Residual, model_residuals
from necml.fidelity._report import (
    FidelityReport,
    build_fidelity_report,
    render_markdown,
    write_report,
)
from necml.fidelity._stats import FidelityRow, cohort_rows

__all__ = [
    "FidelityReport",
    "FidelityRow",
    "Residual",
    "build_fidelity_report",
    "cohort_rows",
    "model_residuals",
    "render_markdown",
    "write_report",
]
