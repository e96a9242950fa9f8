"""Marginal families and the illness-death sampler against independent references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from necml.cohort._marginals import (
    TruncatedPiece,
    _truncbeta_moments,
    _truncnorm_moments,
    build_continuous,
)
from necml.spec import BetaDist, MedianRangeDist, NormalDist, QuartilesDist


@pytest.mark.parametrize(("mu", "sigma", "low", "high"),
                         [(70, 7, 18, 65), (70, 7, 65, 95), (0, 1, -np.inf, 0.3), (5, 2, 1, 9)])
def test_truncnorm_moments_match_scipy(mu, sigma, low, high) -> None:
    ref = stats.truncnorm((low - mu) / sigma, (high - mu) / sigma, loc=mu, scale=sigma)
    m1, m2 = _truncnorm_moments(mu, sigma, low, high)
    assert m1 == pytest.approx(ref.mean(), rel=1e-10)
    assert m2 == pytest.approx(ref.var() + ref.mean() ** 2, rel=1e-10)


@pytest.mark.parametrize(("a", "b", "low", "high"), [(3.0, 1.2, 55, 100), (3.0, 1.2, 20, 55)])
def test_truncbeta_moments_match_quadrature(a, b, low, high) -> None:
    base = stats.beta(a, b, loc=20, scale=80)
    ref1 = base.expect(lambda x: x, lb=low, ub=high, conditional=True)
    ref2 = base.expect(lambda x: x * x, lb=low, ub=high, conditional=True)
    m1, m2 = _truncbeta_moments(a, b, 20, 80, low, high)
    assert (m1, m2) == pytest.approx((ref1, ref2), rel=1e-7)


U = np.random.default_rng(0).random(400_000)


@pytest.mark.parametrize(("mean", "sd", "pct"), [(70.4, 7.01, 85.7), (64.1, 8.63, 58.8)])
def test_two_piece_normal_meets_mean_sd_and_share(mean, sd, pct) -> None:
    """002 Table 2: a normal cannot give these shares; the two-piece construction does."""
    assert abs(stats.norm.sf(65, mean, sd) - pct / 100) > 0.07  # a normal misses by > 7 pp
    dist = NormalDist(dist="normal", mean=mean, sd=sd, source="002 Table 2",
                      share_above={"cutoff": 65, "percent": pct})
    x = build_continuous(dist, bounds=(18, 95), arm_n=14).ppf(U)
    se = sd / np.sqrt(len(U))
    assert abs(x.mean() - mean) < 4 * se
    assert abs(x.std() - sd) < 4 * se
    assert abs((x >= 65).mean() - pct / 100) < 4 * np.sqrt(0.25 / len(U))


def test_split_lognormal_hits_quartiles() -> None:
    dist = QuartilesDist(dist="quartiles", median=279, q1=227, q3=1511, source="002 Table 2")
    m = build_continuous(dist, bounds=(80, 10000), arm_n=17)
    assert m.ppf(np.array([0.25, 0.5, 0.75])) == pytest.approx([227, 279, 1511], rel=1e-9)
    x = m.ppf(U)
    assert x.min() >= 80 and x.max() <= 10000


def test_median_range_keeps_median_and_range() -> None:
    dist = MedianRangeDist(dist="median_range", median=5.2, min=1.2, max=31.7, source="003 Table 2")
    m = build_continuous(dist, bounds=None, arm_n=56)
    assert float(m.ppf(np.array([0.5]))[0]) == pytest.approx(5.2)
    x = m.ppf(U)
    assert 1.2 <= x.min() and x.max() <= 31.7


def test_impossible_beta_refused() -> None:
    from necml.exceptions import SpecError

    dist = BetaDist(dist="beta", mean=95, sd=30, source="assumed: test")
    with pytest.raises(SpecError, match="cannot have mean 95"):
        build_continuous(dist, bounds=(0, 100), arm_n=10)


def test_piece_sampling_matches_scipy_truncnorm() -> None:
    piece = TruncatedPiece(base=stats.norm(70, 7), low=65, high=95)
    ref = stats.truncnorm((65 - 70) / 7, (95 - 70) / 7, loc=70, scale=7)
    q = np.linspace(0.01, 0.99, 9)
    assert piece.ppf(q) == pytest.approx(ref.ppf(q), rel=1e-9)
