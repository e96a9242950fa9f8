"""Kaplan-Meier summaries per group and the log-rank test, computed as R's ``survival`` does.

Definitions (each checked against R in ``tests/conformance/test_km_r.py``):

* **Curve**: the Kaplan-Meier product-limit estimate at every distinct observed time, with
  Greenwood's standard error of the cumulative hazard, ``sqrt(sum d / (n (n - d)))``.
* **Pointwise 95% CI**: the exponential Greenwood (log(-log)) interval, R's
  ``survfit(..., conf.type = "log-log")``: ``S^exp(-/+ 1.96 se / log S)``; undefined (NaN)
  where S is 0 or where S is 1 at an observed time, as in R.
* **Median and its CI**: as ``print.survfit`` (``summary(fit)$table``): the first time at
  which the curve (resp. the lower and upper CI curve) is at or below 0.5; where the curve
  equals 0.5 on a flat stretch, the midpoint of that stretch and the time of the next drop.
  When the curve ends exactly at 0.5, ``print.survfit`` reports the start of the stretch
  (``quantile.survfit`` would take the midpoint with the last follow-up time instead).
* **Landmark survival at t** (``summary(fit, times = t)``): S of the right-continuous step
  function; 1 with CI (1, 1) before the first observed time; beyond the last follow-up time
  0 (CI NaN) when the curve has dropped to 0, otherwise NaN (not estimable).
* **Log-rank test**: R's ``survdiff`` (rho = 0); patients whose group is missing are dropped,
  groups without expected events do not count towards the degrees of freedom.

The conventions every necml number follows: ``docs/conventions.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import ndtri
from scipy.stats import chi2

from necml.dataset._arrays import as_event

__all__ = ["DEFAULT_LANDMARKS", "km_table", "logrank_test", "numbers_at_risk"]

#: Landmarks (months) at which survival is reported, as in the papers.
DEFAULT_LANDMARKS = (6.0, 12.0, 24.0)

_Z = float(ndtri(0.975))  # R's qnorm(0.975)
_TOL = float(np.sqrt(np.finfo(float).eps))  # R's .Machine$double.eps^0.5


@dataclass(frozen=True, slots=True)
class _Curve:
    """A Kaplan-Meier curve at the distinct observed times, with its log-log 95% band."""

    time: NDArray[np.float64]
    surv: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]


def _km(time: NDArray, event: NDArray) -> _Curve:
    times, inverse = np.unique(np.asarray(time, dtype=float), return_inverse=True)
    deaths = np.bincount(inverse, weights=np.asarray(event, dtype=float), minlength=times.size)
    at_risk = np.cumsum(np.bincount(inverse, minlength=times.size)[::-1])[::-1].astype(float)
    surv = np.cumprod(1.0 - deaths / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        varhaz = np.where(deaths > 0, deaths / (at_risk * (at_risk - deaths)), 0.0)
        se = np.sqrt(np.cumsum(varhaz))
        p = np.where((surv == 0) | (surv == 1), np.nan, surv)
        spread = _Z * se / np.log(p)
        lower = np.exp(-np.exp(np.log(-np.log(p)) - spread))
        upper = np.exp(-np.exp(np.log(-np.log(p)) + spread))
    return _Curve(times, surv, lower, upper)


def _first_below_half(y: NDArray, x: NDArray) -> float:
    """``survmean``'s ``minmin``: where ``y`` first reaches 0.5 (midpoint of a flat 0.5 stretch)."""
    keep = ~np.isnan(y) & (y < 0.5 + _TOL)
    if not keep.any():
        return float("nan")
    x, y = x[keep], y[keep]
    later = np.flatnonzero(y < y[0])
    if abs(y[0] - 0.5) < _TOL and later.size:
        return float((x[0] + x[later[0]]) / 2)
    return float(x[0])


def _landmarks(curve: _Curve, landmarks: tuple[float, ...]) -> dict[str, float]:
    at = np.asarray(landmarks, dtype=float)
    index = np.searchsorted(curve.time, at, side="right") - 1
    safe = np.clip(index, 0, None)
    before = index < 0
    surv = np.where(before, 1.0, curve.surv[safe])
    low = np.where(before, 1.0, curve.lower[safe])
    high = np.where(before, 1.0, curve.upper[safe])
    beyond = at > curve.time[-1]
    surv = np.where(beyond & (curve.surv[-1] > 0), np.nan, surv)
    low, high = np.where(beyond, np.nan, low), np.where(beyond, np.nan, high)
    row: dict[str, float] = {}
    for t, s, lo, hi in zip(landmarks, surv, low, high, strict=True):
        key = f"s_{t:g}m"
        row |= {key: float(s), f"{key}_ci_low": float(lo), f"{key}_ci_high": float(hi)}
    return row


