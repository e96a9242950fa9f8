"""Censoring from staggered accrual, the data cut-off and an optional dropout hazard.

Patients enter uniformly over the accrual window; the administrative censoring time is the
time from entry to the data cut-off. An optional exponential dropout hazard ``r`` (per month)
censors earlier. The censoring survival function is therefore

``S_C(t) = P(cutoff - entry > t) * exp(-r t)``,

and the median follow-up estimated by the reverse Kaplan-Meier method (Schemper & Smith 1996)
estimates the median of ``S_C``. With ``dropout: calibrate`` the rate is solved in closed form so
that this median equals the published median follow-up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from necml.spec import FollowUp

__all__ = ["Censoring", "fit_censoring", "months_between"]

DAYS_PER_MONTH = 365.25 / 12.0


def months_between(start: dt.date, end: dt.date) -> float:
    """Months from ``start`` to ``end`` (365.25 / 12 days a month)."""
    return (end - start).days / DAYS_PER_MONTH


@dataclass(frozen=True, slots=True, kw_only=True)
class Censoring:
    """Fitted censoring: administrative window (months) and dropout rate (per month)."""

    min_admin: float
    max_admin: float
    dropout_rate: float
    target_median_follow_up: float | None

    def survival(self, t: NDArray[np.float64] | float) -> NDArray[np.float64]:
        """``S_C(t)``, the probability of being still uncensored at ``t``."""
        t = np.asarray(t, dtype=float)
        width = self.max_admin - self.min_admin
        admin = np.clip((self.max_admin - t) / width, 0.0, 1.0) if width > 0 else (
            (t < self.max_admin).astype(float)
        )
        return admin * np.exp(-self.dropout_rate * t)

    def median(self) -> float:
        """Model median follow-up: the median of the censoring distribution."""
        lo, hi = 0.0, self.max_admin
        for _ in range(200):  # bisection on a monotone function; 200 halvings is exact
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if self.survival(mid) > 0.5 else (lo, mid)
        return 0.5 * (lo + hi)

    def sample(self, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
        """Draw censoring times for ``n`` patients."""
        admin = rng.uniform(self.min_admin, self.max_admin, size=n)
        if self.dropout_rate > 0:
            return np.minimum(admin, rng.exponential(1.0 / self.dropout_rate, size=n))
        return admin


def fit_censoring(follow_up: FollowUp) -> tuple[Censoring, float]:
    """Fit the censoring model; return it and the residual of the median follow-up target.

    Parameters
    ----------
    follow_up : FollowUp
        The specification's accrual window, cut-off and median follow-up.

    Returns
    -------
    censoring : Censoring
        The fitted model.
    residual : float
        Model minus published median follow-up in months: 0 when met or not targeted; negative
        when the accrual window and cut-off alone already give a shorter follow-up than
        published (a dropout hazard can only shorten it further).
    """
    min_admin = months_between(follow_up.accrual_end, follow_up.cutoff)
    max_admin = months_between(follow_up.accrual_start, follow_up.cutoff)
    rate = follow_up.dropout if isinstance(follow_up.dropout, float) else 0.0
    target = follow_up.median_follow_up
    base = Censoring(
        min_admin=min_admin, max_admin=max_admin, dropout_rate=rate,
        target_median_follow_up=target,
    )
    if follow_up.dropout == "calibrate" and target is not None:
        s_admin = float(base.survival(target))
        if s_admin > 0.5:
            rate = float(np.log(2.0 * s_admin) / target)
            base = Censoring(
                min_admin=min_admin, max_admin=max_admin, dropout_rate=rate,
                target_median_follow_up=target,
            )
    residual = base.median() - target if target is not None else 0.0
    return base, float(residual)
