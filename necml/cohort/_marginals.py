"""Marginal distributions that reproduce what papers print, as vectorised quantile functions.

Each marginal maps copula uniforms ``u`` in (0, 1) to values through ``ppf(u)``. The families:

* ``normal`` (mean ± SD): a normal truncated to the variable's bounds whose location and scale
  are solved so that the *truncated* mean and SD equal the published ones.
* ``normal``/``beta`` with ``share_above``: a two-piece construction. The indicator
  (value >= cut-off) is drawn at the published share, the value from the base family truncated
  to that side, and the base family's two parameters are solved so that the overall mean and SD
  come out right. A normal cannot meet all three when the share is far from what its mean and SD
  imply (age 70.4 ± 7.01 with 85.7% aged >= 65: a normal gives 78%); this can.
* ``quartiles`` (median (IQR)): a split log-normal, one log-scale spread below the median and
  another above it, so that q1, median and q3 are hit exactly. Tails beyond q1/q3 are truncated
  to the bounds without moving the quartiles.
* ``median_range``: a split normal whose range ends sit at the expected extremes of a sample of
  the arm's size (Wan et al. 2014), truncated to the range.
* ``beta``: a beta scaled to the bounds, by the method of moments.
* ``zero_inflated``: a point mass at 0 with the published share, then the positive part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats

from necml.exceptions import SpecError
from necml.spec import (
    BetaDist,
    MedianRangeDist,
    NormalDist,
    QuartilesDist,
    ZeroInflatedDist,
)

__all__ = ["ContinuousMarginal", "build_continuous"]

Z75 = float(special.ndtri(0.75))
FloatArray = NDArray[np.float64]


class ContinuousMarginal(Protocol):
    """A continuous marginal: a vectorised quantile function plus its fit residual."""

    residual: float

    def ppf(self, u: FloatArray) -> FloatArray:
        """Map uniforms to values."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class TruncatedPiece:
    """A frozen scipy distribution restricted to ``[low, high]``, sampled by inversion."""

    base: stats.rv_continuous
    low: float
    high: float
    _bounds: tuple[float, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # computed once: a replicate draws 56 patients, where scipy's per-call overhead dominates
        object.__setattr__(self, "_bounds", (float(self.base.cdf(self.low)), float(self.base.cdf(self.high))))

    @property
    def cdf_bounds(self) -> tuple[float, float]:
        return self._bounds

    def ppf(self, q: FloatArray) -> FloatArray:
        f_lo, f_hi = self._bounds
        return np.clip(_base_ppf(self.base, f_lo + q * (f_hi - f_lo)), self.low, self.high)

    def moments(self) -> tuple[float, float]:
        """Mean and second raw moment of the truncated piece, in closed form."""
        name = self.base.dist.name
        if name == "norm":
            return _truncnorm_moments(self.base.mean(), self.base.std(), self.low, self.high)
        if name == "beta":
            a, b = self.base.args
            loc, scale = self.base.kwds["loc"], self.base.kwds["scale"]
            return _truncbeta_moments(a, b, loc, scale, self.low, self.high)
        raise NotImplementedError(name)  # pragma: no cover - families are a closed set


def _base_ppf(base: stats.rv_continuous, q: FloatArray) -> FloatArray:
    """``base.ppf(q)``; for a normal given by ``loc``/``scale`` the very expression scipy
    evaluates (``ndtri(q) * scale + loc``, so the values are identical to the bit) without its
    per-call argument checking, which costs more than the draw at n = 56."""
    if base.dist.name == "norm" and not base.args and set(base.kwds) == {"loc", "scale"}:
        return special.ndtri(q) * base.kwds["scale"] + base.kwds["loc"]
    return base.ppf(q)


def _truncnorm_moments(mu: float, sigma: float, low: float, high: float) -> tuple[float, float]:
    alpha, beta = (low - mu) / sigma, (high - mu) / sigma
    z = special.ndtr(beta) - special.ndtr(alpha)
    pdf_a, pdf_b = stats.norm.pdf(alpha), stats.norm.pdf(beta)
    a_pdf_a = alpha * pdf_a if np.isfinite(alpha) else 0.0
    b_pdf_b = beta * pdf_b if np.isfinite(beta) else 0.0
    mean_z = (pdf_a - pdf_b) / z
    var_z = 1.0 + (a_pdf_a - b_pdf_b) / z - mean_z**2
    mean = mu + sigma * mean_z
    return float(mean), float(sigma**2 * var_z + mean**2)


def _truncbeta_moments(
    a: float, b: float, loc: float, scale: float, low: float, high: float
) -> tuple[float, float]:
    lo, hi = (low - loc) / scale, (high - loc) / scale
    mass = special.betainc(a, b, hi) - special.betainc(a, b, lo)
    e1 = a / (a + b) * (special.betainc(a + 1, b, hi) - special.betainc(a + 1, b, lo)) / mass
    e2 = (
        a * (a + 1) / ((a + b) * (a + b + 1))
        * (special.betainc(a + 2, b, hi) - special.betainc(a + 2, b, lo)) / mass
    )
    return float(loc + scale * e1), float(loc**2 + 2 * loc * scale * e1 + scale**2 * e2)


@dataclass(frozen=True, slots=True, kw_only=True)
class TwoPiece:
    """Mixture of the base family's two sides of a cut-off, weighted by a published share."""

    below: TruncatedPiece
    above: TruncatedPiece
    share_above: float
    residual: float = 0.0

    def ppf(self, u: FloatArray) -> FloatArray:
        p_below = 1.0 - self.share_above
        out = np.empty_like(u)
        lo = u < p_below
        if p_below > 0:
            out[lo] = self.below.ppf(u[lo] / p_below)
        if self.share_above > 0:
            out[~lo] = self.above.ppf((u[~lo] - p_below) / self.share_above)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Single:
    """One truncated piece used as the whole marginal."""

    piece: TruncatedPiece
    residual: float = 0.0

    def ppf(self, u: FloatArray) -> FloatArray:
        return self.piece.ppf(u)


@dataclass(frozen=True, slots=True, kw_only=True)
class SplitScale:
    """Split distribution around a median with separate spreads, tails truncated to bounds.

    ``log`` selects a split log-normal (spreads on the log scale) or a split normal. Values
    below ``q_low`` and above ``q_high`` (probabilities) are squeezed into the bounds, so the
    quantiles inside ``[q_low, q_high]`` are exact.
    """

    median: float
    sigma_low: float
    sigma_high: float
    low: float
    high: float
    log: bool
    q_low: float = 0.25
    q_high: float = 0.75
    residual: float = 0.0
    _cdf_low: float = field(init=False)
    _cdf_high: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_cdf_low", float(self._cdf(self.low)))
        object.__setattr__(self, "_cdf_high", float(self._cdf(self.high)))

    def _transform(self, x: float) -> float:
        if self.log:
            return np.log(x) - np.log(self.median) if x > 0 else -np.inf
        return x - self.median

    def _cdf(self, x: float) -> float:
        d = self._transform(x)
        if not np.isfinite(d):
            return 0.0 if d < 0 else 1.0
        return special.ndtr(d / (self.sigma_low if d < 0 else self.sigma_high))

    def _untruncated_ppf(self, p: FloatArray) -> FloatArray:
        z = special.ndtri(p)
        d = np.where(z < 0, z * self.sigma_low, z * self.sigma_high)
        return self.median * np.exp(d) if self.log else self.median + d

    def ppf(self, u: FloatArray) -> FloatArray:
        p = np.asarray(u, dtype=float).copy()
        lo = p < self.q_low
        hi = p > self.q_high
        # Squeeze the tails into [cdf(low), q_low] and [q_high, cdf(high)].
        p[lo] = self._cdf_low + p[lo] / self.q_low * (self.q_low - self._cdf_low)
        p[hi] = self.q_high + (p[hi] - self.q_high) / (1 - self.q_high) * (
            self._cdf_high - self.q_high
        )
        return np.clip(self._untruncated_ppf(p), self.low, self.high)


@dataclass(frozen=True, slots=True, kw_only=True)
class ZeroInflated:
    """Point mass at zero with probability ``zero_share``, else the positive marginal."""

    zero_share: float
    positive: ContinuousMarginal

    @property
    def residual(self) -> float:
        return self.positive.residual

    def ppf(self, u: FloatArray) -> FloatArray:
        out = np.zeros_like(u)
        pos = u >= self.zero_share
        if self.zero_share < 1:
            out[pos] = self.positive.ppf((u[pos] - self.zero_share) / (1 - self.zero_share))
        return out


def _normal(params: FloatArray) -> stats.rv_continuous:
    return stats.norm(loc=params[0], scale=np.exp(params[1]))


def _beta_on(low: float, high: float):  # noqa: ANN202 - returns a family constructor
    def make(params: FloatArray) -> stats.rv_continuous:
        return stats.beta(np.exp(params[0]), np.exp(params[1]), loc=low, scale=high - low)

    return make


def _mixture_moments(pieces: list[tuple[float, TruncatedPiece]]) -> tuple[float, float]:
    m1 = m2 = 0.0
    for w, piece in pieces:
        if w > 0:
            a, b = piece.moments()
            m1 += w * a
            m2 += w * b
    return m1, float(np.sqrt(max(m2 - m1 * m1, 0.0)))


def _solve_moments(make, x0, target_mean, target_sd, build):  # noqa: ANN001, ANN202
    """Solve a two-parameter family so that ``build(make(params))`` has the target moments."""

    def resid(params: FloatArray) -> FloatArray:
        pieces = build(make(params))
        mean, sd = _mixture_moments(pieces)
        return np.array([(mean - target_mean) / target_sd, (sd - target_sd) / target_sd])

    sol = optimize.least_squares(resid, x0, method="lm", xtol=1e-12, ftol=1e-12)
    return sol.x, float(np.max(np.abs(sol.fun)))


def _fit_two_parameter(dist, low, high, make, x0):  # noqa: ANN001, ANN202
    share = dist.share_above
    if share is None:
        params, res = _solve_moments(
            make, x0, dist.mean, dist.sd,
            lambda base: [(1.0, TruncatedPiece(base=base, low=low, high=high))],
        )
        return Single(piece=TruncatedPiece(base=make(params), low=low, high=high), residual=res)
    p = share.percent / 100.0
    c = share.cutoff
    if not low < c < high:
        raise SpecError(f"share_above.cutoff={c} must lie inside the bounds ({low}, {high})")

    def build(base: stats.rv_continuous) -> list[tuple[float, TruncatedPiece]]:
        return [
            (1 - p, TruncatedPiece(base=base, low=low, high=c)),
            (p, TruncatedPiece(base=base, low=c, high=high)),
        ]

    params, res = _solve_moments(make, x0, dist.mean, dist.sd, build)
    below, above = build(make(params))
    return TwoPiece(below=below[1], above=above[1], share_above=p, residual=res)


def _beta_x0(mean: float, sd: float, low: float, high: float) -> FloatArray:
    m = (mean - low) / (high - low)
    v = (sd / (high - low)) ** 2
    if not 0 < m < 1 or v >= m * (1 - m):
        raise SpecError(
            f"a beta on ({low}, {high}) cannot have mean {mean} and SD {sd}: "
            "`sd^2 < (mean - low) * (high - mean)` must hold"
        )
    k = m * (1 - m) / v - 1
    return np.log([m * k, (1 - m) * k])


def _fit_quartiles(dist: QuartilesDist, low: float, high: float) -> SplitScale:
    if not (low < dist.q1 and dist.q3 < high):
        raise SpecError(
            f"the quartiles ({dist.q1}, {dist.q3}) must lie strictly inside the bounds "
            f"({low}, {high})"
        )
    return SplitScale(
        median=dist.median,
        sigma_low=max(np.log(dist.median / dist.q1) / Z75, 1e-9),
        sigma_high=max(np.log(dist.q3 / dist.median) / Z75, 1e-9),
        low=max(low, 0.0),
        high=high,
        log=True,
    )


def _fit_median_range(dist: MedianRangeDist, arm_n: int) -> SplitScale:
    # Expected largest standard-normal order statistic of a sample of size n (Wan et al. 2014).
    xi = float(special.ndtri((arm_n - 0.375) / (arm_n + 0.25)))
    return SplitScale(
        median=dist.median,
        sigma_low=(dist.median - dist.min) / xi,
        sigma_high=(dist.max - dist.median) / xi,
        low=dist.min,
        high=dist.max,
        log=False,
        q_low=0.5,
        q_high=0.5,
    )


def build_continuous(
    dist: NormalDist | QuartilesDist | MedianRangeDist | BetaDist | ZeroInflatedDist,
    *,
    bounds: tuple[float, float] | None,
    arm_n: int,
) -> ContinuousMarginal:
    """Fit a continuous marginal to a published summary.

    Parameters
    ----------
    dist : NormalDist, QuartilesDist, MedianRangeDist, BetaDist or ZeroInflatedDist
        The per-arm distribution block of the specification.
    bounds : tuple of float, optional
        Physiological bounds of the variable; required for ``beta``.
    arm_n : int
        The arm's published size (used by ``median_range``).

    Returns
    -------
    ContinuousMarginal
        An object with a vectorised ``ppf`` and the fit's relative ``residual``.

    Raises
    ------
    SpecError
        If the published numbers are impossible for the family within the bounds.
    """
    low, high = bounds if bounds is not None else (-np.inf, np.inf)
    if isinstance(dist, ZeroInflatedDist):
        positive = build_continuous(
            dist.positive, bounds=dist.positive_bounds or bounds, arm_n=arm_n
        )
        return ZeroInflated(zero_share=dist.zero_percent / 100.0, positive=positive)
    if isinstance(dist, QuartilesDist):
        return _fit_quartiles(dist, low, high)
    if isinstance(dist, MedianRangeDist):
        return _fit_median_range(dist, arm_n)
    if isinstance(dist, BetaDist):
        if not (np.isfinite(low) and np.isfinite(high)):
            raise SpecError("a beta distribution needs finite `bounds` on its variable")
        x0 = _beta_x0(dist.mean, dist.sd, low, high)
        return _fit_two_parameter(dist, low, high, _beta_on(low, high), x0)
    if not low < dist.mean < high:
        raise SpecError(f"mean {dist.mean} must lie inside the bounds ({low}, {high})")
    return _fit_two_parameter(dist, low, high, _normal, np.array([dist.mean, np.log(dist.sd)]))
