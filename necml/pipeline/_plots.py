"""The model-comparison plot (validated metrics with 95% CIs, per-fold C) and tuning histories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from necml.evaluation import ValidationResult

__all__ = ["plot_comparison", "plot_tuning_history"]


def plot_comparison(metrics: pd.DataFrame, validations: dict[str, ValidationResult], path: str | Path) -> Path:
    """Harrell's C, Uno's C and the IBS per model (point, 95% CI) and the per-fold C boxplot."""
    shown = [m for m in dict.fromkeys(metrics["metric"]) if m.startswith("cindex") or m == "ibs"]
    fig = Figure(figsize=(4.0 * (len(shown) + 1), 3.8))
    axes = fig.subplots(1, len(shown) + 1)
    models = list(validations)
    y = np.arange(len(models))[::-1]
    for ax, metric in zip(axes, shown, strict=False):
        rows = metrics[metrics["metric"] == metric].set_index("model").reindex(models)
        err = np.vstack([rows["value"] - rows["ci_low"], rows["ci_high"] - rows["value"]])
        ax.errorbar(rows["value"], y, xerr=np.nan_to_num(err), fmt="o", capsize=3)
        if metric.startswith("cindex"):
            ax.axvline(0.5, color="grey", linestyle="--", linewidth=1)
        ax.set_yticks(y, models)
        ax.set(title=metric, xlabel="validated estimate (95% CI)")
    folds = [validations[m].resamples for m in models]
    data = [f[(f["metric"] == "cindex_harrell") & (f["fold"] >= 0)]["value"].dropna().to_numpy() for f in folds]
    axes[-1].boxplot(data, orientation="horizontal", tick_labels=models, positions=y)
    axes[-1].axvline(0.5, color="grey", linestyle="--", linewidth=1)
    axes[-1].set(title="Harrell's C per resample", xlabel="C")
    from necml.dataset import atomic_write

    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))


def plot_tuning_history(trials: pd.DataFrame, title: str, path: str | Path) -> Path:
    """Optimisation history of one study: each trial's inner-CV C and the best so far."""
    from necml.dataset import atomic_write

    fig = Figure(figsize=(5.0, 3.4))
    ax = fig.subplots()
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
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
