"""Gaussian copula over the covariates' latent normal scores, solved for *observed* rank correlations.

The specification states Spearman's rho between two variables as it would be measured on the
cohort: the population Spearman correlation with mid-ranks for ties, i.e. the Pearson
correlation of ``F~(X) = (F(X) + F(X-)) / 2`` and ``F~(Y)`` (what :func:`scipy.stats.spearmanr`
estimates on a sample). For two continuous margins the latent normal correlation giving it is
``2 sin(pi rho / 6)``; for a binary, ordinal, categorical or zero-inflated margin the ties shrink
the observed correlation, so the latent correlation is solved numerically, per pair and per arm
(the margins differ between arms).

The computation. A margin is seen through its mid-rank score ``g(u) = F~(F^-1(u))`` on the copula
uniform ``u``: constant on each atom (a level, or the zero of a zero-inflated margin) and equal to
``u`` on continuous stretches. Hoeffding's identity gives, for non-decreasing ``g1, g2``::

    Cov(g1(U1), g2(U2)) = int int (C_r(u, v) - u v) dg1(u) dg2(v),

with ``C_r(u, v) = Phi2(Phi^-1(u), Phi^-1(v); r)`` the Gaussian copula. The measure ``dg`` has
point masses at the level thresholds (jump heights ``(p_k + p_(k+1)) / 2``) and unit density on
continuous stretches, so the covariance is a sum of

* threshold x threshold: bivariate-normal orthant probabilities ``Phi2(a, b; r) - Phi(a) Phi(b)``;
* threshold x whole continuous margin: ``Phi2(a, 0; r / sqrt 2) - Phi(a) / 2`` (closed form:
  integrate the continuous latent out against an independent normal);
* continuous x continuous: ``arcsin(r / 2) / (2 pi)`` (which gives ``(6 / pi) arcsin(r / 2)``);
* pieces that cover only part of (0, 1) (the positive part of a zero-inflated margin):
  Gauss-Legendre quadrature over the latent normal.

``Phi2`` is evaluated by Owen's T function (Owen 1956), vectorised. The observed correlation is
that covariance over ``sqrt(Var g1 Var g2)`` with ``Var g = (1 - sum_k p_k^3) / 12`` (``p_k`` the
atoms), and it increases with ``r``; ``r`` is found by Brent's method on ``(-0.999, 0.999)``.
A target beyond what the margins allow (their Frechet bounds) gets the closest feasible value;
a constant margin in an arm gets 0. Each arm's matrix is then repaired to positive definite.

References
----------
.. [1] Owen, D. B. (1956). Tables for computing bivariate normal probabilities. Annals of
   Mathematical Statistics 27:1075-1090.
.. [2] Hoeffding, W. (1940). Masstabinvariante Korrelationstheorie. Schriften des
   Mathematischen Instituts der Universitaet Berlin 5:181-233.
.. [3] Kruskal, W. H. (1958). Ordinal measures of association. JASA 53:814-861.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from necml.cohort._marginals import ZeroInflated
from necml.spec import Dependence

__all__ = [
    "ArmCorrelation",
    "LatentCorrelation",
    "PairCorrelation",
    "RankScores",
    "bvn_cdf",
    "latent_correlation",
    "nearest_correlation",
    "observed_spearman",
    "rank_scores",
    "solve_latent",
]

FloatArray = NDArray[np.float64]
#: Latent correlations are searched inside this interval.
R_MAX = 0.999
_Y_MAX = 8.5  # latent normal range of the quadratures (mass beyond: 2e-17)
_GL_1D = np.polynomial.legendre.leggauss(200)
_GL_2D = np.polynomial.legendre.leggauss(64)
PairStatus = Literal["exact", "closest_feasible", "repaired", "constant_margin"]


def bvn_cdf(h: ArrayLike, k: ArrayLike, rho: ArrayLike) -> FloatArray:
    """Bivariate standard normal CDF ``P(Z1 <= h, Z2 <= k)`` with correlation ``rho``, vectorised.

    Owen's (1956) formula ``Phi2 = (Phi(h) + Phi(k)) / 2 - T(h, a_h) - T(k, a_k) - beta`` with
    :func:`scipy.special.owens_t`; accurate to about 1e-15 for ``|rho| < 1``.

    Parameters
    ----------
    h, k : array_like
        Upper limits (may be infinite).
    rho : array_like
        Correlations in (-1, 1).

    Returns
    -------
    numpy.ndarray
        The probabilities, broadcast over the inputs.
    """
    h, k, rho = (np.asarray(x, dtype=float) for x in np.broadcast_arrays(h, k, rho))
    out = np.empty(h.shape)
    finite = np.isfinite(h) & np.isfinite(k)
    out[~finite] = np.where(
        (h == -np.inf) | (k == -np.inf), 0.0,
        np.where(h == np.inf, special.ndtr(k), special.ndtr(h)),
    )[~finite]
    hf, kf, rf = h[finite], k[finite], rho[finite]
    # An exact zero makes a_h infinite (or 0/0); a nudge of 1e-10 changes Phi2 by < 1e-10.
    hf = np.where(hf == 0.0, 1e-10, hf)
    kf = np.where(kf == 0.0, 1e-10, kf)
    s = np.sqrt((1.0 - rf) * (1.0 + rf))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a_h = (kf - rf * hf) / (hf * s)
        a_k = (hf - rf * kf) / (kf * s)
    beta = np.where(hf * kf < 0, 0.5, 0.0)
    out[finite] = (
        0.5 * (special.ndtr(hf) + special.ndtr(kf))
        - special.owens_t(hf, a_h) - special.owens_t(kf, a_k) - beta
    )
    return np.clip(out, 0.0, 1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class RankScores:
    """A margin's mid-rank score ``F~(F^-1(u))`` as a function of the copula uniform ``u``.

    The unit interval is cut into pieces: an *atom* ``[lo, hi)`` is one value of the variable
    (score ``(lo + hi) / 2``), a *continuous* piece has score ``u``.

    Attributes
    ----------
    lo, hi : numpy.ndarray
        The pieces, in order, covering (0, 1).
    atom : numpy.ndarray of bool
        Whether each piece is an atom.
    """

    lo: FloatArray
    hi: FloatArray
    atom: NDArray[np.bool_]
    cuts: FloatArray = field(init=False)
    jumps: FloatArray = field(init=False)
    spans: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        mid = (self.lo + self.hi) / 2
        left = np.where(self.atom, mid, self.lo)  # score just after each piece starts
        right = np.where(self.atom, mid, self.hi)  # and just before it ends
        cuts, jumps = self.lo[1:], left[1:] - right[:-1]
        keep = (cuts > 0) & (cuts < 1) & (jumps > 0)
        object.__setattr__(self, "cuts", cuts[keep])
        object.__setattr__(self, "jumps", jumps[keep])
        spans = np.column_stack([self.lo, self.hi])[~self.atom & (self.hi > self.lo)]
        object.__setattr__(self, "spans", spans.reshape(-1, 2))

    @property
    def continuous_everywhere(self) -> bool:
        """No ties: the score is ``u`` on all of (0, 1)."""
        return self.cuts.size == 0 and self.spans.shape[0] == 1 and _is_full(self.spans[0])

    @property
    def variance(self) -> float:
        """``Var F~(X) = (1 - sum of atom masses cubed) / 12``."""
        mass = (self.hi - self.lo)[self.atom]
        return float(max(1.0 - np.sum(mass**3), 0.0) / 12.0)

    @classmethod
    def discrete(cls, shares: ArrayLike) -> RankScores:
        """Levels with probabilities ``shares`` (in level order; zeros allowed)."""
        p = np.asarray(shares, dtype=float)
        edges = np.concatenate([[0.0], np.cumsum(p / p.sum())])
        edges[-1] = 1.0
        return cls(lo=edges[:-1], hi=edges[1:], atom=np.ones(p.size, dtype=bool))

    @classmethod
    def continuous(cls) -> RankScores:
        """A continuous margin (no ties)."""
        return cls(lo=np.array([0.0]), hi=np.array([1.0]), atom=np.array([False]))

    def after_atom(self, share: float) -> RankScores:
        """This margin squeezed into ``[share, 1)``, after an atom ``[0, share)`` (zero inflation)."""
        lo = np.concatenate([[0.0], share + (1 - share) * self.lo])
        hi = np.concatenate([[share], share + (1 - share) * self.hi])
        return RankScores(lo=lo, hi=hi, atom=np.concatenate([[True], self.atom]))


def rank_scores(marginal: object) -> RankScores:
    """The mid-rank scores of a fitted marginal.

    Parameters
    ----------
    marginal : object
        A discrete marginal (anything with a ``cumulative`` array of level thresholds), a
        :class:`necml.cohort._marginals.ZeroInflated` or another continuous marginal.

    Returns
    -------
    RankScores
        Its score function on the copula uniform.
    """
    cumulative = getattr(marginal, "cumulative", None)
    if cumulative is not None:
        edges = np.concatenate([[0.0], np.asarray(cumulative, dtype=float), [1.0]])
        return RankScores.discrete(np.diff(np.clip(edges, 0.0, 1.0)))
    if isinstance(marginal, ZeroInflated):
        z = float(np.clip(marginal.zero_share, 0.0, 1.0))
        if z >= 1.0:
            return RankScores.discrete([1.0])
        inner = rank_scores(marginal.positive)
        return inner if z <= 0.0 else inner.after_atom(z)
    return RankScores.continuous()


def _latent_nodes(lo: float, hi: float, rule: tuple[FloatArray, FloatArray]) -> tuple[FloatArray, FloatArray]:
    """Gauss-Legendre nodes ``y`` on the latent scale of ``[lo, hi]`` and weights of ``dv = phi(y) dy``."""
    y0 = max(float(special.ndtri(lo)), -_Y_MAX)
    y1 = min(float(special.ndtri(hi)), _Y_MAX)
    x, w = rule
    half = (y1 - y0) / 2
    y = y0 + half * (x + 1)
    return y, w * half * np.exp(-0.5 * y * y) / np.sqrt(2 * np.pi)


def _is_full(span: FloatArray) -> bool:
    return bool(span[0] <= 0.0 and span[1] >= 1.0)


def _cut_span(cuts: FloatArray, jumps: FloatArray, span: FloatArray, r: float) -> float:
    """``sum_k d_k int_span (C_r(c_k, v) - c_k v) dv`` for thresholds ``c_k`` of the other margin."""
    if cuts.size == 0:
        return 0.0
    a = special.ndtri(cuts)
    if _is_full(span):
        return float(jumps @ (bvn_cdf(a, 0.0, r / np.sqrt(2.0)) - cuts / 2))
    y, w = _latent_nodes(span[0], span[1], _GL_1D)
    vals = bvn_cdf(a[:, None], y[None, :], r) - cuts[:, None] * special.ndtr(y)[None, :]
    return float(jumps @ (vals @ w))


def _span_span(s1: FloatArray, s2: FloatArray, r: float) -> float:
    """``int_s1 int_s2 (C_r(u, v) - u v) du dv``."""
    full1, full2 = _is_full(s1), _is_full(s2)
    if full1 and full2:
        return float(np.arcsin(r / 2) / (2 * np.pi))
    if full1 or full2:  # integrate the whole margin out in closed form, the other by quadrature
        part = s2 if full1 else s1
        y, w = _latent_nodes(part[0], part[1], _GL_1D)
        return float(w @ (bvn_cdf(0.0, y, r / np.sqrt(2.0)) - special.ndtr(y) / 2))
    y1, w1 = _latent_nodes(s1[0], s1[1], _GL_2D)
    y2, w2 = _latent_nodes(s2[0], s2[1], _GL_2D)
    vals = bvn_cdf(y1[:, None], y2[None, :], r) - np.outer(special.ndtr(y1), special.ndtr(y2))
    return float(w1 @ vals @ w2)


def _covariance(m1: RankScores, m2: RankScores, r: float) -> float:
    """``Cov(g1(U1), g2(U2))`` under the Gaussian copula with latent correlation ``r``."""
    cov = 0.0
    if m1.cuts.size and m2.cuts.size:
        a, b = special.ndtri(m1.cuts), special.ndtri(m2.cuts)
        orth = bvn_cdf(a[:, None], b[None, :], r) - np.outer(m1.cuts, m2.cuts)
        cov += float(m1.jumps @ orth @ m2.jumps)
    for span in m2.spans:
        cov += _cut_span(m1.cuts, m1.jumps, span, r)
    for span in m1.spans:
        cov += _cut_span(m2.cuts, m2.jumps, span, r)
    for s1 in m1.spans:
        for s2 in m2.spans:
            cov += _span_span(s1, s2, r)
    return cov


def observed_spearman(m1: RankScores, m2: RankScores, r: float) -> float:
    """Population Spearman correlation (mid-ranks for ties) of two margins joined at latent ``r``.

    Parameters
    ----------
    m1, m2 : RankScores
        The margins (see :func:`rank_scores`).
    r : float
        Latent normal correlation in (-1, 1).

    Returns
    -------
    float
        ``Corr(F~1(X1), F~2(X2))``; NaN if a margin is constant.
    """
    var = m1.variance * m2.variance
    if var <= 0:
        return float("nan")
    if m1.continuous_everywhere and m2.continuous_everywhere:
        return float(6.0 / np.pi * np.arcsin(r / 2))  # Pearson (1907)
    return _covariance(m1, m2, r) / np.sqrt(var)


@dataclass(frozen=True, slots=True, kw_only=True)
class PairCorrelation:
    """One specified pair in one arm: the observed rank correlation asked for and obtained.

    Attributes
    ----------
    between : tuple of str
        The two variables.
    arm : str
        The arm (margins, hence the latent correlation, differ per arm).
    target : float
        The specification's Spearman rho.
    latent : float
        The latent normal correlation used (after the positive-definite repair).
    achieved : float
        The population observed Spearman rho at ``latent`` (NaN for a constant margin).
    status : {"exact", "closest_feasible", "repaired", "constant_margin"}
        ``exact``: the target is met; ``closest_feasible``: the target is beyond what the
        margins allow (their Frechet bounds), ``achieved`` is the closest value; ``repaired``:
        the positive-definite repair moved it; ``constant_margin``: a margin has one value in this
        arm, the latent correlation is 0.
    source : str
        The correlation's source.
    """

    between: tuple[str, str]
    arm: str
    target: float
    latent: float
    achieved: float
    status: PairStatus
    source: str

    @property
    def item(self) -> str:
        """``"a~b"``."""
        return f"{self.between[0]}~{self.between[1]}"


def solve_latent(m1: RankScores, m2: RankScores, rho: float) -> tuple[float, float, PairStatus]:
    """The latent correlation whose observed Spearman correlation is ``rho``.

    Parameters
    ----------
    m1, m2 : RankScores
        The two margins.
    rho : float
        Target observed (mid-rank) Spearman correlation.

    Returns
    -------
    tuple of (float, float, str)
        Latent ``r``, the observed correlation it gives, and ``"exact"``, ``"closest_feasible"``
        (the target lies beyond the value at ``r = +-0.999``; that end is used) or
        ``"constant_margin"`` (``r = 0``, observed NaN).
    """
    if m1.variance <= 0 or m2.variance <= 0:
        return 0.0, float("nan"), "constant_margin"
    if rho == 0:
        return 0.0, 0.0, "exact"
    if m1.continuous_everywhere and m2.continuous_everywhere:
        r = float(2.0 * np.sin(np.pi * rho / 6.0))
        return r, float(rho), "exact"
    end = R_MAX if rho > 0 else -R_MAX
    at_end = observed_spearman(m1, m2, end)
    if abs(at_end) <= abs(rho):
        return end, at_end, "closest_feasible"
    r = optimize.brentq(lambda x: observed_spearman(m1, m2, x) - rho, 0.0, end, xtol=1e-10)
    return float(r), float(rho), "exact"


def nearest_correlation(matrix: NDArray[np.float64], *, floor: float = 1e-8) -> NDArray[np.float64]:
    """Repair a symmetric matrix to a positive-definite correlation matrix.

    Eigenvalues below ``floor`` are raised to it and the result is rescaled to a unit
    diagonal (the spectral repair of Rousseeuw & Molenberghs 1993). A matrix that is already
    positive definite is returned unchanged.

    Parameters
    ----------
    matrix : numpy.ndarray
        Symmetric matrix with a unit diagonal.
    floor : float, default=1e-8
        Smallest eigenvalue allowed.

    Returns
    -------
    numpy.ndarray
        A positive-definite correlation matrix.
    """
    vals, vecs = np.linalg.eigh(matrix)
    if vals.min() >= floor:
        return matrix
    fixed = (vecs * np.maximum(vals, floor)) @ vecs.T
    d = np.sqrt(np.diag(fixed))
    fixed = fixed / np.outer(d, d)
    np.fill_diagonal(fixed, 1.0)
    return fixed


@dataclass(frozen=True, slots=True, kw_only=True)
class ArmCorrelation:
    """One arm's latent (Pearson) correlation matrix and how far it was repaired."""

    matrix: NDArray[np.float64]
    cholesky: NDArray[np.float64]
    repair_distance: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LatentCorrelation:
    """The copula: per-arm latent correlation matrices over ``names`` and every solved pair.

    Attributes
    ----------
    names : tuple of str
        Variables in generation order (rows and columns of every matrix).
    arms : dict of str to ArmCorrelation
        Each arm's repaired matrix and its Cholesky factor.
    pairs : tuple of PairCorrelation
        Every specified pair in every arm, with its target and achieved observed correlation.
    """

    names: tuple[str, ...]
    arms: Mapping[str, ArmCorrelation]
    pairs: tuple[PairCorrelation, ...]

    @property
    def repair_distance(self) -> float:
        """Largest Frobenius size of an arm's positive-definite repair."""
        return max((a.repair_distance for a in self.arms.values()), default=0.0)

    @property
    def correlated(self) -> NDArray[np.intp]:
        """Indices of the variables correlated with another in some arm (the rest are independent)."""
        off = np.zeros(len(self.names), dtype=bool)
        for arm in self.arms.values():
            low = np.tril(arm.cholesky, -1) != 0
            off |= low.any(axis=0) | low.any(axis=1)
        return np.flatnonzero(off)

    @property
    def unmet(self) -> tuple[PairCorrelation, ...]:
        """The pairs whose target is not met (infeasible, repaired or undefined)."""
        return tuple(p for p in self.pairs if p.status != "exact")


