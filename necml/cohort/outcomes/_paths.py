"""PFS and OS survival of many covariate patterns on a grid, compiled (numba) for calibration.

The same recurrence as :meth:`necml.cohort.outcomes.JointModel.state_probabilities`, without
temporaries: per pattern, per grid interval, the switched cumulative hazards, the
progression-free probability ``P0`` and the progressed-and-alive probability ``P1``. It either
sums weighted curves per group (marginal survival per arm) or stores every pattern's OS curve
(for the limiting Cox score).
"""

from __future__ import annotations

from functools import lru_cache
from math import exp, sqrt

import numpy as np
from numpy.typing import NDArray

__all__ = ["os_paths"]

FloatArray = NDArray[np.float64]


def _paths(  # noqa: PLR0913 - a compiled kernel takes flat arrays
    grid: FloatArray, h_pfs: FloatArray, h_post: FloatArray,
    t0: FloatArray, h_pfs_t0: FloatArray, h_post_t0: FloatArray,
    a_early: FloatArray, a_late: FloatArray, c_early: FloatArray, c_late: FloatArray,
    progress: float, weight: FloatArray, group: NDArray[np.int64],
    marg_pfs: FloatArray, marg_os: FloatArray, each_os: FloatArray, keep_each: bool,  # noqa: FBT001
) -> None:
    n, g = a_late.shape[0], grid.shape[0]
    for i in range(n):
        p0_prev, p1, hq_prev = 1.0, 0.0, 0.0
        k = group[i]
        marg_pfs[k, 0] += weight[i]
        marg_os[k, 0] += weight[i]
        if keep_each:
            each_os[i, 0] = 1.0
        for j in range(1, g):
            if grid[j] <= t0[i]:
                hp = a_early[i] * h_pfs[j]
                hq = c_early[i] * h_post[j]
            else:
                hp = a_early[i] * h_pfs_t0[i] + a_late[i] * (h_pfs[j] - h_pfs_t0[i])
                hq = c_early[i] * h_post_t0[i] + c_late[i] * (h_post[j] - h_post_t0[i])
            p0 = exp(-hp) if hp < 460.0 else 0.0
            dh = hq - hq_prev
            decay = exp(-dh) if dh < 460.0 else 0.0
            p1 = p1 * decay + progress * (p0_prev - p0) * sqrt(decay)
            if p1 < 1e-200:
                p1 = 0.0
            s = p0 + p1
            marg_pfs[k, j] += weight[i] * p0
            marg_os[k, j] += weight[i] * s
            if keep_each:
                each_os[i, j] = s
            p0_prev, hq_prev = p0, hq


@lru_cache(maxsize=1)
def _kernel():  # noqa: ANN202 - a numba dispatcher
    import numba

    return numba.njit(cache=True, nogil=True)(_paths)


def os_paths(  # noqa: PLR0913
    grid: FloatArray,
    cumhaz_pfs: FloatArray,
    cumhaz_post: FloatArray,
    *,
    t0: FloatArray,
    cumhaz_pfs_t0: FloatArray,
    cumhaz_post_t0: FloatArray,
    eta_pfs: tuple[FloatArray, FloatArray],
    eta_post: tuple[FloatArray, FloatArray],
    death_share: float,
    weight: FloatArray,
    group: NDArray[np.int64],
    n_groups: int,
    keep_each: bool = False,
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Weighted marginal PFS and OS per group on ``grid`` (and each pattern's OS curve).

    Parameters
    ----------
    grid : numpy.ndarray, shape (G,)
        Increasing times from 0.
    cumhaz_pfs, cumhaz_post : numpy.ndarray, shape (G,)
        The baselines' cumulative hazards on the grid.
    t0, cumhaz_pfs_t0, cumhaz_post_t0 : numpy.ndarray, shape (n,)
        Switch times (0 without one) and the baselines' cumulative hazards there.
    eta_pfs, eta_post : tuple of numpy.ndarray
        ``(early, late)`` linear predictors per pattern.
    death_share : float
        Share of first events that are deaths.
    weight : numpy.ndarray
        Pattern weights; ``group`` the group index of each pattern (``n_groups`` groups).
    keep_each : bool, default=False
        Also return each pattern's OS curve, shape (n, G).

    Returns
    -------
    marginal_pfs, marginal_os : numpy.ndarray, shape (n_groups, G)
        Weighted means per group.
    each_os : numpy.ndarray or None
    """
    n = weight.shape[0]
    marg_pfs = np.zeros((n_groups, grid.size))
    marg_os = np.zeros((n_groups, grid.size))
    each = np.empty((n, grid.size) if keep_each else (1, 1))
    _kernel()(
        np.ascontiguousarray(grid, dtype=float), np.ascontiguousarray(cumhaz_pfs, dtype=float),
        np.ascontiguousarray(cumhaz_post, dtype=float), np.ascontiguousarray(t0, dtype=float),
        np.ascontiguousarray(cumhaz_pfs_t0, dtype=float), np.ascontiguousarray(cumhaz_post_t0, dtype=float),
        np.exp(eta_pfs[0]), np.exp(eta_pfs[1]), np.exp(eta_post[0]), np.exp(eta_post[1]),
        1.0 - death_share, np.ascontiguousarray(weight, dtype=float), np.ascontiguousarray(group, dtype=np.int64),
        marg_pfs, marg_os, each, keep_each,
    )
    total = np.bincount(group, weights=weight, minlength=n_groups)[:, None]
    return marg_pfs / total, marg_os / total, each if keep_each else None
