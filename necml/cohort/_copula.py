"""Gaussian copula over the covariates' latent normal scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from necml.spec import Dependence

__all__ = ["LatentCorrelation", "latent_correlation", "nearest_correlation"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LatentCorrelation:
    """The latent (Pearson) correlation matrix and how far it was repaired."""

    names: tuple[str, ...]
    matrix: NDArray[np.float64]
    cholesky: NDArray[np.float64]
    repair_distance: float


def spearman_to_pearson(rho: float) -> float:
    """Latent normal correlation giving Spearman's ``rho``: ``2 sin(pi rho / 6)``.

    Exact for continuous margins of a Gaussian copula (Pearson 1907; Kruskal 1958).
    """
    return float(2.0 * np.sin(np.pi * rho / 6.0))


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


def latent_correlation(names: list[str], dependence: Dependence) -> LatentCorrelation:
    """Build the copula's latent correlation matrix over ``names``.

    Parameters
    ----------
    names : list of str
        Variables in generation order.
    dependence : Dependence
        The specification's rank correlations.

    Returns
    -------
    LatentCorrelation
        The (repaired) matrix, its Cholesky factor and the Frobenius size of the repair.
    """
    index = {n: i for i, n in enumerate(names)}
    target = np.eye(len(names))
    for corr in dependence.rank_correlations:
        i, j = index[corr.between[0]], index[corr.between[1]]
        target[i, j] = target[j, i] = spearman_to_pearson(corr.rho)
    repaired = nearest_correlation(target)
    return LatentCorrelation(
        names=tuple(names),
        matrix=repaired,
        cholesky=np.linalg.cholesky(repaired),
        repair_distance=float(np.linalg.norm(repaired - target)),
    )
