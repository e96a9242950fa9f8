"""Saving and loading fitted models in skops' format (no arbitrary code runs on load)."""

from __future__ import annotations

from pathlib import Path

from sklearn.pipeline import Pipeline

__all__ = ["SKOPS_TRUSTED_TYPES", "load_model", "save_model"]

#: Types necml's fitted pipelines contain beyond skops' defaults; loading trusts these only.
SKOPS_TRUSTED_TYPES = [
    "necml.models._coxph.CoxPHSurvival",
    "necml.models._preprocess._as_text",
    "necml.models._xgb.XGBAFTSurvival",
    "necml.models._xgb.XGBCoxSurvival",
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sksurv.ensemble.boosting.GradientBoostingSurvivalAnalysis",
    "sksurv.ensemble.forest.RandomSurvivalForest",
    "sksurv.ensemble.survival_loss.CoxPH",
    "sksurv.functions.StepFunction",
    "sksurv.linear_model.coxnet.CoxnetSurvivalAnalysis",
    "sksurv.linear_model.coxph.BreslowEstimator",
    "sksurv.linear_model.coxph.CoxPHSurvivalAnalysis",
    "sksurv.tree.tree.SurvivalTree",
    "xgboost.core.Booster",
]


def save_model(model: Pipeline, path: str | Path) -> Path:
    """Write a fitted pipeline to ``path`` (``.skops``)."""
    import skops.io

    skops.io.dump(model, path)
    return Path(path)


def load_model(path: str | Path) -> Pipeline:
    """Load a pipeline written by :func:`save_model`, trusting only :data:`SKOPS_TRUSTED_TYPES`.

    Raises
    ------
    skops.io.exceptions.UntrustedTypesFoundException
        When the file contains any other type.
    """
    import skops.io

    return skops.io.load(path, trusted=SKOPS_TRUSTED_TYPES)
