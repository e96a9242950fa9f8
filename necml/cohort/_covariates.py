"""Baseline covariates: per-arm marginals joined by a Gaussian copula, with real missingness."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from necml.cohort._copula import LatentCorrelation, latent_correlation
from necml.cohort._marginals import ContinuousMarginal, build_continuous
from necml.cohort.outcomes._rowwise import linear
from necml.exceptions import SpecError
from necml.random import named_rng
from necml.spec import BernoulliDist, CategoricalDist, CohortSpec, Variable

__all__ = ["CovariateModel", "covariate_generators", "fit_covariates", "sample_covariates"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscreteMarginal:
    """Levels and their cumulative probabilities among non-missing values."""

    levels: tuple[str, ...]
    cumulative: NDArray[np.float64]

    def codes(self, u: NDArray[np.float64]) -> NDArray[np.int64]:
        """Level index for each uniform (thresholding the latent normal)."""
        return np.searchsorted(self.cumulative, u, side="right").clip(0, len(self.levels) - 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class FittedVariable:
    """A variable's fitted per-arm marginals and missingness."""

    name: str
    kind: str
    levels: tuple[str, ...]
    marginals: dict[str, ContinuousMarginal | DiscreteMarginal]
    missing: dict[str, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class CovariateModel:
    """All fitted covariates of a specification, in generation order."""

    variables: tuple[FittedVariable, ...]
    correlation: LatentCorrelation


def _level_order(var: Variable) -> tuple[str, ...]:
    first = next(iter(var.arms.values()))
    if var.kind == "binary":
        return ("False", "True")
    assert isinstance(first, CategoricalDist)
    levels = list(first.levels)
    for dist in var.arms.values():
        assert isinstance(dist, CategoricalDist)
        if list(dist.levels) != levels:
            raise SpecError(f"every arm must list the same levels in the same order {levels}")
    if var.kind == "ordinal":
        levels = sorted(levels, key=int)
    return tuple(levels)


def _discrete(dist: BernoulliDist | CategoricalDist, levels: tuple[str, ...]) -> DiscreteMarginal:
    if isinstance(dist, BernoulliDist):
        # n (%) counts the whole arm, so "no" is what is neither "yes" nor missing.
        no = 100.0 - dist.percent - dist.missing_percent
        if no < -1e-9:
            raise SpecError(
                "`percent + missing_percent <= 100` must hold, but got "
                f"(percent={dist.percent}, missing_percent={dist.missing_percent})"
            )
        shares = np.array([max(no, 0.0), dist.percent])
    else:
        shares = np.array([dist.levels[lv] for lv in levels])
    if shares.sum() <= 0:
        raise SpecError("at least one level needs a positive share")
    cum = np.cumsum(shares / shares.sum())[:-1]
    return DiscreteMarginal(levels=levels, cumulative=cum)


def _fit_variable(name: str, var: Variable, spec: CohortSpec) -> FittedVariable:
    levels: tuple[str, ...] = () if var.kind == "continuous" else _level_order(var)
    marginals: dict[str, ContinuousMarginal | DiscreteMarginal] = {}
    missing: dict[str, float] = {}
    for arm, dist in var.arms.items():
        try:
            if var.kind == "continuous":
                marginals[arm] = build_continuous(
                    dist, bounds=var.bounds, arm_n=spec.arms[arm].n  # type: ignore[arg-type]
                )
            else:
                marginals[arm] = _discrete(dist, levels)  # type: ignore[arg-type]
        except SpecError as exc:
            raise SpecError(f"variables.{name}.arms.{arm}: {exc}") from None
        missing[arm] = dist.missing_percent / 100.0
    return FittedVariable(
        name=name, kind=var.kind, levels=levels, marginals=marginals, missing=missing
    )


def fit_covariates(spec: CohortSpec) -> CovariateModel:
    """Fit every variable's per-arm marginal and the copula correlation.

    Parameters
    ----------
    spec : CohortSpec
        A validated specification.

    Returns
    -------
    CovariateModel
        The fitted covariate model.

    Raises
    ------
    SpecError
        If a published summary is impossible for its family (the message names the field).
    """
    fitted = tuple(_fit_variable(n, v, spec) for n, v in spec.variables.items())
    corr = latent_correlation(
        [f.name for f in fitted], spec.dependence,
        {f.name: f.marginals for f in fitted}, spec.arm_names,
    )
    return CovariateModel(variables=fitted, correlation=corr)


def _to_column(var: FittedVariable, values: NDArray, missing: NDArray[np.bool_]) -> object:
    """Typed column: float with NaN, nullable boolean/Int64, or a categorical (no copies)."""
    if var.kind == "continuous":
        values[missing] = np.nan
        return values
    if var.kind == "binary":
        return pd.arrays.BooleanArray(values == 1, missing)
    if var.kind == "ordinal":
        ints = np.array([int(lv) for lv in var.levels], dtype=np.int64)[values]
        return pd.arrays.IntegerArray(ints, missing)
    values[missing] = -1
    return pd.Categorical.from_codes(values, dtype=categorical_dtype(tuple(var.levels)))


@lru_cache(maxsize=256)
def categorical_dtype(levels: tuple[str, ...]) -> pd.CategoricalDtype:
    """One dtype per level set (validating the categories costs more than a 56-patient draw)."""
    return pd.CategoricalDtype(list(levels))


def covariate_generators(
    model: CovariateModel, covariate_seed: np.random.SeedSequence, missingness_seed: np.random.SeedSequence
) -> dict[str, tuple[np.random.Generator, np.random.Generator]]:
    """Each variable's latent-normal and missingness generators (keyed by its name).

    Passed to :func:`sample_covariates` chunk after chunk, they continue where the previous
    chunk stopped, so the chunks together equal one draw for all patients.
    """
    return {
        var.name: (named_rng(covariate_seed, var.name), named_rng(missingness_seed, var.name))
        for var in model.variables
    }


def _correlate(block: NDArray[np.float64], factor: NDArray[np.float64]) -> NDArray[np.float64]:
    """``block @ factor.T`` for a lower-triangular ``factor``, as a fixed sum per row.

    Not BLAS: OpenBLAS picks a kernel by the matrix size (and the CPU), and its kernels round
    differently, so a patient's scores would depend on how many patients were drawn with them.
    Summed term by term in column order, row ``i`` depends on ``block[i]`` only, to the bit:
    a cohort is the same drawn alone, in chunks, or stacked with other replicates.
    """
    out = np.empty_like(block)
    for j in range(factor.shape[0]):
        out[:, j] = linear(block[:, : j + 1], factor[j, : j + 1])
    return out


def _latent_scores(
    correlation: LatentCorrelation, eps: NDArray[np.float64], arm_index: dict[str, NDArray[np.intp]]
) -> NDArray[np.float64]:
    """Correlated latent normals: row ``i`` is ``L_arm(i) @ eps[i]`` (per patient, so chunk-free).

    Only the columns of correlated variables are transformed (in place in ``eps``, which is
    returned); an uncorrelated variable's latent score is its own normal.
    """
    active = correlation.correlated
    if active.size == 0:
        return eps
    block = eps[:, active]
    factors = {a: correlation.arms[a].cholesky[np.ix_(active, active)] for a in arm_index}
    first, *others = arm_index
    out = _correlate(block, factors[first])
    for arm in others:
        idx = arm_index[arm]
        if idx.size and not np.array_equal(factors[arm], factors[first]):
            out[idx] = _correlate(block[idx], factors[arm])
    eps[:, active] = out
    return eps


def sample_covariates(
    model: CovariateModel,
    arm_codes: NDArray[np.integer],
    arm_names: list[str],
    *,
    covariate_seed: np.random.SeedSequence | None = None,
    missingness_seed: np.random.SeedSequence | None = None,
    generators: dict[str, tuple[np.random.Generator, np.random.Generator]] | None = None,
    latent_shift: dict[str, dict[str, float]] | None = None,
) -> dict[str, object]:
    """Draw every covariate for patients whose arms are given.

    Latent normals are drawn per variable from a stream keyed by the variable's name and then
    correlated by the Cholesky factor of the patient's arm (spec order; the latent correlations
    are solved per arm so that the observed rank correlations are the spec's), so an added
    variable that is independent of the others leaves their values unchanged.

    Parameters
    ----------
    model : CovariateModel
        From :func:`fit_covariates`.
    arm_codes : numpy.ndarray of int
        Each patient's arm, as an index into ``arm_names``.
    arm_names : list of str
        Arm names.
    covariate_seed, missingness_seed : numpy.random.SeedSequence, optional
        The generator's ``covariates`` and ``missingness`` streams.
    generators : dict, optional
        From :func:`covariate_generators` (instead of the two seeds): draws continue them.
    latent_shift : dict, optional
        Arm -> variable -> shift of that variable's latent normal score in that arm (an
        assumed covariate imbalance between arms, see :class:`necml.spec.Imbalance`).

    Returns
    -------
    dict of str to array-like
        Column name to values (missing values are NA).
    """
    if generators is None:
        if covariate_seed is None or missingness_seed is None:
            raise ValueError("sample_covariates needs the two seeds or the generators")
        generators = covariate_generators(model, covariate_seed, missingness_seed)
    n, p = len(arm_codes), len(model.variables)
    eps = np.empty((n, p), order="F")
    for j, var in enumerate(model.variables):
        generators[var.name][0].standard_normal(n, out=eps[:, j])
    arm_index = {a: np.flatnonzero(arm_codes == i) for i, a in enumerate(arm_names)}
    # The latent normal scores (n x p, columns in model.variables order): each patient's
    # independent normals correlated by the Cholesky factor of the patient's arm. Everything
    # after this line maps them through the arm's marginals.
    latent = _latent_scores(model.correlation, eps, arm_index)
    for arm, shifts in (latent_shift or {}).items():
        for name, delta in shifts.items():
            j = next(k for k, var in enumerate(model.variables) if var.name == name)
            latent[arm_index[arm], j] += delta
    uniforms = special.ndtr(latent)
    # Keep uniforms strictly inside (0, 1) so quantile functions stay finite.
    np.clip(uniforms, 1e-15, 1 - 1e-15, out=uniforms)
    columns: dict[str, object] = {}
    for j, var in enumerate(model.variables):
        u = uniforms[:, j]
        miss_u = generators[var.name][1].random(n)
        values = np.empty(n, dtype=float if var.kind == "continuous" else np.int64)
        missing = np.zeros(n, dtype=bool)
        for arm, idx in arm_index.items():
            if idx.size == 0:
                continue
            marginal = var.marginals[arm]
            u_arm = u[idx]
            if isinstance(marginal, DiscreteMarginal):
                values[idx] = marginal.codes(u_arm)
            else:
                values[idx] = marginal.ppf(u_arm)
            missing[idx] = miss_u[idx] < var.missing[arm]
        columns[var.name] = _to_column(var, values, missing)
    return columns
