"""The zoo's Cox PH (:class:`necml.models.CoxPHSurvival`) against R's ``coxph`` + ``survfit``.

R calls: ``f <- coxph(Surv(time, status) ~ ., data = train, ties = <ties>)``; the linear predictor
``predict(f, newdata = test, type = "lp")`` (up to R's centring constant); survival
``summary(survfit(f, newdata = test),
times = grid)$surv``. Aliased columns are NA in R and 0 in necml's linear predictor, which is
what R's ``predict`` does with an NA coefficient. Both fits run R's iteration, so coefficients,
predictions and curves agree to rounding (tolerance 1e-8 relative, for the accumulated
cumulative hazard).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sksurv.util import Surv

from necml.models import CoxPHSurvival
from tests.conformance.rscript import run_r

_R = """
d <- input("d"); test <- input("test"); grid <- input("grid")$t
f <- coxph(Surv(time, status) ~ ., data = d, ties = input("ties")$ties)
s <- summary(survfit(f, newdata = test), times = grid, extend = TRUE)
output(list(coef = unname(coef(f)), lp = unname(predict(f, newdata = test, type = "lp")),
            surv = unname(as.vector(s$surv))))
"""


def _data(seed: int, tied: bool, aliased: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 90
    X = np.column_stack([rng.normal(size=n), rng.random(n) < 0.4, rng.normal(size=n)])
    if aliased:
        X[:, 2] = X[:, 0] + 2 * X[:, 1]  # collinear: NA in R
    t = rng.exponential(10 * np.exp(-0.6 * X[:, 0] - 0.5 * X[:, 1]))
    c = rng.exponential(20, n)
    time = np.minimum(t, c)
    time = np.ceil(time) if tied else time
    frame = pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1].astype(float), "x3": X[:, 2], "time": time,
                          "status": (t <= c).astype(int)})
    return frame.iloc[:70], frame.iloc[70:].drop(columns=["time", "status"])


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize(("tied", "aliased"), [(False, False), (True, False), (True, True)],
                         ids=["untied", "tied", "tied-aliased"])
def test_linear_predictor_and_survival_match_survfit(ties: str, tied: bool, aliased: bool, stat_seed: int) -> None:
    train, test = _data(stat_seed, tied, aliased)
    grid = np.quantile(train["time"], [0.1, 0.3, 0.5, 0.7, 0.9])
    got = run_r(_R, d=train, test=test, grid=pd.DataFrame({"t": grid}), ties=pd.DataFrame({"ties": [ties]}))
    X = train[["x1", "x2", "x3"]].to_numpy()
    y = Surv.from_arrays(train["status"] == 1, train["time"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = CoxPHSurvival(ties=ties).fit(X, y)
    assert bool(caught) == aliased
    r_coef = np.array([np.nan if v is None else v for v in got["coef"]], dtype=float)
    np.testing.assert_allclose(model.coef_, r_coef, rtol=1e-8, equal_nan=True)
    lp = model.predict(test.to_numpy())  # R centres 0/1 columns at 0, necml at the mean: equal up to a constant
    np.testing.assert_allclose(lp - lp[0], np.subtract(got["lp"], got["lp"][0]), rtol=1e-8, atol=1e-10)
    curves = model.predict_survival_function(test.to_numpy(), return_array=True)
    index = np.searchsorted(model.unique_times_, grid, side="right") - 1
    ours = np.where(index >= 0, curves[:, np.clip(index, 0, None)], 1.0)
    np.testing.assert_allclose(ours, np.reshape(got["surv"], ours.shape), rtol=1e-8)
