"""The fitted data-generating mechanism of a specification: marginals, copula, joint outcomes.

Fitting depends on the specification only (the calibration sample has its own seed), so every
cohort drawn from one specification, whatever its seed or size, shares one true mechanism:
true hazard ratios, calibrated baselines, censoring, and the pseudo-true log-HRs a Cox fit
converges to. It is cached per specification hash, in memory and on disk (:mod:`._store`).

A *variant* of a specification (a simulation scenario) keeps its parent's event mechanism
where the variant does not change it:

* a censoring variant (``follow_up.time_scale``, ``follow_up.uncensored``) keeps the parent's
  joint model as it is; only the pseudo-true values are recomputed under its censoring;
* a departure variant keeps the parent's post-progression log-HRs ``b`` and its calibrated
  marginal medians: a non-linear effect or an interaction re-solves the baselines to them, a
  delayed effect keeps the baselines and solves late treatment shifts for the delayed arm
  (:func:`necml.cohort.outcomes.solve_delays`); its estimands are the parent's pseudo-true
  values (NaN where the departure removes the term).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize

from necml.cohort._censoring import Censoring, fit_censoring
from necml.cohort._covariates import CovariateModel, fit_covariates, sample_covariates
from necml.cohort._departures import delays, nonlinear_scaling, replaced_variables
from necml.cohort._predictors import post_names, predictors
from necml.cohort._store import load_model, save_model
from necml.cohort.outcomes import (
    LIMIT_PER_ARM,
    JointModel,
    OutcomeFit,
    PiecewiseExponential,
    Switch,
    TargetCheck,
    Weibull,
    check_targets,
    etas,
    fit_outcomes,
    limits,
    solve_delays,
    targets_of,
)
from necml.exceptions import CalibrationError, SpecError
from necml.random import stream_rngs
from necml.spec import DEFAULT_DEATH_SHARE, BaselineSpec, CohortSpec, DelayedEffect, Term, spec_hash

__all__ = ["CohortModel", "fit_cohort_model", "joint_predictors", "linear_predictor", "mechanism_key"]

ENDPOINTS: tuple[str, str] = ("pfs", "os")


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortModel:
    """A specification's fitted mechanism (see the module docstring).

    Attributes
    ----------
    log_hr, treatment_log_hr : dict
        The specification's conditional log-HRs per endpoint (0 where a non-linear departure
        replaces an effect): exact for PFS, the targets of the OS solve.
    outcome : OutcomeFit
        The calibrated joint model, the post-progression log-HRs ``b`` (columns
        ``post_names``) and the late shifts of delayed arms.
    checks : list of TargetCheck
        Every printed median and landmark rate against the model.
    pseudo_true : dict
        Endpoint -> analysis term (``term name`` or ``arm_<name>``) -> the log-HR a main-effects
        Cox fit converges to under this mechanism and censoring.
    unadjusted : dict
        Endpoint -> ``arm_<name>`` -> the arm-only Cox limit.
    latent_shift : dict
        Arm -> variable -> latent-score shift of the spec's ``imbalance`` (solved so the
        arm-only Cox limits equal the printed unadjusted HRs); empty without one.
    """

    spec: CohortSpec
    spec_hash: str
    covariates: CovariateModel
    terms: dict[str, list[Term]]
    log_hr: dict[str, NDArray[np.float64]]
    treatment_log_hr: dict[str, dict[str, float]]
    outcome: OutcomeFit | None
    post_names: list[str]
    checks: list[TargetCheck]
    pseudo_true: dict[str, dict[str, float]]
    unadjusted: dict[str, dict[str, float]]
    censoring: Censoring
    follow_up_residual: float
    nonlinear_scaling: dict[str, tuple[float, float]] = field(default_factory=dict)
    latent_shift: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def joint(self) -> JointModel:
        return self.outcome.joint


def joint_predictors(frame: pd.DataFrame, model: CohortModel) -> tuple[NDArray, NDArray, Switch | None]:
    """Late PFS and post-progression predictors of each patient, and the switch (delays)."""
    pred = predictors(frame, model)
    (pfs_e, pfs_l), (post_e, post_l) = etas(pred, model.outcome.post_log_hr, model.outcome.shifts)
    if not (pred.t0 > 0).any():
        return pfs_l, post_l, None
    return pfs_l, post_l, Switch(time=pred.t0, eta_pfs=pfs_e, eta_post=post_e)


def linear_predictor(frame: pd.DataFrame, model: CohortModel, endpoint: str) -> NDArray[np.float64]:
    """True linear predictor of ``"pfs"`` (exact PH) or ``"post"`` (death after progression).

    From a delayed effect's switch on; the departures are included.
    """
    if endpoint not in ("pfs", "post"):
        raise ValueError(f"endpoint must be 'pfs' or 'post' (OS is not PH in the joint model), got {endpoint!r}")
    eta_pfs, eta_post, _ = joint_predictors(frame, model)
    return eta_pfs if endpoint == "pfs" else eta_post


def _check_terms(spec: CohortSpec) -> None:
    for ep in ENDPOINTS:
        for i, eff in enumerate(spec.outcomes[ep].effects):
            var = spec.variables[eff.term.variable]
            if eff.term.per is not None and any(d.missing_percent > 0 for d in var.arms.values()):
                raise SpecError(
                    f"outcomes.{ep}.effects.{i}: a per-unit effect needs a fully observed "
                    f"variable, but {eff.term.variable!r} has missing values"
                )


def _calibration_frame(
    spec: CohortSpec, covariates: CovariateModel, shift: dict | None = None, *, limit: bool = False
) -> pd.DataFrame:
    """The calibration sample (``calibration_n`` per arm), or the smaller limit sample of the Cox limits.

    Both from the spec's ``calibration_seed`` (the limit sample from its own spawned stream).
    """
    per_arm = LIMIT_PER_ARM if limit else spec.calibration_n
    codes = np.repeat(np.arange(len(spec.arm_names)), per_arm)
    root = np.random.SeedSequence(spec.calibration_seed, spawn_key=(1,)) if limit else spec.calibration_seed
    streams = stream_rngs(root)
    cols = sample_covariates(
        covariates, codes, spec.arm_names,
        covariate_seed=streams["covariates"], missingness_seed=streams["missingness"], latent_shift=shift,
    )
    arm = pd.Categorical.from_codes(codes, categories=spec.arm_names)
    return pd.DataFrame({"arm": arm, **cols})


def _effect_log_hr(spec: CohortSpec, endpoint: str) -> NDArray[np.float64]:
    """The effects' log-HRs; 0 where a non-linear departure replaces the effect."""
    replaced = replaced_variables(spec, endpoint)
    effects = spec.outcomes[endpoint].effects
    return np.log([1.0 if e.term.variable in replaced else e.hr for e in effects])


