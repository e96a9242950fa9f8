"""The Kaplan-Meier estimate of the censoring distribution, G(t) = P(C > t)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sksurv.nonparametric import kaplan_meier_estimator

__all__ = ["CensoringKM"]


class CensoringKM:
    """Kaplan-Meier of the censoring times ("reverse" KM), fitted on training data.

    The estimate is scikit-survival's ``kaplan_meier_estimator(reverse=True)``; this class adds
    the left limit G(t-) that Graf's Brier score needs and scikit-survival does not expose.

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
        """G(t-), the left limit: the probability of being uncensored just before t."""
        index = np.searchsorted(self.times_, np.asarray(t, dtype=float), side="left") - 1
        return np.where(index < 0, 1.0, self.survival_[np.clip(index, 0, None)])
