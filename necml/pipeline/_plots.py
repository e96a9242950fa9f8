"""The model-comparison plot (validated metrics with 95% CIs, per-fold C) and tuning histories.

Both draw on a new figure or on the axes they are given (``ax``), return the
:class:`~matplotlib.figure.Figure` and write a PNG only when given a ``path``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from necml.evaluation import ValidationResult
from necml.files import save_png

__all__ = ["plot_comparison", "plot_tuning_history"]


def _shown(metrics: pd.DataFrame) -> list[str]:
    return [m for m in dict.fromkeys(metrics["metric"]) if m.startswith("cindex") or m == "ibs"]


def plot_comparison(
    metrics: pd.DataFrame,
    validations: dict[str, ValidationResult],
    path: str | Path | None = None,
    *,
    ax: Sequence[Axes] | None = None,
) -> Figure:
    """Harrell's C, Uno's C and the IBS per model (point, 95% CI) and the per-fold C boxplot.

    Parameters
    ----------
    metrics : pandas.DataFrame
        The validated metrics (``model, metric, value, ci_low, ci_high``); one panel per C-index
        metric and the IBS, in their order.
    validations : dict of str to ValidationResult
        Per model (rows top to bottom in this order), for the per-resample Harrell C.
    path : str or pathlib.Path, optional
        Also write the figure there as a PNG (atomically).
    ax : sequence of Axes, optional
        One axes per metric panel, then one for the per-resample boxplot; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.

    Raises
    ------
    ValueError
        When ``ax`` does not hold one axes per panel.
    """
    shown = _shown(metrics)
    if ax is None:
        fig = Figure(figsize=(4.0 * (len(shown) + 1), 3.8))
        axes = list(np.atleast_1d(fig.subplots(1, len(shown) + 1)))
    else:
        axes = [ax] if isinstance(ax, Axes) else list(ax)
        if len(axes) != len(shown) + 1:
            raise ValueError(f"ax must hold {len(shown) + 1} axes ({', '.join(shown)}, then the per-resample C), "
                             f"but got {len(axes)}")
    models = list(validations)
    y = np.arange(len(models))[::-1]
    for panel, metric in zip(axes, shown, strict=False):
        rows = metrics[metrics["metric"] == metric].set_index("model").reindex(models)
        err = np.vstack([rows["value"] - rows["ci_low"], rows["ci_high"] - rows["value"]])
        panel.errorbar(rows["value"], y, xerr=np.nan_to_num(err), fmt="o", capsize=3)
        if metric.startswith("cindex"):
            panel.axvline(0.5, color="grey", linestyle="--", linewidth=1)
        panel.set_yticks(y, models)
        panel.set(title=metric, xlabel="validated estimate (95% CI)")
    folds = [validations[m].resamples for m in models]
    data = [f[(f["metric"] == "cindex_harrell") & (f["fold"] >= 0)]["value"].dropna().to_numpy() for f in folds]
    axes[-1].boxplot(data, orientation="horizontal", tick_labels=models, positions=y)
    axes[-1].axvline(0.5, color="grey", linestyle="--", linewidth=1)
    axes[-1].set(title="Harrell's C per resample", xlabel="C")
    fig = axes[0].figure
    save_png(fig, path)
    return fig


def plot_tuning_history(
    trials: pd.DataFrame, title: str, path: str | Path | None = None, *, ax: Axes | None = None
) -> Figure:
    """Optimisation history of one study: each trial's inner-CV C and the best so far.

    Parameters
    ----------
    trials : pandas.DataFrame
        The study's trials (``number, value, state``; ``COMPLETE`` and ``PRUNED`` are drawn).
    title : str
        Panel title.
    path : str or pathlib.Path, optional
        Also write the figure there as a PNG (atomically).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.
    """
    if ax is None:
        ax = Figure(figsize=(5.0, 3.4)).subplots()
    done = trials[trials["state"] == "COMPLETE"].sort_values("number")
    ax.plot(done["number"], done["value"], "o", label="trial")
    ax.step(done["number"], done["value"].cummax(), where="post", label="best so far")
    pruned = trials[trials["state"] == "PRUNED"]
    if len(pruned):
        ax.plot(
            pruned["number"],
            np.full(len(pruned), np.nanmin(done["value"]) if len(done) else 0.5),
            "x",
            color="grey",
            label="pruned (fit failed)",
        )
    ax.set(title=title, xlabel="trial", ylabel="inner-CV Harrell C")
    ax.legend(loc="lower right", fontsize=8)
    save_png(ax.figure, path)
    return ax.figure
