"""The fitted data-generating mechanism of a specification: marginals, copula, calibration.

Fitting depends on the specification only (the calibration sample has its own seed), so every
cohort drawn from one specification, whatever its seed or size, shares one true mechanism:
true hazard ratios, calibrated baselines and censoring. It is cached per specification hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from necml.cohort._calibrate import EndpointCalibration, calibrate_delays, calibrate_endpoints
from necml.cohort._censoring import Censoring, fit_censoring
from necml.cohort._covariates import CovariateModel, fit_covariates, sample_covariates
from necml.cohort._departures import (
    delays,
    departure_predictor,
    nonlinear_scaling,
    replaced_variables,
    switch_for,
    treatment_predictor,
)
from necml.cohort._illness_death import clipped_share, sample_illness_death
from necml.cohort._terms import term_values
from necml.exceptions import CalibrationError, SpecError
from necml.random import stream_rngs
from necml.spec import CohortSpec, Term, spec_hash

__all__ = ["CohortModel", "fit_cohort_model", "linear_predictor"]

ENDPOINTS: tuple[str, str] = ("pfs", "os")


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortModel:
    """A specification's fitted mechanism (see module docstring)."""

    spec: CohortSpec
    spec_hash: str
    covariates: CovariateModel
    terms: dict[str, list[Term]]
    log_hr: dict[str, NDArray[np.float64]]
    treatment_log_hr: dict[str, dict[str, float]]
    calibration: dict[str, EndpointCalibration]
    censoring: Censoring
    follow_up_residual: float
    pfs_clipped_share: float = 0.0
    nonlinear_scaling: dict[str, tuple[float, float]] = field(default_factory=dict)


def linear_predictor(
    frame: pd.DataFrame, model: CohortModel, endpoint: str, *, term_cache: dict | None = None
) -> NDArray[np.float64]:
    """True linear predictor (log hazard ratio against the control-arm baseline).

    A missing value of an indicator term contributes 0 (the reference level). The
    specification's departures (non-linear effects, interactions) are included; an effect a
    non-linear departure replaces has log-HR 0 in ``model.log_hr``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Patients with the specification's variables and ``arm``.
    model : CohortModel
        The fitted mechanism.
    endpoint : {"pfs", "os"}
        Which endpoint.
    term_cache : dict, optional
        Term values already computed on ``frame`` (filled in here), so that the two endpoints
        evaluate their shared terms once.

    Returns
    -------
    numpy.ndarray
        One value per patient.
    """
    spec = model.spec
    cache = {} if term_cache is None else term_cache
    eta = np.zeros(len(frame))
    for term, beta in zip(model.terms[endpoint], model.log_hr[endpoint], strict=True):
        if term not in cache:
            cache[term] = np.nan_to_num(term_values(frame, term, spec), nan=0.0)
        eta += beta * cache[term]
    arm = pd.Categorical(frame["arm"], categories=spec.arm_names).codes
    for arm_name, log_hr in model.treatment_log_hr[endpoint].items():
        eta[arm == spec.arm_names.index(arm_name)] += log_hr
    if spec.departures:
        eta += departure_predictor(frame, model, endpoint)
    return eta


def _check_terms(spec: CohortSpec) -> None:
    for ep in ENDPOINTS:
        for i, eff in enumerate(spec.outcomes[ep].effects):
            var = spec.variables[eff.term.variable]
            if eff.term.per is not None and any(d.missing_percent > 0 for d in var.arms.values()):
                raise SpecError(
                    f"outcomes.{ep}.effects.{i}: a per-unit effect needs a fully observed "
                    f"variable, but {eff.term.variable!r} has missing values"
                )


def _calibration_frame(spec: CohortSpec, covariates: CovariateModel) -> pd.DataFrame:
    codes = np.repeat(np.arange(len(spec.arm_names)), spec.calibration_n)
    streams = stream_rngs(spec.calibration_seed)
    cols = sample_covariates(
        covariates, codes, spec.arm_names,
        covariate_seed=streams["covariates"], missingness_seed=streams["missingness"],
    )
    arm = pd.Categorical.from_codes(codes, categories=spec.arm_names)
    return pd.DataFrame({"arm": arm, **cols})


