"""Each patient's linear predictors in the joint model, from a cohort's columns.

One function for the calibration sample and for every generated chunk, so the mechanism that
was calibrated is the one that draws: the PFS predictor (the spec's PFS effects, the arm's
treatment log-HR, the departures), the post-progression design (the OS terms and one
indicator per experimental arm, whose log-HRs ``b`` the calibration solves) and offset (the
OS departures), the treatment parts a delayed effect switches off, and the switch times.
A missing value of a term contributes 0 (its reference level).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from necml.cohort._departures import delays, interaction_predictor, nonlinear_predictor, replaced_variables
from necml.cohort._terms import term_values
from necml.cohort.outcomes import Predictors
from necml.cohort.outcomes._rowwise import linear

if TYPE_CHECKING:
    from necml.cohort._model import CohortModel

__all__ = ["analysis_design", "post_names", "predictors"]


def post_names(model: CohortModel) -> list[str]:
    """Columns of the post-progression design: the OS terms, then ``arm_<name>`` per experimental arm."""
    spec = model.spec
    return [e.term.name for e in spec.outcomes["os"].effects] + [f"arm_{a}" for a in spec.arm_names[1:]]


def _terms(frame: pd.DataFrame, model: CohortModel, endpoint: str, cache: dict) -> NDArray[np.float64]:
    cols = []
    for e in model.spec.outcomes[endpoint].effects:
        if e.term not in cache:
            cache[e.term] = term_values(frame, e.term, model.spec)
        cols.append(cache[e.term])
    return np.column_stack(cols) if cols else np.zeros((len(frame), 0))


def arm_codes(arm: pd.Series, arm_names: list[str]) -> NDArray[np.int64]:
    """Each patient's arm as its index in ``arm_names`` (-1 for an unknown or missing arm).

    A generated cohort's ``arm`` is already categorical in spec order: its codes are taken as
    they are instead of re-encoding the column (the larger part of the predictors at n = 56).
    """
    if isinstance(arm.dtype, pd.CategoricalDtype) and list(arm.cat.categories) == list(arm_names):
        return arm.cat.codes.to_numpy().astype(np.int64)
    return pd.Categorical(arm, categories=arm_names).codes.astype(np.int64)


def _missing_as_reference(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``x`` (a fresh array) with NaN, a missing value, set to 0 (the reference) in place.

    ``numpy.nan_to_num`` would also scan for infinities, a third of the predictors' time at 1e6.
    """
    np.copyto(x, 0.0, where=np.isnan(x))
    return x


def analysis_design(frame: pd.DataFrame, model: CohortModel, endpoint: str, cache: dict | None = None
                    ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The main-effects Cox design of ``endpoint`` (its terms, then the arm indicators), complete cases.

    Returns the design and the row numbers it keeps.
    """
    cache = {} if cache is None else cache
    arm = arm_codes(frame["arm"], model.spec.arm_names)
    x = np.column_stack([_terms(frame, model, endpoint, cache),
                         *[(arm == k).astype(float) for k in range(1, len(model.spec.arm_names))]])
    rows = np.flatnonzero(np.isfinite(x).all(axis=1))
    return x[rows], rows


def predictors(frame: pd.DataFrame, model: CohortModel, *, analysis: bool = False) -> Predictors:
    """The joint model's predictors of every patient in ``frame`` (see the module docstring).

    Parameters
    ----------
    frame : pandas.DataFrame
        Patients with the specification's variables and ``arm``.
    model : CohortModel
        The mechanism (its effects, treatment log-HRs and departures; ``b`` is applied later).
    analysis : bool, default=False
        Also build the PFS and OS analysis designs (complete cases) for the limiting Cox fits.
    """
    spec = model.spec
    cache: dict = {}
    arm = arm_codes(frame["arm"], spec.arm_names)
    n = len(frame)
    treat_pfs = np.zeros(n)
    for name, log_hr in model.treatment_log_hr["pfs"].items():
        treat_pfs[arm == spec.arm_names.index(name)] += log_hr
    os_terms = _missing_as_reference(_terms(frame, model, "os", cache))
    replaced = replaced_variables(spec, "os")
    for i, e in enumerate(spec.outcomes["os"].effects):
        if e.term.variable in replaced:  # a non-linear departure replaces the linear effect
            os_terms[:, i] = 0.0
    arms_x = np.column_stack([(arm == k).astype(float) for k in range(1, len(spec.arm_names))] or [np.zeros((n, 0))])
    post_offset, treat_post = np.zeros(n), np.zeros(n)
    eta_pfs = linear(_missing_as_reference(_terms(frame, model, "pfs", cache)), model.log_hr["pfs"])
    if spec.departures:
        treat_pfs += interaction_predictor(frame, spec, "pfs")
        eta_pfs += nonlinear_predictor(frame, model, "pfs")
        treat_post = interaction_predictor(frame, spec, "os")
        post_offset = nonlinear_predictor(frame, model, "os") + treat_post
    eta_pfs += treat_pfs
    t0 = np.zeros(n)
    delayed = {}
    for endpoint in ("pfs", "os"):
        by_arm = delays(spec, endpoint)
        delayed[endpoint] = np.isin(arm, [spec.arm_names.index(a) for a in by_arm])
    for endpoint in ("pfs", "os"):
        for name, months in delays(spec, endpoint).items():
            t0[arm == spec.arm_names.index(name)] = np.maximum(t0[arm == spec.arm_names.index(name)], months)
    extra: dict = {}
    if analysis:
        extra["x_pfs"], extra["rows_pfs"] = analysis_design(frame, model, "pfs", cache)
        extra["x_os"], extra["rows_os"] = analysis_design(frame, model, "os", cache)
    return Predictors(
        arm=arm, n_arms=len(spec.arm_names), eta_pfs=eta_pfs, treat_pfs=treat_pfs,
        post_design=np.column_stack([os_terms, arms_x]), post_names=post_names(model),
        arm_columns=np.arange(os_terms.shape[1], os_terms.shape[1] + arms_x.shape[1]),
        post_offset=post_offset, treat_post_offset=treat_post, t0=t0,
        delayed_pfs=delayed["pfs"], delayed_os=delayed["os"], **extra,
    )
