"""Metrics of survival predictions, each with its stated definition (``docs/conventions.md``)."""

from necml.evaluation.metrics._auc import cumulative_dynamic_auc_at
from necml.evaluation.metrics._brier import brier_scores, integrated_brier_score
from necml.evaluation.metrics._calibration import calibration_table, plot_calibration
from necml.evaluation.metrics._concordance import ConcordanceCounts, concordance_counts, harrell_c, uno_c
from necml.evaluation.metrics._ipcw import CensoringKM
from necml.evaluation.metrics._metrics import Metrics, MetricSettings, compute_metrics

__all__ = [
    "CensoringKM",
    "ConcordanceCounts",
    "MetricSettings",
    "Metrics",
    "brier_scores",
    "calibration_table",
    "compute_metrics",
    "concordance_counts",
    "cumulative_dynamic_auc_at",
    "harrell_c",
    "integrated_brier_score",
    "plot_calibration",
    "uno_c",
]
