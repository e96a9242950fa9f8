"""Small-sample validation: resampling protocols and the intervals around their estimates."""

from typing import TYPE_CHECKING

from necml._lazy import lazy_exports

if TYPE_CHECKING:
    from necml.evaluation.validation._intervals import INTERVAL, bootstrap_draws, metric_table, paired_comparisons
    from necml.evaluation.validation._nested import NESTED_COLUMNS, nested_cv_intervals, patient_losses
    from necml.evaluation.validation._pooling import is_rank_metric, pooled_metrics
    from necml.evaluation.validation._resampling import ValidationResult, ValidationSettings, cv_splits, validate_model

__all__ = [
    "INTERVAL",
    "NESTED_COLUMNS",
    "ValidationResult",
    "ValidationSettings",
    "bootstrap_draws",
    "cv_splits",
    "is_rank_metric",
    "metric_table",
    "nested_cv_intervals",
    "paired_comparisons",
    "patient_losses",
    "pooled_metrics",
    "validate_model",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
