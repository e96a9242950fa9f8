"""Brier score and integrated Brier score with Graf's inverse-probability-of-censoring weights.

Graf et al. (1999): for a time t and predicted survival S_i(t),

    BS(t) = 1/n sum_i [ S_i(t)^2 1{T_i <= t, d_i = 1} / G(T_i-) + (1 - S_i(t))^2 1{T_i > t} / G(t) ]

with G the censoring Kaplan-Meier (from the *training* data). An event at T_i is observed iff
C >= T_i, so it is weighted by the left limit G(T_i-); a control, still event-free at the
grid time t, by G(t). This is ``riskRegression::Score``'s convention (``cens.model = "km"``,
with predicted risk 1 - S); scikit-survival evaluates G at T_i, which differs when a
censoring ties with the event. The integrated Brier score is the trapezoidal integral of
BS(t) over the grid divided by its length, ``(t_max - t_min)``.

The conventions every necml number follows: ``docs/conventions.md``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from necml.dataset._arrays import as_event
from necml.evaluation.metrics._ipcw import CensoringKM

__all__ = ["brier_losses", "brier_scores", "integrated_brier_score"]


def brier_losses(
    time: NDArray, event: NDArray, survival: NDArray, grid: NDArray, censoring: CensoringKM
) -> NDArray[np.float64]:
    """Each patient's IPCW-weighted Brier loss at each grid time; their mean is :func:`brier_scores`.

    Parameters
    ----------
    time, event : numpy.ndarray
        Test follow-up and event indicator, shape ``(n,)``.
    survival : numpy.ndarray
        Predicted S_i(t), shape ``(n, len(grid))``.
    grid : numpy.ndarray
        Times.
    censoring : CensoringKM
        G fitted on the training data.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, len(grid))``: ``S_i(t)^2 / G(T_i-)`` for an event by t,
        ``(1 - S_i(t))^2 / G(t)`` for a patient event-free after t, 0 for one censored by t.
    """
    time = np.asarray(time, dtype=float)[:, None]
    event = as_event(event)[:, None]
    grid = np.asarray(grid, dtype=float)[None, :]
    survival = np.asarray(survival, dtype=float)
    died = (time <= grid) & event
    alive = time > grid
    g_event = censoring.survival_left(time[:, 0])[:, None]
    g_grid = censoring.survival(grid[0])[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(died, survival**2 / g_event, 0.0) + np.where(alive, (1.0 - survival) ** 2 / g_grid, 0.0)


def brier_scores(
    time: NDArray, event: NDArray, survival: NDArray, grid: NDArray, censoring: CensoringKM
) -> NDArray[np.float64]:
    """Graf's Brier score at each grid time.

    Parameters
    ----------
    time, event : numpy.ndarray
        Test follow-up and event indicator, shape ``(n,)``.
    survival : numpy.ndarray
        Predicted S_i(t), shape ``(n, len(grid))``.
    grid : numpy.ndarray
        Times.
    censoring : CensoringKM
        G fitted on the training data.

    Returns
    -------
    numpy.ndarray
        BS(t) per grid time.

    Examples
    --------
    >>> g = CensoringKM().fit(np.array([1.0, 2.0]), np.array([True, True]))
    >>> float(brier_scores(np.array([1.0, 2.0]), np.array([True, True]),
    ...                    np.array([[0.2], [0.9]]), np.array([1.5]), g)[0])
    0.025
    """
    return brier_losses(time, event, survival, grid, censoring).mean(axis=0)


def integrated_brier_score(
    time: NDArray, event: NDArray, survival: NDArray, grid: NDArray, censoring: CensoringKM
) -> float:
    """Trapezoidal integral of :func:`brier_scores` over ``grid`` divided by its length."""
    grid = np.asarray(grid, dtype=float)
    scores = brier_scores(time, event, survival, grid, censoring)
    return float(np.trapezoid(scores, grid) / (grid[-1] - grid[0]))