def _effect_log_hr(spec: CohortSpec, endpoint: str) -> NDArray[np.float64]:
    """The effects' log-HRs; 0 where a non-linear departure replaces the effect."""
    replaced = replaced_variables(spec, endpoint)
    effects = spec.outcomes[endpoint].effects
    return np.log([1.0 if e.term.variable in replaced else e.hr for e in effects])


_CACHE: dict[str, CohortModel] = {}
_BY_IDENTITY: dict[int, tuple[CohortSpec, CohortModel]] = {}


def fit_cohort_model(spec: CohortSpec) -> CohortModel:
    """Fit (or fetch from the cache) a specification's data-generating mechanism.

    Parameters
    ----------
    spec : CohortSpec
        A validated specification.

    Returns
    -------
    CohortModel
        Marginals, copula, true effects, calibrated baselines and censoring.

    Raises
    ------
    SpecError
        If a published summary is impossible for its distribution family.
    CalibrationError
        If the baselines cannot be solved.
    """
    seen = _BY_IDENTITY.get(id(spec))
    if seen is not None and seen[0] is spec:  # the same object: skip hashing it (0.5 ms a call)
        return seen[1]
    key = spec_hash(spec)
    if key in _CACHE:
        return _remember(spec, _CACHE[key])
    _check_terms(spec)
    covariates = fit_covariates(spec)
    terms = {ep: [e.term for e in spec.outcomes[ep].effects] for ep in ENDPOINTS}
    log_hr = {ep: _effect_log_hr(spec, ep) for ep in ENDPOINTS}
    treatment = {
        ep: {arm: float(np.log(t.hr)) for arm, t in spec.outcomes[ep].treatment.items()}
        for ep in ENDPOINTS
    }
    censoring, fu_residual = fit_censoring(spec.follow_up)
    cal_frame = _calibration_frame(spec, covariates)
    partial = CohortModel(
        spec=spec, spec_hash=key, covariates=covariates, terms=terms, log_hr=log_hr,
        treatment_log_hr=treatment, calibration={}, censoring=censoring,
        follow_up_residual=fu_residual, nonlinear_scaling=nonlinear_scaling(spec, cal_frame),
    )
    arm = cal_frame["arm"].astype(str).to_numpy()
    eta = {ep: linear_predictor(cal_frame, partial, ep) for ep in ENDPOINTS}
    by_arm = {ep: {a: eta[ep][arm == a] for a in spec.arm_names} for ep in ENDPOINTS}
    try:
        calibration = calibrate_endpoints(spec.outcomes["os"], spec.outcomes["pfs"], by_arm["os"], by_arm["pfs"])
        delayed = {ep: delays(spec, ep) for ep in ENDPOINTS}
        if any(delayed.values()):
            treat = {ep: treatment_predictor(cal_frame, partial, ep) for ep in ENDPOINTS}
            calibration, shifts = calibrate_delays(
                calibration, dict(spec.outcomes), by_arm,
                {ep: {a: treat[ep][arm == a] for a in spec.arm_names} for ep in ENDPOINTS}, delayed,
            )
            treatment = {ep: {a: b + shifts[ep].get(a, 0.0) for a, b in treatment[ep].items()} for ep in ENDPOINTS}
            partial = replace(partial, treatment_log_hr=treatment)
            eta = {ep: linear_predictor(cal_frame, partial, ep) for ep in ENDPOINTS}
    except (ValueError, FloatingPointError) as exc:
        raise CalibrationError(f"{spec.name}: calibration of the baselines failed: {exc}") from exc
    pfs_base, os_base = calibration["pfs"].baseline, calibration["os"].baseline
    t_pfs, _, _ = sample_illness_death(
        eta["pfs"], eta["os"], pfs_base, os_base,
        np.random.default_rng(stream_rngs(spec.calibration_seed)["transitions"]),
        switch=switch_for(cal_frame, partial, eta["pfs"], eta["os"]),
    )
    model = replace(
        partial, calibration=calibration,
        pfs_clipped_share=clipped_share(t_pfs, eta["pfs"], eta["os"], pfs_base, os_base),
    )
    _CACHE[key] = model
    return _remember(spec, model)


def _remember(spec: CohortSpec, model: CohortModel) -> CohortModel:
    """Map this spec object to its model; the entry holds the spec, so its id is not reused."""
    if len(_BY_IDENTITY) >= 64:
        _BY_IDENTITY.pop(next(iter(_BY_IDENTITY)))
    _BY_IDENTITY[id(spec)] = (spec, model)
    return model
