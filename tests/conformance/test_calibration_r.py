"""Calibration curve, ICI/E50/E90/Emax, slope and intercept against R's survival (Breslow ties).

Data are simulated here: Weibull event times depending on a covariate, uniform censoring, and
*miscalibrated* predictions S_pred(t0) = exp(-exp(a + b log H_true(t0))) with b != 1 (so the
calibration slope is about 1 / b). Some cases round the times to create tied event times.
Every comparison names the R call it is checked against; tolerance 1e-6 (absolute).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from necml.evaluation.metrics._calibration import (
    calibration_curve,
    calibration_slope_intercept,
    calibration_table,
    draw_calibration,
    harrell_knots,
    plot_calibration,
)
from tests.conformance.rscript import run_r

TOL = 1e-6
T0 = 12.0
SHAPE, SCALE, BETA = 1.3, 20.0, 0.8

# (n, seed, tie rounding (0 = none), knots, miscalibration a, b)
CASES = [
    (100, 11, 0.0, 3, 0.3, 0.6),
    (500, 12, 0.5, 3, -0.4, 1.5),
    (500, 13, 0.0, 4, 0.2, 0.7),
    (2000, 14, 0.0, 3, 0.3, 0.6),
    (2000, 15, 1.0, 5, -0.2, 1.3),
]


def _true_cumhaz(z: np.ndarray, t: float) -> np.ndarray:
    return (t / SCALE) ** SHAPE * np.exp(BETA * z)


def _simulate(n: int, seed: int, rounding: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weibull(shape 1.3) times with log hazard ratio 0.8 per z ~ N(0, 1), uniform censoring."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    t = SCALE * (-np.log(rng.uniform(size=n)) / np.exp(BETA * z)) ** (1 / SHAPE)
    c = rng.uniform(4, 40, size=n)
    time = np.minimum(t, c)
    if rounding:
        time = np.maximum(np.round(time / rounding) * rounding, rounding)
    return time, (t <= c).astype(int), z


def _case(n: int, seed: int, rounding: float, a: float, b: float) -> pd.DataFrame:
    time, status, z = _simulate(n, seed, rounding)
    s = np.exp(-np.exp(a + b * np.log(_true_cumhaz(z, T0))))
    return pd.DataFrame({"time": time, "status": status, "s": s})


_R_CURVE = """
suppressPackageStartupMessages(library(splines))
d <- input("d"); k <- input("k")$k; g <- input("g")$g; t0 <- input("p")$t0
K <- length(k)
d$x <- log(-log(d$s))
ctl <- coxph.control(eps = 1e-11, iter.max = 200)
fit <- coxph(Surv(time, status) ~ ns(x, knots = k[2:(K - 1)], Boundary.knots = k[c(1, K)]),
             data = d, ties = "breslow", control = ctl)
obs <- 1 - summary(survfit(fit, newdata = d), times = t0)$surv[1, ]
grid <- 1 - summary(survfit(fit, newdata = data.frame(x = log(-log(1 - g)))), times = t0)$surv[1, ]
err <- abs(obs - (1 - d$s))
knots_hmisc <- if (requireNamespace("Hmisc", quietly = TRUE))
  Hmisc::rcspline.eval(d$x, nk = K, knots.only = TRUE) else NA
output(list(observed = obs, grid = grid, ici = mean(err), e50 = median(err),
            e90 = unname(quantile(err, 0.9)), emax = max(err), knots_hmisc = knots_hmisc))
"""

_R_SLOPE = """
d <- input("d"); t0 <- input("p")$t0
d$x <- log(-log(d$s))
ctl <- coxph.control(eps = 1e-11, iter.max = 200)
slope <- coxph(Surv(pmin(time, t0), status * (time <= t0)) ~ x, data = d, ties = "breslow",
               control = ctl)
