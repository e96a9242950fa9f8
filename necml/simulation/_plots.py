"""Study plots: bias and coverage against n (MCSE error bars), power curves, C-index boxplots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from necml.dataset import atomic_write

__all__ = ["plot_bias_coverage", "plot_cindex", "plot_power"]


def _save(fig: Figure, path: Path) -> Path:
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))


def _lines(ax, table: pd.DataFrame, measure: str) -> None:  # noqa: ANN001
    rows = table[table["measure"] == measure]
    for (method, estimand, scale), group in rows.groupby(["method", "estimand", "effect_scale"], sort=False):
        group = group.sort_values("n")
        label = f"{method}: {estimand}" + (f" (x{scale:g})" if rows["effect_scale"].nunique() > 1 else "")
        ax.errorbar(
            group["n"], group["estimate"], yerr=1.96 * group["mcse"].fillna(0), marker="o", capsize=3, label=label
        )
    ax.set_xscale("log")
    ax.set_xlabel("n (log scale)")


def plot_bias_coverage(performance: pd.DataFrame, estimands: list[str], path: Path) -> Path | None:
    """Bias and coverage of the chosen estimands against n, +/- 1.96 MCSE."""
    table = performance[performance["estimand"].isin(estimands)]
    if not (table["measure"] == "bias").any():
        return None
    fig = Figure(figsize=(11, 4))
    left, right = fig.subplots(1, 2)
    _lines(left, table, "bias")
    left.axhline(0, color="grey", linewidth=1)
    left.set(title="Bias of the log hazard ratio", ylabel="bias (+/- 1.96 MCSE)")
    _lines(right, table, "coverage")
    right.axhline(0.95, color="grey", linewidth=1, linestyle="--")
    right.set(title="Coverage of the 95% CI", ylabel="coverage (+/- 1.96 MCSE)")
    right.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def plot_power(performance: pd.DataFrame, estimands: list[str], path: Path) -> Path | None:
    """Power (rejection rate at alpha) of the chosen estimands against n."""
    table = performance[performance["estimand"].isin(estimands)]
    if not (table["measure"] == "power").any():
        return None
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    _lines(ax, table, "power")
    ax.axhline(0.8, color="grey", linewidth=1, linestyle="--")
    ax.set(title="Power (rejection rate)", ylabel="power (+/- 1.96 MCSE)", ylim=(0, 1))
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def plot_cindex(replicates: pd.DataFrame, path: Path) -> Path | None:
    """Validated Harrell C per model and n (boxplots), true C as crosses."""
    rows = replicates[(replicates["estimand"] == "cindex_harrell") & replicates["converged"].astype(bool)]
    if rows.empty:
        return None
    sizes = sorted(rows["n"].unique())
    methods = list(dict.fromkeys(rows["method"]))
    fig = Figure(figsize=(max(6, 1.2 * len(sizes) * len(methods)), 4))
    ax = fig.subplots()
    width = 0.8 / len(methods)
    for j, method in enumerate(methods):
        positions = np.arange(len(sizes)) + (j - (len(methods) - 1) / 2) * width
        data = [rows[(rows["method"] == method) & (rows["n"] == n)]["estimate"].dropna().to_numpy() for n in sizes]
        box = ax.boxplot(data, positions=positions, widths=width * 0.9, patch_artist=True, manage_ticks=False)
        color = f"C{j}"
        for patch in box["boxes"]:
            patch.set_facecolor(color)
            patch.set_alpha(0.5)
        truth = [rows[(rows["method"] == method) & (rows["n"] == n)]["truth"].mean() for n in sizes]
        ax.plot(positions, truth, "x", color=color, label=f"{method} (x: mean true C)")
    ax.set_xticks(np.arange(len(sizes)), [str(n) for n in sizes])
    ax.axhline(0.5, color="grey", linewidth=1, linestyle="--")
    ax.set(xlabel="n", ylabel="validated Harrell C", title="Validated C by model and n")
    ax.legend(fontsize=7)
    return _save(fig, path)
