"""Calibrate the joint model to every printed median and landmark rate, and OS to its HRs.

On the calibration sample (the specification's own seed, so the mechanism depends on the
specification only):

1. **PFS** is exactly PH (:mod:`._joint`), so its baseline alone sets the arms' marginal PFS
   curves: weighted least squares over the per-arm medians and targeted landmark rates, each
   residual in its standard error (:mod:`._targets`).
2. **OS** has two unknowns: the post-progression baseline and the post-progression log-HRs
   ``b`` (one per OS term and arm). For a given ``b`` the baseline is solved by the same least
   squares on the OS targets; ``b`` is then solved (Broyden's method, starting from the printed
   OS log-HRs) so that the limiting Cox fit of OS (:mod:`._limit`) returns the printed OS
   log-HRs under the specification's censoring.
3. A **delayed** treatment effect keeps the baselines and solves, per delayed arm, the late
   shift of its treatment log-HR that keeps its published medians (PFS first, then OS).

Marginal curves are computed on covariate *patterns* (linear predictors pooled in cells of
:data:`PATTERN_STEP`, each at its members' mean, weighted by their count), which makes every
evaluation cheap; the pooling error is second order in the step (below 1e-4 in survival, 0.01 months in a median).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from necml.cohort.outcomes._baselines import Baseline, Weibull
from necml.cohort.outcomes._joint import JointModel, switched_cumhaz
from necml.cohort.outcomes._limit import cox_limit
from necml.cohort.outcomes._paths import os_paths
from necml.cohort.outcomes._rowwise import linear
from necml.cohort.outcomes._targets import Target, TargetCheck

__all__ = ["OutcomeFit", "Predictors", "check_targets", "etas", "fit_outcomes", "limits", "solve_delays"]

FloatArray = NDArray[np.float64]
LIMIT_PER_ARM = 6000  # patients per arm of the limit sample (the limiting Cox score)
LIMIT_GRID = 160
#: Linear predictors within this step are pooled into one pattern for marginal curves.
PATTERN_STEP = 0.08
MARGINAL_GRID = 240


@dataclass(frozen=True, slots=True, kw_only=True)
class Predictors:
    """The calibration sample's predictors, in the generator's convention (missing term = 0).

    ``post_design`` holds the OS terms then one indicator per experimental arm (its columns are
    ``post_names``); ``eta_post = post_design @ b + post_offset``. ``treat_*`` are the treatment
    parts a delayed effect switches off before ``t0``; ``x_pfs``/``x_os`` the analysis designs
    (complete cases, rows ``rows_pfs``/``rows_os``) of the limiting Cox fits.
    """

    arm: NDArray[np.int64]
    n_arms: int
    eta_pfs: FloatArray
    treat_pfs: FloatArray
    post_design: FloatArray
    post_names: list[str]
    arm_columns: NDArray[np.int64]
    post_offset: FloatArray
    treat_post_offset: FloatArray
    t0: FloatArray
    delayed_pfs: NDArray[np.bool_]
    delayed_os: NDArray[np.bool_]
    x_pfs: FloatArray | None = None
    rows_pfs: NDArray[np.int64] | None = None
    x_os: FloatArray | None = None
    rows_os: NDArray[np.int64] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeFit:
    """The calibrated joint model and what it reproduces."""

    joint: JointModel
    post_log_hr: FloatArray
    shifts: dict[str, NDArray[np.float64]]  # endpoint -> late treatment shift per arm index
    checks: list[TargetCheck] = field(default_factory=list)
    os_hr_residual: float = 0.0  # largest |limit - printed| of the OS log-HRs after the solve
    shape_at_bound: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Patterns:
    arm: NDArray[np.int64]
    weight: FloatArray
    t0: FloatArray
    pfs: tuple[FloatArray, FloatArray]
    post: tuple[FloatArray, FloatArray]


def etas(pred: Predictors, b: FloatArray, shifts: dict[str, FloatArray]) -> tuple[tuple, tuple]:
    """``(early, late)`` PFS and post-progression predictors of every calibration patient."""
    late_pfs = pred.eta_pfs + shifts["pfs"][pred.arm]
    late_post = linear(pred.post_design, b) + pred.post_offset + shifts["os"][pred.arm]
    treat_post = linear(pred.post_design[:, pred.arm_columns], b[pred.arm_columns]) + pred.treat_post_offset
    early_pfs = late_pfs - pred.delayed_pfs * (pred.treat_pfs + shifts["pfs"][pred.arm])
    early_post = late_post - pred.delayed_os * (treat_post + shifts["os"][pred.arm])
    return (early_pfs, late_pfs), (early_post, late_post)


def _patterns(pred: Predictors, b: FloatArray, shifts: dict[str, FloatArray]) -> _Patterns:
    pfs, post = etas(pred, b, shifts)
    cells = [np.round(v / PATTERN_STEP).astype(np.int64) for v in (*pfs, *post)]
    switched = pred.t0 > 0
    t0_codes = np.unique(pred.t0, return_inverse=True)[1].ravel() if switched.any() else np.zeros_like(pred.arm)
    key = pred.arm.astype(np.int64)
    for c in [t0_codes, *cells]:
        c = c - c.min()
        key = key * (int(c.max()) + 1) + c
    _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()

    def mean(v: FloatArray) -> FloatArray:
        return np.bincount(inverse, weights=v, minlength=first.size) / counts

    return _Patterns(
        arm=pred.arm[first].astype(np.int64), weight=counts.astype(float), t0=pred.t0[first],
        pfs=(mean(pfs[0]), mean(pfs[1])), post=(mean(post[0]), mean(post[1])),
    )


def _pfs_survival(t: float, base: Baseline, pat: _Patterns, n_arms: int) -> FloatArray:
    if (pat.t0 > 0).any():
        h = switched_cumhaz(base, t, pat.t0, np.exp(pat.pfs[0]), np.exp(pat.pfs[1]))
    else:
        h = float(base.cumhaz(t)) * np.exp(pat.pfs[1])
    s = np.bincount(pat.arm, weights=pat.weight * np.exp(-h), minlength=n_arms)
    return s / np.bincount(pat.arm, weights=pat.weight, minlength=n_arms)


def _pfs_median(base: Baseline, pat: _Patterns, arm: int, n_arms: int) -> float:
    def f(log_t: float) -> float:
        return float(_pfs_survival(np.exp(log_t), base, pat, n_arms)[arm] - 0.5)

    if f(np.log(1e5)) > 0:
        return 1e5
    return float(np.exp(optimize.brentq(f, np.log(1e-6), np.log(1e5), xtol=1e-12)))


def _marginal_os(joint: JointModel, pat: _Patterns, grid: FloatArray, n_arms: int) -> FloatArray:
    _, marg, _ = os_paths(
        grid, joint.pfs.cumhaz(grid), joint.post.cumhaz(grid), t0=pat.t0,
        cumhaz_pfs_t0=joint.pfs.cumhaz(pat.t0), cumhaz_post_t0=joint.post.cumhaz(pat.t0),
        eta_pfs=pat.pfs, eta_post=pat.post, death_share=joint.death_share, weight=pat.weight,
        group=pat.arm, n_groups=n_arms,
    )
    return marg


def _grid_median(grid: FloatArray, s: FloatArray) -> float:
    below = np.flatnonzero(s <= 0.5)
    if below.size == 0:
        return float(grid[-1] * 2.0)
    j = int(below[0])
    if j == 0:
        return float(grid[0])
    frac = (s[j - 1] - 0.5) / (s[j - 1] - s[j])
    return float(grid[j - 1] + frac * (grid[j] - grid[j - 1]))


def _model_values(
    targets: list[Target], arms: list[str], median: Callable[[int], float], at: Callable[[int, float], float]
) -> list[float]:
    return [median(arms.index(t.arm)) if t.what == "median" else at(arms.index(t.arm), t.time) for t in targets]


def _residuals(targets: list[Target], values: list[float]) -> FloatArray:
    out = []
    for t, v in zip(targets, values, strict=True):
        if not t.targeted:
            continue
        out.append((np.log(v) - np.log(t.published)) / t.se if t.what == "median" else (v - t.published) / t.se)
    return np.asarray(out)


def _bounds(base: Baseline, shape_bounds: tuple[float, float]) -> tuple[FloatArray, FloatArray]:
    k = base.params.size
    lo, hi = np.full(k, -30.0), np.full(k, 10.0)
    if isinstance(base, Weibull) and not base.fixed_shape:
        lo[1], hi[1] = np.log(shape_bounds[0]), np.log(shape_bounds[1])
    return lo, hi


def _least_squares(
    base: Baseline, resid: Callable[[Baseline], FloatArray], shape_bounds: tuple[float, float]
) -> tuple[Baseline, bool]:
    lo, hi = _bounds(base, shape_bounds)
    x0 = np.clip(base.params, lo + 1e-9, hi - 1e-9)
    sol = optimize.least_squares(lambda x: resid(base.with_params(x)), x0, bounds=(lo, hi),
                                 xtol=1e-10, ftol=1e-12, gtol=1e-10, max_nfev=200)
    fitted = base.with_params(sol.x)
    at_bound = bool(isinstance(base, Weibull) and not base.fixed_shape
                    and (np.isclose(sol.x[1], lo[1]) or np.isclose(sol.x[1], hi[1])))
    return fitted, at_bound


def _marginal_grid(targets: list[Target]) -> FloatArray:
    horizon = max(6.0 * max(t.published for t in targets if t.what == "median"),
                  1.5 * max([t.time for t in targets if t.time is not None], default=0.0), 24.0)
    return np.linspace(0.0, horizon, MARGINAL_GRID + 1)


def fit_pfs(pred: Predictors, start: Baseline, targets: list[Target], arms: list[str],
            shape_bounds: tuple[float, float], b: FloatArray, shifts: dict[str, FloatArray]) -> tuple[Baseline, bool]:
    """Least squares of the PFS baseline over the PFS targets."""
    pat = _patterns(pred, b, shifts)

    def resid(base: Baseline) -> FloatArray:
        values = _model_values(targets, arms, lambda a: _pfs_median(base, pat, a, pred.n_arms),
                               lambda a, t: float(_pfs_survival(t, base, pat, pred.n_arms)[a]))
        return _residuals(targets, values)

    return _least_squares(start, resid, shape_bounds)


def fit_post(pred: Predictors, joint: JointModel, targets: list[Target], arms: list[str],
             shape_bounds: tuple[float, float], b: FloatArray, shifts: dict[str, FloatArray]) -> tuple[Baseline, bool]:
    """Least squares of the post-progression baseline over the OS targets, for fixed ``b``."""
    pat = _patterns(pred, b, shifts)
    grid = _marginal_grid(targets)

    def resid(post: Baseline) -> FloatArray:
        marg = _marginal_os(replace(joint, post=post), pat, grid, pred.n_arms)
        values = _model_values(targets, arms, lambda a: _grid_median(grid, marg[a]),
                               lambda a, t: float(np.interp(t, grid, marg[a])))
        return _residuals(targets, values)

    return _least_squares(joint.post, resid, shape_bounds)


def _limit_grid(censoring: Callable[[FloatArray], FloatArray], t_end: float) -> tuple[FloatArray, FloatArray]:
    grid = t_end * np.linspace(0.0, 1.0, LIMIT_GRID + 1) ** 1.5
    return grid, censoring(0.5 * (grid[1:] + grid[:-1]))


def limits(  # noqa: PLR0913
    pred: Predictors, joint: JointModel, b: FloatArray, shifts: dict[str, FloatArray],
    censoring: Callable[[FloatArray], FloatArray], t_end: float, *, unadjusted: bool = False,
    start_os: FloatArray | None = None,
) -> dict[str, FloatArray]:
    """Limiting Cox log-HRs of the PFS and OS analysis models (or arm-only, ``unadjusted``).

    ``pred`` is the limit sample (:data:`LIMIT_PER_ARM` patients per arm, with analysis designs).

    Returns ``{"pfs": ..., "os": ...}`` with the columns of ``pred.x_pfs`` / ``pred.x_os`` (or
    the arm indicators only).
    """
    grid, cens = _limit_grid(censoring, t_end)
    (pfs_e, pfs_l), (post_e, post_l) = etas(pred, b, shifts)
    if unadjusted:  # an arm-only model needs each arm's marginal curve only
        k = len(pred.arm_columns)
        marg_pfs, marg_os, _ = os_paths(
            grid, joint.pfs.cumhaz(grid), joint.post.cumhaz(grid), t0=pred.t0,
            cumhaz_pfs_t0=joint.pfs.cumhaz(pred.t0), cumhaz_post_t0=joint.post.cumhaz(pred.t0),
            eta_pfs=(pfs_e, pfs_l), eta_post=(post_e, post_l), death_share=joint.death_share,
            weight=np.ones(pred.arm.size), group=pred.arm, n_groups=pred.n_arms,
        )
        design = np.vstack([np.zeros(k), np.eye(k)])
        counts = np.bincount(pred.arm, minlength=pred.n_arms).astype(float)
        return {"pfs": cox_limit(design, marg_pfs, cens, weights=counts),
                "os": cox_limit(design, marg_os, cens, weights=counts)}
    out = {}
    for endpoint, use, design in (("pfs", pred.rows_pfs, pred.x_pfs), ("os", pred.rows_os, pred.x_os)):
        s_pfs, s_os = _paths_each(grid, joint, pred, use, (pfs_e, pfs_l), (post_e, post_l))
        surv = s_pfs if endpoint == "pfs" else s_os
        start = start_os if endpoint == "os" else None
        out[endpoint] = cox_limit(design, surv, cens, start=start)
    return out


def _paths_each(grid, joint, pred, use, pfs, post):  # noqa: ANN001, ANN202
    t0 = pred.t0[use]
    weight = np.ones(use.size)
    _, _, each_os = os_paths(
        grid, joint.pfs.cumhaz(grid), joint.post.cumhaz(grid), t0=t0,
        cumhaz_pfs_t0=joint.pfs.cumhaz(t0), cumhaz_post_t0=joint.post.cumhaz(t0),
        eta_pfs=(pfs[0][use], pfs[1][use]), eta_post=(post[0][use], post[1][use]),
        death_share=joint.death_share, weight=weight, group=np.zeros(use.size, dtype=np.int64), n_groups=1,
        keep_each=True,
    )
    if (t0 > 0).any():
        h = switched_cumhaz(joint.pfs, grid[None, :], t0[:, None], np.exp(pfs[0][use])[:, None],
                            np.exp(pfs[1][use])[:, None])
    else:
        h = np.exp(pfs[1][use])[:, None] * joint.pfs.cumhaz(grid)[None, :]
    return np.exp(-np.minimum(h, 460.0)), each_os


def fit_outcomes(  # noqa: PLR0913
    pred: Predictors,
    limit_pred: Predictors,
    start: JointModel,
    targets: dict[str, list[Target]],
    arms: list[str],
    shape_bounds: dict[str, tuple[float, float]],
    printed_os: FloatArray,
    censoring: Callable[[FloatArray], FloatArray],
    t_end: float,
    *,
    post_log_hr: FloatArray | None = None,
    b_start: FloatArray | None = None,
    tol: float = 5e-4,
    max_iter: int = 20,
) -> OutcomeFit:
    """Solve the PFS baseline, then the post-progression baseline and log-HRs (module docstring).

    ``pred`` is the calibration sample (marginal curves), ``limit_pred`` the limit sample (Cox
    limits). With ``post_log_hr`` given (a variant of a fitted specification), ``b`` is kept and
    only the baselines are solved; ``b_start`` (and ``start``) warm-start a repeated solve.
    """
    zero = {"pfs": np.zeros(pred.n_arms), "os": np.zeros(pred.n_arms)}
    if post_log_hr is not None:
        b = post_log_hr.copy()
    else:
        b = (printed_os if b_start is None else b_start).copy()
    pfs, pfs_bound = fit_pfs(pred, start.pfs, targets["pfs"], arms, shape_bounds["pfs"], b, zero)
    joint = replace(start, pfs=pfs)
    state = {"joint": joint, "bound": False}

    def solve_post(bb: FloatArray) -> None:
        post, bound = fit_post(pred, state["joint"], targets["os"], arms, shape_bounds["os"], bb, zero)
        state["joint"], state["bound"] = replace(state["joint"], post=post), bound

    def gap(bb: FloatArray) -> FloatArray:
        solve_post(bb)
        return limits(limit_pred, state["joint"], bb, zero, censoring, t_end, start_os=printed_os)["os"] - printed_os

    if post_log_hr is not None:
        solve_post(b)
        f = gap(b) if b.size else np.zeros(0)
    else:
        b, f = _broyden(gap, b, tol=tol, max_iter=max_iter)
    return OutcomeFit(
        joint=state["joint"], post_log_hr=b, shifts=zero,
        os_hr_residual=float(np.max(np.abs(f))) if f.size else 0.0,
        shape_at_bound={"pfs": pfs_bound, "os": state["bound"]},
    )


def _broyden(f: Callable[[FloatArray], FloatArray], x: FloatArray, *, tol: float, max_iter: int
             ) -> tuple[FloatArray, FloatArray]:
    """Root of ``f`` by Broyden's ("good") method from a scaled-identity Jacobian."""
    fx = f(x)
    if x.size == 0 or np.max(np.abs(fx)) < tol:
        return x, fx
    norm = float(np.linalg.norm(fx))
    d = -fx / norm
    h = min(0.1, norm)
    g = float((f(x + h * d) - fx) @ d / h)
    jac = np.eye(x.size) * (g if abs(g) > 0.05 else 0.5)
    for _ in range(max_iter):
        step = -np.linalg.solve(jac, fx)
        x_new = x + step
        f_new = f(x_new)
        jac += np.outer(f_new - fx - jac @ step, step) / float(step @ step)
        x, fx = x_new, f_new
        if np.max(np.abs(fx)) < tol:
            break
    f(x)  # leave the baselines solved for the returned x
    return x, fx


