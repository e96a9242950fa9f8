"""Fidelity report: every published statistic next to its synthetic value."""

from typing import TYPE_CHECKING

from necml._lazy import lazy_exports

if TYPE_CHECKING:
    from necml.fidelity._conflicts import Residual, model_residuals
    from necml.fidelity._km import km_fidelity, reconstructed_ipd, write_km_fidelity
    from necml.fidelity._plots import plot_fidelity_dots, plot_km_against_published
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
    "km_fidelity",
    "model_residuals",
    "plot_fidelity_dots",
    "plot_km_against_published",
    "reconstructed_ipd",
    "render_markdown",
    "write_km_fidelity",
    "write_report",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
