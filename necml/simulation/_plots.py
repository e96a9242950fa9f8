"""Study plots: bias, coverage, power and failed fits against n; C-index boxplots; zip, nested-loop, bias forest.

Every function draws on a new figure, or on the axes it is given (``ax``: one per panel, in
the order its docstring gives; a figure of several panels takes them as a sequence, since the
panels' number follows the table), returns the :class:`~matplotlib.figure.Figure` it drew on
(None, drawing nothing, when the table holds nothing to plot) and writes a PNG only when given
a ``path``.

Proportions (coverage, power, ``power_all``, failures) carry 95% Wilson score intervals,
which stay inside [0, 1] (estimate +/- 1.96 MCSE does not: coverage 1 has MCSE 0, and 0.98 at
R = 40 reaches 1.02). For a share p of n trials and z = 1.96 the interval is

    centre = (p + z^2 / 2n) / (1 + z^2 / n),
    half-width = z sqrt(p (1 - p) / n + z^2 / 4n^2) / (1 + z^2 / n).

Its n is the measure's own denominator: recovered exactly from the MCSE, n = p (1 - p) / MCSE^2,
where 0 < p < 1; otherwise all replicates for ``power_all`` and failures, the converged ones
(``replicates`` x (1 - failures)) for the rest. Other measures show +/- 1.96 MCSE. Methods are
dodged along the (log) n axis so their intervals do not overlap. Estimands are named by
``labels`` (see :func:`estimand_labels`) or :func:`estimand_label`, with the true HR in the panel
title when it is known: from a ``truth`` column of the performance table, or from the replicate
table passed as ``replicates``.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from necml.files import save_png

if TYPE_CHECKING:
    from necml.spec import CohortSpec

__all__ = [
    "estimand_label",
    "estimand_labels",
    "plot_bias_coverage",
    "plot_bias_forest",
    "plot_cindex",
    "plot_nested_loop",
    "plot_power",
    "plot_zip",
    "wilson_interval",
]

#: Axes a plot function draws on: one, a sequence (one per panel), or None for a new figure.
AxesArg = Axes | Sequence[Axes] | np.ndarray | None

#: The standard-normal quantile of a two-sided 95% interval.
Z95 = 1.959963984540054

#: Measures that are shares of replicates (Wilson intervals); ``failed_<reason>`` too.
PROPORTIONS = ("coverage", "be_coverage", "power", "power_all", "failures")
#: Proportions over all replicates (a failed fit counts); the others are over the converged fits.
_OVER_ALL = ("power_all", "failures")


def wilson_interval(
    p: float | np.ndarray, n: float | np.ndarray, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval of a share ``p`` of ``n`` trials, clipped to [0, 1].

    Parameters
    ----------
    p : float or numpy.ndarray
        Observed share(s).
    n : float or numpy.ndarray
        Number(s) of trials; NaN or n <= 0 give a NaN interval.
    z : float, default=1.959963984540054
        Standard-normal quantile (1.96: a 95% interval).

    Returns
    -------
    low, high : numpy.ndarray
        ``centre -/+ half``, with centre ``(p + z^2/2n) / (1 + z^2/n)`` and half-width
        ``z sqrt(p (1 - p)/n + z^2/4n^2) / (1 + z^2/n)``.

    Examples
    --------
    >>> low, high = wilson_interval(0.0, 40, z=1.96)
    >>> float(low), round(float(high), 4)
    (0.0, 0.0876)
    """
    p, n = np.asarray(p, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        n = np.where(n > 0, n, np.nan)
        shrink = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / shrink
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / shrink
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


_CONTRASTS = (
    (re.compile(r"^(.+)_gt_uln$"), "{} > ULN"),
    (re.compile(r"^(.+)_ge_(-?[\d.]+)$"), "{} \u2265 {}"),
    (re.compile(r"^(.+)_gt_(-?[\d.]+)$"), "{} > {}"),
    (re.compile(r"^(.+)_per_(-?[\d.]+)$"), "{} (per {})"),
)


def estimand_label(name: str) -> str:
    """A readable name for a study term: ``ecog_ge_2`` -> ``ecog \u2265 2``, ``arm_ici`` -> ``ici vs control``.

    Parameters
    ----------
    name : str
        A term name of a cohort spec (see ``necml.spec.Term.name``) or ``cindex_harrell``.

    Returns
    -------
    str

    Examples
    --------
    >>> [estimand_label(n) for n in ("arm_ici_chemo", "nlr_gt_3", "ldh_gt_uln", "age_per_10", "male")]
    ['ici chemo vs control', 'nlr > 3', 'ldh > ULN', 'age (per 10)', 'male']
    """
    if name == "cindex_harrell":
        return "Harrell's C"
    if name.startswith("arm_"):
        return f"{name.removeprefix('arm_').replace('_', ' ')} vs control"
    for pattern, text in _CONTRASTS:
        hit = pattern.match(name)
        if hit:
            return text.format(*(g.replace("_", " ") for g in hit.groups()))
    return name.replace("_", " ")


def estimand_labels(spec: CohortSpec) -> dict[str, str]:
    """Treatment terms named by the spec's arm labels: ``arm_<arm>`` -> ``"<label> vs <control label>"``.

    Pass the result as ``labels`` to the plot functions; terms it does not name fall back to
    :func:`estimand_label`.

    Parameters
    ----------
    spec : CohortSpec
        The study's cohort specification.

    Returns
    -------
    dict of str to str
    """
    control = spec.arms[spec.control_arm].label
    return {f"arm_{name}": f"{arm.label} vs {control}" for name, arm in spec.arms.items() if name != spec.control_arm}


def _grid(ax: AxesArg, rows: int, cols: int, figsize: tuple[float, float], what: str,
          **kwargs: object) -> tuple[Figure, np.ndarray, bool]:
    """A rows x cols array of axes: new (and whether they are), or the ``rows * cols`` given, row by row."""
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, np.asarray(fig.subplots(rows, cols, squeeze=False, **kwargs), dtype=object), True
    given = [ax] if isinstance(ax, Axes) else list(np.ravel(np.asarray(ax, dtype=object)))
    if len(given) != rows * cols:
        raise ValueError(f"ax must hold {rows * cols} axes ({what}), but got {len(given)}")
    return given[0].figure, np.asarray(given, dtype=object).reshape(rows, cols), False


#: The grid axes other than n; a plot labels or splits by those that vary.
VARIANT_AXES = ("effect_scale", "censoring", "departure")


def _varying(table: pd.DataFrame) -> list[str]:
    return [c for c in VARIANT_AXES if c in table and table[c].nunique() > 1]


def _variant_label(values: dict[str, object]) -> str:
    def show(key: str, value: object) -> str:
        if key == "effect_scale":
            return f"effect x{float(value):g}"
        if key == "censoring":
            return f"censoring {value}"
        return "no departure" if value == "none" else str(value).replace("_", " ")

    return ", ".join(show(k, v) for k, v in values.items())


def _panels(table: pd.DataFrame, varying: list[str] | None = None) -> list[tuple[str, pd.DataFrame]]:
    """One (title suffix, rows) panel per combination of the varying grid axes."""
    varying = _varying(table) if varying is None else varying
    if not varying:
        return [("", table)]
    return [
        (f", {_variant_label(dict(zip(varying, keys if isinstance(keys, tuple) else (keys,), strict=True)))}", rows)
        for keys, rows in table.groupby(varying, sort=False)
    ]


class _Panel(NamedTuple):
    estimand: str
    suffix: str
    rows: pd.DataFrame


def _estimand_panels(table: pd.DataFrame, estimands: list[str], measure: str) -> list[_Panel]:
    """One panel per estimand (in the given order) and variant with a row of ``measure``."""
    varying = _varying(table)
    out = []
    for estimand in dict.fromkeys(estimands):
        mine = table[table["estimand"] == estimand]
        out += [_Panel(estimand, s, r) for s, r in _panels(mine, varying) if (r["measure"] == measure).any()]
    return out


def _truths(performance: pd.DataFrame, replicates: pd.DataFrame | None) -> pd.Series | None:
    """The true log-HR per (scenario, estimand), from the performance table or the replicates."""
    source = performance if "truth" in performance else replicates
    if source is None or "truth" not in source:
        return None
    return source[source["estimand"] != "*"].groupby(["scenario", "estimand"])["truth"].first()


#: Characters per line of a panel heading (three panels side by side at fontsize 9).
HEADING_WIDTH = 48


def _heading(estimand: str, scenarios: Sequence[str], labels: Mapping[str, str] | None,
             truths: pd.Series | None) -> str:
    """``"<readable estimand> (true HR 0.51)"``: the HR as the spec prints it, a range if the panel has several."""
    name = (labels or {}).get(estimand) or estimand_label(estimand)
    if truths is None:
        return textwrap.fill(name, HEADING_WIDTH)
    keys = pd.MultiIndex.from_tuples([(s, estimand) for s in dict.fromkeys(scenarios)])
    values = truths.reindex(keys).to_numpy(float)
    shown = sorted({f"{np.exp(v):.2f}" for v in values[np.isfinite(values)]}, key=float)
    if not shown:
        text = f"{name} (no single true HR)"
    else:
        text = f"{name} (true HR {shown[0]})" if len(shown) == 1 else f"{name} (true HR {shown[0]} to {shown[-1]})"
    return textwrap.fill(text, HEADING_WIDTH)  # a long arm name would run into the next panel's title


def _is_proportion(measure: pd.Series) -> np.ndarray:
    return (measure.isin(PROPORTIONS) | measure.str.startswith("failed_")).to_numpy()


def _denominators(rows: pd.DataFrame, performance: pd.DataFrame) -> np.ndarray:
    """The number of trials behind each proportion (see the module docstring)."""
    p, se = rows["estimate"].to_numpy(float), rows["mcse"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        from_se = np.round(p * (1 - p) / se**2)
    exact = np.isfinite(from_se) & (se > 0) & (p > 0) & (p < 1)
    replicates = rows["replicates"].to_numpy(float)
    failures = performance[performance["measure"] == "failures"].set_index(["scenario", "method", "estimand"])
    keys = pd.MultiIndex.from_frame(rows[["scenario", "method", "estimand"]])
    failed = failures["estimate"].reindex(keys).fillna(0.0).to_numpy(float) if len(failures) else 0.0
    over_all = (rows["measure"].isin(_OVER_ALL) | rows["measure"].str.startswith("failed_")).to_numpy()
    return np.where(exact, from_se, np.where(over_all, replicates, np.round(replicates * (1 - failed))))


def _interval(rows: pd.DataFrame, performance: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """95% intervals: Wilson for proportions, +/- 1.96 MCSE for the rest."""
    estimate, mcse = rows["estimate"].to_numpy(float), rows["mcse"].fillna(0).to_numpy(float)
    low, high = estimate - Z95 * mcse, estimate + Z95 * mcse
    share = _is_proportion(rows["measure"])
    if share.any():
        w_low, w_high = wilson_interval(estimate, _denominators(rows, performance))
        low, high = np.where(share, w_low, low), np.where(share, w_high, high)
    return low, high


def _dodge(sizes: Sequence[float], k: int) -> np.ndarray:
    """Multiplicative x offsets of k methods on a log n axis: they share half the gap between neighbouring n."""
    logs = np.log10(np.asarray(sizes, dtype=float))
    gap = float(np.min(np.diff(logs))) if len(logs) > 1 else 0.5
    return 10 ** (0.5 * gap / max(k, 1) * (np.arange(k) - (k - 1) / 2))


def _n_axis(ax: Axes, sizes: Sequence[int]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("n (log scale)")


def _draw(ax: Axes, rows: pd.DataFrame, measure: str, performance: pd.DataFrame, methods: list[str],
          sizes: list[int]) -> None:
    """One errorbar line per method, dodged along n; ``gid`` is ``"<measure>:<method>"``."""
    picked = rows[rows["measure"] == measure]
    offsets = _dodge(sizes, len(methods))
    for j, method in enumerate(methods):
        group = picked[picked["method"] == method].sort_values("n")
        if group.empty:
            continue
        low, high = _interval(group, performance)
        y = group["estimate"].to_numpy(float)
        error = np.vstack([np.maximum(y - low, 0), np.maximum(high - y, 0)])
        ax.errorbar(group["n"].to_numpy(float) * offsets[j], y, yerr=error, marker="o", ms=4, capsize=3,
                    color=f"C{j % 10}", label=method, gid=f"{measure}:{method}")
    _n_axis(ax, sizes)


def _share_axis(ax: Axes) -> None:
    """Keep a proportion's axis inside [0, 1] (plus a margin for the markers)."""
    low, high = ax.get_ylim()
    ax.set_ylim(max(low, -0.02), min(high, 1.02))


def _methods(table: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(table["method"]))


def plot_bias_coverage(
    performance: pd.DataFrame,
    estimands: list[str],
    path: str | Path | None = None,
    *,
    ax: AxesArg = None,
    labels: Mapping[str, str] | None = None,
    replicates: pd.DataFrame | None = None,
) -> Figure | None:
    """Bias (+/- 1.96 MCSE) and coverage (95% Wilson interval) of the chosen estimands against n.

    One row of two panels (bias, coverage) per estimand and variant of the grid, titled with
    the estimand's readable name and its true HR; one line per method, dodged along n.

    Parameters
    ----------
    performance : pandas.DataFrame
        :func:`~necml.simulation.performance_table` (optionally with a ``truth`` column).
    estimands : list of str
        Estimands to show, in this order; those without a bias (no single true value) are left out.
    path : str or pathlib.Path, optional
        Write the figure there as a PNG (atomically).
    ax : matplotlib.axes.Axes or sequence of Axes, optional
        Two axes per row, row by row (bias, coverage, bias, coverage, ...); a new figure when omitted.
    labels : mapping of str to str, optional
        Estimand -> display name (e.g. :func:`estimand_labels`); :func:`estimand_label` otherwise.
    replicates : pandas.DataFrame, optional
        The replicate table, for the true values in the titles.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure drawn on; None (nothing drawn or written) when no estimand has a bias.
    """
    table = performance[performance["estimand"].isin(estimands)]
    panels = _estimand_panels(table, estimands, "bias")
    if not panels:
        return None
    methods, sizes, truths = _methods(table), sorted(table["n"].unique()), _truths(performance, replicates)
    fig, axes, _ = _grid(ax, len(panels), 2, (11, 3.7 * len(panels)), "bias and coverage per estimand and variant")
    for panel, (left, right) in zip(panels, axes, strict=True):
        heading = _heading(panel.estimand, panel.rows["scenario"], labels, truths) + panel.suffix
        _draw(left, panel.rows, "bias", performance, methods, sizes)
        left.axhline(0, color="grey", linewidth=1)
        left.set(ylabel="bias (+/- 1.96 MCSE)")
        left.set_title(f"{heading}\nbias of the log-HR", fontsize=9)
        _draw(right, panel.rows, "coverage", performance, methods, sizes)
        right.axhline(0.95, color="grey", linewidth=1, linestyle="--")
        right.set(ylabel="coverage (95% Wilson interval)")
        right.set_title(f"{heading}\ncoverage of the 95% CI", fontsize=9)
        _share_axis(right)
    axes[0, 1].legend(fontsize=7, loc="best")
    save_png(fig, path)
    return fig


_POWER_COLUMNS = {
    "power": ("power (converged fits)", "power (95% Wilson interval)"),
    "power_all": ("power_all (a failed fit counts as not rejecting)", "power_all (95% Wilson interval)"),
    "failures": ("failed fits (share of all replicates)", "failed fits (95% Wilson interval)"),
}


def plot_power(
    performance: pd.DataFrame,
    estimands: list[str],
    path: str | Path | None = None,
    *,
    ax: AxesArg = None,
    labels: Mapping[str, str] | None = None,
    replicates: pd.DataFrame | None = None,
) -> Figure | None:
    """Power, ``power_all`` and the share of failed fits of the chosen estimands against n.

    One row per estimand and variant of the grid, titled with the estimand's readable name and
    its true HR; its panels, left to right: ``power`` (rejection rate at alpha among the
    converged fits), ``power_all`` (a failed fit counts as not rejecting; where the table has
    it) and the share of replicates whose fit failed (``failures``; where the table has it),
    one line per method, dodged along n, with 95% Wilson intervals.

    Parameters
    ----------
    performance : pandas.DataFrame
        :func:`~necml.simulation.performance_table` (optionally with a ``truth`` column).
    estimands : list of str
        Estimands to show, in this order.
    path : str or pathlib.Path, optional
        Write the figure there as a PNG (atomically).
    ax : matplotlib.axes.Axes or sequence of Axes, optional
        One axes per panel, row by row; a new figure when omitted.
    labels : mapping of str to str, optional
        Estimand -> display name (e.g. :func:`estimand_labels`); :func:`estimand_label` otherwise.
    replicates : pandas.DataFrame, optional
        The replicate table, for the true values in the titles.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure drawn on; None (nothing drawn or written) when no estimand has a power.
    """
    table = performance[performance["estimand"].isin(estimands)]
    panels = _estimand_panels(table, estimands, "power")
    if not panels:
        return None
    columns = [m for m in _POWER_COLUMNS if (table["measure"] == m).any()]
    methods, sizes, truths = _methods(table), sorted(table["n"].unique()), _truths(performance, replicates)
    fig, axes, _ = _grid(ax, len(panels), len(columns), (4.6 * len(columns), 3.5 * len(panels)),
                         f"{', '.join(columns)} per estimand and variant")
    for panel, row in zip(panels, axes, strict=True):
        heading = _heading(panel.estimand, panel.rows["scenario"], labels, truths) + panel.suffix
        for measure, panel_ax in zip(columns, row, strict=True):
            title, ylabel = _POWER_COLUMNS[measure]
            _draw(panel_ax, panel.rows, measure, performance, methods, sizes)
            if measure != "failures":
                panel_ax.axhline(0.8, color="grey", linewidth=1, linestyle="--")
                panel_ax.set_ylim(-0.02, 1.02)
            else:
                _share_axis(panel_ax)
            panel_ax.set(ylabel=ylabel)
            panel_ax.set_title(f"{heading}\n{title}", fontsize=9)
    axes[0, 0].legend(fontsize=7, loc="best")
    save_png(fig, path)
    return fig


def plot_cindex(replicates: pd.DataFrame, path: str | Path | None = None, *, ax: AxesArg = None) -> Figure | None:
    """Validated Harrell C per model and n (boxplots), true C as crosses; one panel per variant.

    Parameters
    ----------
    replicates : pandas.DataFrame
        The replicate table (rows of estimand ``cindex_harrell``).
    path : str or pathlib.Path, optional
        Write the figure there as a PNG (atomically).
    ax : matplotlib.axes.Axes or sequence of Axes, optional
        One axes per variant of the grid; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure drawn on; None (nothing drawn or written) without a converged C.
    """
    rows = replicates[(replicates["estimand"] == "cindex_harrell") & replicates["converged"].astype(bool)]
    if rows.empty:
        return None
    panels = _panels(rows)
    sizes = sorted(rows["n"].unique())
    methods = list(dict.fromkeys(rows["method"]))
    width = max(6, 1.2 * len(sizes) * len(methods))
    fig, axes, _ = _grid(ax, len(panels), 1, (width, 4 * len(panels)), "one per variant")
    for panel_ax, (suffix, panel) in zip(axes[:, 0], panels, strict=True):
        _cindex_panel(panel_ax, panel, sizes, methods)
        panel_ax.set_title("Validated C by model and n" + suffix)
    save_png(fig, path)
    return fig


def _cindex_panel(ax: Axes, rows: pd.DataFrame, sizes: list, methods: list[str]) -> None:
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


def plot_zip(
    replicates: pd.DataFrame,
    estimand: str,
    path: str | Path | None = None,
    *,
    max_panels: int = 16,
    ax: AxesArg = None,
    labels: Mapping[str, str] | None = None,
) -> Figure | None:
    """Zip plot of the 95% CIs of one estimand (Morris, White & Crowther 2019, Fig. 4).

    One panel per method (columns) and scenario (rows). Each replicate's CI is a horizontal line
    at the fractional centile of its ``|z| = |estimate - truth| / se``, so the CIs that miss the
    truth collect at the top; blue covers, red misses. The dashed line is 95%, the band the
    coverage's 95% Wilson interval (where the red CIs begin).

    Parameters
    ----------
    replicates : pandas.DataFrame
        The replicate table.
    estimand : str
        The estimand (its converged rows with a known truth and a CI are drawn).
    path : str or pathlib.Path, optional
        Write the figure there as a PNG (atomically).
    max_panels : int, default=16
        At most this many panels: the first scenarios, all methods.
    ax : matplotlib.axes.Axes or sequence of Axes, optional
        One axes per scenario and method, scenario by scenario (methods in the table's order); a
        new figure, titled with the estimand, when omitted (given axes get no figure title).
    labels : mapping of str to str, optional
        Estimand -> display name for the figure title; :func:`estimand_label` otherwise.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure drawn on; None (nothing drawn or written) when no replicate qualifies.
    """
    rows = replicates[(replicates["estimand"] == estimand) & replicates["converged"].fillna(False).astype(bool)]
    rows = rows[np.isfinite(rows["truth"].astype(float)) & rows["ci_low"].notna() & rows["ci_high"].notna()]
    if rows.empty:
        return None
    scenarios = list(dict.fromkeys(rows["scenario"]))
    methods = list(dict.fromkeys(rows["method"]))
    scenarios = scenarios[: max(1, max_panels // len(methods))]
    fig, axes, new = _grid(ax, len(scenarios), len(methods), (2.6 * len(methods), 2.4 * len(scenarios)),
                           f"{len(scenarios)} scenarios x {len(methods)} methods")
    for i, scenario in enumerate(scenarios):
        for j, method in enumerate(methods):
            _zip_panel(axes[i, j], rows[(rows["scenario"] == scenario) & (rows["method"] == method)])
            axes[i, j].set_title(f"{method}\n{scenario}", fontsize=7)
    if new:
        fig.suptitle(f"Zip plot of the 95% CIs: {(labels or {}).get(estimand) or estimand_label(estimand)}")
    save_png(fig, path)
    return fig


def _zip_panel(ax: Axes, rows: pd.DataFrame) -> None:
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
    band_low, band_high = wilson_interval(covers.mean(), len(covers))
    ax.axhline(95, color="grey", linestyle="--", linewidth=0.8)
    ax.axhspan(100 * float(band_low), 100 * float(band_high), color="gold", alpha=0.4, gid="coverage-band")
    ax.set_ylim(0, 100)
    ax.tick_params(labelsize=6)
    ax.set_ylabel("centile of |z|", fontsize=7)


_NESTED_ORDER = ("departure", "censoring", "effect_scale", "n")


def plot_nested_loop(
    performance: pd.DataFrame,
    estimand: str,
    measures: list[str],
    path: str | Path | None = None,
    *,
    ax: AxesArg = None,
    labels: Mapping[str, str] | None = None,
) -> Figure | None:
    """Nested-loop plot over the whole grid (Ruecker & Schwarzer 2014), one panel per measure.

    The scenarios run along x, nested as departure > censoring > effect scale > n; each method's
    measure is a step line with its 95% interval as a band (Wilson for proportions, +/- 1.96
    MCSE otherwise); the grid's parameters are drawn as step lines in a strip below the lowest
    panel, so every scenario can be read off.

    Parameters
    ----------
    performance : pandas.DataFrame
        :func:`~necml.simulation.performance_table`.
    estimand : str
        The estimand.
    measures : list of str
        Measures, top to bottom (those the table lacks are left out).
    path : str or pathlib.Path, optional
        Write the figure there as a PNG (atomically).
    ax : sequence of Axes, optional
        One axes per shown measure, then one for the parameter strip (given axes are not made to
        share x); a new figure when omitted.
    labels : mapping of str to str, optional
        Estimand -> display name for the title; :func:`estimand_label` otherwise.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure drawn on; None (nothing drawn or written) when the table has none of ``measures``.
    """
    table = performance[(performance["estimand"] == estimand) & performance["measure"].isin(measures)]
    if table.empty:
        return None
    axes_used = [a for a in _NESTED_ORDER if table[a].nunique() > 1] or ["n"]
    grid = table.drop_duplicates("scenario").sort_values(axes_used, kind="stable")
    position = {s: i for i, s in enumerate(grid["scenario"])}
    shown = [m for m in measures if (table["measure"] == m).any()]
    size = (max(6.0, 0.35 * len(grid) + 3), 2.6 * len(shown) + 0.5 * len(axes_used))
    heights = [3] * len(shown) + [0.6 * len(axes_used)]
    _, grid_axes, new = _grid(ax, len(shown) + 1, 1, size, f"{len(shown)} measures, then the parameter strip",
                              **{"sharex": True, "gridspec_kw": {"height_ratios": heights}})
    axes = list(grid_axes[:, 0])
    x = np.arange(len(grid) + 1)
    for panel_ax, measure in zip(axes[:-1], shown, strict=True):
        for k, (method, rows) in enumerate(table[table["measure"] == measure].groupby("method", sort=False)):
            rows = rows.assign(x=rows["scenario"].map(position)).sort_values("x")
            at = rows["x"].to_numpy(int)
            y, low, high = (np.full(len(grid), np.nan) for _ in range(3))
            y[at] = rows["estimate"].to_numpy(float)
            low[at], high[at] = _interval(rows, performance)
            panel_ax.stairs(y, x, color=f"C{k}", label=method, baseline=None, linewidth=1.5)
            panel_ax.stairs(high, x, baseline=low, fill=True, color=f"C{k}", alpha=0.15, gid=f"band:{method}")
        reference = {"coverage": 0.95, "be_coverage": 0.95, "power": 0.8, "power_all": 0.8, "type_m": 1.0}
        panel_ax.axhline(reference.get(measure, 0.0), color="grey", linestyle="--", linewidth=0.8)
        panel_ax.set_ylabel(measure)
        panel_ax.legend(fontsize=7, ncols=3)
    _parameter_lines(axes[-1], grid, axes_used, x)
    axes[0].set_title(f"Nested-loop plot: {(labels or {}).get(estimand) or estimand_label(estimand)}")
    fig = axes[0].figure
    save_png(fig, path)
    return fig


def _parameter_lines(ax: Axes, grid: pd.DataFrame, axes_used: list[str], x: np.ndarray) -> None:
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


def plot_bias_forest(
    performance: pd.DataFrame,
    estimands: list[str],
    path: str | Path | None = None,
    *,
    ax: AxesArg = None,
    labels: Mapping[str, str] | None = None,
    replicates: pd.DataFrame | None = None,
) -> Figure | None:
    """Lollipop (forest) plot of the bias, +/- 1.96 MCSE, per method and scenario; a panel per estimand.

    Parameters
    ----------
    performance : pandas.DataFrame
        :func:`~necml.simulation.performance_table` (optionally with a ``truth`` column).
    estimands : list of str
        Estimands, left to right (those without a bias are left out).
    path : str or pathlib.Path, optional
        Write the figure there as a PNG (atomically).
    ax : matplotlib.axes.Axes or sequence of Axes, optional
        One axes per shown estimand; a new figure when omitted.
    labels : mapping of str to str, optional
        Estimand -> display name (e.g. :func:`estimand_labels`); :func:`estimand_label` otherwise.
    replicates : pandas.DataFrame, optional
        The replicate table, for the true values in the titles.

    Returns
    -------
    matplotlib.figure.Figure or None
        The figure drawn on; None (nothing drawn or written) when no estimand has a bias.
    """
    table = performance[(performance["measure"] == "bias") & performance["estimand"].isin(estimands)]
    if table.empty:
        return None
    shown = [e for e in dict.fromkeys(estimands) if (table["estimand"] == e).any()]
    truths = _truths(performance, replicates)
    rows_per = max(len(table[table["estimand"] == e]) for e in shown)
    fig, axes, _ = _grid(ax, 1, len(shown), (5 * len(shown), max(3.0, 0.22 * rows_per + 1)), "one per estimand")
    for panel_ax, estimand in zip(axes[0], shown, strict=True):
        rows = table[table["estimand"] == estimand].iloc[::-1]
        y = np.arange(len(rows))
        methods = list(dict.fromkeys(rows["method"]))
        colors = [f"C{methods.index(m) % 10}" for m in rows["method"]]
        panel_ax.hlines(y, 0, rows["estimate"], color=colors, linewidth=1)
        for method in methods:
            mine = (rows["method"] == method).to_numpy()
            color = f"C{methods.index(method) % 10}"
            panel_ax.errorbar(rows["estimate"][mine], y[mine], xerr=Z95 * rows["mcse"][mine].fillna(0), fmt="o",
                              color=color, markersize=3.5, capsize=2, label=method)
        panel_ax.legend(fontsize=7)
        panel_ax.axvline(0, color="grey", linewidth=1)
        panel_ax.set_yticks(y, [f"{m} | {s}" for m, s in zip(rows["method"], rows["scenario"], strict=True)],
                            fontsize=6)
        panel_ax.set_xlabel("bias (+/- 1.96 MCSE)")
        panel_ax.set_title(f"Bias of the log-HR: {_heading(estimand, rows['scenario'], labels, truths)}", fontsize=9)
    save_png(fig, path)
    return fig