def latent_correlation(
    names: Sequence[str],
    dependence: Dependence,
    margins: Mapping[str, Mapping[str, object]],
    arms: Sequence[str],
) -> LatentCorrelation:
    """Solve the copula's latent correlations, per arm, for the specified observed ones.

    Parameters
    ----------
    names : sequence of str
        Variables in generation order.
    dependence : Dependence
        The specification's rank correlations (observed Spearman rho, mid-ranks for ties).
    margins : mapping of str to mapping of str to marginal
        ``margins[variable][arm]``: the fitted marginals (see :func:`rank_scores`).
    arms : sequence of str
        Arm names.

    Returns
    -------
    LatentCorrelation
        Per-arm repaired matrices with Cholesky factors, and each pair's target and achieved value.
    """
    index = {n: i for i, n in enumerate(names)}
    scores = {v: {a: rank_scores(m) for a, m in by_arm.items()} for v, by_arm in margins.items()}
    by_arm: dict[str, ArmCorrelation] = {}
    pairs: list[PairCorrelation] = []
    for arm in arms:
        target = np.eye(len(names))
        solved = []
        for corr in dependence.rank_correlations:
            a, b = corr.between
            s1, s2 = scores[a][arm], scores[b][arm]
            r, achieved, status = solve_latent(s1, s2, corr.rho)
            i, j = index[a], index[b]
            target[i, j] = target[j, i] = r
            solved.append((corr, s1, s2, r, achieved, status))
        repaired = nearest_correlation(target)
        by_arm[arm] = ArmCorrelation(
            matrix=repaired, cholesky=np.linalg.cholesky(repaired),
            repair_distance=float(np.linalg.norm(repaired - target)),
        )
        for corr, s1, s2, r, achieved, status in solved:
            r_final = float(repaired[index[corr.between[0]], index[corr.between[1]]])
            if abs(r_final - r) > 1e-12:
                achieved = observed_spearman(s1, s2, r_final)
                status = "repaired" if status == "exact" else status
            pairs.append(PairCorrelation(
                between=(corr.between[0], corr.between[1]), arm=arm, target=float(corr.rho),
                latent=r_final, achieved=float(achieved), status=status, source=corr.source,
            ))
    return LatentCorrelation(names=tuple(names), arms=by_arm, pairs=tuple(pairs))
