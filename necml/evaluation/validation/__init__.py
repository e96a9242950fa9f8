"""Small-sample validation: resampling protocols and the intervals around their estimates."""

from necml.evaluation.validation._intervals import bootstrap_draws, metric_table, paired_comparisons
from necml.evaluation.validation._resampling import ValidationResult, ValidationSettings, validate_model

__all__ = [
    "ValidationResult",
    "ValidationSettings",
    "bootstrap_draws",
    "metric_table",
    "paired_comparisons",
    "validate_model",
]
