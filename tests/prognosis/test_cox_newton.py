"""The fast Newton-Raphson Cox fit against lifelines and statsmodels (independent implementations)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from statsmodels.duration.hazard_regression import PHReg

from necml.prognosis import fit_cox_newton


def _data(seed: int, n: int = 56, p: int = 8):  # noqa: ANN202
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[:, :3] = X[:, :3] > 0
    t = rng.exponential(np.exp(-(X @ rng.normal(0, 0.4, p))))
    c = rng.exponential(2, n)
    return X, np.minimum(t, c), t <= c


@pytest.mark.parametrize("seed", range(8))
def test_matches_lifelines_and_statsmodels_without_tied_events(seed: int) -> None:
    X, t, e = _data(seed)
    fit = fit_cox_newton(X, t, e)
    assert fit.converged and fit.method == "newton-breslow"
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(T=t, E=e.astype(int))
    ll = CoxPHFitter().fit(frame, "T", "E", fit_options={"precision": 1e-12})
    np.testing.assert_allclose(fit.coef, ll.params_.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(fit.se, ll.standard_errors_.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(fit.p, ll.summary["p"].to_numpy(), atol=1e-6)
    sm = PHReg(t, X, status=e.astype(int), ties="breslow").fit()
    np.testing.assert_allclose(fit.coef, sm.params, atol=1e-6)
    np.testing.assert_allclose(fit.se, sm.bse, atol=1e-6)


def test_censored_times_tied_with_events_use_the_risk_set_at_or_after() -> None:
    X, t, e = _data(11)
    t = t.copy()
    t[~e] = t[e][: (~e).sum()] if (~e).sum() <= e.sum() else t[~e]  # censored at event times
    fit = fit_cox_newton(X, t, e)
    sm = PHReg(t, X, status=e.astype(int), ties="breslow").fit()
    np.testing.assert_allclose(fit.coef, sm.params, atol=1e-6)


def test_tied_event_times_give_efron_through_lifelines() -> None:
    X, t, e = _data(3)
    t = np.round(t, 1)
    fit = fit_cox_newton(X, t, e)
    assert fit.method == "lifelines-efron"
    sm = PHReg(t, X, status=e.astype(int), ties="efron").fit()
    np.testing.assert_allclose(fit.coef, sm.params, atol=1e-5)


def test_separation_is_flagged_not_hidden() -> None:
    rng = np.random.default_rng(0)
    x = np.r_[np.zeros(20), np.ones(20)]
    t = rng.exponential(1, 40)
    e = x == 1  # every event in one group: the MLE is infinite
    fit = fit_cox_newton(x[:, None], t, e)
    assert not fit.converged and np.isnan(fit.se).all()


@pytest.mark.parametrize("penalizer", [0.05, 0.5])
def test_ridge_matches_lifelines_penalizer(penalizer: float) -> None:
    X, t, e = _data(5, p=4)
    fit = fit_cox_newton(X, t, e, penalizer=penalizer)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(T=t, E=e.astype(int))
    ll = CoxPHFitter(penalizer=penalizer).fit(frame, "T", "E", fit_options={"precision": 1e-12})
    np.testing.assert_allclose(fit.coef, ll.params_.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(fit.se, ll.standard_errors_.to_numpy(), atol=1e-6)
