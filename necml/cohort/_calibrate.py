"""Calibrate the Weibull baselines so that each arm's *marginal* median equals the published one.

A published median is a marginal quantity: the median of the mixture of conditional survival
curves over the arm's covariate mix. Plugging it into the closed form ``(ln 2 / lam)**(1/k)``
ignores the mix (and the covariate effects) and misses by months. Instead, on a large
calibration sample of covariates drawn from the specification (its own fixed seed, so the
data-generating mechanism depends on the specification only):

1. OS, exactly Weibull PH: ``S_a(t) = mean_i exp(-lam t^k exp(eta_i))`` depends on ``(lam, k)``
   only through ``u = lam t^k``, so each arm's median solves ``mean_i exp(-u_a exp(eta_i)) = 1/2``
   once (Brent), and ``log median_a = (log u_a - log lam) / k``. With two arms this pins ``k``
   and ``lam`` in closed form (under PH, the median ratio is set by the treatment HR and the
   shape); the shape is bounded to a plausible range, and a target the bounds cannot meet is
   reported as a residual, not hidden.
2. PFS, the same closed form first, then, because the progression hazard is clipped where the
   OS hazard is larger (see :mod:`necml.cohort._illness_death`), a numerical refinement of
   ``(log lam, log k)`` on the exact model medians.

Landmark rates are then *checked* against the model's marginal survival, not targeted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from necml.cohort._illness_death import Weibull, pfs_cumulative_hazard, switched_cumulative_hazard
from necml.spec import EndpointSpec

__all__ = ["EndpointCalibration", "calibrate_delays", "calibrate_endpoints", "marginal_survival"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetCheck:
    """A published target next to the calibrated model's value."""

    what: str
    arm: str
    time: float | None
    published: float
    model: float
    source: str
    targeted: bool

    @property
    def relative_error(self) -> float:
        return (self.model - self.published) / self.published


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointCalibration:
    """Calibrated baseline of one endpoint and its target checks."""

    endpoint: str
    baseline: Weibull
    checks: list[TargetCheck] = field(default_factory=list)
    shape_at_bound: bool = False


def _arm_u_median(eta: FloatArray) -> float:
    """Solve ``mean(exp(-u exp(eta))) = 1/2`` for ``u``."""
    w = np.exp(eta)

    def f(log_u: float) -> float:
        return float(np.mean(np.exp(-np.exp(log_u) * w)) - 0.5)

    return float(np.exp(optimize.brentq(f, -60.0, 60.0, xtol=1e-13)))


def _closed_form(
    log_u: dict[str, float], log_m: dict[str, float], bounds: tuple[float, float]
) -> tuple[Weibull, bool]:
    arms = list(log_u)
    lu = np.array([log_u[a] for a in arms])
    lm = np.array([log_m[a] for a in arms])

    def lam_for(k: float) -> float:
        return float(np.mean(lu - k * lm))  # log lam minimising the squared log-median errors

    def sse(k: float) -> float:
        return float(np.sum(((lu - lam_for(k)) / k - lm) ** 2))

    if len(arms) >= 2 and np.ptp(lm) > 0:
        k_free = float(np.polyfit(lm, lu, 1)[0]) if len(arms) > 2 else float(
            (lu[1] - lu[0]) / (lm[1] - lm[0])
        )
        if bounds[0] <= k_free <= bounds[1]:
            k = k_free
        else:
            res = optimize.minimize_scalar(sse, bounds=bounds, method="bounded",
                                           options={"xatol": 1e-10})
            k = float(res.x)
    else:
        k = 1.0  # one arm: the shape is not identified by medians alone
    k = float(np.clip(k, *bounds))
    at_bound = bool(np.isclose(k, bounds[0]) or np.isclose(k, bounds[1]))
    return Weibull(lam=float(np.exp(lam_for(k))), shape=k), at_bound


def marginal_survival(
    t: float,
    eta: FloatArray,
    baseline: Weibull,
    *,
    eta_os: FloatArray | None = None,
    os: Weibull | None = None,
) -> float:
    """Marginal (population-averaged) survival at ``t`` over a covariate sample.

    With ``eta_os`` and ``os`` given, this is the PFS survival of the illness-death model
    (hazard ``max(h_pfs, h_os)``); otherwise a plain Weibull PH mixture.
    """
    if os is None or eta_os is None:
        return float(np.mean(np.exp(-baseline.lam * t**baseline.shape * np.exp(eta))))
    return float(np.mean(np.exp(-pfs_cumulative_hazard(t, eta, eta_os, baseline, os))))


