"""XGBoost survival estimators with scikit-survival's interface.

``XGBCoxSurvival`` boosts the Cox partial likelihood (``survival:cox``); its risk score is the
log relative hazard and its survival curves come from a Breslow baseline hazard fitted on
the training data. ``XGBAFTSurvival`` is an accelerated-failure-time model
(``survival:aft``): right-censored times enter as intervals ``[t, inf)``, the survival curve
is ``S(t | x) = 1 - F((log t - mu(x)) / sigma)`` for the chosen error distribution ``F``, and
the risk score is minus the predicted time ``exp(mu(x))``. Boosting starts from the
maximum-likelihood intercept of the censored AFT model without covariates (XGBoost does not fit
it for ``survival:aft``: its margin would start at 0.5 whatever the time scale, so each fold's
tuned learning rate would leave a different offset).
"""

from __future__ import annotations

import numpy as np
import xgboost as xgb
from scipy.optimize import minimize_scalar
from scipy.special import expit
from scipy.stats import gumbel_l, logistic, norm
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data
from sksurv.base import SurvivalAnalysisMixin
from sksurv.functions import StepFunction
from sksurv.linear_model.coxph import BreslowEstimator
from sksurv.util import check_array_survival

__all__ = ["XGBAFTSurvival", "XGBCoxSurvival", "aft_intercept"]


