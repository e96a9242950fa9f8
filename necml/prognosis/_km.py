"""Kaplan-Meier summaries per group and the log-rank test (lifelines underneath).

Definitions: the survival curve is the Kaplan-Meier product-limit estimate; its pointwise 95%
CI is lifelines' default, the exponential Greenwood (log(-log)) interval. The median's CI is
where the CI band crosses 0.5 (Brookmeyer-Crowley style, ``lifelines.utils.median_survival_times``).
Landmark survival at t is S(t) of the right-continuous step function, and NaN when t lies
beyond the group's last observed time (it is not estimable there).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import median_survival_times

__all__ = ["DEFAULT_LANDMARKS", "km_table", "logrank_test", "numbers_at_risk"]

#: Landmarks (months) at which survival is reported, as in the papers.
DEFAULT_LANDMARKS = (6.0, 12.0, 24.0)


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


def _fit(time: np.ndarray, event: np.ndarray, label: str) -> KaplanMeierFitter:
    return KaplanMeierFitter(alpha=0.05).fit(time, event_observed=event, label=label)


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
        Group labels (e.g. the arm); one row for everyone when omitted.
    landmarks : tuple of float, default=(6, 12, 24)
        Months at which survival is reported.

    Returns
    -------
    pandas.DataFrame
        Columns ``group, n, events, median, median_ci_low, median_ci_high`` and, per
        landmark t, ``s_<t>m, s_<t>m_ci_low, s_<t>m_ci_high``.

    Examples
    --------
    >>> t = np.array([1.0, 2.0, 3.0, 4.0]); e = np.array([True, True, False, True])
    >>> float(km_table(t, e, landmarks=(2.5,))["s_2.5m"].iloc[0])
    0.5
    """
    rows = []
    for label, mask in _groups(time, groups):
        kmf = _fit(time[mask], event[mask], label)
        median_ci = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
        row = {
            "group": label,
            "n": int(mask.sum()),
            "events": int(event[mask].sum()),
            "median": float(kmf.median_survival_time_),
            "median_ci_low": float(median_ci[0]),
            "median_ci_high": float(median_ci[1]),
        }
        last = float(time[mask].max())
        for t in landmarks:
            key = f"s_{t:g}m"
            if t > last:
                row |= {key: np.nan, f"{key}_ci_low": np.nan, f"{key}_ci_high": np.nan}
                continue
            band = kmf.confidence_interval_.loc[:t].iloc[-1].to_numpy()
            row |= {
                key: float(kmf.survival_function_.loc[:t].iloc[-1, 0]),
                f"{key}_ci_low": float(band[0]),
                f"{key}_ci_high": float(band[1]),
            }
        rows.append(row)
    return pd.DataFrame(rows)


def logrank_test(time: np.ndarray, event: np.ndarray, groups: pd.Series) -> dict[str, float]:
    """The (multi-group) log-rank test: chi-square statistic, degrees of freedom, p-value."""
    labels = pd.Series(groups).astype(str).to_numpy()
    result = multivariate_logrank_test(time, labels, event)
    return {
        "statistic": float(result.test_statistic),
        "df": float(result.degrees_of_freedom),
        "p": float(result.p_value),
    }


def numbers_at_risk(time: np.ndarray, groups: pd.Series | None, times: np.ndarray) -> pd.DataFrame:
    """Patients still at risk (time >= t) per group at each of ``times``."""
    return pd.DataFrame(
        {label: [(time[mask] >= t).sum() for t in times] for label, mask in _groups(time, groups)},
        index=pd.Index(times, name="months"),
    ).T
