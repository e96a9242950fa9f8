"""Harrell's and Uno's concordance in O(n log n), vectorised.

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

The algorithm: sort by time (events before censorings at a tied time, tied events by
decreasing risk), so each event's comparable partners are exactly the patients after it
apart from events tied with it. The weighted count of later patients with lower risk is a
weighted inversion count, computed by a bottom-up merge sort whose merges are NumPy stable
sorts of already-sorted runs (``log2 n`` levels, each O(n)); tied risks and tied event times
are counted separately by grouping.

The conventions every necml number follows: ``docs/conventions.md``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

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


def _lower_after(values: NDArray[np.int64], weights: NDArray[np.float64]) -> float:
    """``sum_i weights[i] * #{j > i : values[j] < values[i]}`` by a level-wise merge sort."""
    n = values.size
    position = np.arange(n, dtype=np.int64)
    doubled = values.astype(np.int64) * 2
    span = np.int64(doubled.max() + 2)
    order = position.copy()  # positions sorted by (block, value) at the current level
    rank = np.zeros(n, dtype=np.int64)  # rank of each position within its block
    new_rank = np.empty(n, dtype=np.int64)
    total = 0.0
    level = 0
    while (1 << level) < n:
        shift = level + 1
        # at equal values the left run (side 0) sorts first, so only strictly lower ones count
        key = (order >> shift) * span + doubled[order] + ((order >> level) & 1)
        order = order[np.argsort(key, kind="stable")]  # merges two sorted runs per block
        new_rank[order] = position - ((order >> shift) << shift)
        left_weights = np.where((position >> level) & 1, 0.0, weights)
        total += float(np.dot(left_weights, new_rank - rank))
        rank, new_rank = new_rank, rank
        level += 1
    return total


def _after_in_group(*keys: NDArray) -> NDArray[np.int64]:
    """Per element, how many later elements (by position) share all its ``keys``."""
    order = np.lexsort((np.arange(keys[0].size), *keys[::-1]))
    stacked = np.stack([k[order] for k in keys])
    starts = np.flatnonzero(np.r_[True, (stacked[:, 1:] != stacked[:, :-1]).any(axis=0)])
    sizes = np.diff(np.r_[starts, order.size])
    after = np.empty(order.size, dtype=np.int64)
    after[order] = np.repeat(starts + sizes, sizes) - np.arange(order.size) - 1
    return after


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
    event = np.asarray(event, dtype=bool)
    risk = np.asarray(risk, dtype=float)
    if not (time.shape == event.shape == risk.shape) or time.ndim != 1:
        raise DataError("time, event and risk must be 1-d arrays of one length")
    if np.isnan(risk).any() or np.isnan(time).any():
        raise DataError("time and risk must not contain NaN")
    w = np.ones(time.size) if weights is None else np.asarray(weights, dtype=float)
    w = np.where(event, w, 0.0)
    _, risk_rank = np.unique(risk, return_inverse=True)
    # time ascending; events first at a tied time; tied events by decreasing risk
    order = np.lexsort((-risk_rank, ~event, time))
    t, e, v, wo = time[order], event[order], risk_rank[order].astype(np.int64), w[order]
    n = t.size
    lower = _lower_after(v, wo) if n > 1 else 0.0
    tied_after = _after_in_group(v)  # same risk, later position
    tied = float(np.dot(wo, tied_after))
    comparable = float(np.dot(wo, n - 1 - np.arange(n)))
    # remove pairs of events tied in time: they sit together, ordered by decreasing risk
    ev = np.flatnonzero(e)
    block_after = _after_in_group(t[ev])
    block_tied_after = _after_in_group(t[ev], v[ev])
    comparable -= float(np.dot(wo[ev], block_after))
    tied -= float(np.dot(wo[ev], block_tied_after))
    lower -= float(np.dot(wo[ev], block_after - block_tied_after))
    return ConcordanceCounts(lower, tied, comparable)


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
    keep = np.asarray(event, bool) & (np.asarray(time, dtype=float) <= tau)
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