class _XGBSurvivalBase(SurvivalAnalysisMixin, BaseEstimator):
    def __init__(
        self,
        n_estimators: int = 100,
        learning_rate: float = 0.05,
        max_depth: int = 3,
        min_child_weight: float = 1.0,
        subsample: float = 1.0,
        colsample_bytree: float = 1.0,
        reg_lambda: float = 1.0,
        reg_alpha: float = 0.0,
        random_state: int | None = None,
        n_jobs: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _params(self) -> dict[str, object]:
        return {
            "eta": self.learning_rate,
            "max_depth": self.max_depth,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "lambda": self.reg_lambda,
            "alpha": self.reg_alpha,
            "seed": 0 if self.random_state is None else int(self.random_state),
            "nthread": self.n_jobs,
            "verbosity": 0,
            "tree_method": "exact",
        }

    def _train(self, dmatrix: xgb.DMatrix, params: dict[str, object]) -> xgb.Booster:
        return xgb.train({**self._params(), **params}, dmatrix, num_boost_round=self.n_estimators)

    def _margin(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "booster_")
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")
        return self.booster_.predict(xgb.DMatrix(X), output_margin=True)


class XGBCoxSurvival(_XGBSurvivalBase):
    """Gradient-boosted trees on the Cox partial likelihood (XGBoost ``survival:cox``).

    Parameters
    ----------
    n_estimators : int, default=100
        Boosting rounds.
    learning_rate : float, default=0.05
        Shrinkage (``eta``).
    max_depth : int, default=3
        Tree depth.
    min_child_weight : float, default=1.0
        Minimum Hessian in a leaf.
    subsample, colsample_bytree : float, default=1.0
        Row and column subsampling.
    reg_lambda, reg_alpha : float
        L2 and L1 penalties on leaf weights.
    random_state : int, optional
        XGBoost's seed.
    n_jobs : int, default=1
        Threads.

    Attributes
    ----------
    booster_ : xgboost.Booster
    baseline_ : sksurv.linear_model.coxph.BreslowEstimator
        Breslow baseline cumulative hazard on the training margins.
    unique_times_ : numpy.ndarray
        Event times at which survival functions step.
    n_features_in_ : int

    Examples
    --------
    >>> from sksurv.util import Surv
    >>> rng = np.random.default_rng(0); X = rng.normal(size=(40, 2))
    >>> y = Surv.from_arrays(rng.random(40) < 0.7, rng.exponential(size=40))
    >>> XGBCoxSurvival(n_estimators=5, random_state=0).fit(X, y).predict(X[:2]).shape
    (2,)
    """

    def fit(self, X: np.ndarray, y: np.ndarray) -> XGBCoxSurvival:
        """Fit on ``X`` and a structured ``y`` (event, time)."""
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        event, time = check_array_survival(X, y)
        label = np.where(event, time, -time)  # xgboost: negative label = right-censored
        self.booster_ = self._train(xgb.DMatrix(X, label=label), {"objective": "survival:cox"})
        margin = self.booster_.predict(xgb.DMatrix(X), output_margin=True)
        self.baseline_ = BreslowEstimator().fit(margin, event, time)
        self.unique_times_ = self.baseline_.unique_times_
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Risk score: the log relative hazard (higher = worse)."""
        return self._margin(X)

    def predict_survival_function(self, X: np.ndarray, return_array: bool = False) -> np.ndarray:
        """Survival functions from the Breslow baseline (StepFunctions, or values at ``unique_times_``)."""
        functions = self.baseline_.get_survival_function(self._margin(X))
        if return_array:
            return np.vstack([f(self.unique_times_) for f in functions])
        return functions


_AFT_SURVIVAL = {
    "normal": lambda z: norm.sf(z),
    "logistic": lambda z: expit(-z),
    "extreme": lambda z: np.exp(-np.exp(np.clip(z, -700, 700))),
}


#: log-density and log-survival of the standardised log-time error (XGBoost's "extreme" is the minimum Gumbel)
_AFT_LOG = {
    "normal": (norm.logpdf, norm.logsf),
    "logistic": (logistic.logpdf, logistic.logsf),
    "extreme": (gumbel_l.logpdf, gumbel_l.logsf),
}


def aft_intercept(time: np.ndarray, event: np.ndarray, distribution: str, sigma: float) -> float:
    """Maximum-likelihood ``mu`` of ``log T = mu + sigma * W`` from right-censored data, sigma fixed.

    Examples
    --------
    >>> t = np.array([1.0, 2.0, 4.0, 8.0])
    >>> round(aft_intercept(t, np.ones(4, bool), "normal", 1.0), 6) == round(float(np.log(t).mean()), 6)
    True
    """
    log_pdf, log_sf = _AFT_LOG[distribution]
    log_t = np.log(np.asarray(time, dtype=float))
    event = np.asarray(event, dtype=bool)

    def negloglik(mu: float) -> float:
        z = (log_t - mu) / sigma
        return -float(log_pdf(z[event]).sum() + log_sf(z[~event]).sum())

    centre = float(np.median(log_t))
    spread = float(np.ptp(log_t)) + 10.0 * sigma
    return float(minimize_scalar(negloglik, bounds=(centre - spread, centre + spread), method="bounded",
                                 options={"xatol": 1e-10}).x)


class XGBAFTSurvival(_XGBSurvivalBase):
    """Gradient-boosted accelerated-failure-time model (XGBoost ``survival:aft``).

    Parameters
    ----------
    distribution : {"normal", "logistic", "extreme"}, default="normal"
        Distribution of the log-time error.
    sigma : float, default=1.0
        Scale of the log-time error.
    **kwargs
        The boosting parameters of :class:`XGBCoxSurvival`.

    Attributes
    ----------
    booster_ : xgboost.Booster
    unique_times_ : numpy.ndarray
        Training event times, the grid of ``predict_survival_function(return_array=True)``.
    n_features_in_ : int
    """

    def __init__(
        self,
        n_estimators: int = 100,
        learning_rate: float = 0.05,
        max_depth: int = 3,
        min_child_weight: float = 1.0,
        subsample: float = 1.0,
        colsample_bytree: float = 1.0,
        reg_lambda: float = 1.0,
        reg_alpha: float = 0.0,
        random_state: int | None = None,
        n_jobs: int = 1,
        distribution: str = "normal",
        sigma: float = 1.0,
    ) -> None:
        super().__init__(
            n_estimators=n_estimators,
            learning_rate=learning_rate,
            max_depth=max_depth,
            min_child_weight=min_child_weight,
            subsample=subsample,
            colsample_bytree=colsample_bytree,
            reg_lambda=reg_lambda,
            reg_alpha=reg_alpha,
            random_state=random_state,
            n_jobs=n_jobs,
        )
        self.distribution = distribution
        self.sigma = sigma

    def fit(self, X: np.ndarray, y: np.ndarray) -> XGBAFTSurvival:
        """Fit on ``X`` and a structured ``y``; censored times become intervals ``[t, inf)``."""
        if self.distribution not in _AFT_SURVIVAL:
            raise ValueError(
                f"distribution must be one of {sorted(_AFT_SURVIVAL)}, got {self.distribution!r}"
            )
        if not self.sigma > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        event, time = check_array_survival(X, y)
        time = np.maximum(time, 1e-6)  # log-time model: a zero time is a tiny positive one
        dmatrix = xgb.DMatrix(X)
        dmatrix.set_float_info("label_lower_bound", time)
        dmatrix.set_float_info("label_upper_bound", np.where(event, time, np.inf))
        params = {
            "objective": "survival:aft",
            "eval_metric": "aft-nloglik",
            "aft_loss_distribution": self.distribution,
            "aft_loss_distribution_scale": self.sigma,
            # XGBoost's AFT margin is log(base_score): start from the censored MLE intercept
            "base_score": float(np.exp(aft_intercept(time, event, self.distribution, self.sigma))),
        }
        self.booster_ = self._train(dmatrix, params)
        self.unique_times_ = np.unique(time[event])
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Risk score: minus the predicted survival time (higher = worse)."""
        return -np.exp(self._margin(X))

    def predict_survival_at(self, X: np.ndarray, times: np.ndarray) -> np.ndarray:
        """``S(t | x) = 1 - F((log t - mu(x)) / sigma)`` at each of ``times`` (exact, not a step)."""
        mu = self._margin(X)
        log_t = np.log(np.maximum(np.asarray(times, dtype=float), 1e-12))
        return _AFT_SURVIVAL[self.distribution]((log_t[None, :] - mu[:, None]) / self.sigma)

    def predict_survival_function(self, X: np.ndarray, return_array: bool = False) -> np.ndarray:
        """``S(t | x)`` at ``unique_times_`` (``return_array=True``) or as StepFunctions on them."""
        grid = self.unique_times_
        values = self.predict_survival_at(X, grid)
        if return_array:
            return values
        return np.array([StepFunction(grid, row) for row in values])
