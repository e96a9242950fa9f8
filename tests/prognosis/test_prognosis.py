"""Prognostic analysis against independent implementations (statsmodels PHReg, scikit-survival KM)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sksurv.nonparametric import kaplan_meier_estimator
from statsmodels.duration.hazard_regression import PHReg

import necml
from necml.dataset import Covariate, DataMapping, Endpoint, SurvivalData, contract_mapping, prepare_survival_data
from necml.prognosis import COX_COLUMNS, cox_multivariate, fit_cox, km_table, paper_table, prognostic_analysis

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


def _data(frame: pd.DataFrame, names: list[str], types: dict[str, Covariate]) -> SurvivalData:
    return SurvivalData(
        X=frame[names].reset_index(drop=True),
        time=frame["t"].to_numpy(float),
        event=frame["e"].to_numpy(bool),
        types=types,
        endpoint="os",
        source="test",
    )


def test_table_has_the_note_column_last_and_empty_notes_when_all_is_estimable(stat_seed: int) -> None:
    fit = cox_multivariate(prepare_survival_data(_frame(np.random.default_rng(stat_seed)), MAPPING, "os"))
    assert list(fit.table.columns) == COX_COLUMNS and COX_COLUMNS[-1] == "note"
    assert (fit.table["note"] == "").all() and 0.5 < fit.concordance < 1
    assert fit.table["ph_p"].between(0, 1).all()


def test_constant_column_in_the_fitted_patients_is_na_with_a_reason_and_firth_does_not_crash(stat_seed: int) -> None:
    # b varies only among patients whose x is missing: constant in the complete cases
    frame = _frame(np.random.default_rng(stat_seed), 80)
    frame["c"] = 1.0
    frame.loc[frame.index[:10], ["x", "c"]] = [np.nan, 0.0]
    frame.loc[frame["b"], "e"] = False  # and b separates: Firth is triggered
    types = {"x": Covariate(type="continuous"), "b": Covariate(type="binary"), "c": Covariate(type="binary")}
    for firth in ("never", "auto", "always"):
        fit = cox_multivariate(_data(frame, ["x", "b", "c"], types), firth=firth)
        table = fit.table.set_index("term")
        assert np.isnan(table.loc["c", ["hr", "ci_low", "ci_high", "p", "ph_p"]].astype(float)).all()
        assert table.loc["c", "note"].startswith("aliased: constant in the fitted patients")
        assert np.isfinite(table.loc["x", "hr"]) and table.loc["b", "separation"]
        if firth == "never":
            assert table.loc["b", "note"].startswith("infinite") and np.isnan(table.loc["b", "hr"])
        else:
            assert table.loc["b", "method"].startswith("firth") and 0 < table.loc["b", "hr"] < 1


def test_firth_failure_is_a_note_not_a_crash(stat_seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import necml.prognosis._cox as cox

    def broken(*_: object) -> None:
        raise np.linalg.LinAlgError("Fisher information is rank deficient")

    monkeypatch.setattr(cox, "_firth_fit", broken)
    frame = _frame(np.random.default_rng(stat_seed), 80)
    frame.loc[frame["b"], "e"] = False
    fit = cox_multivariate(prepare_survival_data(frame, MAPPING, "os"), firth="auto")
    table = fit.table.set_index("term")
    assert "Firth refit failed (LinAlgError" in table.loc["b", "note"] and np.isnan(table.loc["b", "hr"])
    assert np.isfinite(table.loc["x", "hr"]) and any("Firth refit failed" in w for w in fit.warnings)


README_COVARIATES = "arm,age,ecog>=2,nlr>3,ldh>245"


def _analyse(frame: pd.DataFrame, covariates: str | None) -> str:
    """Run the README analysis; every term is estimated or NA with a reason, nothing raises."""
    mapping = contract_mapping(frame)
    mapping = mapping if covariates is None else mapping.with_expressions(covariates.split(","))
    result = prognostic_analysis(frame, mapping, "pfs", by="arm")
    table = result.multivariate
    assert list(table.columns) == COX_COLUMNS
    assert (table["hr"].notna() | (table["note"].str.len() > 0)).all()  # NA only with its reason
    return "ok"


@pytest.mark.parametrize("n", [31, 56])
@pytest.mark.parametrize("covariates", [README_COVARIATES, None], ids=["readme", "all"])
def test_small_lcnec_cohorts_never_crash_the_prognostic_analysis(n: int, covariates: str | None) -> None:
    # lifelines aborted ("delta contains nan") in 4-9% of these; firthmodels failed on aliased terms
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcomes = [
            _analyse(necml.generate("configs/cohorts/lcnec_stage4_2025.yaml", n=n, seed=s), covariates)
            for s in range(40 if covariates else 20)  # all covariates: ~25 Cox fits per cohort
        ]
    assert set(outcomes) == {"ok"}


def test_legacy_ph_test_is_the_named_option_and_equals_lifelines() -> None:
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    from necml.dataset import load_veterans

    frame = load_veterans()
    mapping = contract_mapping(frame).with_expressions(["karnofsky", "age"])
    data = prepare_survival_data(frame, mapping, "os")
    table = fit_cox(data, ["karnofsky", "age"], ph_test="gt-legacy").table.set_index("term")
    design = data.X[["karnofsky", "age"]].assign(T=data.time, E=data.event.astype(int))
    cph = CoxPHFitter().fit(design, "T", "E", fit_options={"precision": 1e-12})
    # lifelines.statistics.proportional_hazard_test(cph, df, time_transform="rank"): the pre-2020 approximation
    expected = proportional_hazard_test(cph, design, time_transform="rank").summary["p"]
    assert np.allclose(table.loc[["karnofsky", "age"], "ph_p"], expected.loc[["karnofsky", "age"]], rtol=1e-6)
    score = fit_cox(data, ["karnofsky", "age"]).table.set_index("term")["ph_p"]
    assert not np.allclose(score, table["ph_p"])  # the default is the other (current) test


@pytest.mark.parametrize("per", [10.0, "sd"], ids=["per-10", "per-sd"])
def test_per_unit_hr_is_the_per_1_hr_to_that_power(per: float | str) -> None:
    frame = _frame(np.random.default_rng(5))
    plain = cox_multivariate(prepare_survival_data(frame, MAPPING, "os")).table.set_index("term")
    covariates = {**MAPPING.covariates, "x": Covariate(type="continuous", per=per)}
    scaled = cox_multivariate(prepare_survival_data(frame, MAPPING.model_copy(update={"covariates": covariates}),
                                                    "os")).table.set_index("term")
    unit = 10.0 if per == 10.0 else float(frame["x"].std())
    term = "x (per 10)" if per == 10.0 else f"x (per SD = {unit:.3g})"
    assert list(scaled.index) == [term, "b", "g[b]", "g[c]"]
    for col in ("hr", "ci_low", "ci_high"):
        np.testing.assert_allclose(scaled.loc[term, col], plain.loc["x", col] ** unit, rtol=1e-6)
    np.testing.assert_allclose(scaled.loc[term, "p"], plain.loc["x", "p"], rtol=1e-6)
    np.testing.assert_allclose(scaled.loc[term, "ph_p"], plain.loc["x", "ph_p"], rtol=1e-6)


@pytest.mark.parametrize(("covariate", "match"), [
    ({"type": "binary", "per": 10}, "on a binary one"),
    ({"type": "continuous", "per": 0}, "must be > 0 or 'sd'"),
], ids=["binary", "zero"])
def test_per_is_refused_where_it_means_nothing(covariate: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Covariate(**covariate)


def test_landmarks_print_zero_after_the_last_event_and_not_estimable_beyond_follow_up() -> None:
    from necml.prognosis._analysis import _km_markdown

    t = np.array([1.0, 2.0, 3.0, 4.0])
    everyone_died = _km_markdown(km_table(t, np.ones(4, bool), landmarks=(10.0,)))
    assert everyone_died.splitlines()[-1].endswith("| 0.00 |")  # the curve reached 0: S(10) = 0 (R: 0)
    censored_last = _km_markdown(km_table(t, np.array([1, 1, 0, 0], bool), landmarks=(10.0,)))
    assert censored_last.splitlines()[-1].endswith("| not estimable |") and "NR |" not in censored_last
