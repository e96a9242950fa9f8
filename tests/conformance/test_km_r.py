"""Kaplan-Meier summaries and the log-rank test against R's ``survival`` (survfit, survdiff).

Every data set is generated here: tied (times rounded to integers) and untied, with and
without censoring, n from 31 to 2000, a few seeds. One R process scores them all.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from necml.prognosis._km import _km, km_table, logrank_test
from tests.conformance.rscript import run_r

TOL = 1e-10
SIZES = (31, 32, 200, 2000)



def _distinct(time: np.ndarray) -> np.ndarray:
    """``time`` on a 1e-6 grid with no two values equal (R's ``aeqSurv`` would merge near ties)."""
    time = np.round(time, 6)
    order = np.argsort(time, kind="stable")
    ranked = time[order]
    ranked = ranked + 1e-6 * (np.arange(ranked.size) - np.searchsorted(ranked, ranked))
    out = np.empty_like(time)
    out[order] = np.round(ranked, 6)
    return np.maximum(out, 1e-6)

def _cases(seed: int) -> list[pd.DataFrame]:
    """Data sets: ``id, time, status, group`` (group with missing values)."""
    frames = []
    for k, (n, tied, censored) in enumerate(
        (n, tied, censored) for n in SIZES for tied in (True, False) for censored in (True, False)
    ):
        rng = np.random.default_rng([seed, k])
        event_time = rng.exponential(12.0, n)
        follow = rng.uniform(2.0, 40.0, n) if censored else np.full(n, np.inf)
        time = np.minimum(event_time, follow)
        status = (event_time <= follow).astype(int)
        if tied:
            time = np.maximum(np.round(time), 1.0)
        else:  # distinct by far more than R's timefix (aeqSurv) merges: 1.5e-8 * mean(time)
            time = _distinct(time)
        group = rng.choice(np.array(["a", "b", "c", None], dtype=object), n, p=[0.35, 0.3, 0.3, 0.05])
        frames.append(pd.DataFrame({"id": k, "time": time, "status": status, "group": group}))
    return frames


def _landmarks(time: np.ndarray) -> np.ndarray:
    """Before the first time, at observed times, between them, at and beyond the last."""
    observed = np.unique(time)
    picks = observed[np.linspace(0, observed.size - 1, 5).astype(int)]
    return np.unique(np.r_[observed[0] / 2, picks, np.quantile(time, [0.3, 0.6]) + 0.25, observed[-1] + 1])


_KM_SCRIPT = """
d <- input("data"); lm <- input("landmarks")
d$group[d$group == ""] <- NA  # pandas writes a missing label as an empty field
res <- lapply(split(d, d$id), function(x) {
  fit <- survfit(Surv(time, status) ~ 1, data = x, conf.type = "log-log")
  tab <- summary(fit)$table
  at <- lm$t[lm$id == x$id[1]]
  s <- summary(fit, times = at)            # extend = FALSE: times beyond the last are dropped
  q <- quantile(fit, 0.5)
  list(id = x$id[1], time = fit$time, surv = fit$surv, lower = fit$lower, upper = fit$upper,
       median = unname(tab["median"]), lcl = unname(tab["0.95LCL"]), ucl = unname(tab["0.95UCL"]),
       q_median = unname(q$quantile), q_lcl = unname(q$lower), q_ucl = unname(q$upper),
       lm_time = s$time, lm_surv = s$surv, lm_lower = s$lower, lm_upper = s$upper,
       last_surv = tail(fit$surv, 1))
})
lr <- lapply(split(d, d$id), function(x) {
  f <- survdiff(Surv(time, status) ~ group, data = x)
  list(id = x$id[1], chisq = f$chisq, df = length(f$n) - 1, p = f$pvalue)
})
lung_fit <- survdiff(Surv(time, status) ~ inst, data = lung)
output(list(km = unname(res), lr = unname(lr), lung = lung[, c("time", "status", "inst")],
            lung_chisq = lung_fit$chisq, lung_df = sum(lung_fit$exp > 0) - 1, lung_p = lung_fit$pvalue))
"""


def _num(values: object) -> np.ndarray:
    """R's vector (JSON; NA as null) as floats, NaN for NA."""
    return np.array([np.nan if v is None else v for v in np.atleast_1d(values)], dtype=float)


def _close(ours: float | np.ndarray, theirs: object, what: str) -> None:
    np.testing.assert_allclose(np.atleast_1d(ours).astype(float), _num(theirs), rtol=0, atol=TOL, err_msg=what)


@pytest.fixture(scope="module")
def r_results(stat_seed: int) -> tuple[list[pd.DataFrame], dict]:
    frames = [f for seed in (stat_seed, stat_seed + 1) for f in _cases(seed)]
    frames = [f.assign(id=i) for i, f in enumerate(frames)]
    landmarks = pd.DataFrame(
        [{"id": f["id"].iloc[0], "t": t} for f in frames for t in _landmarks(f["time"].to_numpy())]
    )
    data = pd.concat(frames, ignore_index=True)
    return frames, run_r(_KM_SCRIPT, data=data, landmarks=landmarks)


def test_km_curve_and_log_log_band_match_survfit(r_results: tuple[list[pd.DataFrame], dict]) -> None:
    frames, got = r_results
    for f, r in zip(frames, got["km"], strict=True):
        curve = _km(f["time"].to_numpy(), f["status"].to_numpy().astype(bool))
        _close(curve.time, r["time"], 'survfit(Surv(time, status) ~ 1)$time')
        _close(curve.surv, r["surv"], 'survfit(..., conf.type = "log-log")$surv')
        _close(curve.lower, r["lower"], 'survfit(..., conf.type = "log-log")$lower')
        _close(curve.upper, r["upper"], 'survfit(..., conf.type = "log-log")$upper')


def test_km_median_and_landmarks_match_summary_survfit(r_results: tuple[list[pd.DataFrame], dict]) -> None:
    frames, got = r_results
    flat_half = 0
    for f, r in zip(frames, got["km"], strict=True):
        time, event = f["time"].to_numpy(), f["status"].to_numpy().astype(bool)
        at = _landmarks(time)
        row = km_table(time, event, landmarks=tuple(at)).iloc[0]
        _close(row["median"], r["median"], 'summary(survfit(...))$table["median"]')
        _close(row["median_ci_low"], r["lcl"], 'summary(survfit(..., conf.type = "log-log"))$table["0.95LCL"]')
        _close(row["median_ci_high"], r["ucl"], 'summary(survfit(..., conf.type = "log-log"))$table["0.95UCL"]')
        flat_half += int(abs(_num(r["surv"])[-1] - 0.5) > 1e-8 and row["median"] not in set(_num(r["time"])))
        inside = at <= time.max()
        cols = [f"s_{t:g}m" for t in at]
        _close(row[cols].to_numpy()[inside], r["lm_surv"], "summary(survfit(...), times = t)$surv")
        _close(row[[c + "_ci_low" for c in cols]].to_numpy()[inside], r["lm_lower"], "summary(...)$lower")
        _close(row[[c + "_ci_high" for c in cols]].to_numpy()[inside], r["lm_upper"], "summary(...)$upper")
        beyond = row[cols].to_numpy()[~inside].astype(float)
        # beyond the last follow-up time: 0 where the curve has dropped to 0, otherwise NaN
        expected = 0.0 if r["last_surv"] == 0 else np.nan
        np.testing.assert_array_equal(beyond, np.full(beyond.size, expected))
    assert flat_half > 0, "no data set exercised the midpoint of a flat 0.5 stretch"


def test_km_median_agrees_with_quantile_survfit_except_curve_ending_at_half(
    r_results: tuple[list[pd.DataFrame], dict],
) -> None:
    frames, got = r_results
    for f, r in zip(frames, got["km"], strict=True):
        if abs(_num(r["surv"])[-1] - 0.5) < 1e-8:
            continue  # print.survfit and quantile.survfit differ there; necml follows print.survfit
        row = km_table(f["time"].to_numpy(), f["status"].to_numpy().astype(bool), landmarks=()).iloc[0]
        _close(row["median"], r["q_median"], "quantile(survfit(...), 0.5)$quantile")


def test_logrank_matches_survdiff_dropping_missing_groups(r_results: tuple[list[pd.DataFrame], dict]) -> None:
    frames, got = r_results
    for f, r in zip(frames, got["lr"], strict=True):
        ours = logrank_test(f["time"].to_numpy(), f["status"].to_numpy().astype(bool), f["group"])
        _close(ours["statistic"], r["chisq"], "survdiff(Surv(time, status) ~ group)$chisq")
        assert ours["df"] == r["df"]  # survdiff: length(n) - 1 groups
        _close(ours["p"], r["p"], "survdiff(...)$pvalue")


def test_logrank_lung_by_inst_has_17_df(r_results: tuple[list[pd.DataFrame], dict]) -> None:
    _, got = r_results
    lung = pd.DataFrame(got["lung"])
    ours = logrank_test(lung["time"].to_numpy(float), lung["status"].to_numpy() == 2, lung["inst"])
    assert ours["df"] == got["lung_df"] == 17  # survdiff(Surv(time, status) ~ inst, data = lung)
    _close(ours["statistic"], got["lung_chisq"], "survdiff(Surv(time, status) ~ inst, data = lung)$chisq")
    assert math.isclose(ours["p"], got["lung_p"], rel_tol=0, abs_tol=TOL)
