"""The fast Newton-Raphson Cox fit against lifelines and statsmodels (independent implementations).

R itself is the reference in ``tests/conformance/test_cox_r.py``; here: the Python references,
aliased and infinite terms, and the ridge.
"""

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
    assert fit.converged and fit.method == "newton-efron" and set(fit.status) == {"ok"}
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


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_tied_event_times_match_statsmodels(ties: str) -> None:
    # was: tied events went to lifelines (method "lifelines-efron"); now Efron/Breslow are native
    X, t, e = _data(3)
    t = np.round(t, 1)
    fit = fit_cox_newton(X, t, e, ties=ties)
    assert fit.method == f"newton-{ties}" and fit.converged
    sm = PHReg(t, X, status=e.astype(int), ties=ties).fit(tol=1e-12)
    np.testing.assert_allclose(fit.coef, sm.params, atol=1e-6)
    np.testing.assert_allclose(fit.se, sm.bse, atol=1e-6)
    assert fit.loglik == pytest.approx(sm.llf, abs=1e-8)


def test_separation_is_flagged_not_hidden() -> None:
    rng = np.random.default_rng(0)
    x = np.r_[np.zeros(20), np.ones(20)]
    t = rng.exponential(1, 40)
    e = x == 1  # every event in one group: the MLE is infinite
    fit = fit_cox_newton(x[:, None], t, e)
    assert not fit.converged and np.isnan(fit.se).all() and np.isnan(fit.coef).all()
    assert fit.status == ("infinite",) and fit.reason[0].startswith("infinite")
    assert fit.coef_last[0] > 5  # the iterate diverged towards +infinity


def test_separated_term_is_infinite_and_the_others_keep_their_estimates() -> None:
    X, t, e = _data(4, n=80, p=3)
    e = e & (X[:, 0] == 0)  # no events where x0 = 1
    fit = fit_cox_newton(X, t, e)
    assert fit.status == ("infinite", "ok", "ok") and not fit.converged
    assert np.isnan(fit.coef[0]) and np.isfinite(fit.coef[1:]).all() and np.isfinite(fit.se[1:]).all()
    # the others are the limit of the fit as beta_0 -> -infinity: the fit without the x0 = 1 patients'
    # contribution to the risk sets, i.e. the fit on the x0 = 0 patients alone
    limit = fit_cox_newton(X[X[:, 0] == 0, 1:], t[X[:, 0] == 0], e[X[:, 0] == 0])
    np.testing.assert_allclose(fit.coef[1:], limit.coef, atol=1e-4)


@pytest.mark.parametrize("kind", ["constant", "duplicate", "collinear", "no information"])
def test_aliased_column_is_not_estimated_and_the_rest_is_the_fit_without_it(kind: str) -> None:
    X, t, e = _data(6, p=3)
    extra = {
        "constant": np.full(len(t), 2.0),
        "duplicate": X[:, 1],
        "collinear": X[:, 1] - 3 * X[:, 2],
        # non-zero only for a patient censored before the first event: in no risk set with an event
        "no information": np.where(t < t[e].min(), 1.0, 0.0),
    }[kind]
    if kind == "no information":
        t, e = np.r_[t, t[e].min() / 2], np.r_[e, False]
        X = np.vstack([X, X[:1]])
        extra = np.r_[np.zeros(len(t) - 1), 1.0]
    fit = fit_cox_newton(np.column_stack([X, extra]), t, e)
    without = fit_cox_newton(X, t, e)
    assert fit.status == ("ok", "ok", "ok", "aliased") and fit.converged
    assert np.isnan(fit.coef[3]) and np.isnan(fit.se[3])
    assert fit.reason[3] == ("aliased: constant in the fitted patients" if kind == "constant" else fit.reason[3])
    np.testing.assert_allclose(fit.coef[:3], without.coef, rtol=1e-10)
    np.testing.assert_allclose(fit.se[:3], without.se, rtol=1e-10)


def test_iteration_limit_is_not_converged() -> None:
    X, t, e = _data(1)
    fit = fit_cox_newton(X, t, e, max_iter=1)
    assert not fit.converged and set(fit.status) == {"not converged"} and np.isfinite(fit.coef).all()


def test_no_events_fails_without_raising() -> None:
    X, t, _ = _data(2, p=2)
    fit = fit_cox_newton(X, t, np.zeros(len(t), bool))
    assert not fit.converged and np.isnan(fit.coef).all() and fit.status == ("failed", "failed")


def test_information_and_covariance_are_inverse_and_loglik_matches_lifelines() -> None:
    X, t, e = _data(7, p=4)
    fit = fit_cox_newton(X, t, e)
    np.testing.assert_allclose(fit.information @ fit.cov, np.eye(4), atol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), fit.se, rtol=1e-12)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(T=t, E=e.astype(int))
    ll = CoxPHFitter().fit(frame, "T", "E", fit_options={"precision": 1e-12})
    assert fit.loglik == pytest.approx(ll.log_likelihood_, abs=1e-7)
    assert fit.loglik0 < fit.loglik


@pytest.mark.parametrize("penalizer", [0.05, 0.5])
def test_ridge_matches_lifelines_penalizer(penalizer: float) -> None:
    X, t, e = _data(5, p=4)
    fit = fit_cox_newton(X, t, e, penalizer=penalizer)
    frame = pd.DataFrame(X, columns=list("abcd")).assign(T=t, E=e.astype(int))
    ll = CoxPHFitter(penalizer=penalizer).fit(frame, "T", "E", fit_options={"precision": 1e-12})
    np.testing.assert_allclose(fit.coef, ll.params_.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(fit.se, ll.standard_errors_.to_numpy(), atol=1e-6)
