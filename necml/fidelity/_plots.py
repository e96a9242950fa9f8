"""Kaplan-Meier curves per arm with the published medians marked; a dot plot per report section."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from necml.files import save_png
from necml.spec import CohortSpec

__all__ = ["DOT_LIMIT", "plot_fidelity_dots", "plot_km_against_published"]

#: Differences beyond this many tolerances are drawn at the edge of the dot plot.
DOT_LIMIT = 4.0


def _axes(ax: Axes | Sequence[Axes] | None, count: int, what: str) -> list[Axes]:
    axes = [ax] if isinstance(ax, Axes) else list(ax)
    if len(axes) != count:
        raise ValueError(f"ax must hold {count} axes ({what}), but got {len(axes)}")
    return axes


def plot_km_against_published(
    frame: pd.DataFrame,
    spec: CohortSpec,
    path: str | Path | None = None,
    *,
    ax: Sequence[Axes] | None = None,
) -> Figure:
    """Plot PFS and OS Kaplan-Meier curves per arm; mark each published median.

    Parameters
    ----------
    frame : pandas.DataFrame
        A synthetic cohort.
    spec : CohortSpec
        Its specification.
    path : str or pathlib.Path, optional
        Also write the figure there as a PNG (atomically).
    ax : sequence of two Axes, optional
        The PFS and the OS panel; a new figure (titled with the spec's title) when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.

    Raises
    ------
    ValueError
        When ``ax`` does not hold two axes.
    """
    if ax is None:
        fig = Figure(figsize=(11, 4.2), layout="constrained")
        axes = list(fig.subplots(1, 2, sharey=True))
        fig.suptitle(spec.title, fontsize=10)
    else:
        axes = _axes(ax, 2, "PFS, OS")
    arm_col = frame["arm"].astype(str)
    colours = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
    for panel, ep in zip(axes, ("pfs", "os"), strict=True):
        for i, arm in enumerate(spec.arm_names):
            sub = frame[arm_col == arm]
            km = KaplanMeierFitter(
                label=f"{spec.arms[arm].label}: synthetic n = {len(sub)} (published n = {spec.arms[arm].n})"
            )
            km.fit(sub[f"{ep}_months"], sub[f"{ep}_event"])
            km.plot_survival_function(ax=panel, ci_show=False, color=colours[i])
            target = spec.outcomes[ep].arms[arm]
            panel.axvline(target.median, color=colours[i], ls="--", lw=0.8)
            panel.plot([target.median], [0.5], marker="o", mfc="white", color=colours[i], gid="published-median")
            if target.ci is not None and target.ci_kind == "ci95":
                panel.hlines(0.5, *target.ci, color=colours[i], lw=3, alpha=0.35)
        panel.axhline(0.5, color="grey", lw=0.5)
        panel.set_title(f"{ep.upper()}: synthetic KM; circles and bars = published median (95% CI)")
        panel.set_xlabel("months")
        panel.title.set_fontsize(9)
        panel.legend(fontsize=8)
    axes[0].set_ylabel("survival probability")
    fig = axes[0].figure
    save_png(fig, path)
    return fig


def _dot_label(row: pd.Series) -> str:
    return f"{row['arm']} | {row['item']} {row['statistic']}: {row['published']:.4g} vs {row['synthetic']:.4g}"


def _dot_panel(ax: Axes, rows: pd.DataFrame, title: str) -> None:
    y = np.arange(len(rows))[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = ((rows["synthetic"] - rows["published"]) / rows["tolerance"]).to_numpy(float)
    z = np.where(rows["tolerance"].to_numpy(float) > 0, z, 0.0)
    shown = np.clip(z, -DOT_LIMIT, DOT_LIMIT)
    within = rows["within"].to_numpy(bool)
    ax.axvspan(-1, 1, color="#2ca02c", alpha=0.12, lw=0)
    ax.axvline(0, color="grey", lw=0.8)
    ax.plot(np.zeros(len(rows)), y, "o", mfc="white", color="black", ms=5, label="published", gid="published")
    ax.plot(shown[within], y[within], "o", color="#2ca02c", ms=5, label="synthetic, within tolerance",
            gid="synthetic-within")
    ax.plot(shown[~within], y[~within], "o", color="#d62728", ms=5, label="synthetic, outside tolerance",
            gid="synthetic-outside")
    ax.set_yticks(y, [_dot_label(r) for _, r in rows.iterrows()], fontsize=7)
    ax.set_xlim(-DOT_LIMIT - 0.3, DOT_LIMIT + 0.3)
    ax.set_ylim(-0.8, len(rows) - 0.2)
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_xlabel("(synthetic - published) / tolerance (shaded: within; clipped at +-4)", fontsize=8)


def plot_fidelity_dots(
    table: pd.DataFrame,
    *,
    published_n: Mapping[str, int],
    synthetic_n: Mapping[str, int],
    ax: Axes | Sequence[Axes] | None = None,
    path: str | Path | None = None,
) -> Figure:
    """One dot plot per section: each published statistic beside its synthetic value.

    A row is one statistic of one arm; the published value sits at 0 and the synthetic value at
    its difference in units of the row's tolerance (the Monte-Carlo SE at the synthetic n times
    ``K_SE``, plus half the last printed digit), so rows on different scales share one axis;
    the row label prints both values. Each panel's title says which n is which.

    Parameters
    ----------
    table : pandas.DataFrame
        :meth:`FidelityReport.table` (``section, arm, item, statistic, published, synthetic,
        tolerance, within``).
    published_n, synthetic_n : mapping of str to int
        Patients per arm in the paper and in the synthetic cohort.
    ax : matplotlib.axes.Axes or sequence of Axes, optional
        One axes per section (in the table's order); a new figure when omitted.
    path : str or pathlib.Path, optional
        Also write the figure there as a PNG (atomically).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.

    Raises
    ------
    ValueError
        When ``ax`` does not hold one axes per section.
    """
    sections = list(dict.fromkeys(table["section"]))
    sizes = [int((table["section"] == s).sum()) for s in sections]
    if ax is None:
        fig = Figure(figsize=(9.5, 0.17 * sum(sizes) + 1.1 * len(sections)), layout="constrained")
        axes = list(np.atleast_1d(fig.subplots(len(sections), 1, height_ratios=[s + 4 for s in sizes])))
    else:
        axes = _axes(ax, len(sections), "one per section")
    counts = "; ".join(f"{arm}: published n = {published_n[arm]}, synthetic n = {synthetic_n.get(arm, 0)}"
                       for arm in published_n)
    counts += "; 'all' rows: the whole cohort"
    for panel, section in zip(axes, sections, strict=True):
        rows = table[table["section"] == section].reset_index(drop=True)
        _dot_panel(panel, rows, f"{section}\n{counts}")
    axes[0].legend(loc="lower right", fontsize=7, bbox_to_anchor=(1.0, 1.02), ncols=3, frameon=False)
    save_png(axes[0].figure, path)
    return axes[0].figure
