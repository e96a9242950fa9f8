"""Calibration at a landmark: predicted survival against Kaplan-Meier observed, by risk group.

Patients are split into ``groups`` equal-sized groups by predicted S(t0); in each group the
mean predicted S(t0) is set against the group's Kaplan-Meier S(t0) with its 95% CI
(exponential Greenwood). When the group's follow-up ends before t0 the observed value is NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from matplotlib.figure import Figure

from necml.dataset import atomic_write

__all__ = ["calibration_table", "plot_calibration"]


def calibration_table(
    time: np.ndarray, event: np.ndarray, predicted: np.ndarray, at: float, *, groups: int = 3
) -> pd.DataFrame:
    """Columns ``group, n, predicted, observed, observed_low, observed_high`` (S at ``at``)."""
    ok = np.isfinite(predicted)
    time, event, predicted = time[ok], event[ok], predicted[ok]
    order = np.argsort(predicted, kind="stable")
    rows = []
    for g, members in enumerate(np.array_split(order, groups)):
        kmf = KaplanMeierFitter().fit(time[members], event[members])
        if at > time[members].max():
            observed, band = np.nan, (np.nan, np.nan)
        else:
            observed = float(kmf.survival_function_.loc[:at].iloc[-1, 0])
            band = tuple(kmf.confidence_interval_.loc[:at].iloc[-1].to_numpy())
        rows.append(
            {
                "group": g + 1,
                "n": members.size,
                "predicted": float(predicted[members].mean()),
                "observed": observed,
                "observed_low": band[0],
                "observed_high": band[1],
            }
        )
    return pd.DataFrame(rows)


def plot_calibration(tables: dict[str, pd.DataFrame], at: float, path: str | Path) -> Path:
    """One calibration panel per model: observed (95% CI) against predicted S(at)."""
    fig = Figure(figsize=(3.2 * len(tables), 3.4))
    axes = np.atleast_1d(fig.subplots(1, len(tables), sharey=True))
    for ax, (name, table) in zip(axes, tables.items(), strict=True):
        err = np.vstack(
            [table["observed"] - table["observed_low"], table["observed_high"] - table["observed"]]
        )
        ax.errorbar(table["predicted"], table["observed"], yerr=err, fmt="o", capsize=3)
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
        ax.set(title=name, xlabel=f"predicted S({at:g})", xlim=(0, 1), ylim=(0, 1))
    axes[0].set_ylabel(f"Kaplan-Meier S({at:g})")
    return atomic_write(
        path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    )
