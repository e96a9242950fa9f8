"""The copula's latent correlations are solved so that the *observed* rank correlations are the spec's.

The target is the population Spearman correlation with mid-ranks for ties (what
``scipy.stats.spearmanr`` estimates), per arm. References here are computed independently of
:mod:`necml.cohort._copula`: a 2x2 table from a large Monte Carlo draw, the phi coefficient
from an orthant probability by ``scipy.stats.multivariate_normal``, and ``spearmanr`` on large
Monte Carlo samples.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from necml.cohort import generate_cohort
from necml.cohort._copula import (
    R_MAX,
    RankScores,
    bvn_cdf,
    latent_correlation,
    observed_spearman,
    solve_latent,
)
from necml.cohort._covariates import fit_covariates
from necml.fidelity import cohort_rows
from necml.fidelity._conflicts import correlation_residuals
from necml.fidelity._correlations import correlation_rows, spearman_se
from necml.spec import Correlation, Dependence

N_MC = 2_000_000
N_COHORT = 200_000
MC_TOL = 0.003  # > 4 Monte-Carlo SEs of a correlation from 2,000,000 draws


def _latent_pairs(r: float, n: int = N_MC, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Copula uniforms of ``n`` pairs of standard normals with correlation ``r``."""
    z = np.random.default_rng(seed).standard_normal((n, 2))
    z2 = r * z[:, 0] + np.sqrt(1 - r * r) * z[:, 1]
    return special.ndtr(z[:, 0]), special.ndtr(z2)


def _levels(u: np.ndarray, shares: list[float]) -> np.ndarray:
    return np.searchsorted(np.cumsum(shares)[:-1], u, side="right")


def test_bivariate_normal_cdf_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    h = np.r_[rng.normal(scale=2, size=20), 0.0, 0.0, 1.2, -np.inf, np.inf]
    k = np.r_[rng.normal(scale=2, size=20), 0.0, -0.7, 0.0, 0.3, 0.3]
    r = np.r_[rng.uniform(-0.99, 0.99, size=20), 0.4, -0.6, 0.95, 0.2, 0.2]
    ref = [stats.multivariate_normal(cov=[[1, ri], [ri, 1]]).cdf([min(max(hi, -40), 40), ki])
           for hi, ki, ri in zip(h, k, r, strict=True)]
    np.testing.assert_allclose(bvn_cdf(h, k, r), ref, atol=1e-7)


# (a) binary-binary: sex (female 5.9%) ~ smoking (82.4%), the LCNEC chemo arm.
def test_binary_binary_solved_spearman_is_the_target() -> None:
    p_female, p_smoker, rho = 0.059, 0.824, -0.30
    r, achieved, status = solve_latent(
        RankScores.discrete([1 - p_female, p_female]), RankScores.discrete([1 - p_smoker, p_smoker]), rho
    )
    assert status == "exact"
    assert achieved == pytest.approx(rho, abs=1e-9)
    assert abs(r) > abs(2 * np.sin(np.pi * rho / 6)) + 0.1  # far from the continuous formula
    # phi from the orthant probability, by scipy's (Genz) bivariate normal CDF
    a, b = special.ndtri(1 - p_female), special.ndtri(1 - p_smoker)
    p00 = stats.multivariate_normal(cov=[[1, r], [r, 1]]).cdf([a, b])
    phi = (p00 - (1 - p_female) * (1 - p_smoker)) / np.sqrt(
        p_female * (1 - p_female) * p_smoker * (1 - p_smoker)
    )
    assert phi == pytest.approx(rho, abs=1e-5)
    # and from the 2x2 table of a Monte Carlo draw
    u1, u2 = _latent_pairs(r)
    x, y = u1 >= 1 - p_female, u2 >= 1 - p_smoker
    n11, n1_, n_1 = (float(np.sum(v)) for v in (x & y, x, y))
    phi_mc = (N_MC * n11 - n1_ * n_1) / np.sqrt(n1_ * (N_MC - n1_) * n_1 * (N_MC - n_1))
    assert phi_mc == pytest.approx(rho, abs=MC_TOL)


