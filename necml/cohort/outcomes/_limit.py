"""What a Cox fit returns on an infinitely large cohort: the pseudo-true log hazard ratios.

A Cox fit of a main-effects model converges (Struthers & Kalbfleisch 1986; Lin & Wei 1989) to
the root of the limiting score

``U(beta) = int sum_i E[dN_i(t)] (x_i - m(t, beta))``,
``m(t, beta) = sum_i E[Y_i(t)] exp(beta' x_i) x_i / sum_i E[Y_i(t)] exp(beta' x_i)``,

with ``E[dN_i(t)] = C(t) f_i(t) dt`` and ``E[Y_i(t)] = C(t) S_i(t)`` for independent censoring
with survival ``C``. Over a sample of covariate patterns (the calibration sample) and a time
grid, the integral becomes a sum over grid intervals, with events ``C(mid) (S(t_{j-1}) -
S(t_j))`` and at-risk weights ``C(mid) (S(t_{j-1}) + S(t_j)) / 2``; it is solved by Newton's
method. Where the model is PH (PFS) the root is the generating log-HR up to the grid's
discretisation error (a test checks it); for OS it is the pseudo-true value. No Monte-Carlo
noise enters, only the calibration sample's covariates.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["cox_limit"]

FloatArray = NDArray[np.float64]


def cox_limit(
    X: FloatArray,
    survival: FloatArray,
    censoring: FloatArray,
    *,
    start: FloatArray | None = None,
    weights: FloatArray | None = None,
    tol: float = 1e-10,
    max_iter: int = 50,
) -> FloatArray:
    """Limiting Cox log hazard ratios of ``X`` for patients with survival curves ``survival``.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
        Covariate patterns (complete cases), one row per calibration patient.
    survival : numpy.ndarray, shape (n, G)
        Each patient's event-free probability on the grid (column 0 is time 0).
    censoring : numpy.ndarray, shape (G - 1,)
        Probability of being uncensored at each interval's midpoint.
    start : numpy.ndarray, optional
        Starting values (zeros by default).
    weights : numpy.ndarray, optional
        Patients per row (a row can stand for a group with one survival curve, e.g. an arm's
        marginal curve in an arm-only model).
    tol : float, default=1e-10
        Stop when the largest Newton step is below ``tol``.
    max_iter : int, default=50

    Returns
    -------
    numpy.ndarray, shape (p,)

    Raises
    ------
    FloatingPointError
        If Newton's method does not converge.
    """
    from threadpoolctl import threadpool_limits  # small products: BLAS threads only add overhead

    with threadpool_limits(limits=1, user_api="blas"):
        return _newton(np.asarray(X, dtype=float), survival, censoring, start, weights, tol, max_iter)


def _newton(X: FloatArray, survival: FloatArray, censoring: FloatArray, start: FloatArray | None,
            weights: FloatArray | None, tol: float, max_iter: int) -> FloatArray:
    w_rows = np.ones(X.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    events = (survival[:, :-1] - survival[:, 1:]) * censoring * w_rows[:, None]  # (n, G-1)
    at_risk = 0.5 * (survival[:, :-1] + survival[:, 1:]) * censoring * w_rows[:, None]
    d = events.sum(axis=0)  # (G-1,)
    keep = d > 0
    events, at_risk, d = events[:, keep], at_risk[:, keep], d[keep]
    observed = X.T @ events.sum(axis=1)  # sum_j sum_i dN_ij x_i
    beta = np.zeros(X.shape[1]) if start is None else np.asarray(start, dtype=float).copy()
    for _ in range(max_iter):
        eta = X @ beta
        w = np.exp(eta - eta.max())
        a = at_risk * w[:, None]  # (n, G')
        s0 = a.sum(axis=0)
        m = (X.T @ a) / s0  # (p, G')
        score = observed - m @ d
        q = a @ (d / s0)  # (n,)
        info = (X * q[:, None]).T @ X - (m * d) @ m.T
        step = np.linalg.solve(info, score)
        beta += step
        if np.max(np.abs(step)) < tol:
            return beta
    raise FloatingPointError(f"the limiting Cox score did not converge in {max_iter} Newton steps")
