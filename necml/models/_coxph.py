"""Cox proportional hazards with scikit-survival's interface, fitted as R's ``survival::coxph``.

The coefficients come from :func:`necml.prognosis.fit_cox_newton` (Newton-Raphson, Efron ties,
R's convergence rule, aliased and infinite terms reported per term). A term R would print as NA
(a constant or collinear column: "aliased") enters the linear predictor with coefficient 0, as
R's ``predict.coxph`` does. A coefficient that runs to infinity (a rare factor level that
separates: R warns "coefficient may be infinite") is, by default, kept at its last iterate, as
R keeps it (``infinite="last"``); ``infinite="zero"`` drops it from the linear predictor
instead. Either way the fit emits one warning naming the terms, and never raises: a 30-fold
benchmark on real data does not crash on a fold that separates.

The survival curve is R's ``survfit(coxph(...), newdata)``: the baseline cumulative hazard
with the ties correction of the fit (Efron: at a time with ``d`` tied deaths the increment is
``sum_{r<d} 1 / (S0 - r/d E0)``; Breslow: ``d / S0``), ``S(t | x) = exp(-H0(t) exp(lp(x)))``
with the linear predictor centred at the training means.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data
from sksurv.base import SurvivalAnalysisMixin
from sksurv.functions import StepFunction
from sksurv.util import check_array_survival

from necml.dataset._coxph import fit_cox_newton  # the engine (re-exported by necml.prognosis)

__all__ = ["CoxPHSurvival", "cox_baseline_hazard"]


def cox_baseline_hazard(
    time: NDArray, event: NDArray, lp: NDArray, *, ties: str = "efron"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Baseline cumulative hazard of a Cox model at every distinct time, as R's ``survfit.coxph``.

    Parameters
    ----------
    time, event : numpy.ndarray
        Training follow-up and event indicator.
    lp : numpy.ndarray
        Training linear predictor (the baseline is that of ``lp = 0``).
    ties : {"efron", "breslow"}, default="efron"
        Efron's or Breslow's (Nelson-Aalen-type) increment at tied death times.

    Returns
    -------
    tuple of numpy.ndarray
        The distinct times (sorted) and the cumulative hazard just after each.

    Examples
    --------
    >>> t, h = cox_baseline_hazard(np.array([1.0, 2.0, 2.0, 3.0]), np.array([1, 1, 1, 0]), np.zeros(4))
    >>> t.tolist(), h.round(4).tolist()
    ([1.0, 2.0, 3.0], [0.25, 1.0833, 1.0833])
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    w = np.exp(np.asarray(lp, dtype=float))
    times, inverse = np.unique(time, return_inverse=True)
    deaths = np.bincount(inverse, weights=event, minlength=len(times))
    dead_w = np.bincount(inverse, weights=w * event, minlength=len(times))
    at_risk = np.cumsum(np.bincount(inverse, weights=w, minlength=len(times))[::-1])[::-1]
    increment = np.zeros(len(times))
    for d in np.unique(deaths[deaths > 0]).astype(int):
        k = deaths == d
        if ties == "breslow" or d == 1:
            increment[k] = d / at_risk[k]
        else:  # Efron: the r-th of d tied deaths sees the risk set less r/d of the deaths' weight
            frac = np.arange(d)[:, None] / d
            increment[k] = (1.0 / (at_risk[k][None, :] - frac * dead_w[k][None, :])).sum(axis=0)
    return times, np.cumsum(increment)


class CoxPHSurvival(SurvivalAnalysisMixin, BaseEstimator):
    """Cox proportional hazards, fitted as R's ``coxph`` (see the module docstring).

    Parameters
    ----------
    alpha : float, default=0.0
        Ridge penalty on standardised coefficients: the fit maximises
        ``loglik - alpha / 2 * n * sum_j (sd_j * beta_j)^2`` (lifelines' ``penalizer``).
        0 is R's unpenalised ``coxph``.
    ties : {"efron", "breslow"}, default="efron"
        Handling of tied event times (R's default is Efron's).
    infinite : {"last", "zero"}, default="last"
        A coefficient that runs to infinity: kept at its last iterate (R) or set to 0.
    max_iter : int, default=20
        R's ``iter.max``.

    Attributes
    ----------
    coef_ : numpy.ndarray, shape (n_features,)
        Log hazard ratios; NaN for an aliased term and for an infinite one (as R prints them).
    coef_used_ : numpy.ndarray
        The coefficients of the linear predictor (aliased: 0; infinite: see ``infinite``).
    status_ : list of str
        Per term: ``ok``, ``aliased``, ``infinite``, ``not converged`` or ``failed``.
    means_ : numpy.ndarray
        Training column means (the linear predictor is centred there, as R's).
    unique_times_, cum_baseline_hazard_ : numpy.ndarray
        Distinct training times and the baseline cumulative hazard after each.
    n_features_in_ : int

    See Also
    --------
    necml.prognosis.fit_cox_newton : the engine.

    References
    ----------
    .. [1] Therneau & Grambsch 2000, Modeling Survival Data: Extending the Cox Model, ch. 3 and 10.

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> rng = np.random.default_rng(0); X = rng.normal(size=(60, 2))
    >>> y = Surv.from_arrays(rng.random(60) < 0.7, rng.exponential(np.exp(-X[:, 0])))
    >>> CoxPHSurvival().fit(X, y).predict(X[:2]).shape
    (2,)
    """

    def __init__(
        self,
        alpha: float = 0.0,
        *,
        ties: Literal["efron", "breslow"] = "efron",
        infinite: Literal["last", "zero"] = "last",
        max_iter: int = 20,
    ) -> None:
        self.alpha = alpha
        self.ties = ties
        self.infinite = infinite
        self.max_iter = max_iter

    def fit(self, X: NDArray, y: NDArray) -> CoxPHSurvival:
        """Fit on ``X`` and a structured ``y`` (event, time); warns about terms R would flag."""
        if self.ties not in ("efron", "breslow") or self.infinite not in ("last", "zero"):
            raise ValueError(f"ties must be 'efron' or 'breslow' and infinite 'last' or 'zero', "
                             f"but got ties={self.ties!r}, infinite={self.infinite!r}.")
        if not (np.isfinite(self.alpha) and self.alpha >= 0):
            raise ValueError(f"alpha must be >= 0, but got {self.alpha!r}.")
        X = validate_data(self, X, dtype=np.float64)
        event, time = check_array_survival(X, y)
        fit = fit_cox_newton(X, time, event, ties=self.ties, penalizer=float(self.alpha), max_iter=self.max_iter)
        self.coef_ = fit.coef
        self.status_ = list(fit.status)
        used = np.where(np.isfinite(fit.coef), fit.coef, 0.0)
        if self.infinite == "last":
            inf = np.array([s == "infinite" for s in fit.status], dtype=bool)
            used[inf] = fit.coef_last[inf]
        self.coef_used_ = np.nan_to_num(used, nan=0.0, posinf=0.0, neginf=0.0)
        self.means_ = X.mean(axis=0)
        self.unique_times_, self.cum_baseline_hazard_ = cox_baseline_hazard(
            time, event, self._lp(X), ties=self.ties
        )
        self._warn(fit.status, fit.reason)
        return self

    def _warn(self, status: tuple[str, ...], reason: tuple[str, ...]) -> None:
        bad = [f"column {j}: {r}" for j, (s, r) in enumerate(zip(status, reason, strict=True)) if s != "ok"]
        if bad:
            what = "kept at its last iterate" if self.infinite == "last" else "set to 0"
            warnings.warn(
                f"Cox PH: {len(bad)} term(s) not estimable ({'; '.join(bad)}); aliased terms enter the "
                f"linear predictor as 0, infinite ones are {what}",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _lp(self, X: NDArray) -> NDArray[np.float64]:
        return (X - self.means_) @ self.coef_used_

    def predict(self, X: NDArray) -> NDArray[np.float64]:
        """Risk score: the linear predictor, centred at the training means (higher = worse)."""
        check_is_fitted(self, "coef_used_")
        return self._lp(validate_data(self, X, reset=False, dtype=np.float64))

    def predict_cumulative_hazard_function(self, X: NDArray, return_array: bool = False) -> NDArray:
        """Cumulative hazard ``H0(t) exp(lp)`` (StepFunctions, or values at ``unique_times_``)."""
        # an infinite coefficient kept at its last iterate can overflow exp: cap it (S is then 0 after H0 > 0)
        risk = np.exp(np.minimum(self.predict(X), 700.0))
        with np.errstate(invalid="ignore", over="ignore"):
            base = self.cum_baseline_hazard_[None, :]
            values = np.where(base > 0, risk[:, None] * base, 0.0)
        if return_array:
            return values
        return np.array([StepFunction(self.unique_times_, v) for v in values])

    def predict_survival_function(self, X: NDArray, return_array: bool = False) -> NDArray:
        """Survival ``exp(-H0(t) exp(lp))`` (StepFunctions, or values at ``unique_times_``)."""
        values = np.exp(-self.predict_cumulative_hazard_function(X, return_array=True))
        if return_array:
            return values
        return np.array([StepFunction(self.unique_times_, v) for v in values])
