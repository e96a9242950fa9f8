"""XGBoost AFT starts from the censored maximum-likelihood intercept, checked against R's survreg."""

import numpy as np
import pandas as pd
import pytest
from sksurv.util import Surv

from necml.models._xgb import XGBAFTSurvival, aft_intercept
from tests.conformance.rscript import run_r

# necml's distribution name -> R survreg dist (log T = mu + sigma W)
R_DIST = {"normal": "lognormal", "logistic": "loglogistic", "extreme": "weibull"}


@pytest.mark.parametrize("n, seed", [(31, 1), (300, 2)])
def test_intercept_equals_survreg(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.exp(2.0 + rng.normal(size=n))
    c = np.exp(2.4 + rng.normal(size=n))
    data = pd.DataFrame({"time": np.round(np.minimum(t, c), 2), "status": (t <= c).astype(int)})
    got = run_r(
        """
        d <- input("data")
        fit <- function(dist) unname(coef(survreg(Surv(time, status) ~ 1, data = d, dist = dist, scale = 0.8)))
        output(list(lognormal = fit("lognormal"), loglogistic = fit("loglogistic"), weibull = fit("weibull")))
        """,
        data=data,
    )
    for ours, theirs in R_DIST.items():
        # R: coef(survreg(Surv(time, status) ~ 1, dist = theirs, scale = 0.8))
        mu = aft_intercept(data["time"].to_numpy(), data["status"].to_numpy(bool), ours, 0.8)
        assert mu == pytest.approx(got[theirs], abs=1e-7), ours


def test_boosting_starts_at_the_intercept() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 2))
    time, event = np.exp(3.0 + rng.normal(size=80)), rng.random(80) < 0.7
    model = XGBAFTSurvival(n_estimators=0, sigma=1.0).fit(X, Surv.from_arrays(event, time))
    # no trees: every patient's predicted log time is the intercept (float32 margin)
    assert np.log(-model.predict(X)) == pytest.approx(aft_intercept(time, event, "normal", 1.0), abs=1e-5)
