"""The model zoo behind one interface: a name, parameters and the data's types -> a Pipeline."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sksurv.ensemble import GradientBoostingSurvivalAnalysis, RandomSurvivalForest
from sksurv.linear_model import CoxnetSurvivalAnalysis

from necml.dataset import Covariate
from necml.models._coxph import CoxPHSurvival
from necml.models._preprocess import make_preprocessor
from necml.models._xgb import XGBAFTSurvival, XGBCoxSurvival

__all__ = ["MODELS", "make_model", "survival_at"]


def _coxph(params: dict, random_state: int) -> BaseEstimator:
    return CoxPHSurvival(**params)


def _coxnet(params: dict, random_state: int) -> BaseEstimator:
    params = dict(params)
    alpha = params.pop("alpha", 0.05)
    return CoxnetSurvivalAnalysis(alphas=[alpha], fit_baseline_model=True, **params)


def _rsf(params: dict, random_state: int) -> BaseEstimator:
    return RandomSurvivalForest(random_state=random_state, **{"n_jobs": 1, **params})


def _gbs(params: dict, random_state: int) -> BaseEstimator:
    return GradientBoostingSurvivalAnalysis(random_state=random_state, **params)


def _xgb_cox(params: dict, random_state: int) -> BaseEstimator:
    return XGBCoxSurvival(random_state=random_state, **params)


def _xgb_aft(params: dict, random_state: int) -> BaseEstimator:
    return XGBAFTSurvival(random_state=random_state, **params)


#: Model name -> factory(params, random_state). Cox PH is fitted as R's ``coxph`` (Efron ties, NA terms).
MODELS: dict[str, Callable[[dict, int], BaseEstimator]] = {
    "coxph": _coxph,
    "coxnet": _coxnet,
    "rsf": _rsf,
    "gbs": _gbs,
    "xgb_cox": _xgb_cox,
    "xgb_aft": _xgb_aft,
}


def make_model(
    name: str,
    X: pd.DataFrame,
    types: dict[str, Covariate],
    *,
    params: dict | None = None,
    random_state: int = 0,
) -> Pipeline:
    """A preprocessing + survival-estimator pipeline for the model ``name``.

    Parameters
    ----------
    name : str
        One of :data:`MODELS`.
    X : pandas.DataFrame
        Covariates (their categorical levels fix the one-hot columns).
    types : dict
        Covariate name -> type.
    params : dict, optional
        Estimator parameters (for ``coxnet``, ``alpha`` is the single penalty).
    random_state : int, default=0
        Passed to the estimator.

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``fit(X, y)``, ``predict`` (risk, higher = worse), ``predict_survival_function``.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    estimator = MODELS[name](dict(params or {}), int(random_state))
    return Pipeline([("preprocess", make_preprocessor(X, types)), ("model", estimator)])


def survival_at(model: Pipeline, X: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """Predicted survival ``S(t | x)`` at ``times`` for every row: shape ``(len(X), len(times))``.

    Step-function models are evaluated exactly (right-continuous; 1 before their first
    time, their last value after it); the XGBoost AFT model is evaluated in closed form.
    """
    times = np.asarray(times, dtype=float)
    final = model[-1]
    if hasattr(final, "predict_survival_at"):
        return final.predict_survival_at(model[:-1].transform(X), times)
    values = model.predict_survival_function(X, return_array=True)
    index = np.searchsorted(final.unique_times_, times, side="right") - 1
    out = values[:, np.clip(index, 0, None)]
    out[:, index < 0] = 1.0
    return out