f0 <- coxph(Surv(time, status) ~ offset(x), data = d, ties = "breslow")
h0 <- summary(survfit(f0, newdata = data.frame(x = 0)), times = t0)$cumhaz
bh <- basehaz(f0, centered = FALSE)
km <- summary(survfit(Surv(time, status) ~ 1, data = d), times = t0)$surv
output(list(slope = unname(coef(slope)), slope_se = unname(sqrt(vcov(slope)[1, 1])),
            intercept = log(h0), basehaz_uncentered = max(bh$hazard[bh$time <= t0]),
            mean_x = mean(d$x), km_risk = 1 - km))
"""


@pytest.mark.slow
@pytest.mark.parametrize(("n", "seed", "rounding", "knots", "a", "b"), CASES)
def test_curve_matches_r(n: int, seed: int, rounding: float, knots: int, a: float, b: float) -> None:
    d = _case(n, seed, rounding, a, b)
    got = calibration_curve(d["time"].to_numpy(), d["status"].to_numpy(), d["s"].to_numpy(), T0, knots=knots)
    assert got.note == ""
    r = run_r(
        _R_CURVE,
        d=d,
        k=pd.DataFrame({"k": got.knots}),
        g=pd.DataFrame({"g": got.grid_predicted}),
        p=pd.DataFrame({"t0": [T0]}),
    )
    # knots: Hmisc::rcspline.eval(x, nk = K, knots.only = TRUE)
    np.testing.assert_allclose(got.knots, r["knots_hmisc"], rtol=0, atol=1e-12)
    # observed risk: 1 - summary(survfit(coxph(Surv(time, status) ~ ns(x, ...), ties = "breslow"),
    #                                    newdata = d), times = t0)$surv
    np.testing.assert_allclose(got.observed, r["observed"], rtol=0, atol=TOL)
    # same survfit at x = log(-log(1 - grid))
    np.testing.assert_allclose(got.grid_observed, r["grid"], rtol=0, atol=TOL)
    # mean / median / quantile(, 0.9) / max of abs(obs - (1 - s)) from R's obs
    for name in ("ici", "e50", "e90", "emax"):
        assert abs(getattr(got, name) - r[name]) <= TOL, name


@pytest.mark.slow
@pytest.mark.parametrize(("n", "seed", "rounding", "knots", "a", "b"), CASES)
def test_slope_intercept_match_r(n: int, seed: int, rounding: float, knots: int, a: float, b: float) -> None:
    d = _case(n, seed, rounding, a, b)
    got = calibration_slope_intercept(d["time"].to_numpy(), d["status"].to_numpy(), d["s"].to_numpy(), T0)
    assert got["note"] == ""
    r = run_r(_R_SLOPE, d=d, p=pd.DataFrame({"t0": [T0]}))
    # coef(coxph(Surv(pmin(time, t0), status * (time <= t0)) ~ x, ties = "breslow"))
    assert abs(got["slope"] - r["slope"]) <= TOL
    assert abs(got["slope"] - 1) > 0.1  # the predictions are miscalibrated
    # sqrt(vcov(...)) of the same fit
    assert abs(got["slope_se"] - r["slope_se"]) <= TOL
    # log(summary(survfit(coxph(Surv(time, status) ~ offset(x)), newdata = data.frame(x = 0)),
    #             times = t0)$cumhaz)
    assert abs(got["intercept"] - r["intercept"]) <= TOL
    # R's basehaz(fit, centered = FALSE) on an offset-only model is the cumulative hazard at the
    # *mean* offset, not at offset 0: it is not the intercept.
    assert abs(np.log(r["basehaz_uncentered"]) - (r["intercept"] + r["mean_x"])) <= TOL
    # 1 - summary(survfit(Surv(time, status) ~ 1), times = t0)$surv
    assert abs(got["observed_risk"] - r["km_risk"]) <= TOL
    assert abs(got["oe"] - r["km_risk"] / np.mean(1 - d["s"])) <= TOL


def test_knots_match_hmisc_small_n() -> None:
    """n < 100 (outer knots = 5th smallest / largest value) and 3 to 7 knots."""
    rng = np.random.default_rng(3)
    x = {f"x{n}": rng.normal(size=n) for n in (30, 99, 100, 750)}
    frame = pd.DataFrame({name: pd.Series(v) for name, v in x.items()})
    r = run_r(
        """
        if (!requireNamespace("Hmisc", quietly = TRUE)) { output(list(missing = TRUE)); quit() }
        f <- input("f")
        out <- list()
        for (v in names(f)) for (k in 3:7)
          out[[paste(v, k)]] <- Hmisc::rcspline.eval(na.omit(f[[v]]), nk = k, knots.only = TRUE)
        output(out)
        """,
        f=frame,
    )
    if r.get("missing"):
        pytest.skip("Hmisc is not installed")
    for name, values in x.items():
        for k in range(3, 8):
            # Hmisc::rcspline.eval(x, nk = k, knots.only = TRUE)
            np.testing.assert_allclose(harrell_knots(values, k), r[f"{name} {k}"], rtol=0, atol=1e-12)


def test_perfect_calibration_large_n() -> None:
    """Predicting the true Weibull S(t0): slope ~ 1, intercept ~ 0, O/E ~ 1, ICI small."""
    time, status, z = _simulate(20_000, 7, 0.0)
    s = np.exp(-_true_cumhaz(z, T0))
    si = calibration_slope_intercept(time, status, s, T0)
    assert abs(si["slope"] - 1) < 4 * si["slope_se"]
    assert abs(si["intercept"]) < 0.05
    assert abs(si["oe"] - 1) < 0.05
    curve = calibration_curve(time, status, s, T0)
    assert curve.ici < 0.01
    assert curve.e90 < 0.02
    assert curve.slope == si["slope"]


def test_degenerate_inputs_give_nan_with_note() -> None:
    time, status, z = _simulate(300, 8, 0.0)
    s = np.exp(-_true_cumhaz(z, T0))
    flat = calibration_curve(time, status, np.full(time.size, 0.6), T0)
    assert np.isnan(flat.ici) and "all predictions are equal" in flat.note
    flat_si = calibration_slope_intercept(time, status, np.full(time.size, 0.6), T0)
    assert np.isnan(flat_si["slope"]) and np.isfinite(flat_si["intercept"])
    beyond = calibration_slope_intercept(time, status, s, 1e3)
    assert np.isnan(beyond["slope"]) and np.isnan(beyond["oe"]) and "beyond" in beyond["note"]
    assert "beyond" in calibration_curve(time, status, s, 1e3).note
    few = calibration_curve(time[:15], status[:15], s[:15], T0)
    assert np.isnan(few.ici) and "events by t0" in few.note
    assert "no patients" in calibration_slope_intercept(time, status, np.full(time.size, np.nan), T0)["note"]
    assert np.isnan(calibration_curve(time, status, np.full(time.size, np.nan), T0).ici)


def test_plot_calibration_with_and_without_curves(tmp_path) -> None:
    from matplotlib.figure import Figure

    d = _case(400, 9, 0.0, 0.3, 0.6)
    args = (d["time"].to_numpy(), d["status"].to_numpy(), d["s"].to_numpy(), T0)
    tables = {"cox": calibration_table(*args), "flat": calibration_table(*args[:2], np.full(400, 0.5), T0)}
    curves = {"cox": calibration_curve(*args), "flat": calibration_curve(*args[:2], np.full(400, 0.5), T0)}
    assert isinstance(plot_calibration(tables, T0, tmp_path / "old.png"), Figure)
    assert (tmp_path / "old.png").stat().st_size > 0
    plot_calibration(tables, T0, tmp_path / "new.png", curves=curves)
    assert (tmp_path / "new.png").read_bytes()[:4] == b"\x89PNG"
    mine = Figure().subplots(1, 2)  # the user's own axes: the panels are drawn there, nothing is written
    assert plot_calibration(tables, T0, curves=curves, ax=mine) is mine[0].figure
    assert [a.get_title() for a in mine] == ["cox", "flat"]
    with pytest.raises(ValueError, match="2 panels"):
        plot_calibration(tables, T0, ax=mine[0])
    ax = Figure().subplots()
    assert draw_calibration(ax, curve=curves["cox"], at=T0) is ax
    assert "ICI" in ax.texts[0].get_text()
