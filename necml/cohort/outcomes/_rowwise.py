"""Per-patient linear combinations that do not depend on how many patients are computed at once.

``X @ beta`` goes to BLAS, whose kernel (and so the rounding of each row's sum) depends on the
matrix's size and the CPU. The generator's values must not: a cohort drawn alone, in chunks or
stacked with other replicates (:mod:`necml.cohort._stacked`) is the same to the bit. This sums
each row term by term, in column order, with NumPy's elementwise IEEE arithmetic.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["linear"]


def linear(x: NDArray[np.float64], beta: NDArray[np.float64]) -> NDArray[np.float64]:
    """``x @ beta`` as ``x[:, 0] * beta[0] + x[:, 1] * beta[1] + ...``, in that order.

    Examples
    --------
    >>> linear(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -1.0]))
    array([-1.5, -2.5])
    """
    x = np.asarray(x, dtype=float)
    beta = np.asarray(beta, dtype=float)
    if x.shape[1] != beta.shape[0]:
        raise ValueError(f"x has {x.shape[1]} columns but beta has {beta.shape[0]} values")
    if beta.shape[0] == 0:
        return np.zeros(x.shape[0])
    out = x[:, 0] * beta[0]
    for k in range(1, beta.shape[0]):
        out += x[:, k] * beta[k]
    return out
