"""Fidelity rows for Total columns, corrected readings and univariate HRs, on 200000 patients."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from necml.cohort import fit_cohort_model, generate_cohort
from necml.fidelity import FidelityReport, cohort_rows, model_residuals, render_markdown
from necml.fidelity._published import univariate_rows
from necml.spec import is_assumed

N = 200_000
QUARTILES = {"q1", "median", "q3"}


def _draw(spec, seed: int) -> tuple:
    model = fit_cohort_model(spec)
    frame = generate_cohort(spec, N, seed=seed)
    return model, frame, cohort_rows(frame, model)


@pytest.fixture(scope="module")
def lcnec_rows(lcnec, stat_seed: int) -> tuple:
    return _draw(lcnec, stat_seed)


@pytest.fixture(scope="module")
def epnec_rows(epnec, stat_seed: int) -> tuple:
    return _draw(epnec, stat_seed)


def _totals(rows) -> dict[tuple[str, str], object]:
    return {(r.item, r.statistic): r for r in rows if r.section == "totals"}


def _conflicted(spec) -> set[str]:
    """Variables a recorded conflict names (``variables.<name>...``)."""
    return {c.field.split(".")[1] for c in spec.conflicts if c.field.startswith("variables.")}


def test_the_corrected_ldh_q3_is_what_the_generator_uses(lcnec_rows) -> None:
    model, frame, rows = lcnec_rows
    chemo = frame.loc[frame["arm"].astype(str) == "chemo", "ldh"].to_numpy(dtype=float)
    assert abs(np.quantile(chemo, 0.75) / 511.0 - 1) < 0.02  # 1511 as printed would be 3x further out
    row = next(r for r in rows if (r.section, r.arm, r.item, r.statistic) == ("covariates", "chemo", "ldh", "q3"))
    assert (row.published, row.as_printed) == (511.0, 1511.0)
    assert row.within and is_assumed(row.source)


def test_the_markdown_and_table_show_what_is_printed(lcnec, lcnec_rows) -> None:
    model, frame, rows = lcnec_rows
    report = FidelityReport(spec=lcnec, model=model, n=N, seed=0, frame=frame, rows=rows,
                            residuals=model_residuals(model))
    text = render_markdown(report)
    assert "| chemo | ldh | q3 | 511 (as printed: 1511) |" in text
    assert "| chemo | progrp | q3 |" in text and "(as printed: 1551)" in text
    table = report.table()
    assert table.loc[table["as_printed"].notna(), "item"].tolist() == ["ldh", "progrp"]
    assert "## totals" in text


def test_assumed_levels_carry_their_own_source(lcnec_rows) -> None:
    _, _, rows = lcnec_rows
    ecog = {(r.arm, r.statistic): r.source for r in rows if r.section == "covariates" and r.item == "ecog"}
    for arm in ("chemo", "ici_chemo"):
        assert is_assumed(ecog[(arm, "% 0")]) and is_assumed(ecog[(arm, "% 1")])
        assert not is_assumed(ecog[(arm, "% 2")])


@pytest.mark.parametrize(("which", "expected_misses"), [
    ("lcnec", {("ecog", "% 0+1")}),
    ("epnec", {("age", "mean"), ("age", "sd"), ("ki67", "mean"), ("ki67", "sd")}),
])
def test_totals_fixed_by_the_arms_match_unless_a_conflict_is_recorded(which, expected_misses, request) -> None:
    spec = request.getfixturevalue(which)
    _, _, rows = request.getfixturevalue(f"{which}_rows")
    totals = _totals(rows)
    with_totals = {name for name, var in spec.variables.items() if var.totals is not None}
    assert {item for item, _ in totals} == with_totals
    fixed = {k: r for k, r in totals.items() if k[1] not in QUARTILES}
    misses = {k for k, r in fixed.items() if not r.within}
    assert misses == expected_misses, {k: (fixed[k].published, fixed[k].synthetic) for k in misses}
    assert {item for item, _ in misses} <= _conflicted(spec)


def test_lcnec_pooled_sd_is_the_tables_not_the_mixtures(lcnec_rows) -> None:
    _, _, rows = lcnec_rows
    # sqrt((13 * 7.01^2 + 16 * 8.63^2 + 14 * (70.4 - m)^2 + 17 * (64.1 - m)^2) / 30) = 8.436, the
    # printed 8.45; the population mixture's SD would be 8.54
    assert abs(_totals(rows)[("age", "sd")].synthetic - 8.436) < 0.03


def test_lcnec_total_quartiles(lcnec_rows) -> None:
    """Corrected Q3s reproduce the Total; CEA and NSE Q3 (recorded conflict) do not; the rest are shape."""
    _, _, rows = lcnec_rows
    quart = {k: r for k, r in _totals(rows).items() if k[1] in QUARTILES}
    assert quart[("ldh", "q3")].within and quart[("progrp", "q3")].within
    rel = {k: abs(r.synthetic / r.published - 1) for k, r in quart.items()}
    assert rel[("cea", "q3")] > 0.2 and rel[("nse", "q3")] > 0.2
    shape = {k: v for k, v in rel.items() if k not in {("cea", "q3"), ("nse", "q3")}}
    assert max(shape.values()) < 0.15, shape


def test_epnec_univariate_rows(epnec_rows) -> None:
    _, _, rows = epnec_rows
    uni = {(r.section, r.item): r for r in rows if r.section.endswith("univariate")}
    assert set(uni) == {("pfs univariate", "ldh_gt_uln"), ("os univariate", "ldh_gt_uln"),
                        ("os univariate", "nlr_gt_3")}
    assert np.isclose(np.exp(uni[("os univariate", "nlr_gt_3")].published), 2.58)
    assert all(r.statistic == "log HR" and np.isfinite(r.synthetic) and r.arm == "all" for r in uni.values())


def test_univariate_rows_skip_a_constant_term(epnec) -> None:
    model = fit_cohort_model(epnec)
    frame = generate_cohort(epnec, 400, seed=3)
    frame["nlr"] = 1.0  # NLR > 3 never holds: no row, no error
    rows = univariate_rows(frame, model)
    assert {r.item for r in rows} == {"ldh_gt_uln"}
    assert isinstance(frame, pd.DataFrame)