def _groups(time: np.ndarray, groups: pd.Series | None) -> list[tuple[str, np.ndarray]]:
    if groups is None:
        return [("all", np.ones(len(time), dtype=bool))]
    values = pd.Series(groups).reset_index(drop=True)
    levels = (
        values.cat.categories
        if isinstance(values.dtype, pd.CategoricalDtype)
        else sorted(values.dropna().unique())
    )
    return [
        (str(level), (values == level).to_numpy()) for level in levels if (values == level).any()
    ]


def km_table(
    time: np.ndarray,
    event: np.ndarray,
    groups: pd.Series | None = None,
    *,
    landmarks: tuple[float, ...] = DEFAULT_LANDMARKS,
) -> pd.DataFrame:
    """Median survival with 95% CI and landmark survival with 95% CI, per group.

    Parameters
    ----------
    time, event : numpy.ndarray
        Follow-up and event indicator.
    groups : pandas.Series, optional
        Group labels (e.g. the arm); one row for everyone when omitted. Patients with a
        missing label belong to no group.
    landmarks : tuple of float, default=(6, 12, 24)
        Months at which survival is reported.

    Returns
    -------
    pandas.DataFrame
        Columns ``group, n, events, median, median_ci_low, median_ci_high`` and, per
        landmark t, ``s_<t>m, s_<t>m_ci_low, s_<t>m_ci_high`` (definitions in the module
        docstring; R's ``survfit(..., conf.type = "log-log")``).

    Examples
    --------
    >>> t = np.array([1.0, 2.0, 3.0, 4.0]); e = np.array([True, True, False, True])
    >>> float(km_table(t, e, landmarks=(2.5,))["s_2.5m"].iloc[0])
    0.5
    """
    time = np.asarray(time, dtype=float)
    event = as_event(event)
    rows = []
    for label, mask in _groups(time, groups):
        curve = _km(time[mask], event[mask])
        rows.append(
            {
                "group": label,
                "n": int(mask.sum()),
                "events": int(event[mask].sum()),
                "median": _first_below_half(curve.surv, curve.time),
                "median_ci_low": _first_below_half(curve.lower, curve.time),
                "median_ci_high": _first_below_half(curve.upper, curve.time),
            }
            | _landmarks(curve, landmarks)
        )
    return pd.DataFrame(rows)


def logrank_test(time: np.ndarray, event: np.ndarray, groups: pd.Series) -> dict[str, float]:
    """The (multi-group) log-rank test, as R's ``survdiff(Surv(time, status) ~ group)``.

    Parameters
    ----------
    time, event : numpy.ndarray
        Follow-up and event indicator.
    groups : pandas.Series
        Group labels; patients with a missing label are dropped (R's ``na.action``).

    Returns
    -------
    dict
        ``statistic`` (chi-square), ``df`` (groups with expected events minus 1) and ``p``
        (NaN when fewer than two groups have expected events).
    """
    labels = pd.Series(groups).reset_index(drop=True)
    present = labels.notna().to_numpy()
    codes = pd.factorize(labels[present])[0]
    time = np.asarray(time, dtype=float)[present]
    event = np.asarray(event, dtype=float)[present]
    times, inverse = np.unique(time, return_inverse=True)
    k = int(codes.max()) + 1 if codes.size else 0
    cell = inverse * k + codes
    total = np.bincount(cell, minlength=times.size * k).reshape(times.size, k)
    deaths_g = np.bincount(cell, weights=event, minlength=times.size * k).reshape(times.size, k)
    risk_g = np.cumsum(total[::-1], axis=0)[::-1].astype(float)
    risk, deaths = risk_g.sum(axis=1), deaths_g.sum(axis=1)
    share = risk_g / risk[:, None]
    expected = (deaths[:, None] * share).sum(axis=0)
    observed = deaths_g.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(risk > 1, deaths * (risk - deaths) / (risk - 1), 0.0)
    var = np.diag((c[:, None] * share).sum(axis=0)) - (c[:, None] * share).T @ share
    used = np.flatnonzero(expected > 0)
    df = used.size - 1
    if used.size < 2:
        return {"statistic": 0.0, "df": float(max(df, 0)), "p": float("nan")}
    diff = (observed - expected)[used][1:]
    vv = var[np.ix_(used, used)][1:, 1:]
    statistic = float(diff @ np.linalg.solve(vv, diff))
    return {"statistic": statistic, "df": float(df), "p": float(chi2.sf(statistic, df))}


def numbers_at_risk(time: np.ndarray, groups: pd.Series | None, times: np.ndarray) -> pd.DataFrame:
    """Patients still at risk (time >= t) per group at each of ``times``."""
    return pd.DataFrame(
        {label: [(time[mask] >= t).sum() for t in times] for label, mask in _groups(time, groups)},
        index=pd.Index(times, name="months"),
    ).T