def _start_baseline(spec: BaselineSpec, median: float) -> Weibull | PiecewiseExponential:
    rate = float(np.log(2.0) / median)
    if spec.family == "piecewise_exponential":
        return PiecewiseExponential(knots=tuple(spec.knots), rates=(rate,) * (len(spec.knots) + 1))
    if spec.shape is not None:
        return Weibull(lam=rate / median ** (spec.shape - 1.0), shape=spec.shape, fixed_shape=True)
    return Weibull(lam=rate, shape=1.0)


def _censoring_survival(spec: CohortSpec, censoring: Censoring):  # noqa: ANN202 - t -> C(t)
    if spec.follow_up.uncensored:
        return lambda t: np.ones_like(np.asarray(t, dtype=float))
    scale = spec.follow_up.time_scale
    return lambda t: censoring.survival(np.asarray(t, dtype=float) / scale)


def _horizon(spec: CohortSpec, censoring: Censoring) -> float:
    if spec.follow_up.uncensored:
        return 20.0 * max(a.median for a in spec.outcomes["os"].arms.values())
    return censoring.max_admin * spec.follow_up.time_scale


def _parent(spec: CohortSpec) -> tuple[CohortSpec, str] | None:
    """The specification this one is a variant of, and how it differs."""
    raw = spec.model_dump(mode="python", by_alias=True)
    if spec.departures:
        raw["departures"] = []
        return CohortSpec.model_validate(raw), "departures"
    if spec.follow_up.time_scale != 1.0 or spec.follow_up.uncensored:
        raw["follow_up"]["time_scale"], raw["follow_up"]["uncensored"] = 1.0, False
        return CohortSpec.model_validate(raw), "censoring"
    return None


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
        Marginals, copula, true effects, calibrated joint model, censoring, pseudo-true values.

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
    own_hash = spec_hash(spec)
    key = mechanism_key(spec)
    if key in _CACHE:
        return _remember(spec, replace(_CACHE[key], spec=spec, spec_hash=own_hash))
    stored = load_model(key)
    if stored is not None:
        _CACHE[key] = stored
        return _remember(spec, replace(stored, spec=spec, spec_hash=own_hash))
    _check_terms(spec)
    parent = _parent(spec)
    parent_model = fit_cohort_model(parent[0]) if parent is not None else None
    covariates = fit_covariates(spec)
    censoring, fu_residual = fit_censoring(spec.follow_up)
    cal_frame = _calibration_frame(spec, covariates)
    partial = CohortModel(
        spec=spec, spec_hash=own_hash, covariates=covariates,
        terms={ep: [e.term for e in spec.outcomes[ep].effects] for ep in ENDPOINTS},
        log_hr={ep: _effect_log_hr(spec, ep) for ep in ENDPOINTS},
        treatment_log_hr={
            ep: {arm: float(np.log(t.hr)) for arm, t in spec.outcomes[ep].treatment.items()} for ep in ENDPOINTS
        },
        outcome=None, post_names=[], checks=[], pseudo_true={}, unadjusted={}, censoring=censoring,
        follow_up_residual=fu_residual, nonlinear_scaling=nonlinear_scaling(spec, cal_frame),
    )
    partial = replace(partial, post_names=post_names(partial),
                      latent_shift=parent_model.latent_shift if parent_model is not None else {})
    targets = {ep: targets_of(spec, ep) for ep in ENDPOINTS}
    bounds = {ep: spec.outcomes[ep].shape_bounds for ep in ENDPOINTS}
    surv_c, horizon = _censoring_survival(spec, censoring), _horizon(spec, censoring)

    def fit_events(shift: dict, warm: OutcomeFit | None = None) -> tuple:
        frame = _calibration_frame(spec, covariates, shift) if shift else cal_frame
        pred = predictors(frame, partial)
        limit_pred = predictors(_calibration_frame(spec, covariates, shift, limit=True), partial, analysis=True)
        if parent is not None and parent[1] == "censoring":
            return pred, limit_pred, parent_model.outcome
        return pred, limit_pred, _fit_events(spec, pred, limit_pred, targets, bounds, surv_c, horizon, parent_model,
                                             warm=warm)

    try:
        if spec.imbalance is not None and parent is None:
            shift, pred, limit_pred, outcome = _solve_imbalance(spec, partial, fit_events, surv_c, horizon)
            partial = replace(partial, latent_shift=shift)
        else:
            pred, limit_pred, outcome = fit_events(partial.latent_shift)
        checks = check_targets(pred, outcome, targets, spec.arm_names)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        raise CalibrationError(f"{spec.name}: calibration of the baselines failed: {exc}") from exc
    if parent is not None and parent[1] == "departures":
        pseudo, unadjusted = parent_model.pseudo_true, parent_model.unadjusted
        pseudo = {ep: _without_departed(spec, ep, v) for ep, v in pseudo.items()}
    else:
        pseudo, unadjusted = _pseudo_true(partial, limit_pred, outcome, surv_c, horizon)
    model = replace(partial, outcome=outcome, checks=checks, pseudo_true=pseudo, unadjusted=unadjusted)
    _CACHE[key] = model
    save_model(key, model)
    return _remember(spec, model)


