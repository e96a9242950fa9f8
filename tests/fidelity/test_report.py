"""The fidelity report flags what does not match and lists residual conflicts."""

from __future__ import annotations

from necml.cohort import fit_cohort_model, generate_cohort
from necml.fidelity import cohort_rows, model_residuals


def test_a_distorted_cohort_is_flagged(lcnec) -> None:
    model = fit_cohort_model(lcnec)
    df = generate_cohort(lcnec, 5000, seed=1)
    good = {(r.arm, r.item, r.statistic): r.within for r in cohort_rows(df, model)}
    df["age"] = df["age"] + 3.0
    df["pfs_months"] = df["pfs_months"] * 1.3
    bad = {(r.arm, r.item, r.statistic): r.within for r in cohort_rows(df, model)}
    assert good[("chemo", "age", "mean")] and not bad[("chemo", "age", "mean")]
    assert good[("chemo", "PFS", "median (months)")]
    assert not bad[("chemo", "PFS", "median (months)")]


def test_known_conflicts_reported_with_size(lcnec) -> None:
    residuals = {r.target: r for r in model_residuals(fit_cohort_model(lcnec))}
    # 002 prints two 1-year OS rates for the ICI arm; no single model meets both.
    ici = [r for t, r in residuals.items() if t.startswith("os 12-month rate, ici_chemo")]
    assert len(ici) == 2
    assert all(" pp (" in r.size and r.size.endswith("SE)") for r in ici)
    assert all("not targeted" in r.note for r in ici)
    # PFS: HR 0.51 under PH cannot give both 12-month rates (5.9%, 42.9%) and both medians
    assert "pfs median, chemo" in residuals and "SE" in residuals["pfs median, chemo"].size


def test_shape_bound_reported(lcnec) -> None:
    """A Weibull shape pinned to the spec's shape_bounds is a residual conflict."""
    raw = lcnec.model_dump(mode="python", by_alias=True)
    raw["name"] = "lcnec_narrow_shapes"
    raw["outcomes"]["os"]["shape_bounds"] = (0.9, 1.1)
    from necml.spec import CohortSpec

    residuals = [r.target for r in model_residuals(fit_cohort_model(CohortSpec.model_validate(raw)))]
    assert "os baseline shape (after progression)" in residuals
