"""``necml.prognosis._zph.cox_zph`` against R's ``survival::cox.zph`` (survival >= 3.0 score test).

Each data set is sent to R once; R fits ``coxph(Surv(time, status) ~ ., data = d, ties = ...)``
for Efron and Breslow ties and returns the coefficients and ``cox.zph(fit, transform = ...)$table``
for the four transforms. necml is given R's coefficients (the test fits nothing), and its per-term
and GLOBAL chisq and p must equal R's to 1e-6 relative (chisq only where R's p is below 1e-12).
The legacy option is checked against lifelines' ``proportional_hazard_test``.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test

from necml.prognosis._zph import cox_zph
from tests.conformance.rscript import run_r

TIES = ("efron", "breslow")
TRANSFORMS = ("km", "identity", "rank", "log")
RTOL = 1e-6

# name: (n, number of continuous covariates, number of binary covariates, tied, time-varying effect, seed)
CASES = {
    "n31-p1-cont": (31, 1, 0, False, False, 1),
    "n31-p3-tied": (31, 2, 1, True, False, 2),
    "n56-p3": (56, 2, 1, False, False, 3),
    "n56-p1-bin-tied": (56, 0, 1, True, False, 4),
    "n200-p6-nonph": (200, 3, 3, False, True, 5),
    "n200-p3-tied-nonph": (200, 1, 2, True, True, 6),
    "n1000-p6-tied-nonph": (1000, 4, 2, True, True, 7),
    "n1000-p3": (1000, 2, 1, False, False, 8),
}

_R_SCRIPT = """
out <- list()
for (name in c(NAMES)) {
  d <- input(name)
  res <- list()
  for (ties in c("efron", "breslow")) {
    fit <- coxph(Surv(time, status) ~ ., data = d, ties = ties)
    res[[ties]] <- list(beta = unname(coef(fit)))
    for (tr in c("km", "identity", "rank", "log")) {
      tab <- cox.zph(fit, transform = tr)$table
      res[[ties]][[tr]] <- list(chisq = unname(tab[, "chisq"]), df = unname(tab[, "df"]), p = unname(tab[, "p"]))
    }
  }
  out[[name]] <- res
}
output(out)
"""


def _simulate(n: int, n_cont: int, n_bin: int, tied: bool, nonph: bool, seed: int) -> pd.DataFrame:
    """Covariates and Cox-model times; if ``nonph`` the first binary covariate's effect flips at t=0.1."""
    rng = np.random.default_rng(seed)
    x = np.c_[rng.normal(size=(n, n_cont)), rng.integers(0, 2, size=(n, n_bin))]
    beta = np.linspace(0.6, -0.4, x.shape[1])
    lin = x @ beta
    e = rng.exponential(size=n)
    t = e / np.exp(lin)
    if nonph:  # hazard exp(lin + 2 z) before t=0.1, exp(lin - 2 z) after: a strongly time-varying effect of z
        z, tau = x[:, n_cont], 0.1
        early = tau * np.exp(lin + 2.0 * z)
        t = np.where(e < early, tau * e / early, tau + (e - early) / np.exp(lin - 2.0 * z))
    c = rng.exponential(scale=2.0 * np.median(t), size=n)
    time = np.minimum(t, c)
    status = (t <= c).astype(int)
    # heavy ties: times on an integer grid of at most 15 values
    time = np.minimum(np.ceil(time / np.median(time) * 3.0), 15.0) if tied else time
    frame = pd.DataFrame(x, columns=[f"v{j}" for j in range(x.shape[1])])
    return frame.assign(time=time, status=status)


@functools.cache
def _r_results() -> dict:
    """R's coefficients and cox.zph tables for every case, in one R session."""
    frames = {name.replace("-", "_"): _simulate(*spec) for name, spec in CASES.items()}
    return run_r(_R_SCRIPT.replace("NAMES", ", ".join(f'"{k}"' for k in frames)), **frames)