def _fit_events(  # noqa: PLR0913
    spec, pred, limit_pred, targets, bounds, surv_c, horizon, parent_model,  # noqa: ANN001
    *, warm: OutcomeFit | None = None,
) -> OutcomeFit:
    arms = spec.arm_names
    death = spec.outcomes["pfs"].deaths_without_progression
    control = spec.control_arm
    pfs_median, os_median = spec.outcomes["pfs"].arms[control].median, spec.outcomes["os"].arms[control].median
    start = JointModel(
        pfs=_start_baseline(spec.outcomes["pfs"].baseline, pfs_median),
        post=_start_baseline(spec.outcomes["os"].baseline, max(os_median - pfs_median, 1.0)),
        death_share=DEFAULT_DEATH_SHARE if death is None else death.share,
    )
    printed_os = np.r_[np.log([e.hr for e in spec.outcomes["os"].effects]),
                       [np.log(spec.outcomes["os"].treatment[a].hr) if a in spec.outcomes["os"].treatment else 0.0
                        for a in arms[1:]]]
    delayed = {ep: delays(spec, ep) for ep in ENDPOINTS}
    no_delay = replace(pred, t0=np.zeros_like(pred.t0), delayed_pfs=np.zeros_like(pred.delayed_pfs),
                       delayed_os=np.zeros_like(pred.delayed_os))
    if parent_model is None:
        fit = fit_outcomes(no_delay, limit_pred, start if warm is None else warm.joint, targets, arms, bounds,
                           printed_os, surv_c, horizon, b_start=None if warm is None else warm.post_log_hr)
    elif any(not isinstance(d, DelayedEffect) for d in spec.departures):
        kept = _parent_medians(parent_model, targets)
        fit = fit_outcomes(no_delay, limit_pred, parent_model.outcome.joint, kept, arms, bounds, printed_os, surv_c,
                           horizon,
                           post_log_hr=parent_model.outcome.post_log_hr.copy())
    else:
        fit = replace(parent_model.outcome, post_log_hr=parent_model.outcome.post_log_hr.copy())
    if any(delayed.values()):
        keep = {ep: {c.arm: c.model for c in parent_model.checks if c.endpoint == ep and c.what == "median"}
                for ep in ENDPOINTS}
        fit = solve_delays(pred, fit, targets, arms, delayed, keep)
    return fit


