"""The Kaplan-Meier estimate of the censoring distribution, G(t) = P(C > t), and its IPCW convention.

The convention of every IPCW metric in :mod:`necml.evaluation.metrics`: an event at T_i is
observed iff C >= T_i, so an **event** is weighted by ``1 / G(T_i-)`` (the left limit,
:meth:`CensoringKM.survival_left`) in Uno's C, the cumulative/dynamic AUC and the Brier
score; a **control** still event-free at a time t is weighted by ``1 / G(t)`` (Graf's Brier
score, :meth:`CensoringKM.survival`). This is R's convention (``survival::concordance``
with ``timewt = "n/G2"``; ``riskRegression::Score`` with ``cens.model = "km"``).

The conventions every necml number follows: ``docs/conventions.md``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sksurv.nonparametric import kaplan_meier_estimator

__all__ = ["CensoringKM"]


class CensoringKM:
    """Kaplan-Meier of the censoring times ("reverse" KM), fitted on training data.

    The estimate is scikit-survival's ``kaplan_meier_estimator(reverse=True)``; this class adds
    the left limit G(t-), the weight of an event at t (module docstring), which
    scikit-survival does not expose.

    At a time where deaths and censorings tie, the deaths are taken to happen first and leave
    the censoring risk set, as in scikit-survival's ``CensoringDistributionEstimator``.

    Examples
    --------
    >>> g = CensoringKM().fit(np.array([1.0, 2.0, 3.0]), np.array([True, False, True]))
    >>> g.survival(np.array([0.5, 2.0, 2.5])).tolist()
    [1.0, 0.5, 0.5]
    >>> g.survival_left(np.array([2.0])).tolist()
    [1.0]
    """

    def fit(self, time: NDArray, event: NDArray) -> CensoringKM:
        """Estimate G from follow-up ``time`` and ``event`` (censored = ``~event``)."""
        self.times_, self.survival_ = kaplan_meier_estimator(
            np.asarray(event, dtype=bool), np.asarray(time, dtype=float), reverse=True
        )
        return self

    def survival(self, t: NDArray) -> NDArray[np.float64]:
        """G(t), right-continuous (1 before the first time)."""
        index = np.searchsorted(self.times_, np.asarray(t, dtype=float), side="right") - 1
        return np.where(index < 0, 1.0, self.survival_[np.clip(index, 0, None)])

    def survival_left(self, t: NDArray) -> NDArray[np.float64]:
        """G(t-), the left limit: the probability of being uncensored just before t.

        This is the IPCW weight denominator of an event at t: a censoring tied with the event
        does not censor it.
        """
        index = np.searchsorted(self.times_, np.asarray(t, dtype=float), side="left") - 1
        return np.where(index < 0, 1.0, self.survival_[np.clip(index, 0, None)])
