"""The methods a replicate runs, each returning rows of estimates.

A row: ``method, estimand, estimate, se, ci_low, ci_high, p, converged, truth, note``.
Cox methods estimate log hazard ratios (Wald 95% CIs, complete cases, the fast Newton fit of
:func:`necml.prognosis.fit_cox_newton`, which equals lifelines' Efron estimate). A ``model``
method estimates the model's C-index by ``folds``-fold stratified CV inside the replicate
(pooled out-of-fold Harrell C, and the IBS); its truth is the C-index of the same model fitted
on the whole replicate and evaluated on a large independent sample of the same mechanism.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from necml.dataset import Covariate, SurvivalData
from necml.prognosis import fit_cox_newton
from necml.random import child_seed
from necml.simulation._config import MethodConfig, StudyConfig
from necml.simulation._mechanism import Mechanism, Scenario, truth_sample

__all__ = ["ROW_COLUMNS", "run_method"]

ROW_COLUMNS = ["method", "estimand", "estimate", "se", "ci_low", "ci_high", "p", "converged", "truth", "note"]


def _row(method: str, estimand: str, **values: object) -> dict[str, object]:
    base = dict.fromkeys(ROW_COLUMNS, float("nan")) | {"converged": True, "note": ""}
    return base | {"method": method, "estimand": estimand, **values}


def _cox_rows(
    name: str, X: pd.DataFrame, time: np.ndarray, event: np.ndarray, mech: Mechanism, penalizer: float
) -> list[dict[str, object]]:
    keep = X.notna().all(axis=1).to_numpy()
    fit = fit_cox_newton(X.to_numpy(float)[keep], time[keep], event[keep], penalizer=penalizer)
    low, high = fit.ci
    reasons = fit.reason or ("",) * len(X.columns)
    if not fit.converged and not any(reasons):
        reasons = ("not converged (separation or singular information)",) * len(X.columns)
    return [
        _row(
            name,
            term,
            estimate=fit.coef[j],
            se=fit.se[j],
            ci_low=low[j],
            ci_high=high[j],
            p=fit.p[j],
            converged=fit.converged,
            truth=mech.truth[term],
            note=reasons[j],
        )
        for j, term in enumerate(X.columns)
    ]


def _cox(method: MethodConfig, frame: pd.DataFrame, mech: Mechanism, **_: object) -> list[dict[str, object]]:
    time, event = mech.survival(frame)
    return _cox_rows(method.name, mech.design(frame, method.terms), time, event, mech, method.penalizer)


def _cox_univariate(method: MethodConfig, frame: pd.DataFrame, mech: Mechanism, **_: object) -> list[dict[str, object]]:
    time, event = mech.survival(frame)
    X = mech.design(frame, method.terms)
    return [row for term in X.columns for row in _cox_rows(method.name, X[[term]], time, event, mech, method.penalizer)]


def _survival_data(X: pd.DataFrame, time: np.ndarray, event: np.ndarray) -> SurvivalData:
    types = {c: Covariate(type="binary" if set(X[c].dropna().unique()) <= {0.0, 1.0} else "continuous") for c in X}
    return SurvivalData(X=X.reset_index(drop=True), time=time, event=event, types=types, endpoint="sim", source="sim")


def _model(
    method: MethodConfig,
    frame: pd.DataFrame,
    mech: Mechanism,
    *,
    study: StudyConfig,
    scenario: Scenario,
    seed: np.random.SeedSequence,
) -> list[dict[str, object]]:
    # imported here: a Cox-only study's workers never load scikit-learn, XGBoost or Optuna
    from necml.evaluation import MetricSettings, ModelPlan, ValidationSettings, fit_model, harrell_c, validate_model
    from necml.models import load_model_config

    config = load_model_config(method.config or "")
    plan = ModelPlan(name=config.model, config=config, n_trials=method.n_trials)
    time, event = mech.survival(frame)
    data = _survival_data(mech.design(frame, method.terms), time, event)
    metrics = MetricSettings(
        landmarks=tuple(study.landmarks), tau=study.tau, grid_start=1.0, grid_stop=max(study.landmarks), grid_points=12
    )
    settings = ValidationSettings(scheme="cv", folds=method.folds, repeats=1, metrics=metrics)
    with warnings.catch_warnings(record=True) as caught:  # e.g. few censored patients for stratified folds
        warnings.simplefilter("always")
        try:
            result = validate_model(plan, data, settings, child_seed(seed, "validate"))
        except ValueError as exc:
            return [_row(method.name, "cindex_harrell", converged=False, note=f"validation failed: {exc}")]
    note = "; ".join(sorted({str(w.message).splitlines()[0] for w in caught}))
    estimates = dict(zip(result.estimates["metric"], result.estimates["value"], strict=True))
    big = truth_sample(study.data, scenario, study.data.true_c_n, study.seed)
    true_c = float("nan")
    final = result.final if result.final is not None else fit_model(plan, data, child_seed(seed, "final"))
    if final.model is not None:
        big_time, big_event = mech.survival(big)
        true_c = harrell_c(big_time, big_event, final.model.predict(mech.design(big, method.terms)))
    return [
        _row(
            method.name,
            "cindex_harrell",
            estimate=estimates.get("cindex_harrell", np.nan),
            truth=true_c,
            converged=final.model is not None,
            note=note,
        ),
        _row(method.name, "ibs", estimate=estimates.get("ibs", np.nan), converged=final.model is not None),
    ]


def _python(
    method: MethodConfig, frame: pd.DataFrame, mech: Mechanism, *, seed: np.random.SeedSequence, **_: object
) -> list[dict[str, object]]:
    module, function = (method.callable or ":").split(":", 1)
    found: Callable = getattr(importlib.import_module(module), function)
    return [_row(method.name, **row) for row in found(frame, mech, seed)]


_KINDS = {"cox": _cox, "cox_univariate": _cox_univariate, "model": _model, "python": _python}


def run_method(
    method: MethodConfig, frame: pd.DataFrame, mech: Mechanism, **context: object
) -> list[dict[str, object]]:
    """Rows of one method on one replicate's cohort (see the module docstring)."""
    return _KINDS[method.kind](method, frame, mech, **context)