def _median_of(surv, hi: float = 1e4) -> float:  # noqa: ANN001 - a callable t -> S(t)
    return float(optimize.brentq(lambda t: surv(t) - 0.5, 1e-9, hi, xtol=1e-12))


def _checks(spec: EndpointSpec, surv_by_arm: dict) -> list[TargetCheck]:
    """Medians (calibration targets) and landmark rates (checked only) against the model."""
    checks = []
    for arm, target in spec.arms.items():
        checks.append(TargetCheck(
            what="median", arm=arm, time=None, published=target.median,
            model=_median_of(surv_by_arm[arm]), source=target.source, targeted=True,
        ))
        for lm in target.landmarks:
            checks.append(TargetCheck(
                what="landmark", arm=arm, time=lm.time, published=lm.percent / 100.0,
                model=float(surv_by_arm[arm](lm.time)), source=lm.source, targeted=False,
            ))
    return checks


def calibrate_endpoints(
    spec_os: EndpointSpec,
    spec_pfs: EndpointSpec,
    eta_os: dict[str, FloatArray],
    eta_pfs: dict[str, FloatArray],
) -> dict[str, EndpointCalibration]:
    """Solve the OS then the PFS Weibull baseline against the published arm medians.

    Parameters
    ----------
    spec_os, spec_pfs : EndpointSpec
        The endpoints' targets.
    eta_os, eta_pfs : dict of str to numpy.ndarray
        Per arm, the calibration sample's linear predictors (covariate effects plus the
        treatment log-HR; no baseline).

    Returns
    -------
    dict of str to EndpointCalibration
        ``{"os": ..., "pfs": ...}``.
    """
    arms = list(spec_os.arms)
    log_m_os = {a: np.log(spec_os.arms[a].median) for a in arms}
    os, os_bound = _closed_form(
        {a: np.log(_arm_u_median(eta_os[a])) for a in arms}, log_m_os, spec_os.shape_bounds
    )
    os_surv = {a: (lambda t, a=a: marginal_survival(t, eta_os[a], os)) for a in arms}
    os_cal = EndpointCalibration(endpoint="os", baseline=os, shape_at_bound=os_bound,
                                 checks=_checks(spec_os, os_surv))

    log_m_pfs = {a: np.log(spec_pfs.arms[a].median) for a in arms}
    pfs0, _ = _closed_form(
        {a: np.log(_arm_u_median(eta_pfs[a])) for a in arms}, log_m_pfs, spec_pfs.shape_bounds
    )
    pfs, pfs_bound = _refine_pfs(pfs0, spec_pfs, log_m_pfs, eta_pfs, eta_os, os)
    pfs_surv = {
        a: (lambda t, a=a: marginal_survival(t, eta_pfs[a], pfs, eta_os=eta_os[a], os=os))
        for a in arms
    }
    pfs_cal = EndpointCalibration(endpoint="pfs", baseline=pfs, shape_at_bound=pfs_bound,
                                  checks=_checks(spec_pfs, pfs_surv))
    return {"os": os_cal, "pfs": pfs_cal}


def _refine_pfs(
    start: Weibull,
    spec: EndpointSpec,
    log_m: dict[str, float],
    eta_pfs: dict[str, FloatArray],
    eta_os: dict[str, FloatArray],
    os: Weibull,
) -> tuple[Weibull, bool]:
    arms = list(log_m)
    lo, hi = np.log(spec.shape_bounds[0]), np.log(spec.shape_bounds[1])

    def resid(params: FloatArray) -> FloatArray:
        base = Weibull(lam=float(np.exp(params[0])), shape=float(np.exp(params[1])))
        out = [
            np.log(_median_of(lambda t, a=a: marginal_survival(
                t, eta_pfs[a], base, eta_os=eta_os[a], os=os))) - log_m[a]
            for a in arms
        ]
        if len(arms) < 2:
            out.append(0.0)  # keep least_squares well-posed: the shape stays where it started
        return np.array(out)

    x0 = np.array([np.log(start.lam), np.clip(np.log(start.shape), lo, hi)])
    if np.max(np.abs(resid(x0))) < 1e-10:
        sol_x = x0
    else:
        sol = optimize.least_squares(
            resid, x0, bounds=([-np.inf, lo], [np.inf, hi]), xtol=1e-12, ftol=1e-12,
            gtol=1e-12,
        )
        sol_x = sol.x
    at_bound = bool(np.isclose(sol_x[1], lo) or np.isclose(sol_x[1], hi))
    return Weibull(lam=float(np.exp(sol_x[0])), shape=float(np.exp(sol_x[1]))), at_bound


