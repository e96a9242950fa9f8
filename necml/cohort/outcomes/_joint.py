"""Joint PFS and OS from an illness-death model with three transition hazards.

States: progression-free (0), progressed (1), dead (2). With a patient's linear predictors
``eta_pfs`` (both exits of state 0) and ``eta_post`` (death after progression):

* ``h_01(t | x) = (1 - p) h_pfs(t) exp(eta_pfs)``  (progression),
* ``h_02(t | x) = p h_pfs(t) exp(eta_pfs)``        (death without progression),
* ``h_12(t | x) = h_post(t) exp(eta_post)``        (death after progression, clock forward:
  Markov, Meller, Beyersmann & Rufibach 2019).

Because both exits of state 0 share the effects, PFS (the first exit) has hazard
``h_pfs(t) exp(eta_pfs)``: **exactly PH** with the specification's PFS hazard ratios, and a
share ``p`` of PFS events are deaths without progression, for every patient and time (the
spec's ``deaths_without_progression``). Post-progression survival depends on when
progression happened (the clock-forward hazard ``h_post(t)`` is evaluated on the time since
study entry) and on ``eta_post``. OS = PFS for a death without progression, else the time of
death after progression; PFS <= OS for every patient.

OS is not exactly PH (it mixes two hazards); ``eta_post`` is solved so that a Cox fit of OS
on a large sample returns the printed OS hazard ratios (:mod:`necml.cohort.outcomes._fit`),
and what a Cox fit then returns, computed without Monte-Carlo noise
(:mod:`necml.cohort.outcomes._limit`), is the *pseudo-true* value simulations score against.

A delayed treatment effect switches each patient's predictors at a time ``t0``: before it the
``early`` predictors hold, from it on the given ones. Sampling is by inversion, vectorised
over patients; the random draws per patient are, in order, one exponential (PFS), one uniform
(death or progression) and one exponential (death after progression).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from necml.cohort.outcomes._baselines import Baseline

__all__ = ["JointModel", "Switch", "switched_cumhaz", "switched_inverse"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Switch:
    """Predictors before a per-patient switch time (a delayed treatment effect).

    A patient without a switch has ``time = 0``.
    """

    time: FloatArray
    eta_pfs: FloatArray
    eta_post: FloatArray


def switched_cumhaz(
    base: Baseline, t: FloatArray | float, t0: FloatArray | float, c_early: FloatArray, c_late: FloatArray
) -> FloatArray:
    """``c_early H(min(t, t0)) + c_late (H(max(t, t0)) - H(t0))`` (broadcast)."""
    t = np.asarray(t, dtype=float)
    return c_early * base.cumhaz(np.minimum(t, t0)) + c_late * (base.cumhaz(np.maximum(t, t0)) - base.cumhaz(t0))


def switched_inverse(
    base: Baseline, h: FloatArray, t0: FloatArray | float, c_early: FloatArray, c_late: FloatArray
) -> FloatArray:
    """Solve :func:`switched_cumhaz` ``= h`` for ``t`` per patient."""
    h_t0 = base.cumhaz(t0)
    at_switch = c_early * h_t0
    with np.errstate(divide="ignore", invalid="ignore"):
        early = base.inverse(h / c_early)
        late = base.inverse(h_t0 + (h - at_switch) / c_late)
    return np.where(h < at_switch, early, late)


@dataclass(frozen=True, slots=True, kw_only=True)
class JointModel:
    """The illness-death model of one cohort (see the module docstring).

    Attributes
    ----------
    pfs : Baseline
        Baseline hazard of leaving the progression-free state (either exit).
    post : Baseline
        Clock-forward baseline hazard of death after progression.
    death_share : float
        ``p``, the share of PFS events that are deaths without progression.
    """

    pfs: Baseline
    post: Baseline
    death_share: float

    def sample(
        self,
        eta_pfs: FloatArray,
        eta_post: FloatArray,
        rng: np.random.Generator,
        *,
        switch: Switch | None = None,
    ) -> tuple[FloatArray, FloatArray, FloatArray, NDArray[np.bool_]]:
        """Draw latent (uncensored) PFS and OS times.

        Parameters
        ----------
        eta_pfs, eta_post : numpy.ndarray
            Per-patient linear predictors (from the switch on, where there is one).
        rng : numpy.random.Generator
            The ``transitions`` stream (or a :class:`necml.cohort._chunked.ChunkedStream`).
        switch : Switch, optional
            Predictors before a per-patient switch time.

        Returns
        -------
        pfs_time, os_time, pfs_uniform, progressed : numpy.ndarray
            Latent times (``pfs_time <= os_time``), the uniform behind each PFS draw (ties best
            response to PFS) and whether the first event was a progression.
        """
        n = len(eta_pfs)
        e1 = rng.standard_exponential(n)
        u_death = rng.random(n)
        e2 = rng.standard_exponential(n)
        a_late, c_late = np.exp(eta_pfs), np.exp(eta_post)
        if switch is None:
            t_pfs = self.pfs.inverse(e1 / a_late)
            after = self.post.inverse(self.post.cumhaz(t_pfs) + e2 / c_late)
        else:
            t0 = switch.time
            a_early, c_early = np.exp(switch.eta_pfs), np.exp(switch.eta_post)
            t_pfs = switched_inverse(self.pfs, e1, t0, a_early, a_late)
            target = switched_cumhaz(self.post, t_pfs, t0, c_early, c_late) + e2
            after = switched_inverse(self.post, target, t0, c_early, c_late)
        progressed = u_death >= self.death_share
        t_os = np.where(progressed, np.maximum(after, t_pfs), t_pfs)
        return t_pfs, t_os, -np.expm1(-e1), progressed

    def state_probabilities(
        self,
        grid: FloatArray,
        eta_pfs: FloatArray,
        eta_post: FloatArray,
        *,
        switch: Switch | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """PFS and OS survival of each patient on a time grid.

        ``S_pfs = P0`` is closed form; the progressed-and-alive probability ``P1`` follows the
        exact recurrence over each grid interval, with the mass entering state 1 in the
        interval (``(1 - p)(P0(t_{j-1}) - P0(t_j))``, exact) surviving half the interval's
        post-progression hazard on average (second-order accurate in the step).

        Parameters
        ----------
        grid : numpy.ndarray, shape (G,)
            Increasing times starting at 0.
        eta_pfs, eta_post : numpy.ndarray, shape (n,)
            Linear predictors.
        switch : Switch, optional
            As :meth:`sample`.

        Returns
        -------
        s_pfs, s_os : numpy.ndarray, shape (n, G)
        """
        a_late, c_late = np.exp(eta_pfs)[:, None], np.exp(eta_post)[:, None]
        if switch is None:
            h_pfs = a_late * self.pfs.cumhaz(grid)[None, :]
            h_post = c_late * self.post.cumhaz(grid)[None, :]
        else:
            t0 = switch.time[:, None]
            h_pfs = switched_cumhaz(self.pfs, grid[None, :], t0, np.exp(switch.eta_pfs)[:, None], a_late)
            h_post = switched_cumhaz(self.post, grid[None, :], t0, np.exp(switch.eta_post)[:, None], c_late)
        # Probabilities below 1e-200 are set to 0: subnormal numbers slow every operation tenfold.
        p0 = np.exp(-np.minimum(h_pfs, 460.0))
        # Time-major layout: the recurrence walks the grid over contiguous rows of patients.
        entering = np.ascontiguousarray(((1.0 - self.death_share) * -np.diff(p0, axis=1)).T)
        decay = np.ascontiguousarray(np.exp(-np.minimum(np.diff(h_post, axis=1), 460.0)).T)
        half = np.sqrt(decay)
        p1 = np.zeros((grid.size, p0.shape[0]))
        for j in range(1, grid.size):
            np.multiply(p1[j - 1], decay[j - 1], out=p1[j])
            p1[j] += entering[j - 1] * half[j - 1]
            p1[j][p1[j] < 1e-200] = 0.0
        return p0, p0 + p1.T
