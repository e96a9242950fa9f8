"""Metrics of survival predictions, each with its stated definition (``docs/conventions.md``)."""

from typing import TYPE_CHECKING

from necml._lazy import lazy_exports

if TYPE_CHECKING:
    from necml.evaluation.metrics._auc import cumulative_dynamic_auc_at, cumulative_dynamic_auc_counts
    from necml.evaluation.metrics._brier import brier_losses, brier_scores, integrated_brier_score
    from necml.evaluation.metrics._calibration import (
        CalibrationCurve,
        calibration_curve,
        calibration_slope_intercept,
        calibration_table,
        draw_calibration,
        harrell_knots,
        plot_calibration,
    )
    from necml.evaluation.metrics._concordance import (
        ConcordanceCounts,
        concordance_counts,
        harrell_c,
        uno_c,
        uno_counts,
    )
    from necml.evaluation.metrics._ipcw import CensoringKM
    from necml.evaluation.metrics._metrics import Metrics, MetricSettings, compute_metrics, resolve_settings

__all__ = [
    "CalibrationCurve",
    "CensoringKM",
    "ConcordanceCounts",
    "MetricSettings",
    "Metrics",
    "brier_losses",
    "brier_scores",
    "calibration_curve",
    "calibration_slope_intercept",
    "calibration_table",
    "compute_metrics",
    "concordance_counts",
    "cumulative_dynamic_auc_at",
    "cumulative_dynamic_auc_counts",
    "draw_calibration",
    "harrell_c",
    "harrell_knots",
    "integrated_brier_score",
    "plot_calibration",
    "resolve_settings",
    "uno_c",
    "uno_counts",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
