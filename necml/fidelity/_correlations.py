"""Fidelity rows for the specified rank correlations, per arm.

The specification's ``dependence.rank_correlations`` are *observed* Spearman correlations
(mid-ranks for ties; see ``docs/conventions.md``, "Covariate dependence"). Each pair gets one
row per arm: the published value is the spec's rho, the synthetic value is
:func:`scipy.stats.spearmanr` on the arm's pairwise complete cases, with categorical columns
coded by their level order as the generator orders them (binary: no < yes; ordinal: by value;
categorical: as listed). Tolerance: ``3 x SE`` with ``SE = sqrt(1.06 / (n - 3))`` (Fieller,
Hartley & Pearson 1957), nothing for rounding. A pair whose target the margins cannot reach is
listed by :func:`necml.fidelity.model_residuals` with the closest feasible value; a pair with a
constant margin in an arm has no row there (Spearman's rho is undefined).

References
----------
.. [1] Fieller, E. C., Hartley, H. O. & Pearson, E. S. (1957). Tests for rank correlation
   coefficients. I. Biometrika 44:470-481.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from necml.cohort import CohortModel
from necml.fidelity._stats import K_SE, FidelityRow

__all__ = ["correlation_rows", "spearman_se"]

#: Fieller, Hartley & Pearson's (1957) variance factor of Spearman's rho (Fisher z scale).
FHP_FACTOR = 1.06


def spearman_se(n: int) -> float:
    """Standard error ``sqrt(1.06 / (n - 3))`` of a sample Spearman correlation of ``n`` pairs."""
    return float(np.sqrt(FHP_FACTOR / (n - 3))) if n > 3 else float("inf")


def _coded(column: pd.Series, kind: str, levels: tuple[str, ...]) -> NDArray[np.float64]:
    """A column as floats (NaN where missing), levels coded 0, 1, ... in the generator's order."""
    if kind == "categorical":
        codes = pd.Categorical(column.astype("string"), categories=list(levels)).codes
        return np.where(codes >= 0, codes, np.nan).astype(float)
    if kind == "binary":
        return column.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(column).astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def correlation_rows(frame: pd.DataFrame, model: CohortModel) -> list[FidelityRow]:
    """One row per specified rank correlation and arm (section ``"correlations"``).

    Parameters
    ----------
    frame : pandas.DataFrame
        A cohort drawn from ``model``.
    model : CohortModel
        The fitted mechanism (its copula lists every pair and arm).

    Returns
    -------
    list of FidelityRow
        Item ``"a~b"``, statistic ``"spearman"``, published = the spec's rho.
    """
    fitted = {v.name: v for v in model.covariates.variables}
    arm_col = frame["arm"].astype(str).to_numpy()
    coded: dict[str, NDArray[np.float64]] = {}
    rows: list[FidelityRow] = []
    for pair in model.covariates.correlation.pairs:
        if pair.status == "constant_margin":
            continue
        for name in pair.between:
            if name not in coded:
                var = fitted[name]
                coded[name] = _coded(frame[name], var.kind, var.levels)
        in_arm = arm_col == pair.arm
        x, y = coded[pair.between[0]][in_arm], coded[pair.between[1]][in_arm]
        ok = ~(np.isnan(x) | np.isnan(y))
        x, y = x[ok], y[ok]
        n = x.size
        varies = n > 2 and np.ptp(x) > 0 and np.ptp(y) > 0  # else rho is undefined (a small cohort)
        rho = float(stats.spearmanr(x, y)[0]) if varies else float("nan")
        rows.append(FidelityRow(
            section="correlations", arm=pair.arm, item=pair.item, statistic="spearman",
            published=pair.target, synthetic=rho, tolerance=K_SE * spearman_se(n),
            source=pair.source,
        ))
    return rows
