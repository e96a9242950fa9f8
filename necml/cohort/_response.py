"""Best overall response, drawn at the published per-arm shares and tied to PFS.

A latent score ``rho * z_pfs + sqrt(1 - rho^2) * eps`` is thresholded at the arm's cumulative
shares in the order NE < PD < SD < PR < CR, where ``z_pfs`` is the normal score of the uniform
behind the patient's PFS draw (longer PFS, better response). The latent is standard normal, so
the shares are exact in expectation whatever ``rho``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from necml.spec import ResponseSpec

__all__ = ["RESPONSE_ORDER", "sample_response"]

#: Worst to best.
RESPONSE_ORDER: tuple[str, ...] = ("NE", "PD", "SD", "PR", "CR")


def sample_response(
    response: ResponseSpec,
    arms: NDArray[np.object_],
    pfs_uniform: NDArray[np.float64],
    rng: np.random.Generator,
) -> pd.Categorical:
    """Draw each patient's best overall response.

    Parameters
    ----------
    response : ResponseSpec
        Per-arm shares.
    arms : numpy.ndarray of str
        Each patient's arm.
    pfs_uniform : numpy.ndarray
        The uniform behind each patient's PFS draw (larger = longer PFS).
    rng : numpy.random.Generator
        The ``response`` stream.

    Returns
    -------
    pandas.Categorical
        Levels ``CR, PR, SD, PD, NE``.
    """
    rho = response.pfs_correlation
    z_pfs = special.ndtri(np.clip(pfs_uniform, 1e-15, 1 - 1e-15))
    latent = rho * z_pfs + np.sqrt(1.0 - rho**2) * rng.standard_normal(len(arms))
    u = special.ndtr(latent)
    codes = np.zeros(len(arms), dtype=np.int64)
    for arm, dist in response.arms.items():
        mask = arms == arm
        shares = np.array([dist.levels.get(lv, 0.0) for lv in RESPONSE_ORDER])
        cum = np.cumsum(shares / shares.sum())[:-1]
        codes[mask] = np.searchsorted(cum, u[mask], side="right")
    labels = np.array(RESPONSE_ORDER, dtype=object)[codes]
    return pd.Categorical(labels, categories=["CR", "PR", "SD", "PD", "NE"])