def _case(name: str) -> tuple[pd.DataFrame, dict]:
    return _simulate(*CASES[name]), _r_results()[name.replace("-", "_")]


def _assert_close(got: pd.DataFrame, want: dict, call: str) -> None:
    want_chisq = np.atleast_1d(want["chisq"])
    want_p = np.atleast_1d(want["p"])
    np.testing.assert_array_equal(got["df"].to_numpy(), np.atleast_1d(want["df"]), err_msg=f"df vs R {call}")
    np.testing.assert_allclose(got["chisq"].to_numpy(), want_chisq, rtol=RTOL, atol=0, err_msg=f"chisq vs R {call}")
    keep = want_p >= 1e-12
    np.testing.assert_allclose(got["p"].to_numpy()[keep], want_p[keep], rtol=RTOL, atol=0, err_msg=f"p vs R {call}")


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize("case", list(CASES))
def test_cox_zph_matches_r(case: str, ties: str, transform: str) -> None:
    data, r = _case(case)
    x = data.drop(columns=["time", "status"])
    got = cox_zph(
        x.to_numpy(),
        data["time"].to_numpy(),
        data["status"].to_numpy(),
        np.atleast_1d(r[ties]["beta"]),
        names=list(x.columns),
        ties=ties,
        transform=transform,
    ).table
    assert got["term"].tolist() == [*x.columns, "GLOBAL"]
    call = f'cox.zph(coxph(Surv(time, status) ~ ., data = d, ties = "{ties}"), transform = "{transform}")$table'
    _assert_close(got, r[ties][transform], call)


def test_time_varying_effect_is_detected() -> None:
    data, r = _case("n200-p6-nonph")
    # R: cox.zph(coxph(Surv(time, status) ~ ., data = d), transform = "km")$table["v3", "p"], a small p
    assert r["efron"]["km"]["p"][3] < 1e-4
    x = data.drop(columns=["time", "status"]).to_numpy()
    got = cox_zph(x, data["time"].to_numpy(), data["status"].to_numpy(), np.asarray(r["efron"]["beta"])).table
    assert got["p"].iloc[3] < 1e-4


def test_tied_cases_are_heavily_tied() -> None:
    data, _ = _case("n1000-p6-tied-nonph")
    assert data["time"].nunique() <= 15


@pytest.mark.parametrize("tied", [False, True])
def test_gt_legacy_equals_lifelines(tied: bool) -> None:
    data = _simulate(90, 2, 1, tied, False, 11)
    cph = CoxPHFitter().fit(data, "time", "status", fit_options={"precision": 1e-12})
    want = proportional_hazard_test(cph, data, time_transform="rank")
    x = data.drop(columns=["time", "status"]).to_numpy()
    got = cox_zph(
        x,
        data["time"].to_numpy(),
        data["status"].to_numpy(),
        cph.params_.to_numpy(),
        method="gt-legacy",
        transform="rank",
    ).table
    # lifelines: proportional_hazard_test(cph, data, time_transform="rank").p_value / .test_statistic
    np.testing.assert_allclose(got["p"].to_numpy()[:-1], np.asarray(want.p_value), rtol=1e-8)
    np.testing.assert_allclose(got["chisq"].to_numpy()[:-1], np.asarray(want.test_statistic), rtol=1e-8)


def test_input_checks() -> None:
    x = np.arange(6.0)[:, None]
    with pytest.raises(ValueError, match="ties"):
        cox_zph(x, np.arange(1.0, 7.0), np.ones(6), np.zeros(1), ties="exact")
    with pytest.raises(ValueError, match="beta"):
        cox_zph(x, np.arange(1.0, 7.0), np.ones(6), np.zeros(2))
    with pytest.raises(ValueError, match="no events"):
        cox_zph(x, np.arange(1.0, 7.0), np.zeros(6), np.zeros(1))
