"""Departures from the analysis model and censoring variants, checked by lifelines on large cohorts.

Each departure's effect is re-estimated by an independent Cox fit (lifelines) of the *true*
model form on 40000 uncensored patients: the estimate must lie within 4 of its standard errors
of the value the mechanism was given. The checks use PFS, which the joint model makes exactly PH
(a departure acts on both exits of the progression-free state); on OS a departure acts on the
post-progression hazard, where no single HR holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter

from necml.cohort import fit_cohort_model, generate_cohort, terms_frame, with_censoring, with_departures
from necml.exceptions import CalibrationError
from necml.spec import DelayedEffect, NonlinearEffect, Term, TreatmentInteraction, spec_from_dict

N = 40000
SOURCE = "assumed: test scenario"


def _within(fit: CoxPHFitter, column: str, truth: float, k: float = 4.0) -> None:
    est, se = fit.params_[column], fit.standard_errors_[column]
    assert abs(est - truth) < k * se, f"{column}: {est:.4f} (SE {se:.4f}) vs truth {truth:.4f}"


def _design(frame: pd.DataFrame, spec, endpoint: str) -> pd.DataFrame:  # noqa: ANN001
    terms = [e.term for e in spec.outcomes[endpoint].effects]
    X = terms_frame(frame, terms, spec).fillna(0.0)
    for arm in spec.arm_names[1:]:
        X[f"arm_{arm}"] = (frame["arm"].astype(str) == arm).astype(float)
    return X


def _assert_calibrated_medians(frame: pd.DataFrame, spec) -> None:  # noqa: ANN001
    """KM (lifelines) medians per arm and endpoint within 3% of the departure-free mechanism's.

    Those equal the published medians where the calibration meets them (LCNEC OS) and are the
    least-squares compromise with the landmark rates elsewhere (LCNEC PFS).
    """
    parent = fit_cohort_model(spec.model_copy(update={"departures": []}))
    for endpoint in ("pfs", "os"):
        for arm in spec.arm_names:
            rows = frame["arm"] == arm
            km = KaplanMeierFitter().fit(frame.loc[rows, f"{endpoint}_months"], frame.loc[rows, f"{endpoint}_event"])
            kept = next(
                c.model for c in parent.checks if c.endpoint == endpoint and c.arm == arm and c.what == "median"
            )
            assert km.median_survival_time_ == pytest.approx(kept, rel=0.03), (endpoint, arm)


def test_nonlinear_effect_is_u_shaped_and_replaces_the_published_threshold(epnec) -> None:
    variant = with_departures(
        with_censoring(epnec, "os", "none"),
        [NonlinearEffect(kind="nonlinear", variable="nlr", log_hr=0.4, source=SOURCE)],
        "nl",
    )
    model = fit_cohort_model(variant)
    names = [e.term.name for e in variant.outcomes["os"].effects]
    assert model.log_hr["os"][names.index("nlr_gt_3")] == 0.0  # the threshold effect is replaced
    frame = generate_cohort(variant, N, seed=1)
    centre, scale = model.nonlinear_scaling["nlr"]
    X = _design(frame, variant, "pfs").drop(columns="nlr_gt_3")
    X["nlr_z2"] = ((np.log(frame["nlr"].to_numpy(float)) - centre) / scale) ** 2
    fit = CoxPHFitter().fit(X.assign(T=frame["pfs_months"], E=frame["pfs_event"]), "T", "E")
    _within(fit, "nlr_z2", 0.4)
    _within(fit, "ldh_gt_uln", float(np.log(1.61)))
    _within(fit, "arm_atezo_ep", float(model.treatment_log_hr["pfs"]["atezo_ep"]))


def test_treatment_interaction_multiplies_the_arm_hazard_ratio_in_the_subgroup(lcnec) -> None:
    term = Term(variable="pdl1_tps", at_least=1)
    variant = with_departures(
        with_censoring(lcnec, "os", "none"),
        [TreatmentInteraction(kind="interaction", arm="ici_chemo", term=term, hr=0.5, source=SOURCE)],
        "pdl1",
    )
    frame = generate_cohort(variant, N, seed=2)
    X = _design(frame, variant, "pfs")
    X["pdl1_pos"] = (frame["pdl1_tps"].to_numpy(float) >= 1).astype(float)
    X["arm_x_pdl1"] = X["arm_ici_chemo"] * X["pdl1_pos"]
    fit = CoxPHFitter().fit(X.assign(T=frame["pfs_months"], E=frame["pfs_event"]), "T", "E")
    _within(fit, "arm_x_pdl1", float(np.log(0.5)))
    _within(fit, "arm_ici_chemo", float(np.log(0.51)))  # the published HR holds in PD-L1 < 1%
    _within(fit, "pdl1_pos", 0.0)
    _assert_calibrated_medians(frame, variant)


def test_delayed_effect_has_no_early_effect_and_keeps_the_published_medians(lcnec) -> None:
    variant = with_departures(
        with_censoring(lcnec, "os", "none"),
        [DelayedEffect(kind="delayed_effect", arm="ici_chemo", delay=3.0, source=SOURCE)],
        "delay3",
    )
    model = fit_cohort_model(variant)
    late = model.treatment_log_hr["pfs"]["ici_chemo"] + model.outcome.shifts["pfs"][1]
    assert late < np.log(0.51)  # no benefit for 3 months needs a stronger one later
    frame = generate_cohort(variant, N, seed=3)
    _assert_calibrated_medians(frame, variant)
    X = _design(frame, variant, "pfs")
    time, event = frame["pfs_months"].to_numpy(float), frame["pfs_event"].to_numpy(bool)
    early = X.assign(T=np.minimum(time, 3.0), E=event & (time <= 3.0))
    _within(CoxPHFitter().fit(early, "T", "E"), "arm_ici_chemo", 0.0)
    # Patients alive at the delay all enter at 3 months, so their risk sets are the ordinary ones of
    # that subset: an untruncated Cox fit on it estimates the late log-HR.
    after = X.assign(T=time, E=event)[time > 3.0]
    _within(CoxPHFitter().fit(after, "T", "E"), "arm_ici_chemo", late)


def test_without_departures_the_cohort_is_unchanged(lcnec) -> None:
    assert with_departures(lcnec, [], "none") is lcnec
    same = with_departures(
        lcnec, [TreatmentInteraction(kind="interaction", arm="ici_chemo", term=Term(variable="smoking"), hr=1.0,
                                     source=SOURCE)], "null",
    )
    a, b = generate_cohort(lcnec, 300, seed=4), generate_cohort(same, 300, seed=4)
    # equal up to the re-solved baselines' tolerance (the variant calibrates afresh from the same start)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-6)


def test_censoring_share_is_met_and_event_times_do_not_move(lcnec) -> None:
    published = generate_cohort(lcnec, N, seed=5)
    for share in (0.2, 0.6):
        variant = with_censoring(lcnec, "os", share)
        frame = generate_cohort(variant, N, seed=5)
        assert 1 - frame["os_event"].mean() == pytest.approx(share, abs=0.01)
        both = published["os_event"].to_numpy() & frame["os_event"].to_numpy()
        np.testing.assert_array_equal(published["os_months"][both], frame["os_months"][both])
    complete = generate_cohort(with_censoring(lcnec, "os", "none"), 500, seed=5)
    assert complete["os_event"].all() and complete["pfs_event"].all()
    with pytest.raises(ValueError, match="share in"):
        with_censoring(lcnec, "os", 1.5)


@pytest.mark.parametrize(
    ("departure", "message"),
    [
        ({"kind": "nonlinear", "variable": "sex", "log_hr": 0.3}, "not a continuous variable"),
        ({"kind": "nonlinear", "variable": "nope", "log_hr": 0.3}, "not a continuous variable"),
        ({"kind": "interaction", "arm": "chemo", "term": {"variable": "smoking"}, "hr": 0.5}, "not an experimental"),
        ({"kind": "interaction", "arm": "ici_chemo", "term": {"variable": "ghost"}, "hr": 0.5}, "unknown variable"),
        ({"kind": "delayed_effect", "arm": "ici_chemo", "delay": -1}, "greater than 0"),
        ({"kind": "wobble", "arm": "ici_chemo"}, "does not match any of the expected tags"),
    ],
)
def test_bad_departures_are_refused_with_the_field(lcnec, departure: dict, message: str) -> None:
    raw = lcnec.model_dump(mode="json")
    raw["departures"] = [departure | {"source": SOURCE}]
    with pytest.raises(ValueError, match=message) as info:
        spec_from_dict(raw)
    assert "departures" in str(info.value)


def test_two_delays_for_one_arm_are_refused(lcnec) -> None:
    raw = lcnec.model_dump(mode="json")
    delay = {"kind": "delayed_effect", "arm": "ici_chemo", "delay": 2.0, "source": SOURCE}
    raw["departures"] = [delay, delay]
    with pytest.raises(ValueError, match="more than one delayed effect"):
        spec_from_dict(raw)


def test_a_delay_beyond_what_the_medians_allow_is_a_calibration_error(lcnec) -> None:
    variant = with_departures(
        lcnec, [DelayedEffect(kind="delayed_effect", arm="ici_chemo", delay=14.0, source=SOURCE)], "delay14"
    )
    with pytest.raises(CalibrationError, match="no treatment effect for 14 months"):
        fit_cohort_model(variant)
