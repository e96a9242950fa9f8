"""Estimators that pool out-of-fold predictions, without ranking one fold's model against another's.

A rank metric (Harrell's C, Uno's C, AUC(t)) compares two patients' risk scores. Pooling
out-of-fold predictions over all patients compares a patient scored by fold 1's model with one
scored by fold 2's, whose scales differ (a tuned learning rate, a shrinkage); such pairs measure
nothing about either model. The **within-fold pooled** estimate counts only pairs inside one
test fold and sums them over folds: ``sum_k numerator_k / sum_k denominator_k`` (each fold's
concordant and comparable pair counts, see ``Metrics.counts``). Absolute predictions (Brier
score, IBS, calibration) are comparable across folds and are pooled over all patients.

Both use the censoring distribution of the whole data set the estimate describes (all patients;
in a bootstrap draw, the draw), so the point estimate and every resampled draw are the same
estimator.

The conventions every necml number follows: ``docs/conventions.md``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from necml.evaluation.metrics import Metrics, MetricSettings, compute_metrics

__all__ = ["RANK_PREFIXES", "add_counts", "is_rank_metric", "pooled_metrics"]

#: Metrics that rank pairs of patients (pooled within folds only).
RANK_PREFIXES = ("cindex", "auc_")


def is_rank_metric(name: str) -> bool:
    """Whether ``name`` is a pairwise (rank) metric."""
    return name.startswith(RANK_PREFIXES)


def add_counts(sums: dict[str, list[float]], m: Metrics) -> None:
    """Add the pair counts of every defined rank metric of ``m`` to ``sums[name] = [num, den]``."""
    for name, (num, den) in m.counts.items():
        if np.isfinite(m.values.get(name, np.nan)):
            total = sums.setdefault(name, [0.0, 0.0])
            total[0] += num
            total[1] += den


def pooled_metrics(
    time: NDArray,
    event: NDArray,
    risk: NDArray,
    survival: NDArray,
    folds: NDArray,
    settings: MetricSettings,
) -> tuple[dict[str, float], dict[str, str]]:
    """Within-fold pooled rank metrics and pooled absolute metrics of one set of predictions.

    Parameters
    ----------
    time, event : numpy.ndarray
        Follow-up of the predicted patients, shape ``(m,)`` (a bootstrap draw may repeat one).
    risk : numpy.ndarray
        Predicted risk, shape ``(m,)``.
    survival : numpy.ndarray
        Predicted S(t) at ``settings.times``, shape ``(m, len(settings.times))``.
    folds : numpy.ndarray
        The test fold of each prediction (one value everywhere: all pairs count).
    settings : MetricSettings

    Returns
    -------
    values, notes : dict
        Metric values (NaN when undefined) and the reasons.
    """
    overall = compute_metrics(time, event, time, event, risk, survival, settings)
    values, notes = dict(overall.values), dict(overall.notes)
    labels = np.unique(folds)
    if labels.size == 1:
        return values, notes
    sums: dict[str, list[float]] = {}
    for k in labels:
        at = folds == k
        if not event[at].any():
            continue
        m = compute_metrics(time, event, time[at], event[at], risk[at], survival[at], settings, rank_only=True)
        add_counts(sums, m)
    for name in values:
        if not is_rank_metric(name):
            continue
        num, den = sums.get(name, (0.0, 0.0))
        if den > 0:
            values[name] = num / den
            notes.pop(name, None)
        else:
            values[name] = float("nan")
            notes[name] = "undefined: no comparable pair inside any test fold"
    return values, notes