# (b) binary-continuous, ordinal-continuous (and a zero-inflated margin) against spearmanr.
@pytest.mark.parametrize(
    ("case", "rho"),
    [("binary-continuous", 0.30), ("ordinal-continuous", 0.20), ("ordinal-zero_inflated", -0.25)],
)
def test_mixed_pairs_match_a_large_monte_carlo(case: str, rho: float) -> None:
    ecog = [0.353, 0.529, 0.118]
    first, second = case.split("-")
    m1 = RankScores.discrete([0.765, 0.235]) if first == "binary" else RankScores.discrete(ecog)
    m2 = RankScores.continuous() if second == "continuous" else RankScores.continuous().after_atom(0.769)
    r, achieved, status = solve_latent(m1, m2, rho)
    assert status == "exact"
    assert achieved == pytest.approx(rho, abs=1e-9)
    u1, u2 = _latent_pairs(r)
    x = _levels(u1, [0.765, 0.235] if first == "binary" else ecog)
    y = u2 if second == "continuous" else np.where(u2 < 0.769, 0.0, u2)
    assert stats.spearmanr(x, y)[0] == pytest.approx(rho, abs=MC_TOL)


def test_continuous_pair_keeps_the_closed_form() -> None:
    r, achieved, status = solve_latent(RankScores.continuous(), RankScores.continuous(), 0.4)
    assert (r, status) == (pytest.approx(2 * np.sin(np.pi * 0.4 / 6)), "exact")
    assert observed_spearman(RankScores.continuous(), RankScores.continuous(), r) == pytest.approx(0.4)


# (d) an infeasible target gets the closest feasible value, recorded; a constant margin gets 0.
def test_infeasible_target_reports_the_closest_value() -> None:
    rare = RankScores.discrete([0.95, 0.05])
    r, achieved, status = solve_latent(rare, rare, -0.5)
    frechet = -0.05 * 0.05 / (0.95 * 0.05)  # P(both) = 0: phi = -p^2 / (p (1 - p))
    assert status == "closest_feasible"
    assert r == -R_MAX
    assert frechet - 1e-9 <= achieved < frechet + 0.01
    assert solve_latent(RankScores.discrete([1.0, 0.0]), rare, 0.3) == (0.0, pytest.approx(np.nan, nan_ok=True),
                                                                        "constant_margin")


def test_infeasible_pair_in_a_spec_is_recorded_per_arm_and_reported(lcnec) -> None:  # noqa: ANN001
    corr = [c if c.between != ("sex", "smoking") else Correlation(between=c.between, rho=0.9, source=c.source)
            for c in lcnec.dependence.rank_correlations]
    spec = lcnec.model_copy(update={"dependence": Dependence(rank_correlations=corr)})
    model = fit_covariates(spec)
    unmet = [p for p in model.correlation.unmet if p.item == "sex~smoking"]
    assert [p.arm for p in unmet] == spec.arm_names
    for pair in unmet:
        assert pair.status == "closest_feasible"
        assert pair.target == 0.9
        assert 0.05 < pair.achieved < 0.2  # the Frechet bounds: 0.116 (chemo), 0.167 (ICI)
    np.linalg.cholesky(model.correlation.arms["chemo"].matrix)  # still a valid copula
    other = [p for p in model.correlation.pairs if p.item != "sex~smoking"]
    assert all(p.status == "exact" for p in other)


def test_an_infeasible_pair_is_a_residual_saying_the_closest_value(lcnec) -> None:  # noqa: ANN001
    corr = [c if c.between != ("sex", "smoking") else Correlation(between=c.between, rho=0.9, source=c.source)
            for c in lcnec.dependence.rank_correlations]
    spec = lcnec.model_copy(update={"dependence": Dependence(rank_correlations=corr)})
    lines = correlation_residuals(SimpleNamespace(covariates=fit_covariates(spec)))
    assert [r.target for r in lines] == [f"rank correlation sex~smoking, {a}" for a in spec.arm_names]
    assert all(r.published == "0.9" and r.model.startswith("closest feasible 0.1") for r in lines)


