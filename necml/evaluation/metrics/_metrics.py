"""Every metric of a set of predictions, on settings fixed once per data set.

Metric names and definitions (risk: higher = worse; times in months):

``cindex_harrell``
    Harrell's C over all comparable pairs (see :mod:`necml.evaluation.metrics._concordance`).
``cindex_uno_tau<T>``
    Uno's IPCW C truncated at tau = T (``MetricSettings.tau``, after :func:`resolve_settings`):
    events at T_i <= tau weighted by 1 / G(T_i-)^2, G the training data's censoring KM.
``auc_<t>m``
    Cumulative/dynamic time-dependent AUC at t (Uno et al. 2007;
    :mod:`necml.evaluation.metrics._auc`): cases T <= t with an event, weighted by
    1 / G(T_i-), controls T > t.
``brier_<t>m``, ``ibs``
    Graf's Brier score at t (events weighted by 1 / G(T_i-), controls by 1 / G(t)) and its
    trapezoidal integral over the grid divided by the grid's length
    (:mod:`necml.evaluation.metrics._brier`).

The policy. Tau and the IBS grid are fixed **once per data set**, from all patients, by
:func:`resolve_settings` (which clips them to the data's follow-up and says so); every fold,
draw or test set is then scored on those same settings and :func:`compute_metrics` never
clips. A metric a test set cannot support is **undefined** (NaN, with the reason in
``Metrics.notes``):

* Uno's C when the test follow-up ends before tau, no test event is at or before tau, or the
  training censoring KM is 0 just before such an event;
* AUC(t) when nobody in the test set is followed beyond t, no test event occurs by t, or the
  training censoring KM is 0 at t or just before a case's event;
* Brier(t) and the IBS when t (any grid time, for the IBS) is beyond the test follow-up or
  the training censoring KM is 0 at t or just before a test event by t; the IBS also with
  fewer than 2 grid times.

On the data set itself (training = test = all patients) the resolved tau and grid are always
supported.

For pooling rank metrics over folds, ``Metrics.counts`` holds each defined rank metric's
``(numerator, denominator)``, with value == numerator / denominator. No fold is dropped
silently.

The conventions every necml number follows: ``docs/conventions.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from necml.evaluation.metrics._auc import cumulative_dynamic_auc_counts
from necml.evaluation.metrics._brier import brier_scores
from necml.evaluation.metrics._concordance import concordance_counts, uno_counts
from necml.evaluation.metrics._ipcw import CensoringKM

__all__ = ["MetricSettings", "Metrics", "compute_metrics", "resolve_settings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSettings:
    """Landmarks, Uno's tau and the integrated-Brier grid, all in months.

    Resolve them once per data set with :func:`resolve_settings` before scoring folds.
    """

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
    """Metric values (NaN when undefined), the ledger's notes and the rank metrics' counts.

    ``counts[name] = (numerator, denominator)`` for ``cindex_harrell``, ``cindex_uno_tau*``
    and ``auc_*`` when defined: weighted concordant pairs plus half the tied ones, and
    weighted comparable pairs (for the AUC: ``sum_cases w_i (lower + tied / 2)`` and
    ``sum_cases w_i * n_controls``), so that ``values[name] == numerator / denominator``.
    """

    values: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    counts: dict[str, tuple[float, float]] = field(default_factory=dict)

    def undefined(self, name: str, why: str) -> None:
        """Record ``name`` as undefined, with the reason."""
        self.values[name] = float("nan")
        self.counts.pop(name, None)
        self.notes[name] = f"undefined: {why}"

    def ratio(self, name: str, numerator: float, denominator: float, why: str) -> None:
        """Record ``name = numerator / denominator`` with its counts; undefined (``why``) if 0/0."""
        if denominator > 0:
            self.values[name] = numerator / denominator
            self.counts[name] = (numerator, denominator)
        else:
            self.undefined(name, why)


def _support(time: NDArray, event: NDArray) -> float:
    """The largest observed time at which the censoring KM of all patients is positive."""
    observed = np.unique(time)
    positive = observed[CensoringKM().fit(time, event).survival(observed) > 0]
    return float(positive[-1]) if positive.size else float("nan")


def resolve_settings(
    settings: MetricSettings, time: NDArray, event: NDArray
) -> tuple[MetricSettings, list[str]]:
    """Fix tau and the IBS grid once per data set, from all its patients.

    Tau is clipped to the largest observed time at which the censoring Kaplan-Meier of all
    patients is still positive (within the follow-up), and the grid keeps its times up to
    that time (same start and spacing). Landmarks are kept (their names are the report's);
    those beyond the data's follow-up are noted, and are undefined on every test set.

    Parameters
    ----------
    settings : MetricSettings
        The requested settings.
    time, event : numpy.ndarray
        Follow-up and event indicator of every patient of the data set.

    Returns
    -------
    tuple of (MetricSettings, list of str)
        The resolved settings and a note for each change (empty when nothing was clipped).

    Examples
    --------
    >>> s, notes = resolve_settings(MetricSettings(), np.array([3.0, 10.0, 18.0]), np.ones(3, bool))
    >>> s.tau, s.grid_stop, s.grid_points
    (18.0, 18.0, 18)
    """
    t = np.asarray(time, dtype=float)
    limit = _support(t, np.asarray(event, dtype=bool))
    if not np.isfinite(limit):
        return settings, ["no time with a positive censoring KM: settings left as requested"]
    notes, tau = [], settings.tau
    if tau > limit:
        tau = limit
        notes.append(f"tau clipped from {settings.tau:g} to {limit:g} (follow-up with censoring KM > 0)")
    grid = settings.grid
    kept = grid[grid <= limit]
    stop = float(kept[-1]) if kept.size else settings.grid_start
    if kept.size < grid.size:
        notes.append(
            f"IBS grid clipped from [{settings.grid_start:g}, {settings.grid_stop:g}] ({grid.size} times) "
            f"to {kept.size} times up to {stop:g}"
        )
    notes += [
        f"landmark {at:g} beyond the data's follow-up ({limit:g}): undefined" for at in settings.landmarks
        if at > limit
    ]
    resolved = replace(settings, tau=tau, grid_stop=stop, grid_points=int(kept.size))
    return resolved, notes


def _uno(m: Metrics, name: str, t: NDArray, e: NDArray, risk: NDArray, g: CensoringKM, tau: float) -> None:
    weight_g = g.survival_left(t)
    early = e & (t <= tau)
    if t.max() < tau:
        m.undefined(name, f"test follow-up ends at {t.max():.3g}, before tau={tau:g}")
    elif not early.any():
        m.undefined(name, f"no test event by tau={tau:g}")
    elif (weight_g[early] <= 0).any():
        m.undefined(name, f"training censoring KM is 0 before a test event by tau={tau:g}")
    else:
        counts = uno_counts(t, e, risk, censoring_survival=weight_g, tau=tau)
        m.ratio(name, counts[0] + 0.5 * counts[1], counts[2], "no comparable pairs")


def _auc(m: Metrics, name: str, t: NDArray, e: NDArray, risk: NDArray, g: CensoringKM, at: float) -> None:
    cases = e & (t <= at)
    if not at < t.max():
        m.undefined(name, f"{at:g} outside test follow-up (nobody followed beyond it; last {t.max():.3g})")
    elif not cases.any():
        m.undefined(name, f"no test event by {at:g}")
    elif (g.survival_left(t[cases]) <= 0).any() or g.survival(np.array([at]))[0] <= 0:
        m.undefined(name, f"training censoring KM is 0 by {at:g}")
    else:
        m.ratio(name, *cumulative_dynamic_auc_counts(t, e, risk, at, g), "no case-control pairs")


def _brier_unsupported(t: NDArray, e: NDArray, g: CensoringKM, grid: NDArray) -> str | None:
    """Why the test set cannot support Brier scores at every time of ``grid`` (None if it can)."""
    if not (grid <= t.max()).all():
        return f"{grid.max():g} outside test follow-up (last {t.max():.3g})"
    if (g.survival(grid) <= 0).any() or (g.survival_left(t[e & (t <= grid.max())]) <= 0).any():
        return f"training censoring KM is 0 by {grid.max():g}"
    return None


def compute_metrics(
    train_time: NDArray,
    train_event: NDArray,
    time: NDArray,
    event: NDArray,
    risk: NDArray,
    survival: NDArray,
    settings: MetricSettings,
    *,
    rank_only: bool = False,
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
        Settings resolved once for the data set (:func:`resolve_settings`); used as given.
    rank_only : bool, default=False
        Only the pairwise metrics (C indices, AUC) with their counts; no Brier score or IBS.

    Returns
    -------
    Metrics
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    risk = np.asarray(risk, dtype=float)
    survival = np.asarray(survival, dtype=float)
    g = CensoringKM().fit(train_time, train_event)
    m = Metrics()
    harrell = concordance_counts(t, e, risk)
    m.ratio("cindex_harrell", harrell[0] + 0.5 * harrell[1], harrell[2], "no comparable pairs")
    _uno(m, f"cindex_uno_tau{settings.tau:g}", t, e, risk, g, settings.tau)
    column = {float(x): i for i, x in enumerate(settings.times)}
    for at in settings.landmarks:
        _auc(m, f"auc_{at:g}m", t, e, risk, g, at)
        if rank_only:
            continue
        why = _brier_unsupported(t, e, g, np.array([at]))
        if why is not None:
            m.undefined(f"brier_{at:g}m", why)
        else:
            m.values[f"brier_{at:g}m"] = float(brier_scores(t, e, survival[:, [column[at]]], np.array([at]), g)[0])
    if rank_only:
        return m
    grid = settings.grid
    why = "fewer than 2 grid times" if grid.size < 2 else _brier_unsupported(t, e, g, grid)
    if why is not None:
        m.undefined("ibs", why)
    else:
        scores = brier_scores(t, e, survival[:, [column[float(x)] for x in grid]], grid, g)
        m.values["ibs"] = float(np.trapezoid(scores, grid) / (grid[-1] - grid[0]))
    return m
