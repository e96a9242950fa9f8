"""Kaplan-Meier curves with a numbers-at-risk table, and forest plots of Cox tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.plotting import add_at_risk_counts
from matplotlib.figure import Figure

from necml.dataset import atomic_write

__all__ = ["plot_forest", "plot_km"]


def _save(fig: Figure, path: str | Path) -> Path:
    return atomic_write(
        path, lambda tmp: fig.savefig(tmp, format="png", dpi=130, bbox_inches="tight")
    )


def plot_km(
    time: np.ndarray,
    event: np.ndarray,
    groups: pd.Series | None,
    path: str | Path,
    *,
    title: str,
    xlabel: str = "months",
) -> Path:
    """Kaplan-Meier curves (95% CI bands) per group, with numbers at risk below the axis."""
    fig = Figure(figsize=(7.5, 5.2))
    ax = fig.subplots()
    labels = (
        ["all"]
        if groups is None
        else [str(g) for g in pd.Series(groups).astype("category").cat.categories]
    )
    fitters = []
    for label in labels:
        mask = (
            np.ones(len(time), bool)
            if groups is None
            else (pd.Series(groups).astype(str) == label).to_numpy()
        )
        if not mask.any():
            continue
        kmf = KaplanMeierFitter(label=label).fit(time[mask], event[mask])
        kmf.plot_survival_function(ax=ax, ci_show=True, show_censors=True)
        fitters.append(kmf)
    ax.set(title=title, xlabel=xlabel, ylabel="survival probability", ylim=(0, 1.02))
    add_at_risk_counts(*fitters, ax=ax, fig=fig, rows_to_show=["At risk"])
    return _save(fig, path)


def plot_forest(table: pd.DataFrame, path: str | Path, *, title: str) -> Path:
    """Hazard ratios with 95% CIs on a log axis, one row per term (``hr, ci_low, ci_high``)."""
    rows = table.reset_index(drop=True)
    fig = Figure(figsize=(7.0, 0.45 * len(rows) + 1.4))
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    finite = np.isfinite(rows[["hr", "ci_low", "ci_high"]].to_numpy()).all(axis=1)
    hr = rows["hr"].to_numpy()
    err = np.vstack([hr - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - hr])
    ax.errorbar(hr[finite], y[finite], xerr=err[:, finite], fmt="s", color="black", capsize=3)
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(y, rows["term"].astype(str))
    ax.set(title=title, xlabel="hazard ratio (95% CI, log scale)")
    for yi, text in zip(y, rows.get("label", pd.Series([""] * len(rows))), strict=True):
        if text:
            ax.annotate(
                text, xy=(1.01, yi), xycoords=("axes fraction", "data"), va="center", fontsize=8
            )
    return _save(fig, path)