def solve_delays(  # noqa: PLR0913
    pred: Predictors, fit: OutcomeFit, targets: dict[str, list[Target]], arms: list[str],
    delayed: dict[str, dict[str, float]], keep: dict[str, dict[str, float]],
) -> OutcomeFit:
    """Late treatment shifts per delayed arm that keep its medians (PFS, then OS).

    ``keep`` gives, per endpoint and arm, the median to keep: the calibrated model's (without
    the delay), which equals the published one where the calibration meets it.

    Raises
    ------
    ValueError
        If no shift reaches a published median (the delay is too long for it).
    """
    shifts = {"pfs": np.zeros(pred.n_arms), "os": np.zeros(pred.n_arms)}
    joint, b = fit.joint, fit.post_log_hr
    for endpoint in ("pfs", "os"):
        grid = _marginal_grid(targets[endpoint])
        for arm_name, months in delayed[endpoint].items():
            a = arms.index(arm_name)
            target = keep[endpoint][arm_name]

            def gap(delta: float, endpoint: str = endpoint, a: int = a, grid: FloatArray = grid,
                    target: float = target) -> float:
                shifts[endpoint][a] = delta
                pat = _patterns(pred, b, shifts)
                if endpoint == "pfs":
                    m = _pfs_median(joint.pfs, pat, a, pred.n_arms)
                else:
                    m = _grid_median(grid, _marginal_os(joint, pat, grid, pred.n_arms)[a])
                return float(np.log(m) - np.log(target))

            try:
                delta = optimize.brentq(gap, -8.0, 8.0, xtol=1e-10)
            except ValueError as exc:
                raise ValueError(
                    f"{endpoint} arm {arm_name!r}: with no treatment effect for {months:g} months, no later "
                    f"hazard ratio gives the median {target:.3g}"
                ) from exc
            gap(delta)
    return replace(fit, shifts=shifts)


def check_targets(pred: Predictors, fit: OutcomeFit, targets: dict[str, list[Target]], arms: list[str]
                  ) -> list[TargetCheck]:
    """Every target next to the fitted model's value."""
    pat = _patterns(pred, fit.post_log_hr, fit.shifts)
    out: list[TargetCheck] = []
    for endpoint, listed in targets.items():
        if endpoint == "pfs":
            values = _model_values(listed, arms, lambda a: _pfs_median(fit.joint.pfs, pat, a, pred.n_arms),
                                   lambda a, t: float(_pfs_survival(t, fit.joint.pfs, pat, pred.n_arms)[a]))
        else:
            grid = _marginal_grid(listed)
            marg = _marginal_os(fit.joint, pat, grid, pred.n_arms)
            values = _model_values(listed, arms, lambda a, marg=marg, grid=grid: _grid_median(grid, marg[a]),
                                   lambda a, t, marg=marg, grid=grid: float(np.interp(t, grid, marg[a])))
        out += [TargetCheck(endpoint=t.endpoint, what=t.what, arm=t.arm, time=t.time, published=t.published,
                            model=v, se=t.se, source=t.source, targeted=t.targeted)
                for t, v in zip(listed, values, strict=True)]
    return out
