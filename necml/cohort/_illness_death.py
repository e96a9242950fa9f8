"""Joint PFS and OS from an illness-death model with Weibull proportional hazards.

States: progression-free (0), progressed (1), dead (2). Given a patient's linear predictors
``eta_pfs`` and ``eta_os`` and Weibull baselines ``H_e(t) = lam_e * t**k_e``, the model is

* death hazard ``h_02(t) = h_12(t) = h_os(t | x)`` (clock forward: progression does not change
  the death hazard), and
* progression hazard ``h_01(t) = max(h_pfs(t | x) - h_os(t | x), 0)``.

Then OS is *exactly* Weibull PH with the spec's OS hazard ratios, and PFS = min(progression,
death) has hazard ``max(h_pfs, h_os)``: exactly Weibull PH with the spec's PFS hazard ratios
wherever ``h_pfs >= h_os`` (the usual case, since progression-or-death is at least as frequent as
death). Where the published numbers force ``h_os > h_pfs`` (OS hazard ratios larger than the PFS
ones, or a larger OS Weibull shape at late times), the progression hazard is clipped at zero; the
calibration accounts for it exactly and reports the clipped share. PFS <= OS for every patient by
construction.

Limitation, stated: deaths without prior progression make up ``h_os / h_pfs`` of PFS events,
more than in most real cohorts; the marginal endpoints and their conditional effects are exact.

Sampling is by inversion, vectorised over patients: ``H_eff`` is piecewise Weibull with at most
one switch, at the time where the two hazards cross.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Switch",
    "Weibull",
    "clipped_share",
    "pfs_cumulative_hazard",
    "os_cumulative_hazard",
    "sample_illness_death",
    "switched_cumulative_hazard",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Weibull:
    """A Weibull baseline: cumulative hazard ``lam * t**shape`` (time in months)."""

    lam: float
    shape: float


def _crossing(a: FloatArray, b: FloatArray, kp: float, ko: float) -> tuple[FloatArray, FloatArray]:
    """Switch time and whether the PFS hazard dominates before it, per patient."""
    if np.isclose(kp, ko, rtol=0, atol=1e-12):
        return np.full_like(a, np.inf), a >= b
    with np.errstate(divide="ignore", over="ignore"):
        t_c = ((a * kp) / (b * ko)) ** (1.0 / (ko - kp))
    return t_c, np.full(a.shape, ko > kp)


def pfs_cumulative_hazard(
    t: FloatArray | float, eta_pfs: FloatArray, eta_os: FloatArray, pfs: Weibull, os: Weibull
) -> FloatArray:
    """Cumulative hazard of PFS under the model, ``int_0^t max(h_pfs, h_os)``.

    Parameters
    ----------
    t : float or numpy.ndarray
        Time(s), broadcast against the patients.
    eta_pfs, eta_os : numpy.ndarray
        Linear predictors (log hazard ratios against the baseline).
    pfs, os : Weibull
        Baselines.

    Returns
    -------
    numpy.ndarray
        ``H_eff(t)`` per patient.
    """
    a = pfs.lam * np.exp(eta_pfs)
    b = os.lam * np.exp(eta_os)
    t_c, p_first = _crossing(a, b, pfs.shape, os.shape)
    t = np.asarray(t, dtype=float)
    c1 = np.where(p_first, a, b)
    k1 = np.where(p_first, pfs.shape, os.shape)
    c2 = np.where(p_first, b, a)
    k2 = np.where(p_first, os.shape, pfs.shape)
    tm = np.minimum(t, t_c)
    h = c1 * tm**k1
    after = t > t_c
    tail = np.where(after, t, 0) ** k2 - np.where(after, t_c, 0) ** k2
    return np.where(after, h + c2 * tail, h)


@dataclass(frozen=True, slots=True, kw_only=True)
class Switch:
    """A change of hazards at a per-patient time (a delayed treatment effect).

    Before ``time`` the patient's hazards use ``eta_pfs`` and ``eta_os`` of this object (no
    treatment effect); from ``time`` on, the linear predictors passed to the sampler. A patient
    without a switch has ``time = 0``.
    """

    time: FloatArray
    eta_pfs: FloatArray
    eta_os: FloatArray


def _invert_pfs(e: FloatArray, a: FloatArray, b: FloatArray, kp: float, ko: float) -> FloatArray:
    """Solve ``H_eff(t) = e`` per patient (piecewise Weibull with at most one switch)."""
    t_c, p_first = _crossing(a, b, kp, ko)
    c1 = np.where(p_first, a, b)
    k1 = np.where(p_first, kp, ko)
    c2 = np.where(p_first, b, a)
    k2 = np.where(p_first, ko, kp)
    with np.errstate(over="ignore", invalid="ignore"):
        h_at_switch = np.where(np.isfinite(t_c), c1 * t_c**k1, np.inf)
        in_first = e <= h_at_switch
        t_first = (e / c1) ** (1.0 / k1)
        t_c_k2 = np.where(np.isfinite(t_c), t_c, 0.0) ** k2
        t_second = ((e - np.where(in_first, 0, h_at_switch)) / c2 + t_c_k2) ** (1.0 / k2)
    return np.where(in_first, t_first, t_second)


def os_cumulative_hazard(t: FloatArray | float, eta_os: FloatArray, os: Weibull) -> FloatArray:
    """Cumulative OS hazard ``lam * exp(eta_os) * t**k`` per patient."""
    return os.lam * np.exp(eta_os) * np.asarray(t, dtype=float) ** os.shape


def switched_cumulative_hazard(
    t: FloatArray | float,
    t0: FloatArray | float,
    early: tuple[FloatArray, FloatArray],
    late: tuple[FloatArray, FloatArray],
    pfs: Weibull,
    os: Weibull,
    endpoint: str,
) -> FloatArray:
    """Cumulative hazard of ``endpoint`` when the predictors switch from ``early`` to ``late`` at ``t0``.

    ``early`` and ``late`` are ``(eta_pfs, eta_os)`` pairs; the result is
    ``H_early(min(t, t0)) + H_late(max(t, t0)) - H_late(t0)``.
    """

    def cumulative(time: FloatArray | float, etas: tuple[FloatArray, FloatArray]) -> FloatArray:
        if endpoint == "pfs":
            return pfs_cumulative_hazard(time, *etas, pfs, os)
        return os_cumulative_hazard(time, etas[1], os)

    return cumulative(np.minimum(t, t0), early) + cumulative(np.maximum(t, t0), late) - cumulative(t0, late)


def sample_illness_death(
    eta_pfs: FloatArray,
    eta_os: FloatArray,
    pfs: Weibull,
    os: Weibull,
    rng: np.random.Generator,
    *,
    switch: Switch | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Draw latent (uncensored) PFS and OS times.

    Parameters
    ----------
    eta_pfs, eta_os : numpy.ndarray
        Per-patient linear predictors for PFS and OS.
    pfs, os : Weibull
        Calibrated baselines.
    rng : numpy.random.Generator
        The ``transitions`` stream.
    switch : Switch, optional
        Hazards before a per-patient switch time (a delayed treatment effect). Both the PFS and
        the OS hazard switch, and the inversion stays exact: the cumulative hazards are
        continuous and piecewise closed-form.

    Returns
    -------
    pfs_time, os_time, pfs_uniform : numpy.ndarray
        Latent times (``pfs_time <= os_time``) and the uniform behind each PFS draw (used to
        tie best response to PFS).
    """
    n = len(eta_pfs)
    e1 = rng.standard_exponential(n)
    u_death = rng.random(n)
    e2 = rng.standard_exponential(n)
    a = pfs.lam * np.exp(eta_pfs)
    b = os.lam * np.exp(eta_os)
    if switch is None:
        t_pfs = _invert_pfs(e1, a, b, pfs.shape, os.shape)
    else:
        t0 = switch.time
        a_early, b_early = pfs.lam * np.exp(switch.eta_pfs), os.lam * np.exp(switch.eta_os)
        h_early_t0 = pfs_cumulative_hazard(t0, switch.eta_pfs, switch.eta_os, pfs, os)
        h_late_t0 = pfs_cumulative_hazard(t0, eta_pfs, eta_os, pfs, os)
        before = e1 < h_early_t0
        t_pfs = np.where(
            before,
            _invert_pfs(e1, a_early, b_early, pfs.shape, os.shape),
            _invert_pfs(e1 - h_early_t0 + h_late_t0, a, b, pfs.shape, os.shape),
        )
        a, b = np.where(before, a_early, a), np.where(before, b_early, b)
    # Death or progression at t_pfs: death with probability h_os / max(h_pfs, h_os).
    h_p = a * pfs.shape * t_pfs ** (pfs.shape - 1)
    h_o = b * os.shape * t_pfs ** (os.shape - 1)
    p_death = np.minimum(h_o / np.maximum(h_p, h_o), 1.0)
    death_first = u_death < p_death
    # After progression, death follows the same OS hazard, conditional on surviving to t_pfs.
    if switch is None:
        t_os_after = ((b * t_pfs**os.shape + e2) / b) ** (1.0 / os.shape)
    else:
        t_os_after = _os_after_switch(t_pfs, e2, switch, (eta_pfs, eta_os), pfs, os)
    t_os = np.where(death_first, t_pfs, t_os_after)
    return t_pfs, t_os, -np.expm1(-e1)


