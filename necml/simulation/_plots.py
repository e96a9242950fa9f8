"""Study plots: bias and coverage against n, power curves, C-index boxplots, zip, nested-loop and bias forest plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from necml.dataset import atomic_write

__all__ = ["plot_bias_coverage", "plot_bias_forest", "plot_cindex", "plot_nested_loop", "plot_power", "plot_zip"]


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


def plot_zip(replicates: pd.DataFrame, estimand: str, path: Path, *, max_panels: int = 16) -> Path | None:
    """Zip plot of the 95% CIs of one estimand (Morris, White & Crowther 2019, Fig. 4).

    One panel per method (columns) and scenario (rows). Each replicate's CI is a horizontal line
    at the fractional centile of its ``|z| = |estimate - truth| / se``, so the CIs that miss the
    truth collect at the top; blue covers, red misses. The dashed line is 95%, the band the
    coverage's 95% Monte-Carlo interval (where the red CIs begin).
    """
    rows = replicates[(replicates["estimand"] == estimand) & replicates["converged"].fillna(False).astype(bool)]
    rows = rows[np.isfinite(rows["truth"].astype(float)) & rows["ci_low"].notna() & rows["ci_high"].notna()]
    if rows.empty:
        return None
    scenarios = list(dict.fromkeys(rows["scenario"]))
    methods = list(dict.fromkeys(rows["method"]))
    scenarios = scenarios[: max(1, max_panels // len(methods))]
    fig = Figure(figsize=(2.6 * len(methods), 2.4 * len(scenarios)), layout="constrained")
    axes = fig.subplots(len(scenarios), len(methods), squeeze=False)
    for i, scenario in enumerate(scenarios):
        for j, method in enumerate(methods):
            _zip_panel(axes[i, j], rows[(rows["scenario"] == scenario) & (rows["method"] == method)])
            axes[i, j].set_title(f"{method}\n{scenario}", fontsize=7)
    fig.suptitle(f"Zip plot of the 95% CIs: {estimand}")
    return _save(fig, path)


def _zip_panel(ax, rows: pd.DataFrame) -> None:  # noqa: ANN001
    if rows.empty:
        ax.set_axis_off()
        return
    truth = float(rows["truth"].iloc[0])
    z = np.abs(rows["estimate"].to_numpy(float) - truth) / rows["se"].to_numpy(float)
    order = np.argsort(np.nan_to_num(z, nan=np.inf), kind="stable")
    lo, hi = rows["ci_low"].to_numpy(float)[order], rows["ci_high"].to_numpy(float)[order]
    centile = 100 * (np.arange(len(order)) + 0.5) / len(order)
    covers = (lo <= truth) & (truth <= hi)
    finite = np.isfinite(lo) & np.isfinite(hi)
    span = np.nanpercentile(np.r_[lo[finite], hi[finite]], [1, 99]) if finite.any() else (truth - 1, truth + 1)
    lo, hi = np.clip(lo, *span), np.clip(hi, *span)
    ax.hlines(centile[covers], lo[covers], hi[covers], color="C0", linewidth=0.4)
    ax.hlines(centile[~covers], lo[~covers], hi[~covers], color="C3", linewidth=0.4)
    ax.axvline(truth, color="black", linewidth=0.8)
    cover = covers.mean()
    mcse = np.sqrt(cover * (1 - cover) / len(covers))
    ax.axhline(95, color="grey", linestyle="--", linewidth=0.8)
    ax.axhspan(100 * (cover - 1.96 * mcse), 100 * (cover + 1.96 * mcse), color="gold", alpha=0.4)
    ax.set_ylim(0, 100)
    ax.tick_params(labelsize=6)
    ax.set_ylabel("centile of |z|", fontsize=7)


_NESTED_ORDER = ("departure", "censoring", "effect_scale", "n")


def plot_nested_loop(performance: pd.DataFrame, estimand: str, measures: list[str], path: Path) -> Path | None:
    """Nested-loop plot over the whole grid (Ruecker & Schwarzer 2014), one panel per measure.

    The scenarios run along x, nested as departure > censoring > effect scale > n; each method's
    measure is a step line (+/- 1.96 MCSE as a band); the grid's parameters are drawn as step
    lines below the lowest panel, so every scenario can be read off.
    """
    table = performance[(performance["estimand"] == estimand) & performance["measure"].isin(measures)]
    if table.empty:
        return None
    axes_used = [a for a in _NESTED_ORDER if table[a].nunique() > 1] or ["n"]
    grid = table.drop_duplicates("scenario").sort_values(axes_used, kind="stable")
    position = {s: i for i, s in enumerate(grid["scenario"])}
    shown = [m for m in measures if (table["measure"] == m).any()]
    size = (max(6.0, 0.35 * len(grid) + 3), 2.6 * len(shown) + 0.5 * len(axes_used))
    fig = Figure(figsize=size, layout="constrained")
    heights = [3] * len(shown) + [0.6 * len(axes_used)]
    axes = fig.subplots(len(shown) + 1, 1, sharex=True, gridspec_kw={"height_ratios": heights})
    x = np.arange(len(grid) + 1)
    for ax, measure in zip(axes[:-1], shown, strict=True):
        for k, (method, rows) in enumerate(table[table["measure"] == measure].groupby("method", sort=False)):
            rows = rows.assign(x=rows["scenario"].map(position)).sort_values("x")
            y = np.full(len(grid), np.nan)
            band = np.full(len(grid), np.nan)
            y[rows["x"].to_numpy(int)] = rows["estimate"].to_numpy(float)
            band[rows["x"].to_numpy(int)] = 1.96 * rows["mcse"].fillna(0).to_numpy(float)
            ax.stairs(y, x, color=f"C{k}", label=method, baseline=None, linewidth=1.5)
            ax.stairs(y + band, x, baseline=y - band, fill=True, color=f"C{k}", alpha=0.15)
        reference = {"coverage": 0.95, "be_coverage": 0.95, "power": 0.8, "power_all": 0.8, "type_m": 1.0}
        ax.axhline(reference.get(measure, 0.0), color="grey", linestyle="--", linewidth=0.8)
        ax.set_ylabel(measure)
        ax.legend(fontsize=7, ncols=3)
    _parameter_lines(axes[-1], grid, axes_used, x)
    axes[0].set_title(f"Nested-loop plot: {estimand}")
    return _save(fig, path)


def _parameter_lines(ax, grid: pd.DataFrame, axes_used: list[str], x: np.ndarray) -> None:  # noqa: ANN001
    """Each grid parameter as a step line in its own band, labelled with its values."""
    for band, axis in enumerate(reversed(axes_used)):
        codes, levels = pd.factorize(grid[axis].astype(str))
        scaled = band + 0.1 + 0.8 * codes / max(len(levels) - 1, 1)
        ax.stairs(scaled, x, baseline=None, color="black", linewidth=1)
        for i, code in enumerate(codes):
            if i == 0 or code != codes[i - 1]:
                ax.text(i + 0.05, scaled[i] + 0.05, levels[code], fontsize=6)
        ax.text(-0.3, band + 0.5, axis, fontsize=7, ha="right", va="center")
    ax.set_yticks([])
    ax.set_ylim(0, len(axes_used))
    ax.set_xlabel("scenario (nested: " + " > ".join(axes_used) + ")")


def plot_bias_forest(performance: pd.DataFrame, estimands: list[str], path: Path) -> Path | None:
    """Lollipop (forest) plot of the bias, +/- 1.96 MCSE, per method and scenario; a panel per estimand."""
    table = performance[(performance["measure"] == "bias") & performance["estimand"].isin(estimands)]
    if table.empty:
        return None
    shown = [e for e in estimands if (table["estimand"] == e).any()]
    rows_per = max(len(table[table["estimand"] == e]) for e in shown)
    fig = Figure(figsize=(5 * len(shown), max(3.0, 0.22 * rows_per + 1)), layout="constrained")
    axes = fig.subplots(1, len(shown), squeeze=False)[0]
    for ax, estimand in zip(axes, shown, strict=True):
        rows = table[table["estimand"] == estimand].iloc[::-1]
        y = np.arange(len(rows))
        methods = list(dict.fromkeys(rows["method"]))
        colors = [f"C{methods.index(m) % 10}" for m in rows["method"]]
        ax.hlines(y, 0, rows["estimate"], color=colors, linewidth=1)
        for method in methods:
            mine = (rows["method"] == method).to_numpy()
            color = f"C{methods.index(method) % 10}"
            ax.errorbar(rows["estimate"][mine], y[mine], xerr=1.96 * rows["mcse"][mine].fillna(0), fmt="o",
                        color=color, markersize=3.5, capsize=2, label=method)
        ax.legend(fontsize=7)
        ax.axvline(0, color="grey", linewidth=1)
        ax.set_yticks(y, [f"{m} | {s}" for m, s in zip(rows["method"], rows["scenario"], strict=True)], fontsize=6)
        ax.set(title=f"Bias of the log-HR: {estimand}", xlabel="bias (+/- 1.96 MCSE)")
    return _save(fig, path)
