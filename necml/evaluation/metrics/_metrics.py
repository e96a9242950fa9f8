"""Every metric of a set of predictions, with a time-grid policy that never crashes a fold.

Metric names and definitions (risk: higher = worse; times in months):

``cindex_harrell``
    Harrell's C over all comparable pairs (see :mod:`necml.evaluation.metrics._concordance`).
``cindex_uno_tau<T>``
    Uno's IPCW C truncated at tau = T (``MetricSettings.tau``), G from the training data.
``auc_<t>m``
    Cumulative/dynamic time-dependent AUC at t (Uno et al. 2007;
    :mod:`necml.evaluation.metrics._auc`, which reproduces scikit-survival's ``cumulative_dynamic_auc``):
    cases T <= t with an event, controls T > t, IPCW-weighted.
``brier_<t>m``, ``ibs``
    Graf's Brier score at t and its integral over the grid divided by the grid's length
    (:mod:`necml.evaluation.metrics._brier`).

The policy: a time-dependent metric at t is **undefined** (NaN, with the reason recorded in
the ledger) when t is outside the test data's follow-up ``[min T, max T)``, when no test
event occurs by t or nobody is at risk after t, or when the training censoring KM is 0 there.
Uno's tau and the IBS grid are **clipped** to the test follow-up (recorded as a note), and the
metric is undefined only if nothing is left. No fold is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from necml.evaluation.metrics._auc import cumulative_dynamic_auc_at
from necml.evaluation.metrics._brier import brier_scores
from necml.evaluation.metrics._concordance import harrell_c, uno_c
from necml.evaluation.metrics._ipcw import CensoringKM

__all__ = ["MetricSettings", "Metrics", "compute_metrics"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSettings:
    """Landmarks, Uno's tau and the integrated-Brier grid, all in months."""

    landmarks: tuple[float, ...] = (6.0, 12.0, 24.0)
    tau: float = 24.0
    grid_start: float = 1.0
    grid_stop: float = 24.0
    grid_points: int = 24

    @property
    def grid(self) -> NDArray[np.float64]:
        """The integrated-Brier grid: ``grid_points`` equally spaced times."""
        return np.linspace(self.grid_start, self.grid_stop, self.grid_points)

    @property
    def times(self) -> NDArray[np.float64]:
        """Every time at which predicted survival is needed (grid and landmarks)."""
        return np.unique(np.r_[self.grid, self.landmarks])

    def names(self) -> list[str]:
        """Metric names in report order."""
        return [
            "cindex_harrell",
            f"cindex_uno_tau{self.tau:g}",
            *(f"auc_{t:g}m" for t in self.landmarks),
            *(f"brier_{t:g}m" for t in self.landmarks),
            "ibs",
        ]


@dataclass(slots=True)
class Metrics:
    """Metric values (NaN when undefined) and the ledger's notes, keyed by metric name."""

    values: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def undefined(self, name: str, why: str) -> None:
        """Record ``name`` as undefined, with the reason."""
        self.values[name] = float("nan")
        self.notes[name] = f"undefined: {why}"


def _uno(
    m: Metrics, name: str, t: NDArray, e: NDArray, risk: NDArray, g: CensoringKM, tau: float
) -> None:
    events = np.sort(t[e])
    zero = events[g.survival(events) <= 0]
    limit = min(tau, float(t.max()), float(zero[0]) if zero.size else np.inf)
    if limit < tau:
        m.notes[name] = f"tau clipped from {tau:g} to {limit:.3g} (test follow-up / censoring KM)"
    if not (e & (t < limit)).any():
        m.undefined(name, f"no test event before tau={limit:.3g}")
        return
    m.values[name] = uno_c(t, e, risk, censoring_survival=g.survival(t), tau=limit)


def _auc(
    m: Metrics, name: str, t: NDArray, e: NDArray, risk: NDArray, g: CensoringKM, at: float
) -> None:
    if not t.min() <= at < t.max():
        m.undefined(name, f"{at:g} outside test follow-up [{t.min():.3g}, {t.max():.3g})")
    elif not (e & (t <= at)).any():
        m.undefined(name, f"no test event by {at:g}")
    elif (g.survival(t[e & (t <= at)]) <= 0).any() or g.survival(np.array([at]))[0] <= 0:
        m.undefined(name, f"training censoring KM is 0 by {at:g}")
    else:
        m.values[name] = cumulative_dynamic_auc_at(t, e, risk, at, g)


def compute_metrics(
    train_time: NDArray,
    train_event: NDArray,
    time: NDArray,
    event: NDArray,
    risk: NDArray,
    survival: NDArray,
    settings: MetricSettings,
) -> Metrics:
    """All metrics of one set of predictions (see the module docstring for definitions).

    Parameters
    ----------
    train_time, train_event : numpy.ndarray
        Training data (for the censoring distribution G).
    time, event : numpy.ndarray
        Test data.
    risk : numpy.ndarray
        Predicted risk (higher = worse), shape ``(n,)``.
    survival : numpy.ndarray
        Predicted S(t) at ``settings.times``, shape ``(n, len(settings.times))``.
    settings : MetricSettings

    Returns
    -------
    Metrics
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    g = CensoringKM().fit(train_time, train_event)
    m = Metrics()
    m.values["cindex_harrell"] = harrell_c(t, e, risk)
    if not np.isfinite(m.values["cindex_harrell"]):
        m.undefined("cindex_harrell", "no comparable pairs")
    _uno(m, f"cindex_uno_tau{settings.tau:g}", t, e, risk, g, settings.tau)
    column = {float(x): i for i, x in enumerate(settings.times)}
    for at in settings.landmarks:
        _auc(m, f"auc_{at:g}m", t, e, risk, g, at)
        name = f"brier_{at:g}m"
        if not t.min() <= at < t.max() or g.survival(np.array([at]))[0] <= 0:
            m.undefined(name, f"{at:g} outside test follow-up or censoring KM 0")
        else:
            m.values[name] = float(
                brier_scores(t, e, survival[:, [column[at]]], np.array([at]), g)[0]
            )
    grid = settings.grid
    keep = (grid >= t.min()) & (grid < t.max()) & (g.survival(grid) > 0)
    if keep.sum() < 2:
        m.undefined("ibs", "fewer than 2 grid times inside test follow-up")
    else:
        kept = grid[keep]
        if keep.sum() < grid.size:
            m.notes["ibs"] = f"grid clipped to [{kept[0]:.3g}, {kept[-1]:.3g}]"
        scores = brier_scores(t, e, survival[:, [column[float(x)] for x in kept]], kept, g)
        m.values["ibs"] = float(np.trapezoid(scores, kept) / (kept[-1] - kept[0]))
    return m
