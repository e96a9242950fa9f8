"""necml's Cox fit against R's ``survival::coxph`` on data the tests generate.

Every comparison names the R call it reproduces. The Newton fit follows R's iteration exactly
(same start, steps, step-halving and stopping rule), so the estimates agree to rounding
(measured over the 80 grid fits: coef 2e-13, SE 6e-15, HR and CI 3e-14, p 5e-12, log-likelihood
1e-14 relative; a separated fit's other terms 5e-14); the tolerances are 1e-9 (1e-8 for p, whose
relative error grows with z^2; 1e-6 for the diverging iterate of an infinite coefficient).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from necml.dataset import Covariate, SurvivalData
from necml.prognosis import fit_cox, fit_cox_newton
from tests.conformance.rscript import run_r

RTOL, RTOL_P = 1e-9, 1e-8
P_MAX = 8

# one R session fits every case: case k uses the columns x1..x<p> of the rows with case == k
_R_FITS = """
d <- input("d"); cases <- input("cases")
res <- list()
for (k in seq_len(nrow(cases))) {
  dk <- d[d$case == cases$case[k], c(paste0("x", seq_len(cases$p[k])), "time", "status"), drop = FALSE]
  w <- character(0)
  f <- withCallingHandlers(coxph(Surv(time, status) ~ ., data = dk, ties = cases$ties[k]),
         warning = function(x) {w <<- c(w, conditionMessage(x)); invokeRestart("muffleWarning")})
  s <- summary(f)
  res[[k]] <- list(coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
                   hr = unname(s$coefficients[, "exp(coef)"]), p = unname(s$coefficients[, "Pr(>|z|)"]),
                   lower = unname(s$conf.int[, "lower .95"]), upper = unname(s$conf.int[, "upper .95"]),
                   loglik = f$loglik, iter = f$iter, warn = paste(w, collapse = " | "))
}
output(res)
"""


def _cohort(rng: np.random.Generator, n: int, p: int, tied: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, p))
    X[:, : (p + 1) // 2] = X[:, : (p + 1) // 2] > 0.3  # binary covariates first
    t = rng.exponential(6 * np.exp(-(X @ rng.normal(0, 0.5, p))))
    c = rng.exponential(12, n)
    time, event = np.minimum(t, c), t <= c
    return (np.ceil(time), X, event) if tied else (time, X, event)  # tied: whole months


def _frame(case: int, X: np.ndarray, time: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    cols = {f"x{j + 1}": X[:, j] if j < X.shape[1] else np.nan for j in range(P_MAX)}
    return pd.DataFrame({"case": case, **cols, "time": time, "status": event.astype(int)})


def _r_fits(cases: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]]) -> list[dict]:
    d = pd.concat([_frame(k, X, t, e) for k, (X, t, e, _) in enumerate(cases)], ignore_index=True)
    meta = pd.DataFrame({"case": range(len(cases)), "p": [c[0].shape[1] for c in cases], "ties": [c[3] for c in cases]})
    got = run_r(_R_FITS, d=d, cases=meta)
    return got if isinstance(got, list) else [got]


def _na(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.atleast_1d(values)], dtype=float)


def _grid() -> list[tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
    rng = np.random.default_rng(20250611)
    cases = []
    for n in (31, 56, 200, 2000):
        for p in (1, 2, 3, 5, 8):
            for tied in (False, True):
                time, X, event = _cohort(rng, n, p, tied)
                cases += [(X, time, event, ties) for ties in ("efron", "breslow")]
    return cases


@pytest.fixture(scope="module")
def grid() -> tuple[list, list[dict]]:
    cases = _grid()
    return cases, _r_fits(cases)


def test_coef_se_hr_ci_p_match_r_coxph_efron_and_breslow(grid: tuple[list, list[dict]]) -> None:
    cases, fits = grid
    assert sum(np.any(np.diff(np.sort(t[e])) == 0) for _, t, e, _ in cases) >= len(cases) // 2  # ties exercised
    for (X, t, e, ties), r in zip(cases, fits, strict=True):
        fit = fit_cox_newton(X, t, e, ties=ties)
        where = f"n={len(t)} p={X.shape[1]} ties={ties}"
        assert fit.converged and r["warn"] == "", where
        low, high = fit.ci
        # coxph(Surv(time, status) ~ ., ties = ties): coef(f), sqrt(diag(vcov(f)))
        np.testing.assert_allclose(fit.coef, _na(r["coef"]), rtol=RTOL, err_msg=where)
        np.testing.assert_allclose(fit.se, _na(r["se"]), rtol=RTOL, err_msg=where)
        # summary(f)$coefficients[, "exp(coef)"], summary(f)$conf.int[, c("lower .95", "upper .95")]
        np.testing.assert_allclose(np.exp(fit.coef), _na(r["hr"]), rtol=RTOL, err_msg=where)
        np.testing.assert_allclose(np.exp(low), _na(r["lower"]), rtol=RTOL, err_msg=where)
        np.testing.assert_allclose(np.exp(high), _na(r["upper"]), rtol=RTOL, err_msg=where)
        # summary(f)$coefficients[, "Pr(>|z|)"]
        np.testing.assert_allclose(fit.p, _na(r["p"]), rtol=RTOL_P, err_msg=where)
        # f$loglik (at 0 and at the estimate), f$iter
        np.testing.assert_allclose([fit.loglik0, fit.loglik], r["loglik"], rtol=1e-12, err_msg=where)
        assert fit.iterations == r["iter"], where


def test_aliased_columns_are_na_as_in_r_and_the_rest_equal_r() -> None:
    rng = np.random.default_rng(7)
    time, X, event = _cohort(rng, 56, 4, tied=True)
    designs = {
        "duplicate": np.column_stack([X, X[:, 1]]),
        "constant": np.column_stack([X[:, :2], np.ones(len(time)), X[:, 2:]]),
        "collinear": np.column_stack([X, X[:, 1] + 2 * X[:, 3]]),
    }
    cases = [(M, time, event, "efron") for M in designs.values()]
    for (M, t, e, _), r, kind in zip(cases, _r_fits(cases), designs, strict=True):
        fit = fit_cox_newton(M, t, e)
        # coxph(Surv(time, status) ~ ., ties = "efron"): coef(f) is NA for the aliased column
        r_coef = _na(r["coef"])
        alias = np.isnan(r_coef)
        assert alias.sum() == 1 and np.array_equal(np.isnan(fit.coef), alias), kind
        assert [s == "aliased" for s in fit.status] == alias.tolist() and fit.converged, kind
        np.testing.assert_allclose(fit.coef[~alias], r_coef[~alias], rtol=RTOL, err_msg=kind)
        # sqrt(diag(vcov(f))) of the estimable terms
        np.testing.assert_allclose(fit.se[~alias], _na(r["se"])[~alias], rtol=RTOL, err_msg=kind)
        assert fit.reason[int(np.flatnonzero(alias)[0])].startswith("aliased"), kind
    assert "constant" in fit_cox_newton(designs["constant"], time, event).reason[2]


def test_separation_is_infinite_as_r_warns_and_the_others_equal_r() -> None:
    rng = np.random.default_rng(11)
    cases = []
    for n, p in ((31, 3), (56, 4), (200, 5)):
        time, X, event = _cohort(rng, n, p, tied=n < 200)
        event = event & (X[:, 0] == 0)  # a binary level without events
        cases.append((X, time, event, "efron"))
    for (X, t, e, _), r in zip(cases, _r_fits(cases), strict=True):
        fit = fit_cox_newton(X, t, e)
        # coxph warns "Loglik converged before variable  1 ; coefficient may be infinite."
        assert "Loglik converged before variable  1 ;" in r["warn"] and "infinite" in r["warn"]
        assert fit.status[0] == "infinite" and set(fit.status[1:]) == {"ok"} and not fit.converged
        assert np.isnan(fit.coef[0]) and np.isnan(fit.se[0])
        # R's last iterate (f$iter, coef(f)[1]), and its estimates of the other terms from the same fit
        assert fit.iterations == r["iter"] and fit.coef_last[0] == pytest.approx(r["coef"][0], rel=1e-6)
        np.testing.assert_allclose(fit.coef[1:], _na(r["coef"])[1:], rtol=RTOL)
        np.testing.assert_allclose(fit.se[1:], _na(r["se"])[1:], rtol=RTOL)


def test_prognosis_table_matches_r_summary_and_cox_zph() -> None:
    rng = np.random.default_rng(5)
    time, X, event = _cohort(rng, 56, 4, tied=True)
    names = ["b1", "b2", "c1", "c2"]
    frame = pd.DataFrame(X, columns=names)
    types = {n: Covariate(type="binary" if n.startswith("b") else "continuous") for n in names}
    data = SurvivalData(X=frame, time=time, event=event, types=types, endpoint="os", source="test")
    table = fit_cox(data, names).table.set_index("term").loc[names]
    r = run_r(
        """
        d <- input("d")
        f <- coxph(Surv(time, status) ~ b1 + b2 + c1 + c2, data = d, ties = "efron")
        s <- summary(f); z <- cox.zph(f, transform = "km")
        output(list(hr = unname(s$conf.int[, 1]), lower = unname(s$conf.int[, 3]), upper = unname(s$conf.int[, 4]),
                    p = unname(s$coefficients[, 5]), zph = unname(z$table[1:4, "p"])))
        """,
        d=frame.assign(time=time, status=event.astype(int)),
    )
    # summary(coxph(...))$conf.int and $coefficients[, "Pr(>|z|)"]
    np.testing.assert_allclose(table["hr"], r["hr"], rtol=RTOL)
    np.testing.assert_allclose(table["ci_low"], r["lower"], rtol=RTOL)
    np.testing.assert_allclose(table["ci_high"], r["upper"], rtol=RTOL)
    np.testing.assert_allclose(table["p"], r["p"], rtol=RTOL_P)
    # cox.zph(f, transform = "km")$table[, "p"]
    np.testing.assert_allclose(table["ph_p"], r["zph"], rtol=1e-6)
    assert (table["note"] == "").all() and (table["method"] == "cox (efron)").all()
