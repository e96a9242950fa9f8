"""Stage 5: metrics with stated definitions, small-sample validation, intervals and tuning.

Three jobs, three subpackages: :mod:`necml.evaluation.metrics` (what a prediction scores),
:mod:`necml.evaluation.validation` (resampling protocols and intervals) and
:mod:`necml.evaluation.tuning` (Optuna studies and journals). The names below are re-exported.
"""

from necml.evaluation.metrics._auc import cumulative_dynamic_auc_at
from necml.evaluation.metrics._brier import brier_scores, integrated_brier_score
from necml.evaluation.metrics._calibration import calibration_table, plot_calibration
from necml.evaluation.metrics._concordance import ConcordanceCounts, concordance_counts, harrell_c, uno_c
from necml.evaluation.metrics._ipcw import CensoringKM
from necml.evaluation.metrics._metrics import Metrics, MetricSettings, compute_metrics
from necml.evaluation.tuning._studies import (
    TPE_SETTINGS,
    StudyStore,
    open_study,
    run_worker_trials,
    sampler_description,
    trials_table,
)
from necml.evaluation.tuning._tuning import FitResult, ModelPlan, fit_model, fit_quietly, tuning_objective
from necml.evaluation.validation._intervals import bootstrap_draws, metric_table, paired_comparisons
from necml.evaluation.validation._resampling import ValidationResult, ValidationSettings, validate_model

__all__ = [
    "CensoringKM",
    "ConcordanceCounts",
    "FitResult",
    "MetricSettings",
    "Metrics",
    "ModelPlan",
    "StudyStore",
    "TPE_SETTINGS",
    "ValidationResult",
    "ValidationSettings",
    "bootstrap_draws",
    "brier_scores",
    "calibration_table",
    "compute_metrics",
    "concordance_counts",
    "cumulative_dynamic_auc_at",
    "fit_model",
    "fit_quietly",
    "harrell_c",
    "integrated_brier_score",
    "metric_table",
    "open_study",
    "paired_comparisons",
    "plot_calibration",
    "run_worker_trials",
    "sampler_description",
    "trials_table",
    "tuning_objective",
    "uno_c",
    "validate_model",
]
