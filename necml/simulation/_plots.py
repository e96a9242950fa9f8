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


#: The grid axes other than n; a plot labels or splits by those that vary.
VARIANT_AXES = ("effect_scale", "censoring", "departure")


def _varying(table: pd.DataFrame) -> list[str]:
    return [c for c in VARIANT_AXES if c in table and table[c].nunique() > 1]


def _variant_label(values: dict[str, object]) -> str:
    parts = {"effect_scale": "x{:g}", "censoring": "censoring {}", "departure": "{}"}
    return ", ".join(parts[k].format(v) for k, v in values.items())


def _panels(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """One (title suffix, rows) panel per combination of the varying grid axes."""
    varying = _varying(table)
    if not varying:
        return [("", table)]
    return [
        (f" ({_variant_label(dict(zip(varying, keys if isinstance(keys, tuple) else (keys,), strict=True)))})", rows)
        for keys, rows in table.groupby(varying, sort=False)
    ]


def _lines(ax, table: pd.DataFrame, measure: str, colors: dict[tuple[str, str], str]) -> None:  # noqa: ANN001
    rows = table[table["measure"] == measure]
    for (method, estimand), group in rows.groupby(["method", "estimand"], sort=False):
        group = group.sort_values("n")
        ax.errorbar(
            group["n"], group["estimate"], yerr=1.96 * group["mcse"].fillna(0), marker="o", capsize=3,
            label=f"{method}: {estimand}", color=colors[(method, estimand)],
        )
    sizes = sorted(table["n"].unique())
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("n (log scale)")


def _colors(table: pd.DataFrame) -> dict[tuple[str, str], str]:
    pairs = list(dict.fromkeys(zip(table["method"], table["estimand"], strict=True)))
    return {pair: f"C{i % 10}" for i, pair in enumerate(pairs)}


def plot_bias_coverage(performance: pd.DataFrame, estimands: list[str], path: Path) -> Path | None:
    """Bias and coverage of the chosen estimands against n, +/- 1.96 MCSE; a row per variant."""
    table = performance[performance["estimand"].isin(estimands)]
    if not (table["measure"] == "bias").any():
        return None
    panels = _panels(table)
    colors = _colors(table)
    fig = Figure(figsize=(11, 4 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 2, squeeze=False)
    for (suffix, rows), (left, right) in zip(panels, axes, strict=True):
        _lines(left, rows, "bias", colors)
        left.axhline(0, color="grey", linewidth=1)
        left.set(title="Bias of the log hazard ratio" + suffix, ylabel="bias (+/- 1.96 MCSE)")
        _lines(right, rows, "coverage", colors)
        right.axhline(0.95, color="grey", linewidth=1, linestyle="--")
        right.set(title="Coverage of the 95% CI" + suffix, ylabel="coverage (+/- 1.96 MCSE)")
        right.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def plot_power(performance: pd.DataFrame, estimands: list[str], path: Path) -> Path | None:
    """Power (rejection rate at alpha) of the chosen estimands against n; a panel per variant."""
    table = performance[performance["estimand"].isin(estimands)]
    if not (table["measure"] == "power").any():
        return None
    panels = _panels(table)
    colors = _colors(table)
    fig = Figure(figsize=(6 * len(panels), 4), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for (suffix, rows), ax in zip(panels, axes, strict=True):
        _lines(ax, rows, "power", colors)
        ax.axhline(0.8, color="grey", linewidth=1, linestyle="--")
        ax.set(title="Power (rejection rate)" + suffix, ylabel="power (+/- 1.96 MCSE)", ylim=(0, 1))
        ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def plot_cindex(replicates: pd.DataFrame, path: Path) -> Path | None:
    """Validated Harrell C per model and n (boxplots), true C as crosses; one panel per variant."""
    rows = replicates[(replicates["estimand"] == "cindex_harrell") & replicates["converged"].astype(bool)]
    if rows.empty:
        return None
    panels = _panels(rows)
    sizes = sorted(rows["n"].unique())
    methods = list(dict.fromkeys(rows["method"]))
    width = max(6, 1.2 * len(sizes) * len(methods))
    fig = Figure(figsize=(width, 4 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, (suffix, panel) in zip(axes, panels, strict=True):
        _cindex_panel(ax, panel, sizes, methods)
        ax.set_title("Validated C by model and n" + suffix)
    return _save(fig, path)


def _cindex_panel(ax, rows: pd.DataFrame, sizes: list, methods: list[str]) -> None:  # noqa: ANN001
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
    ax.set(xlabel="n", ylabel="validated Harrell C")
    ax.legend(fontsize=7)