def _solve_imbalance(spec, partial, fit_events, surv_c, horizon):  # noqa: ANN001, ANN202
    """Latent shifts of the imbalance variables so the arm-only Cox limits hit the printed unadjusted HRs.

    Alternates: the joint model fitted for the current shifts, then the shifts solved (least
    squares, the joint model held) for the unadjusted targets; three rounds (the joint model
    moves the unadjusted limits only through the baselines, a second-order effect).
    """
    imb = spec.imbalance
    arm_col = spec.arm_names[1:].index(imb.arm)
    wanted = [(ep, np.log(t.unadjusted.hr)) for ep in ENDPOINTS
              for a, t in spec.outcomes[ep].treatment.items() if a == imb.arm and t.unadjusted is not None]
    if imb.shifts is not None:  # fixed (an effect-scaled variant keeps the published solve)
        shift = {imb.arm: dict(imb.shifts)}
        return shift, *fit_events(shift)

    def shifted(d: np.ndarray) -> dict:
        return {imb.arm: {v: float(x) for v, x in zip(imb.variables, d, strict=True)}}

    delta = np.zeros(len(imb.variables))
    pred, limit_pred, outcome = fit_events({})
    for _ in range(3):
        def gap(d: np.ndarray, outcome: OutcomeFit = outcome) -> np.ndarray:
            frame = _calibration_frame(spec, partial.covariates, shifted(d), limit=True)
            lim = limits(predictors(frame, partial, analysis=True), outcome.joint, outcome.post_log_hr,
                         outcome.shifts, surv_c, horizon, unadjusted=True)
            return np.array([lim[ep][arm_col] - target for ep, target in wanted])

        def jac(d: np.ndarray, gap=gap) -> np.ndarray:  # noqa: ANN001 - differences 0.05 apart: a latent
            g0 = gap(d)  # shift moves binary terms in steps, not smoothly
            return np.column_stack([(gap(d + e) - g0) / 0.05 for e in np.eye(d.size) * 0.05])

        sol = optimize.least_squares(gap, delta, jac=jac, bounds=(-3.0, 3.0), xtol=1e-4, ftol=1e-8, max_nfev=8)
        moved = float(np.max(np.abs(sol.x - delta)))
        delta = sol.x
        pred, limit_pred, outcome = fit_events(shifted(delta), warm=outcome)
        if moved < 2e-3:
            break
    return shifted(delta), pred, limit_pred, outcome