def test_latent_correlation_handles_a_constant_margin() -> None:
    dep = Dependence(rank_correlations=[Correlation(between=("a", "b"), rho=0.3, source="assumed: test")])

    class Levels:
        def __init__(self, cumulative: list[float]) -> None:
            self.cumulative = np.array(cumulative)

    margins = {"a": {"x": Levels([1.0]), "y": Levels([0.5])}, "b": {"x": object(), "y": object()}}
    fit = latent_correlation(["a", "b"], dep, margins, ["x", "y"])
    by_arm = {p.arm: p for p in fit.pairs}
    assert by_arm["x"].status == "constant_margin" and by_arm["x"].latent == 0.0
    assert by_arm["y"].status == "exact" and by_arm["y"].achieved == pytest.approx(0.3)
    assert fit.arms["x"].matrix[0, 1] == 0.0


def test_the_copula_fit_is_cheap(lcnec) -> None:  # noqa: ANN001
    import time  # noqa: PLC0415

    model = fit_covariates(lcnec)
    margins = {v.name: v.marginals for v in model.variables}
    start = time.perf_counter()
    latent_correlation([v.name for v in model.variables], lcnec.dependence, margins, lcnec.arm_names)
    assert time.perf_counter() - start < 0.2


# (c) a 200000-patient LCNEC cohort
@pytest.fixture(scope="module")
def big(lcnec) -> pd.DataFrame:  # noqa: ANN001
    return generate_cohort(lcnec, N_COHORT, seed=1)


def _codes(col: pd.Series, levels: list[str] | None = None) -> np.ndarray:
    if levels is not None:
        c = pd.Categorical(col.astype("string"), categories=levels).codes
        return np.where(c >= 0, c, np.nan)
    return col.astype("Float64").to_numpy(dtype=float, na_value=np.nan)


@pytest.mark.slow
@pytest.mark.parametrize(("a", "b", "rho"), [("sex", "smoking", -0.30), ("ldh", "met_liver", 0.30)])
def test_cohort_observed_spearman_per_arm_is_the_target(big, lcnec, a: str, b: str, rho: float) -> None:  # noqa: ANN001
    assert any(c.between == (a, b) and c.rho == rho for c in lcnec.dependence.rank_correlations)
    for arm in lcnec.arm_names:
        sub = big[big["arm"] == arm]
        x = _codes(sub[a], ["male", "female"] if a == "sex" else None)
        y = _codes(sub[b])
        ok = ~(np.isnan(x) | np.isnan(y))
        assert stats.spearmanr(x[ok], y[ok])[0] == pytest.approx(rho, abs=0.01), arm


@pytest.mark.slow
def test_fidelity_correlation_rows_are_within_at_200000(big, lcnec) -> None:  # noqa: ANN001
    from necml.cohort import fit_cohort_model  # noqa: PLC0415

    model = fit_cohort_model(lcnec)
    rows = correlation_rows(big, model)
    pairs = {f"{c.between[0]}~{c.between[1]}": c for c in lcnec.dependence.rank_correlations}
    assert {(r.arm, r.item) for r in rows} == {(a, p) for a in lcnec.arm_names for p in pairs}
    for row in rows:
        assert (row.section, row.statistic) == ("correlations", "spearman")
        assert row.published == pairs[row.item].rho and row.source == pairs[row.item].source
        a, b = row.item.split("~")
        sub = big[big["arm"] == row.arm]
        n = int((sub[a].notna() & sub[b].notna()).sum())
        assert row.tolerance == pytest.approx(3 * np.sqrt(1.06 / (n - 3))) == 3 * spearman_se(n)
        assert row.within, row


def test_cohort_rows_include_the_correlations_and_residuals_are_clean(lcnec) -> None:  # noqa: ANN001
    from necml.cohort import fit_cohort_model  # noqa: PLC0415

    model = fit_cohort_model(lcnec)
    rows = cohort_rows(generate_cohort(lcnec, 3000, seed=2), model)
    corr = [r for r in rows if r.section == "correlations"]
    assert len(corr) == len(lcnec.dependence.rank_correlations) * len(lcnec.arm_names)
    assert correlation_residuals(model) == []
