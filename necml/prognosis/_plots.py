"""Kaplan-Meier curves as journals print them, and the helpers every necml figure shares.

A KM panel shows, per group, the product-limit curve (R's ``survfit``), censoring ticks, the
log-log 95% band (on by default for one or two groups only), the group's n and median (95% CI)
in the legend, the log-rank p on the panel, and below the axis one numbers-at-risk row per
group, labelled and coloured like its curve. The title names the population and n.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

from necml.files import save_png
from necml.prognosis._format import p_statement
from necml.prognosis._km import _groups, _km, km_table, logrank_test, numbers_at_risk

__all__ = ["log_hr_axis", "plot_km", "readable", "save_figure"]

#: Ticks of a hazard-ratio axis (a subset is shown, covering the data).
HR_TICKS = (0.03125, 0.0625, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
#: Colours of the groups (matplotlib's tab10, in order).
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def save_figure(fig: Figure | SubFigure, path: str | Path, *, dpi: int = 130) -> Path:
    """Write ``fig`` (a subfigure: its whole figure) as a PNG atomically (no half-written file); return the path."""
    return save_png(fig, path, dpi=dpi)


def readable(name: str) -> str:
    """A column name as a label: ``months_from_diagnosis`` -> ``months from diagnosis``."""
    return str(name).replace("_", " ")


def _tick_label(value: float) -> str:
    return f"{value:g}"


def log_hr_axis(ax: Axes, low: float, high: float) -> None:
    """A log x axis for hazard ratios with ticks 0.25, 0.5, 1, 2, 4 (as many as the data need).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    low, high : float
        Smallest and largest value to show (a CI bound); 1 is always inside.
    """
    low = min(low, 0.5) if np.isfinite(low) and low > 0 else 0.25
    high = max(high, 2.0) if np.isfinite(high) else 4.0
    ticks = [t for t in HR_TICKS if low / 2 < t < high * 2]
    ax.set_xscale("log")
    ax.set_xlim(min(ticks[0], low) / 1.15, max(ticks[-1], high) * 1.15)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _tick_label(v)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _legend_label(label: str, row: pd.Series) -> str:
    def show(v: float) -> str:
        return "NR" if not np.isfinite(v) else f"{v:.1f}"

    median = f"{show(row['median'])} ({show(row['median_ci_low'])}-{show(row['median_ci_high'])})"
    return f"{readable(label)}: n = {int(row['n'])}, {int(row['events'])} events, median {median}"


def _step(ax: Axes, t: np.ndarray, y: np.ndarray, **kwargs: object) -> None:
    ax.step(np.r_[0.0, t], np.r_[1.0, y], where="post", **kwargs)


def _draw_group(ax: Axes, time: np.ndarray, event: np.ndarray, *, colour: str, label: str, band: bool) -> None:
    curve = _km(time, event)
    _step(ax, curve.time, curve.surv, color=colour, lw=1.6, label=label)
    censored = np.unique(time[~event])
    if censored.size:
        idx = np.searchsorted(curve.time, censored)
        ax.plot(censored, curve.surv[idx], "|", color=colour, ms=7, mew=1.2)
    if band:
        lower = np.nan_to_num(curve.lower, nan=0.0)
        upper = np.where(np.isnan(curve.upper), 1.0, curve.upper)
        ax.fill_between(np.r_[0.0, curve.time], np.r_[1.0, lower], np.r_[1.0, upper], step="post",
                        color=colour, alpha=0.15, lw=0)


def _at_risk_rows(ax: Axes, time: np.ndarray, groups: pd.Series | None, labels: list[str],
                  colours: Sequence[str]) -> None:
    """One numbers-at-risk row per group below the axis, coloured and labelled like the curve."""
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    ax.set_xticks(ticks)
    table = numbers_at_risk(time, groups, np.asarray(ticks, dtype=float))
    transform = ax.get_xaxis_transform()
    ax.text(-0.02, -0.17, "Number at risk", transform=ax.transAxes, ha="right", va="center",
            fontsize=8, fontweight="bold")
    for i, (label, colour) in enumerate(zip(labels, colours, strict=True)):
        y = -0.22 - 0.05 * i
        ax.text(-0.02, y, readable(label), transform=ax.transAxes, ha="right", va="center", fontsize=8,
                color=colour, fontweight="bold", gid=f"at-risk-label-{i}")
        for t, count in zip(ticks, table.loc[label], strict=True):
            ax.text(t, y, str(int(count)), transform=transform, ha="center", va="center", fontsize=8,
                    color=colour, gid=f"at-risk-{i}")


def plot_km(
    time: np.ndarray,
    event: np.ndarray,
    groups: pd.Series | None = None,
    *,
    ax: Axes | None = None,
    title: str = "",
    population: str | None = None,
    xlabel: str = "months",
    bands: bool | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Kaplan-Meier curves per group, as journals print them, with the numbers at risk below.

    The numbers-at-risk table is drawn on the same axes, as text below its x axis (one row per
    group, at the x ticks), so a figure of one KM panel needs one axes: with a given ``ax``, leave
    room below it (about 0.25 of its height plus 0.05 per group), e.g. with
    ``layout="constrained"`` or ``bbox_inches="tight"`` when saving.

    Parameters
    ----------
    time, event : numpy.ndarray
        Follow-up and event indicator.
    groups : pandas.Series, optional
        Group labels (e.g. the arm); one curve for everyone when omitted. Patients with a
        missing label are left out (as in the log-rank test).
    ax : matplotlib.axes.Axes, optional
        Where to draw the curves and the numbers at risk; a new figure when omitted.
    title : str, default=""
        What is plotted (e.g. ``"OS by arm"``); the population and n are appended.
    population : str, optional
        Who was analysed (e.g. the file name); shown in the title.
    xlabel : str, default="months"
    bands : bool, optional
        Draw the log-log 95% bands; by default only for one or two groups.
    path : str or pathlib.Path, optional
        Also write the figure there as a PNG (atomically; :func:`save_figure`).

    Returns
    -------
    matplotlib.figure.Figure
        The figure of ``ax`` (the new one when ``ax`` is omitted).

    See Also
    --------
    necml.prognosis.km_table : the medians and CIs of the legend.
    necml.prognosis.logrank_test : the p on the panel.
    """
    if ax is None:
        ax = Figure(figsize=(7.5, 5.6)).subplots()
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=bool)
    grouped = _groups(time, groups)
    labels = [label for label, _ in grouped]
    summary = km_table(time, event, groups, landmarks=()).set_index("group")
    colours = [COLOURS[i % len(COLOURS)] for i in range(len(labels))]
    band = len(labels) <= 2 if bands is None else bands
    for (label, mask), colour in zip(grouped, colours, strict=True):
        _draw_group(ax, time[mask], event[mask], colour=colour, label=_legend_label(label, summary.loc[label]),
                    band=band)
    shown = int(sum(mask.sum() for _, mask in grouped))
    head = ", ".join(x for x in (title, population) if x)
    ax.set_title(f"{head} (n = {shown})" if head else f"n = {shown}", fontsize=10)
    ax.set(xlabel=xlabel, ylabel="survival probability", ylim=(0, 1.03))
    ax.set_xlim(left=0)
    test = None
    if groups is not None and len(labels) > 1:
        test = f"log-rank {p_statement(logrank_test(time, event, groups)['p'])}"
    legend = ax.legend(loc="upper right", fontsize=8, frameon=False, title=test, title_fontsize=9)
    legend.get_title().set_gid("logrank")
    _at_risk_rows(ax, time, groups, labels, colours)
    if path is not None:
        save_figure(ax.figure, path)
    return ax.figure
