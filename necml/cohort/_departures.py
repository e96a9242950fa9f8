"""The specification's departures (:mod:`necml.spec._departures`) in the linear predictor.

The generator's linear predictor is the sum of the specification's effects (minus those a
``nonlinear`` departure replaces), the treatment log-HRs, and the contributions below. The
*treatment part* of a patient's predictor (the arm's log-HR and its interactions) is what a
``delayed_effect`` switches off before the delay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from necml.cohort._terms import term_values
from necml.exceptions import SpecError
from necml.spec import CohortSpec, DelayedEffect, NonlinearEffect, TreatmentInteraction

if TYPE_CHECKING:
    from necml.cohort._model import CohortModel

__all__ = [
    "delays",
    "interaction_predictor",
    "nonlinear_predictor",
    "nonlinear_scaling",
    "replaced_variables",
]

FloatArray = NDArray[np.float64]


def replaced_variables(spec: CohortSpec, endpoint: str) -> set[str]:
    """Variables whose effects on ``endpoint`` a ``nonlinear`` departure replaces."""
    return {d.variable for d in spec.departures if isinstance(d, NonlinearEffect) and endpoint in d.endpoints}


def delays(spec: CohortSpec, endpoint: str) -> dict[str, float]:
    """Arm -> delay in months of that arm's treatment effect on ``endpoint``."""
    return {d.arm: d.delay for d in spec.departures if isinstance(d, DelayedEffect) and endpoint in d.endpoints}


def _values(frame: pd.DataFrame, variable: str) -> FloatArray:
    return pd.to_numeric(frame[variable], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _scaled_input(frame: pd.DataFrame, dep: NonlinearEffect) -> FloatArray:
    x = _values(frame, dep.variable)
    if not dep.log:
        return x
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x)


def nonlinear_scaling(spec: CohortSpec, calibration: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Centre and scale (mean, SD) of each ``nonlinear`` variable in the calibration sample.

    Raises
    ------
    SpecError
        If a log-scale variable has values <= 0, or a variable does not vary.
    """
    out: dict[str, tuple[float, float]] = {}
    for i, dep in enumerate(spec.departures):
        if not isinstance(dep, NonlinearEffect):
            continue
        if dep.log and (_values(calibration, dep.variable) <= 0).any():
            raise SpecError(f"{spec.name}: departures.{i}.log: {dep.variable!r} takes values <= 0; set `log: false`")
        x = _scaled_input(calibration, dep)
        x = x[np.isfinite(x)]
        if len(x) < 2 or np.std(x) == 0:
            raise SpecError(f"{spec.name}: departures.{i}.variable: {dep.variable!r} does not vary")
        out[dep.variable] = (float(np.mean(x)), float(np.std(x)))
    return out


def nonlinear_predictor(frame: pd.DataFrame, model: CohortModel, endpoint: str) -> FloatArray:
    """Sum of the ``nonlinear`` contributions to the log hazard of ``endpoint``."""
    eta = np.zeros(len(frame))
    for dep in model.spec.departures:
        if endpoint in dep.endpoints and isinstance(dep, NonlinearEffect):
            centre, scale = model.nonlinear_scaling[dep.variable]
            z = (_scaled_input(frame, dep) - centre) / scale
            eta += dep.log_hr * np.nan_to_num(z**2, nan=0.0)
    return eta


def interaction_predictor(frame: pd.DataFrame, spec: CohortSpec, endpoint: str) -> FloatArray:
    """Sum of the treatment ``interaction`` contributions (part of the treatment effect)."""
    eta = np.zeros(len(frame))
    for dep in spec.departures:
        if endpoint in dep.endpoints and isinstance(dep, TreatmentInteraction):
            eta += _interaction(frame, spec, dep)
    return eta


def _interaction(frame: pd.DataFrame, spec: CohortSpec, dep: TreatmentInteraction) -> FloatArray:
    in_arm = frame["arm"].astype(str).to_numpy() == dep.arm
    has_term = np.nan_to_num(term_values(frame, dep.term, spec), nan=0.0)
    return np.log(dep.hr) * has_term * in_arm
