"""A Kaplan-Meier curve as a figure shows it, and the summaries a reconstruction is judged by.

``km_steps`` gives the corners a digitiser clicks (before and after each drop),
``at_risk_table`` the numbers at risk printed under a figure, ``rmst`` the restricted mean
survival time, and ``compare_curves`` the distances between two curves that the fidelity
report and the accuracy study use (area between them, RMST difference, landmark survival).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from necml.dataset._arrays import as_event

__all__ = ["at_risk_table", "compare_curves", "km_confidence", "km_curve", "km_steps", "rmst", "survival_at_times"]


def km_curve(time: NDArray, event: NDArray) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Kaplan-Meier estimate: the distinct event times and S just after each (ties: events first).

    Examples
    --------
    >>> km_curve(np.array([1.0, 2.0, 2.0, 3.0]), np.array([1, 1, 0, 1]))[1].round(3).tolist()
    [0.75, 0.5, 0.0]
    """
    time = np.asarray(time, dtype=float)
    event = as_event(event)
    times = np.unique(time[event])
    at_risk = (time[None, :] >= times[:, None]).sum(axis=1)
    deaths = (event[None, :] & (time[None, :] == times[:, None])).sum(axis=1)
    return times, np.cumprod(1 - deaths / at_risk)


def survival_at_times(curve: tuple[NDArray, NDArray], at: NDArray) -> NDArray[np.float64]:
    """The right-continuous step function of ``curve`` at ``at`` (1 before its first time)."""
    times, surv = curve
    index = np.searchsorted(times, np.asarray(at, dtype=float), side="right") - 1
    return np.where(index >= 0, surv[np.clip(index, 0, None)], 1.0)


def km_steps(time: NDArray, event: NDArray) -> pd.DataFrame:
    """The corners of the drawn curve (``time, survival``): (0, 1), and before and after each drop, and the end."""
    times, surv = km_curve(time, event)
    before = np.r_[1.0, surv[:-1]]
    t = np.r_[0.0, np.repeat(times, 2), float(np.max(time))]
    s = np.r_[1.0, np.column_stack([before, surv]).ravel(), surv[-1] if len(surv) else 1.0]
    return pd.DataFrame({"time": t, "survival": s})


def at_risk_table(time: NDArray, at: NDArray) -> pd.DataFrame:
    """Numbers at risk (follow-up >= t) at the times ``at`` (``time, n_at_risk``), as printed under a figure."""
    time = np.asarray(time, dtype=float)
    at = np.asarray(at, dtype=float)
    return pd.DataFrame({"time": at, "n_at_risk": (time[None, :] >= at[:, None]).sum(axis=1)})


def rmst(curve: tuple[NDArray, NDArray], tau: float) -> float:
    """Restricted mean survival time: the area under the step function from 0 to ``tau``."""
    times, surv = curve
    inside = times < tau
    knots = np.r_[0.0, times[inside], tau]
    values = np.r_[1.0, surv[inside]]
    return float(np.sum(np.diff(knots) * values))


def compare_curves(
    a: tuple[NDArray, NDArray], b: tuple[NDArray, NDArray], *, tau: float, landmarks: tuple[float, ...] = ()
) -> dict[str, float]:
    """Distances between two step curves up to ``tau``: area between them, RMST difference (a - b), landmarks."""
    knots = np.unique(np.r_[0.0, a[0][a[0] < tau], b[0][b[0] < tau], tau])
    gap = np.abs(survival_at_times(a, knots[:-1]) - survival_at_times(b, knots[:-1]))
    out = {"area_between": float(np.sum(np.diff(knots) * gap)), "rmst_difference": rmst(a, tau) - rmst(b, tau)}
    for t in landmarks:
        out[f"s_{t:g}_difference"] = float(survival_at_times(a, [t])[0] - survival_at_times(b, [t])[0])
    return out


def km_confidence(time: NDArray, event: NDArray, at: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """S(t) and its log-log (exponential Greenwood) 95% limits at ``at``, as R's ``survfit(conf.type = "log-log")``.

    NaN limits where S is 0 or 1 (no variance on the log-log scale) or beyond the last follow-up.
    """
    time = np.asarray(time, dtype=float)
    event = as_event(event)
    times = np.unique(time[event])
    n = (time[None, :] >= times[:, None]).sum(axis=1)
    d = (event[None, :] & (time[None, :] == times[:, None])).sum(axis=1)
    surv = np.cumprod(1 - d / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        green = np.cumsum(np.where(n > d, d / (n * (n - d)), np.inf))
        index = np.searchsorted(times, np.asarray(at, dtype=float), side="right") - 1
        s = np.where(index >= 0, surv[np.clip(index, 0, None)], 1.0)
        var = np.where(index >= 0, green[np.clip(index, 0, None)], 0.0)
        se = np.sqrt(var) / np.abs(np.log(s))
        low, high = s ** np.exp(1.959964 * se), s ** np.exp(-1.959964 * se)
    bad = (s <= 0) | (s >= 1) | ~np.isfinite(se) | (np.asarray(at) > time.max())
    return s, np.where(bad, np.nan, low), np.where(bad, np.nan, high)
