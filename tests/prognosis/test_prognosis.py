"""Prognostic analysis against independent implementations (statsmodels PHReg, scikit-survival KM)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sksurv.nonparametric import kaplan_meier_estimator
from statsmodels.duration.hazard_regression import PHReg

from necml.dataset import Covariate, DataMapping, Endpoint, prepare_survival_data
from necml.prognosis import cox_multivariate, km_table, paper_table, prognostic_analysis

MAPPING = DataMapping(
    endpoints={"os": Endpoint(time="t", event="e")},
    covariates={
        "x": Covariate(type="continuous"),
        "b": Covariate(type="binary"),
        "g": Covariate(type="categorical", reference="a"),
    },
)


def _frame(rng: np.random.Generator, n: int = 200) -> pd.DataFrame:
    x, b = rng.normal(size=n), rng.random(n) < 0.4
    g = rng.choice(["a", "b", "c"], size=n)
    lp = 0.5 * x + 0.7 * b + 0.4 * (g == "b") - 0.3 * (g == "c")
    t = rng.exponential(np.exp(-lp))  # continuous: no ties
    c = rng.exponential(2.0, size=n)
    return pd.DataFrame({"x": x, "b": b, "g": g, "t": np.minimum(t, c), "e": t <= c})


def test_multivariate_cox_matches_statsmodels_phreg(stat_seed: int) -> None:
    frame = _frame(np.random.default_rng(stat_seed))
    table = cox_multivariate(prepare_survival_data(frame, MAPPING, "os")).table.set_index("term")
    exog = np.column_stack([frame["x"], frame["b"], frame["g"] == "b", frame["g"] == "c"]).astype(
        float
    )
    ref = PHReg(frame["t"].to_numpy(), exog, status=frame["e"].to_numpy(int), ties="efron").fit(
        tol=1e-12
    )
    lo, hi = np.exp(ref.conf_int()).T
    terms = ["x", "b", "g[b]", "g[c]"]
    # measured agreement is 1e-7 to 2e-6 depending on the seed: the two optimisers stop at
    # slightly different points; 1e-5 leaves room without hiding a real difference
    np.testing.assert_allclose(table.loc[terms, "hr"], np.exp(ref.params), rtol=1e-5)
    np.testing.assert_allclose(table.loc[terms, "ci_low"], lo, rtol=1e-5)
    np.testing.assert_allclose(table.loc[terms, "ci_high"], hi, rtol=1e-5)
    np.testing.assert_allclose(table.loc[terms, "p"], ref.pvalues, rtol=1e-4, atol=1e-12)


def test_km_median_matches_sksurv(stat_seed: int) -> None:
    rng = np.random.default_rng(stat_seed)
    t, e = rng.exponential(10, 150), rng.random(150) < 0.7
    times, surv = kaplan_meier_estimator(e, t)
    median = times[np.argmax(surv <= 0.5)]  # first time S <= 0.5
    assert km_table(t, e)["median"].iloc[0] == pytest.approx(median)


def test_separation_is_flagged_and_firth_gives_finite_hr(stat_seed: int) -> None:
    rng = np.random.default_rng(stat_seed)
    frame = _frame(rng, 80)
    frame.loc[frame["b"], "e"] = False  # nobody with b has an event: quasi-complete separation
    data = prepare_survival_data(frame, MAPPING, "os")
    assert any("no events" in w for w in data.warnings)
    naive = cox_multivariate(data, firth="never").table.set_index("term")
    assert naive.loc["b", "separation"]
    firth = cox_multivariate(data, firth="auto").table.set_index("term")
    assert firth.loc["b", "method"].startswith("firth")
    assert 1e-3 < firth.loc["b", "hr"] < 1 and np.isfinite(firth.loc["b", "ci_high"])


def test_prognostic_analysis_by_group_has_logrank_and_paper_table(stat_seed: int) -> None:
    frame = _frame(np.random.default_rng(stat_seed))
    result = prognostic_analysis(frame, MAPPING, "os", by="g")
    assert list(result.km["group"]) == ["a", "b", "c"] and 0 <= result.logrank["p"] <= 1
    shown = paper_table(result.multivariate)
    assert list(shown.columns) == ["Term", "HR (95% CI)", "p"]
    assert shown["HR (95% CI)"].str.match(r"^\d+\.\d\d \(\d+\.\d\d-\d+\.\d\d\)$").all()