def _parent_medians(parent: CohortModel, targets: dict) -> dict:
    """The parent's calibrated medians as the only targets: a departure keeps the marginal medians."""
    medians = {(c.endpoint, c.arm): c.model for c in parent.checks if c.what == "median"}
    return {ep: [replace(t, published=medians[(ep, t.arm)], source=f"kept from {parent.spec.name}")
                 for t in listed if t.what == "median"] for ep, listed in targets.items()}


def _without_departed(spec: CohortSpec, endpoint: str, truth: dict[str, float]) -> dict[str, float]:
    """NaN for the terms a departure removes (non-linear variables, changed arms)."""
    replaced = replaced_variables(spec, endpoint)
    changed = {d.arm for d in spec.departures if d.kind != "nonlinear" and endpoint in d.endpoints}
    effects = {e.term.name: e.term.variable for e in spec.outcomes[endpoint].effects}
    return {
        name: np.nan if effects.get(name) in replaced or name.removeprefix("arm_") in changed else value
        for name, value in truth.items()
    }


def _pseudo_true(model, pred, outcome, surv_c, horizon):  # noqa: ANN001, ANN202
    spec = model.spec
    arms = [f"arm_{a}" for a in spec.arm_names[1:]]
    adjusted = limits(pred, outcome.joint, outcome.post_log_hr, outcome.shifts, surv_c, horizon)
    unadj = limits(pred, outcome.joint, outcome.post_log_hr, outcome.shifts, surv_c, horizon, unadjusted=True)
    pseudo, unadjusted = {}, {}
    for ep in ENDPOINTS:
        names = [e.term.name for e in spec.outcomes[ep].effects] + arms
        pseudo[ep] = {n: float(v) for n, v in zip(names, adjusted[ep], strict=True)}
        unadjusted[ep] = {n: float(v) for n, v in zip(arms, unadj[ep], strict=True)}
    return pseudo, unadjusted


def mechanism_key(spec: CohortSpec) -> str:
    """The cache key of a spec's mechanism: its hash without ``name`` and ``title``.

    A variant (``lcnec_stage4_2025_delay2``) whose content equals another spec's has the same
    mechanism, so a departure's or censoring variant's parent is fitted once, whatever the name.
    """
    return spec_hash(spec.model_copy(update={"name": "mechanism", "title": ""}))


def _remember(spec: CohortSpec, model: CohortModel) -> CohortModel:
    """Map this spec object to its model; the entry holds the spec, so its id is not reused."""
    if len(_BY_IDENTITY) >= 64:
        _BY_IDENTITY.pop(next(iter(_BY_IDENTITY)))
    _BY_IDENTITY[id(spec)] = (spec, model)
    return model
