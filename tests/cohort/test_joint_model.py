"""The three-transition illness-death model, its grid survival and its Cox limit, against references.

References are independent of the code under test: closed-form distributions (Kolmogorov-Smirnov),
numerical integration of the illness-death formula with scipy's ``quad``, Monte-Carlo samples, and
Cox fits of simulated data with the R-conformant engine (``necml.dataset._coxph``, itself checked
against ``survival::coxph`` in tests/conformance).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from necml.cohort.outcomes import JointModel, PiecewiseExponential, Switch, Weibull, cox_limit
from necml.cohort.outcomes._paths import os_paths
from necml.dataset._coxph import fit_cox_newton

PFS, POST = Weibull(lam=0.05, shape=1.3), Weibull(lam=0.02, shape=1.6)


def _os_survival_quad(t: float, a: float, c: float, joint: JointModel) -> float:
    """S_os(t) = P0(t) + (1 - p) int_0^t a h0(s) P0(s) exp(-c (H12(t) - H12(s))) ds (Meller et al. 2019)."""
    k, lam = joint.pfs.shape, joint.pfs.lam
    p0 = lambda s: np.exp(-a * lam * s**k)  # noqa: E731
    h0 = lambda s: lam * k * s ** (k - 1)  # noqa: E731
    h12 = joint.post.cumhaz

    def integrand(s: float) -> float:
        return a * h0(s) * p0(s) * np.exp(-c * (h12(t) - h12(s)))

    inner, _ = integrate.quad(integrand, 0.0, t, limit=200)
    return float(p0(t) + (1 - joint.death_share) * inner)


def test_sampled_times_follow_the_three_transitions(stat_seed) -> None:
    """PFS ~ exp(-a H_pfs); deaths first with probability p; after progression E = c (H12(T) - H12(T_pfs)) ~ Exp(1)."""
    joint = JointModel(pfs=PFS, post=POST, death_share=0.15)
    n = 200_000
    eta_p, eta_q = np.full(n, 0.3), np.full(n, -0.2)
    t_pfs, t_os, _, progressed = joint.sample(eta_p, eta_q, np.random.default_rng(stat_seed))
    assert (t_pfs <= t_os).all()
    assert stats.kstest(t_pfs, lambda t: 1 - np.exp(-np.exp(0.3) * PFS.lam * t**PFS.shape)).pvalue > 1e-3
    assert stats.binomtest(int((~progressed).sum()), n, 0.15).pvalue > 1e-3
    assert (t_os[~progressed] == t_pfs[~progressed]).all()
    e = np.exp(-0.2) * (POST.cumhaz(t_os[progressed]) - POST.cumhaz(t_pfs[progressed]))
    assert stats.kstest(e, "expon").pvalue > 1e-3


def test_switch_sampling_follows_the_switched_hazard(stat_seed) -> None:
    """A delayed effect: PFS hazard exp(eta_early) before t0, exp(eta_late) after (closed-form CDF)."""
    joint = JointModel(pfs=PFS, post=POST, death_share=0.1)
    n, t0 = 200_000, 4.0
    late, early = np.full(n, -0.7), np.zeros(n)
    switch = Switch(time=np.full(n, t0), eta_pfs=early, eta_post=early)
    t_pfs, t_os, _, _ = joint.sample(late, late, np.random.default_rng(stat_seed), switch=switch)

    def cdf(t: np.ndarray) -> np.ndarray:
        h = PFS.cumhaz(np.minimum(t, t0)) + np.exp(-0.7) * (PFS.cumhaz(np.maximum(t, t0)) - PFS.cumhaz(t0))
        return 1 - np.exp(-h)

    assert stats.kstest(t_pfs, cdf).pvalue > 1e-3
    assert (t_pfs <= t_os).all()


@pytest.mark.parametrize("death_share", [0.0, 0.1, 0.4])
def test_grid_survival_matches_quadrature_and_monte_carlo(death_share, stat_seed) -> None:
    joint = JointModel(pfs=PFS, post=POST, death_share=death_share)
    a, c = np.exp(0.3), np.exp(-0.2)
    grid = np.linspace(0.0, 40.0, 801)
    s_pfs, s_os = joint.state_probabilities(grid, np.array([0.3]), np.array([-0.2]))
    _, marg_os, _ = os_paths(grid, PFS.cumhaz(grid), POST.cumhaz(grid), t0=np.zeros(1), cumhaz_pfs_t0=np.zeros(1),
                             cumhaz_post_t0=np.zeros(1), eta_pfs=(np.array([0.3]),) * 2,
                             eta_post=(np.array([-0.2]),) * 2, death_share=death_share, weight=np.ones(1),
                             group=np.zeros(1, dtype=np.int64), n_groups=1)
    np.testing.assert_allclose(marg_os[0], s_os[0], atol=1e-12)  # compiled kernel == numpy recurrence
    t_os = joint.sample(np.full(400_000, 0.3), np.full(400_000, -0.2), np.random.default_rng(stat_seed))[1]
    for t in (3.0, 10.0, 20.0, 35.0):
        j = int(np.searchsorted(grid, t))
        ref = _os_survival_quad(t, a, c, joint)
        assert s_os[0, j] == pytest.approx(ref, abs=2e-5)
        mc = float(np.mean(t_os > t))
        assert abs(mc - ref) < 4 * np.sqrt(ref * (1 - ref) / 400_000) + 1e-4
        assert s_pfs[0, j] == pytest.approx(np.exp(-a * PFS.cumhaz(t)), rel=1e-12)


def test_piecewise_exponential_cumhaz_and_inverse() -> None:
    pe = PiecewiseExponential(knots=(6.0, 12.0), rates=(0.1, 0.2, 0.05))
    t = np.array([0.0, 3.0, 6.0, 9.0, 12.0, 30.0])
    ref = [integrate.quad(lambda s: 0.1 if s < 6 else (0.2 if s < 12 else 0.05), 0, x, points=[6, 12])[0] for x in t]
    np.testing.assert_allclose(pe.cumhaz(t), ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(pe.inverse(pe.cumhaz(t)), t, atol=1e-10)
    with pytest.raises(ValueError, match="increasing"):
        PiecewiseExponential(knots=(6.0, 3.0), rates=(0.1, 0.2, 0.3))


def test_cox_limit_recovers_ph_effects_and_matches_a_large_fit(stat_seed) -> None:
    """PFS (PH): the limit is the generating log-HR. OS (not PH): the limit is what a Cox fit of
    400000 simulated patients returns (within 3 SE), with uniform censoring on (0, 60)."""
    rng = np.random.default_rng(stat_seed)
    joint = JointModel(pfs=PFS, post=POST, death_share=0.1)
    beta_pfs, beta_post = np.array([0.5, -0.3, 0.2]), np.array([0.9, 0.1, -0.2])

    def draw(n: int) -> np.ndarray:
        return np.column_stack([rng.random(n) < 0.3, rng.normal(size=n), rng.random(n) < 0.6]).astype(float)

    x = draw(20_000)
    grid = 60.0 * np.linspace(0, 1, 241) ** 1.5
    s_pfs, s_os = joint.state_probabilities(grid, x @ beta_pfs, x @ beta_post)
    cens = np.clip(1 - 0.5 * (grid[1:] + grid[:-1]) / 60.0, 0, 1)
    np.testing.assert_allclose(cox_limit(x, s_pfs, cens), beta_pfs, atol=2e-3)
    limit_os = cox_limit(x, s_os, cens)
    xb = draw(400_000)
    _, t_os, _, _ = joint.sample(xb @ beta_pfs, xb @ beta_post, rng)
    c = rng.uniform(0, 60, xb.shape[0])
    fit = fit_cox_newton(xb, np.minimum(t_os, c), t_os <= c, ties="breslow")
    assert np.all(np.abs(fit.coef - limit_os) < 3 * fit.se + 2e-3), (fit.coef, limit_os, fit.se)
    assert np.max(np.abs(limit_os - beta_post)) > 0.02  # OS is not PH: the limit is not b itself


def test_piecewise_exponential_baseline_fits_at_least_as_well_as_an_exponential(lcnec) -> None:
    """A piecewise-exponential PFS baseline nests the exponential (all rates equal), so it never
    fits the printed PFS targets worse (weighted SSR in SEs) than a Weibull of fixed shape 1."""
    from necml.cohort import fit_cohort_model
    from necml.spec import CohortSpec

    def variant(name: str, baseline: dict) -> CohortSpec:
        raw = lcnec.model_dump(mode="python", by_alias=True)
        raw["name"] = name
        raw["outcomes"]["pfs"]["baseline"] = baseline | {"source": "assumed: test"}
        return CohortSpec.model_validate(raw)

    pe = fit_cohort_model(variant("lcnec_pe", {"family": "piecewise_exponential", "knots": [6.0, 12.0]}))
    exponential = fit_cohort_model(variant("lcnec_exp", {"family": "weibull", "shape": 1.0}))
    assert isinstance(pe.joint.pfs, PiecewiseExponential)

    def ssr(model) -> float:  # noqa: ANN001
        return sum(c.residual_se**2 for c in model.checks if c.endpoint == "pfs" and c.targeted)

    assert ssr(pe) <= ssr(exponential) + 1e-6


def test_arm_only_limit_from_marginal_curves_equals_the_per_patient_limit() -> None:
    """An arm-only model's limiting score depends on each arm's summed curves only (the shortcut
    ``limits(..., unadjusted=True)`` takes): per-patient rows and one weighted row per arm agree."""
    rng = np.random.default_rng(3)
    joint = JointModel(pfs=PFS, post=POST, death_share=0.1)
    arm = (rng.random(3000) < 0.4).astype(float)
    x = np.column_stack([arm, rng.random(3000) < 0.3])
    grid = 50.0 * np.linspace(0, 1, 161) ** 1.5
    _, s_os = joint.state_probabilities(grid, x @ [0.4, 0.5], x @ [0.2, 0.9])
    cens = np.clip(1 - 0.5 * (grid[1:] + grid[:-1]) / 50.0, 0, 1)
    per_patient = cox_limit(arm[:, None], s_os, cens)
    marg = np.vstack([s_os[arm == 0].mean(axis=0), s_os[arm == 1].mean(axis=0)])
    grouped = cox_limit(np.array([[0.0], [1.0]]), marg, cens, weights=np.array([(arm == 0).sum(), (arm == 1).sum()]))
    np.testing.assert_allclose(grouped, per_patient, rtol=1e-10)