def calibrate_delays(
    calibration: dict[str, EndpointCalibration],
    specs: dict[str, EndpointSpec],
    eta: dict[str, dict[str, FloatArray]],
    treatment: dict[str, dict[str, FloatArray]],
    delays: dict[str, dict[str, float]],
) -> tuple[dict[str, EndpointCalibration], dict[str, dict[str, float]]]:
    """Solve each delayed arm's late treatment log-HR shift so its published medians still hold.

    With no treatment effect before the delay, the arm's hazard is higher early on; the shift
    ``delta`` added to its treatment log-HR from the delay on is solved (Brent) so that the arm's
    marginal median equals the published one: OS first, then PFS given the solved OS. The
    baselines (and so the control arm) are unchanged. Landmark checks are recomputed.

    Parameters
    ----------
    calibration : dict
        The proportional-hazards calibration (``{"pfs": ..., "os": ...}``).
    specs : dict
        The endpoints' targets.
    eta, treatment : dict of endpoint to dict of arm to numpy.ndarray
        Per arm, the calibration sample's full linear predictors and their treatment parts.
    delays : dict of endpoint to dict of arm to float
        The delayed arms of each endpoint, in months.

    Returns
    -------
    calibration : dict
        With the landmark and median checks of the delayed model.
    shifts : dict of endpoint to dict of arm to float
        ``delta`` per delayed arm.

    Raises
    ------
    ValueError
        If no shift reaches a published median (the delay is too long for it).
    """
    pfs, os = calibration["pfs"].baseline, calibration["os"].baseline
    arms = list(specs["os"].arms)
    late = {ep: dict(eta[ep]) for ep in ("pfs", "os")}
    early = {
        ep: {a: eta[ep][a] - treatment[ep][a] if a in delays[ep] else eta[ep][a] for a in arms} for ep in ("pfs", "os")
    }
    t0 = {a: max([delays["pfs"].get(a, 0.0), delays["os"].get(a, 0.0)]) for a in arms}
    shifts: dict[str, dict[str, float]] = {"pfs": {}, "os": {}}

    def surv(endpoint: str, arm: str):  # noqa: ANN202 - t -> S(t)
        pair_early = (early["pfs"][arm], early["os"][arm])
        pair_late = (late["pfs"][arm], late["os"][arm])
        return lambda t: float(np.mean(np.exp(
            -switched_cumulative_hazard(t, t0[arm], pair_early, pair_late, pfs, os, endpoint)
        )))

    for endpoint in ("os", "pfs"):
        for arm, months in delays[endpoint].items():
            target = np.log(specs[endpoint].arms[arm].median)
            base = eta[endpoint][arm]

            def gap(
                delta: float, endpoint: str = endpoint, arm: str = arm, base: FloatArray = base, target: float = target
            ) -> float:
                late[endpoint][arm] = base + delta
                survival = surv(endpoint, arm)
                if survival(1e6) > 0.5:  # the median is beyond any horizon: treat it as too long
                    return 50.0
                return np.log(_median_of(survival, hi=1e6)) - target

            try:
                delta = optimize.brentq(gap, -8.0, 8.0, xtol=1e-10)
            except ValueError as exc:
                raise ValueError(
                    f"{endpoint} arm {arm!r}: with no treatment effect for {months:g} months, no later "
                    f"hazard ratio gives the published median {specs[endpoint].arms[arm].median:g} ({exc})"
                ) from exc
            gap(delta)
            shifts[endpoint][arm] = float(delta)
    updated = {
        ep: EndpointCalibration(
            endpoint=ep, baseline=cal.baseline, shape_at_bound=cal.shape_at_bound,
            checks=_checks(specs[ep], {a: surv(ep, a) for a in arms}),
        )
        for ep, cal in calibration.items()
    }
    return updated, shifts
