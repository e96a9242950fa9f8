"""Fitting a model of the zoo, with optional Optuna tuning on the training data only.

Tuning is nested: it sees only the data it is given (an outer training fold or a bootstrap
sample), scores each trial by Harrell's C over an inner stratified K-fold split, counting only
pairs inside an inner test fold, summed over folds (the estimator the outer validation reports;
a mean of per-fold C weights a fold of 3 comparable pairs like one of 300), runs
trials sequentially with a seeded TPE sampler (see :mod:`necml.evaluation.tuning._studies`), so a fixed
seed gives identical results, and refits the best parameters on all the data it was given. With a
durable :class:`StudyStore` every resample's study is kept, and an interrupted tuning resumes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from necml.dataset import SurvivalData
from necml.evaluation.metrics._concordance import concordance_counts
from necml.evaluation.tuning._studies import StudyStore, open_study, run_trials, trials_table
from necml.models import ModelConfig, make_model
from necml.random import child_seed, int_seed

__all__ = ["FitResult", "ModelPlan", "fit_model", "fit_quietly", "tuning_objective"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelPlan:
    """A model to evaluate: its config (fixed parameters, search space) and tuning budget."""

    name: str
    config: ModelConfig
    n_trials: int = 0
    inner_folds: int = 3
    store: StudyStore = field(default_factory=StudyStore)


@dataclass(slots=True, kw_only=True)
class FitResult:
    """A fitted pipeline, the parameters it used, and what happened on the way."""

    model: Pipeline | None
    params: dict[str, object]
    best_inner_c: float = float("nan")
    notes: list[str] = field(default_factory=list)
    trials: pd.DataFrame = field(default_factory=pd.DataFrame)


def fit_quietly(model: Pipeline, data: SurvivalData) -> tuple[Pipeline, list[str]]:
    """Fit, returning the fit's warnings as messages instead of emitting them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(data.X, data.y)
    return model, sorted(
        {f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught}
    )


_FIT_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError)


def _inner_c(
    plan: ModelPlan, data: SurvivalData, params: dict, seed: np.random.SeedSequence
) -> float:
    split = StratifiedKFold(
        plan.inner_folds, shuffle=True, random_state=int_seed(child_seed(seed, "inner"))
    )
    agree, comparable = 0.0, 0.0
    for train, test in split.split(data.X, data.event):
        model = make_model(
            plan.name, data.X, data.types, params=params, random_state=int_seed(seed)
        )
        fit_quietly(model, data.subset(train))
        counts = concordance_counts(data.time[test], data.event[test], model.predict(data.X.iloc[test]))
        agree += counts[0] + 0.5 * counts[1]
        comparable += counts[2]
    return agree / comparable if comparable > 0 else float("nan")


def tuning_objective(
    plan: ModelPlan, data: SurvivalData, seed: np.random.SeedSequence
) -> Callable[[optuna.Trial], float]:
    """The objective a trial maximises: inner-CV Harrell C (pairs within inner folds) of the parameters.

    A failed fit or an undefined C prunes the trial (it counts as finished, not as a failure).
    """

    def objective(trial: optuna.Trial) -> float:
        params = plan.config.suggest(trial)
        try:
            value = _inner_c(plan, data, params, child_seed(seed, "trial"))
        except _FIT_ERRORS as exc:
            raise optuna.TrialPruned(f"fit failed: {exc}") from None
        if not np.isfinite(value):
            raise optuna.TrialPruned("inner C undefined")
        return value

    return objective


def _tune(
    plan: ModelPlan, data: SurvivalData, seed: np.random.SeedSequence, study_name: str
) -> tuple[dict, float, list[str], pd.DataFrame]:
    objective = tuning_objective(plan, data, seed)
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = open_study(plan.store, f"{plan.name}/{study_name}", seed)
        run_trials(study, objective, plan.n_trials, seed)
    finally:
        optuna.logging.set_verbosity(previous)
    table = trials_table(study)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    notes = (
        [f"{len(finished) - len(complete)} of {len(finished)} trials failed"]
        if len(complete) < len(finished)
        else []
    )
    if not complete:
        return (
            plan.config.untuned,
            float("nan"),
            [*notes, "no trial completed: untuned parameters used"],
            table,
        )
    return {**plan.config.fixed, **study.best_params}, float(study.best_value), notes, table


def fit_model(
    plan: ModelPlan, data: SurvivalData, seed: np.random.SeedSequence, *, study: str = "fit"
) -> FitResult:
    """Tune (when ``plan.n_trials > 0``) and fit ``plan``'s model on ``data``.

    Parameters
    ----------
    plan : ModelPlan
    data : SurvivalData
        Training data; nothing else is seen.
    seed : numpy.random.SeedSequence
        Seeds the sampler, the inner split and the estimator.
    study : str, default="fit"
        Name of the tuning study within ``plan.store`` (after ``<prefix><model>/``), e.g. ``r0f3``.

    Returns
    -------
    FitResult
        ``model`` is None when the final fit failed (the reason is in ``notes``).
    """
    params, best, notes, trials = plan.config.untuned, float("nan"), [], pd.DataFrame()
    if plan.n_trials > 0 and plan.config.search:
        params, best, notes, trials = _tune(plan, data, seed, study)
    model = make_model(
        plan.name, data.X, data.types, params=params, random_state=int_seed(child_seed(seed, "fit"))
    )
    try:
        model, fit_notes = fit_quietly(model, data)
    except _FIT_ERRORS as exc:
        return FitResult(
            model=None,
            params=params,
            best_inner_c=best,
            notes=[*notes, f"fit failed: {exc}"],
            trials=trials,
        )
    return FitResult(
        model=model, params=params, best_inner_c=best, notes=[*notes, *fit_notes], trials=trials
    )
