"""Hyperparameter tuning: seeded, resumable Optuna studies nested inside each resample."""

from typing import TYPE_CHECKING

from necml._lazy import lazy_exports

if TYPE_CHECKING:
    from necml.evaluation.tuning._studies import (
        TPE_SETTINGS,
        StudyStore,
        open_study,
        run_trials,
        run_worker_trials,
        sampler_description,
        trials_table,
    )
    from necml.evaluation.tuning._tuning import FitResult, ModelPlan, fit_model, fit_quietly, tuning_objective

__all__ = [
    "TPE_SETTINGS",
    "FitResult",
    "ModelPlan",
    "StudyStore",
    "fit_model",
    "fit_quietly",
    "open_study",
    "run_trials",
    "run_worker_trials",
    "sampler_description",
    "trials_table",
    "tuning_objective",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