def _os_after_switch(
    t_pfs: FloatArray, e2: FloatArray, switch: Switch, late: tuple[FloatArray, FloatArray], pfs: Weibull, os: Weibull
) -> FloatArray:
    """Solve ``H_os(t) = H_os(t_pfs) + e2`` where the OS hazard switches at ``switch.time``."""
    t0, k = switch.time, os.shape
    early = (switch.eta_pfs, switch.eta_os)
    b_early, b_late = os.lam * np.exp(switch.eta_os), os.lam * np.exp(late[1])
    h_t0 = os_cumulative_hazard(t0, switch.eta_os, os)
    target = switched_cumulative_hazard(t_pfs, t0, early, late, pfs, os, "os") + e2
    with np.errstate(invalid="ignore", divide="ignore"):
        early = (target / b_early) ** (1.0 / k)
        late = ((target - h_t0) / b_late + t0**k) ** (1.0 / k)
    return np.where(target < h_t0, early, late)


def clipped_share(
    t_pfs: FloatArray, eta_pfs: FloatArray, eta_os: FloatArray, pfs: Weibull, os: Weibull
) -> float:
    """Share of PFS events at which the OS hazard exceeds the PFS hazard (clipped region).

    There the PFS hazard is the OS hazard, so the PFS hazard ratios drift towards the OS ones.
    """
    h_p = pfs.lam * np.exp(eta_pfs) * pfs.shape * t_pfs ** (pfs.shape - 1)
    h_o = os.lam * np.exp(eta_os) * os.shape * t_pfs ** (os.shape - 1)
    return float(np.mean(h_o > h_p))
