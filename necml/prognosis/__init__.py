"""Stage 4a: the papers' prognostic analysis (Kaplan-Meier, log-rank, Cox), done right."""

from typing import TYPE_CHECKING

from necml._lazy import lazy_exports

if TYPE_CHECKING:
    from necml.prognosis._analysis import (
        PrognosticResult,
        format_p,
        paper_table,
        prognostic_analysis,
        render_markdown,
        write_prognostic,
    )
    from necml.prognosis._cox import COX_COLUMNS, CoxFit, cox_multivariate, cox_univariate, fit_cox
    from necml.prognosis._cox_newton import NewtonCoxFit, fit_cox_newton
    from necml.prognosis._forest import forest_rows, plot_forest
    from necml.prognosis._format import format_hr, p_statement
    from necml.prognosis._km import DEFAULT_LANDMARKS, km_table, logrank_test, numbers_at_risk
    from necml.prognosis._plots import log_hr_axis, plot_km, save_figure
    from necml.prognosis._schoenfeld import PH_ALPHA, ph_violations, plot_schoenfeld, scaled_schoenfeld

__all__ = [
    "NewtonCoxFit",
    "fit_cox_newton",
    "COX_COLUMNS",
    "PH_ALPHA",
    "forest_rows",
    "format_hr",
    "log_hr_axis",
    "p_statement",
    "ph_violations",
    "plot_schoenfeld",
    "save_figure",
    "scaled_schoenfeld",
    "DEFAULT_LANDMARKS",
    "CoxFit",
    "PrognosticResult",
    "cox_multivariate",
    "cox_univariate",
    "fit_cox",
    "format_p",
    "km_table",
    "logrank_test",
    "numbers_at_risk",
    "paper_table",
    "plot_forest",
    "plot_km",
    "prognostic_analysis",
    "render_markdown",
    "write_prognostic",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
