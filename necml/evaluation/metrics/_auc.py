"""Cumulative/dynamic time-dependent AUC with inverse-probability-of-censoring weights.

Uno et al. (2007), Hung & Chiang (2010): at time t, cases are patients with an event by t
(T_i <= t, d_i = 1), weighted by 1 / G(T_i); controls are patients still event-free after t
(T_j > t). AUC(t) is the weighted share of case-control pairs in which the case has the
higher risk, tied risks counting 1/2. G is the training data's censoring KM at T_i, as in
scikit-survival's ``cumulative_dynamic_auc``, which this reproduces; unlike it, only the
cases' G must be positive (scikit-survival needs every test event inside the training
follow-up). Vectorised: one sort of the control risks and two ``searchsorted`` calls.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from necml.evaluation.metrics._ipcw import CensoringKM

__all__ = ["cumulative_dynamic_auc_at"]


def cumulative_dynamic_auc_at(
    time: NDArray, event: NDArray, risk: NDArray, at: float, censoring: CensoringKM
) -> float:
    """AUC(``at``) of a risk score (higher = worse).

    Examples
    --------
    >>> g = CensoringKM().fit(np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4, bool))
    >>> cumulative_dynamic_auc_at(np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4, bool),
    ...                           np.array([4.0, 1.0, 3.0, 2.0]), 2.5, g)
    0.5
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    risk = np.asarray(risk, dtype=float)
    cases = event & (time <= at)
    controls = np.sort(risk[time > at])
    if not cases.any() or controls.size == 0:
        return float("nan")
    weights = 1.0 / censoring.survival(time[cases])
    below = np.searchsorted(controls, risk[cases], side="left")
    tied = np.searchsorted(controls, risk[cases], side="right") - below
    return float(np.dot(weights, below + 0.5 * tied) / (weights.sum() * controls.size))
