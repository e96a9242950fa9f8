"""Concordance, AUC and Brier score against R (``survival::concordance``, ``riskRegression::Score``).

Data sets are generated here: tied (times rounded to integers) and untied, n from 31 to
2000, a few seeds, risk scores with ties (rounded) and without. R's censoring model is
fitted on the data it scores, so necml's G is fitted on the same (test) data here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from necml.evaluation import CensoringKM, brier_scores, cumulative_dynamic_auc_at, harrell_c, uno_c
from tests.conformance.rscript import run_r

TOL = 1e-8
SIZES = (31, 120, 700, 2000)
QUANTILES = (0.25, 0.5, 0.75)  # of the event times: the AUC/Brier times and Uno's tau



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
    """Data sets ``id, time, status, risk, lp``: risk = a noisy, sometimes rounded, linear predictor."""
    frames = []
    for k, (n, tied, tied_risk) in enumerate(
        (n, tied, tied_risk) for n in SIZES for tied in (True, False) for tied_risk in (True, False)
    ):
        rng = np.random.default_rng([seed, k])
        lp = rng.normal(size=n)
        event_time = rng.exponential(12.0 * np.exp(-0.7 * lp))
        follow = rng.uniform(1.0, 36.0, n)
        time = np.minimum(event_time, follow)
        status = (event_time <= follow).astype(int)
        if tied:
            time = np.maximum(np.round(time), 1.0)
        else:  # distinct by far more than R's timefix (aeqSurv) merges: 1.5e-8 * mean(time)
            time = _distinct(time)
        risk = lp + rng.normal(scale=0.8, size=n)
        if tied_risk:
            risk = np.round(risk, 1)
        frames.append(pd.DataFrame({"time": time, "status": status, "risk": risk, "lp": np.round(lp, 1)}))
    return frames


def _times(f: pd.DataFrame) -> np.ndarray:
    events = f["time"][f["status"] == 1].to_numpy()
    return np.unique(np.quantile(events, QUANTILES, method="lower"))  # observed times: ties with data


def _predicted_risk(f: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """Predicted risks 1 - S_i(t) of a Weibull-like model (ties where ``lp`` ties)."""
    return 1.0 - np.exp(-np.outer(np.exp(0.7 * f["lp"].to_numpy()), times) / 12.0)


_SCRIPT = """
suppressPackageStartupMessages(library(riskRegression))
d <- input("data"); tt <- input("times"); p <- input("pred")
res <- lapply(sort(unique(d$id)), function(i) {
  x <- d[d$id == i, ]; at <- tt$t[tt$id == i]
  P <- as.matrix(p[p$id == i, paste0("p", seq_along(at))])
  harrell <- concordance(Surv(time, status) ~ risk, data = x, reverse = TRUE)$concordance
  uno <- sapply(at, function(tau)
    concordance(Surv(time, status) ~ risk, data = x, reverse = TRUE, timewt = "n/G2", ymax = tau)$concordance)
  sc <- Score(list(model = P), formula = Hist(time, status) ~ 1, data = x, times = at,
              metrics = c("auc", "brier"), cens.model = "km", null.model = FALSE, se.fit = FALSE)
  list(harrell = unname(harrell), uno = unname(uno), auc = sc$AUC$score$AUC, brier = sc$Brier$score$Brier)
})
output(list(res = res))
"""


@pytest.fixture(scope="module")
def scored(stat_seed: int) -> tuple[list[pd.DataFrame], list[dict]]:
    frames = [f for seed in (stat_seed, stat_seed + 7) for f in _cases(seed)]
    times, preds = [], []
    for i, f in enumerate(frames):
        at = _times(f)
        times += [{"id": i, "t": t} for t in at]
        p = _predicted_risk(f, at)
        preds.append(pd.DataFrame(p, columns=[f"p{j + 1}" for j in range(at.size)]).assign(id=i))
    data = pd.concat([f.assign(id=i) for i, f in enumerate(frames)], ignore_index=True)
    got = run_r(_SCRIPT, data=data, times=pd.DataFrame(times), pred=pd.concat(preds, ignore_index=True))
    return frames, got["res"]


def _arrays(f: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return f["time"].to_numpy(float), f["status"].to_numpy() == 1, f["risk"].to_numpy(float)


def test_harrell_matches_r_concordance(scored: tuple[list[pd.DataFrame], list[dict]]) -> None:
    for f, r in zip(*scored, strict=True):
        t, e, risk = _arrays(f)
        # concordance(Surv(time, status) ~ risk, reverse = TRUE)$concordance: higher risk = shorter survival
        assert harrell_c(t, e, risk) == pytest.approx(r["harrell"], abs=TOL, rel=0)


def test_uno_matches_r_concordance_n_g2_ymax(scored: tuple[list[pd.DataFrame], list[dict]]) -> None:
    for f, r in zip(*scored, strict=True):
        t, e, risk = _arrays(f)
        g = CensoringKM().fit(t, e)  # R's G is fitted on the data it scores
        ours = [uno_c(t, e, risk, censoring_survival=g.survival_left(t), tau=tau) for tau in _times(f)]
        # concordance(..., reverse = TRUE, timewt = "n/G2", ymax = tau)$concordance (events T <= tau)
        np.testing.assert_allclose(ours, np.atleast_1d(r["uno"]), rtol=0, atol=TOL)


class _AtT:
    """A censoring KM whose "left limit" is G(T_i): the convention R does *not* use."""

    def __init__(self, g: CensoringKM) -> None:
        self.survival = self.survival_left = g.survival


def test_r_weights_events_by_g_left_limit_not_g(scored: tuple[list[pd.DataFrame], list[dict]]) -> None:
    # with tied times the G(T_i) convention misses R by far more than TOL: the tests are sensitive
    worst = {"uno": 0.0, "auc": 0.0}
    for f, r in zip(*scored, strict=True):
        t, e, risk = _arrays(f)
        at = _times(f)
        g = CensoringKM().fit(t, e)
        uno = [uno_c(t, e, risk, censoring_survival=g.survival(t), tau=tau) for tau in at]
        worst["uno"] = max(worst["uno"], float(np.max(np.abs(np.subtract(uno, r["uno"])))))
        p = _predicted_risk(f, at)
        auc = [cumulative_dynamic_auc_at(t, e, p[:, j], x, _AtT(g)) for j, x in enumerate(at)]
        worst["auc"] = max(worst["auc"], float(np.max(np.abs(np.subtract(auc, r["auc"])))))
    assert min(worst.values()) > 1e-5, worst


def test_auc_and_brier_match_risk_regression_score(scored: tuple[list[pd.DataFrame], list[dict]]) -> None:
    for f, r in zip(*scored, strict=True):
        t, e, _ = _arrays(f)
        at = _times(f)
        risk = _predicted_risk(f, at)
        g = CensoringKM().fit(t, e)  # Score(..., cens.model = "km") fits G on the scored data
        auc = [cumulative_dynamic_auc_at(t, e, risk[:, j], x, g) for j, x in enumerate(at)]
        brier = brier_scores(t, e, 1.0 - risk, at, g)
        # Score(list(model = P), Hist(time, status) ~ 1, data, times = t, metrics = "auc")$AUC$score$AUC
        np.testing.assert_allclose(auc, np.atleast_1d(r["auc"]), rtol=0, atol=TOL)
        # Score(..., metrics = "brier")$Brier$score$Brier, P = 1 - S (cases 1/G(T_i-), controls 1/G(t))
        np.testing.assert_allclose(brier, np.atleast_1d(r["brier"]), rtol=0, atol=TOL)
