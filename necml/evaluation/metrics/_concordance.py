"""Harrell's and Uno's concordance in O(n log n): one sort and a compiled Fenwick-tree pass.

Definitions (risk scores: higher = worse throughout):

* A pair (i, j) is **comparable** when i has an event and ``T_j > T_i``, or ``T_j == T_i``
  and j is censored (lifelines' and scikit-survival's convention). Two events at the same
  time are not comparable.
* It is **concordant** when ``risk_i > risk_j``; tied risks count 1/2.
* **Harrell's C** = (concordant + ties / 2) / comparable.
* **Uno's C** weights each pair by ``w_i = 1 / G(T_i-)^2`` and keeps only ``T_i <= tau``,
  where ``G`` is the Kaplan-Meier estimate of the censoring distribution on the *training*
  data, evaluated just before ``T_i``: an event at T_i is observed iff C >= T_i, so a
  censoring tied with it does not count against it. This is R's
  ``concordance(Surv(time, status) ~ risk, reverse = TRUE, timewt = "n/G2", ymax = tau)``
  (whose G is fitted on the data it scores); scikit-survival's ``concordance_index_ipcw``
  uses G(T_i) and ``T_i < tau``, which differ only at ties.

The pair definitions are R's ``survival::concordance`` (with ``reverse = TRUE``: higher
risk = shorter survival), whose ``tied.y`` pairs (events tied in time) are not comparable.

The algorithm: rows are compressed to the unique ``(time, event, risk)`` triples with their
counts and summed weights (heavily tied data has few), sorted by one packed integer key (time
ascending, events before censorings at a tied time, risks descending), so each event's
comparable partners are exactly the rows after it apart from events tied with it, which sit
right after it. One backward pass with a Fenwick tree over the risk ranks (compiled by numba)
counts, per triple, the later rows with a lower and with an equal risk; the counts are
integers, so Harrell's C is exact (every pair count below 2**53), and the weighted sums are
one dot product each.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from necml.dataset._arrays import as_event
from necml.exceptions import DataError

__all__ = ["ConcordanceCounts", "concordance_counts", "harrell_c", "uno_c", "uno_counts"]


class ConcordanceCounts(tuple):
    """``(concordant, tied, comparable)``, weighted; ``c`` is the concordance index."""

    __slots__ = ()

    def __new__(cls, concordant: float, tied: float, comparable: float) -> ConcordanceCounts:
        return super().__new__(cls, (concordant, tied, comparable))

    @property
    def c(self) -> float:
        """(concordant + tied / 2) / comparable; NaN without comparable pairs."""
        concordant, tied, comparable = self
        return (concordant + 0.5 * tied) / comparable if comparable > 0 else float("nan")


def _dense_rank(values: NDArray[np.float64]) -> tuple[NDArray[np.int64], int]:
    """Rank of each value among the distinct values (0 = smallest), and their number.

    Hashing first (``pandas.factorize``) sorts only the distinct values: tied data is cheap.
    """
    codes, uniques = pd.factorize(values, sort=False)
    rank_of_unique = np.empty(uniques.size, dtype=np.int64)
    rank_of_unique[np.argsort(uniques)] = np.arange(uniques.size)
    return rank_of_unique[codes], int(uniques.size)


def _pass_back(value, event, time, count, n_values):  # noqa: ANN001, ANN202
    """Per sorted triple: later rows with a lower risk, an equal risk, and all later rows, less
    (for an event) the later events tied with it in time. Plain Python, compiled by numba."""
    m = value.size
    tree = np.zeros(n_values + 1, dtype=np.int64)  # Fenwick tree of counts by risk rank
    same = np.zeros(n_values, dtype=np.int64)
    lower = np.empty(m, dtype=np.int64)
    tied = np.empty(m, dtype=np.int64)
    after = np.empty(m, dtype=np.int64)
    seen = 0
    block_events = 0  # rows of later event triples at the current time
    for k in range(m - 1, -1, -1):
        if k == m - 1 or time[k] != time[k + 1]:
            block_events = 0
        v = value[k]
        below = 0
        i = v
        while i > 0:
            below += tree[i]
            i -= i & -i
        tie_event = block_events if event[k] else 0
        lower[k] = below - tie_event  # later events tied in time all have lower risks
        tied[k] = same[v]
        after[k] = seen - tie_event
        i = v + 1
        while i <= n_values:
            tree[i] += count[k]
            i += i & -i
        same[v] += count[k]
        seen += count[k]
        if event[k]:
            block_events += count[k]
    return lower, tied, after


@lru_cache(maxsize=1)
def _kernel():  # noqa: ANN202 - a numba dispatcher
    """:func:`_pass_back` compiled (numba imported on first use; the machine code is cached on disk)."""
    import numba

    return numba.njit(cache=True, nogil=True)(_pass_back)


def concordance_counts(
    time: NDArray, event: NDArray, risk: NDArray, weights: NDArray | None = None
) -> ConcordanceCounts:
    """Weighted concordant, tied-risk and comparable pair counts (definitions above).

    Parameters
    ----------
    time, event, risk : numpy.ndarray
        Follow-up, event indicator and risk score (higher = worse).
    weights : numpy.ndarray, optional
        Per-patient weight of the pairs in which it is the earlier event (1 for Harrell).

    Returns
    -------
    ConcordanceCounts
    """
    time = np.asarray(time, dtype=float)
    event = as_event(event)
    risk = np.asarray(risk, dtype=float)
    if not (time.shape == event.shape == risk.shape) or time.ndim != 1:
        raise DataError("time, event and risk must be 1-d arrays of one length")
    if np.isnan(risk).any() or np.isnan(time).any():
        raise DataError("time and risk must not contain NaN")
    w = np.ones(time.size) if weights is None else np.asarray(weights, dtype=float)
    w = np.where(event, w, 0.0)
    if time.size < 2:
        return ConcordanceCounts(0.0, 0.0, 0.0)
    time_rank, _ = _dense_rank(time)
    risk_rank, n_risks = _dense_rank(risk)
    # one packed key: time ascending, events first at a tied time, risk descending
    key = (time_rank * 2 + ~event) * n_risks + (n_risks - 1 - risk_rank)
    unique_key, inverse, count = np.unique(key, return_inverse=True, return_counts=True)
    weight = np.bincount(inverse, weights=w, minlength=unique_key.size)
    lower, tied, after = _kernel()(
        n_risks - 1 - unique_key % n_risks, (unique_key // n_risks) % 2 == 0, unique_key // (2 * n_risks),
        count.astype(np.int64), n_risks,
    )
    return ConcordanceCounts(float(weight @ lower), float(weight @ tied), float(weight @ after))


def harrell_c(time: NDArray, event: NDArray, risk: NDArray) -> float:
    """Harrell's concordance index of a risk score (higher = worse).

    Examples
    --------
    >>> harrell_c(np.array([1.0, 2.0, 3.0]), np.array([1, 1, 0]), np.array([3.0, 2.0, 1.0]))
    1.0
    """
    return concordance_counts(time, event, risk).c


def uno_counts(
    time: NDArray, event: NDArray, risk: NDArray, *, censoring_survival: NDArray, tau: float
) -> ConcordanceCounts:
    """Uno's weighted pair counts truncated at ``tau`` (parameters as :func:`uno_c`)."""
    g = np.asarray(censoring_survival, dtype=float)
    keep = as_event(event) & (np.asarray(time, dtype=float) <= tau)
    if (g[keep] <= 0).any():
        raise DataError("the censoring survival is 0 before tau; choose a smaller tau")
    weights = np.zeros(g.size)
    weights[keep] = 1.0 / g[keep] ** 2
    return concordance_counts(time, event, risk, weights)


def uno_c(
    time: NDArray, event: NDArray, risk: NDArray, *, censoring_survival: NDArray, tau: float
) -> float:
    """Uno's IPCW concordance truncated at ``tau``.

    Parameters
    ----------
    time, event, risk : numpy.ndarray
        Test data and risk score (higher = worse).
    censoring_survival : numpy.ndarray
        ``G(T_i-)`` for every test patient (``CensoringKM.survival_left(time)``), from the
        training data's censoring KM.
    tau : float
        Truncation time: only events at ``T_i <= tau`` are the earlier member of a pair.

    Returns
    -------
    float
        NaN without comparable pairs.
    """
    return uno_counts(time, event, risk, censoring_survival=censoring_survival, tau=tau).c
