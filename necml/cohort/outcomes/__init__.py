"""The joint PFS/OS model in one place: baselines, illness-death sampling, calibration, limits.

* :mod:`._baselines` — Weibull and piecewise-exponential baseline hazards;
* :mod:`._joint` — the three-transition illness-death model and its sampler;
* :mod:`._paths` — marginal and per-pattern survival on a grid (compiled);
* :mod:`._limit` — the limiting Cox fit (pseudo-true log-HRs);
* :mod:`._targets` — printed medians and landmark rates with their standard errors;
* :mod:`._fit` — the calibration.
"""

from necml.cohort.outcomes._baselines import Baseline, PiecewiseExponential, Weibull
from necml.cohort.outcomes._fit import (
    LIMIT_PER_ARM,
    OutcomeFit,
    Predictors,
    check_targets,
    etas,
    fit_outcomes,
    limits,
    solve_delays,
)
from necml.cohort.outcomes._joint import JointModel, Switch
from necml.cohort.outcomes._limit import cox_limit
from necml.cohort.outcomes._targets import Target, TargetCheck, targets_of

__all__ = [
    "LIMIT_PER_ARM",
    "Baseline",
    "JointModel",
    "OutcomeFit",
    "PiecewiseExponential",
    "Predictors",
    "Switch",
    "Target",
    "TargetCheck",
    "Weibull",
    "check_targets",
    "cox_limit",
    "etas",
    "fit_outcomes",
    "limits",
    "solve_delays",
    "targets_of",
]
