"""Cumulative/dynamic time-dependent AUC with inverse-probability-of-censoring weights.

Uno et al. (2007), Hung & Chiang (2010): at time t, cases are patients with an event by t
(T_i <= t, d_i = 1), weighted by ``w_i = 1 / G(T_i-)``; controls are patients still
event-free after t (T_j > t), all weighted by ``1 / G(t)``, which cancels. AUC(t) is the
weighted share of case-control pairs in which the case has the higher risk, tied risks
counting 1/2:

    AUC(t) = sum_cases w_i (#controls with lower risk + #tied / 2) / (sum_cases w_i * #controls)

G is the censoring Kaplan-Meier (:class:`~necml.evaluation.metrics.CensoringKM`) evaluated
just before the case's event time: an event at T_i is observed iff C >= T_i, so a censoring
tied with the event does not count against it. This is ``riskRegression::Score``'s
convention (``cens.model = "km"``); scikit-survival's ``cumulative_dynamic_auc`` uses G(T_i),
which differs only where a censoring ties with an event. Only the cases' G must be positive.
Vectorised: one sort of the control risks and two ``searchsorted`` calls.

The conventions every necml number follows: ``docs/conventions.md``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from necml.dataset._arrays import as_event
from necml.evaluation.metrics._ipcw import CensoringKM

__all__ = ["cumulative_dynamic_auc_at", "cumulative_dynamic_auc_counts"]


def cumulative_dynamic_auc_counts(
    time: NDArray, event: NDArray, risk: NDArray, at: float, censoring: CensoringKM
) -> tuple[float, float]:
    """Numerator and denominator of AUC(``at``) (module docstring), for pooling over sets.

    Parameters
    ----------
    time, event, risk : numpy.ndarray
        Test follow-up, event indicator and risk score (higher = worse).
    at : float
        The time t.
    censoring : CensoringKM
        G, fitted on the training data.

    Returns
    -------
    tuple of float
        ``(sum_cases w_i (lower + tied / 2), sum_cases w_i * n_controls)``; ``(0, 0)`` without
        cases or controls.
    """
    time = np.asarray(time, dtype=float)
    event = as_event(event)
    risk = np.asarray(risk, dtype=float)
    cases = event & (time <= at)
    controls = np.sort(risk[time > at])
    if not cases.any() or controls.size == 0:
        return 0.0, 0.0
    weights = 1.0 / censoring.survival_left(time[cases])
    below = np.searchsorted(controls, risk[cases], side="left")
    tied = np.searchsorted(controls, risk[cases], side="right") - below
    return float(np.dot(weights, below + 0.5 * tied)), float(weights.sum() * controls.size)


def cumulative_dynamic_auc_at(
    time: NDArray, event: NDArray, risk: NDArray, at: float, censoring: CensoringKM
) -> float:
    """AUC(``at``) of a risk score (higher = worse); NaN without cases or controls.

    Examples
    --------
    >>> g = CensoringKM().fit(np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4, bool))
    >>> cumulative_dynamic_auc_at(np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4, bool),
    ...                           np.array([4.0, 1.0, 3.0, 2.0]), 2.5, g)
    0.5
    """
    numerator, denominator = cumulative_dynamic_auc_counts(time, event, risk, at, censoring)
    return numerator / denominator if denominator > 0 else float("nan")
