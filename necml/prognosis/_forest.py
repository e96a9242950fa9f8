"""Forest plots of Cox tables in the layout journals expect (gtsummary / forestplot).

Rows are grouped by covariate: a categorical covariate gets a header row, its reference level
marked "(ref.)" and one row per other level; a binary or continuous covariate gets one row.
Each row carries n/events: the patients with that level (a binary covariate: with the value 1;
a continuous one: all) and their events, counted on the complete cases the multivariate fit
used (the patients with every model covariate observed), so the counts of a covariate add up
to the fit's n. Each panel (univariate beside multivariate) has the HR (95% CI) and p columns
beside a log axis ticked 0.25, 0.5, 1, 2, 4. Where patients were left out for missing values,
a note under the n/events column says how many the counts cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from necml.dataset import SurvivalData
from necml.prognosis._cox import per_unit
from necml.prognosis._format import format_hr, format_p
from necml.prognosis._plots import log_hr_axis, readable, save_figure

__all__ = ["forest_rows", "plot_forest"]

_COLUMNS = ["label", "kind", "term", "n", "events"]


def _row(label: str, kind: str, term: str | None, n: float, events: float) -> dict[str, object]:
    return {"label": label, "kind": kind, "term": term, "n": n, "events": events}


def _covariate_rows(name: str, data: SurvivalData, complete: np.ndarray) -> list[dict[str, object]]:
    """The rows of one covariate, n/events counted among the ``complete`` patients."""
    column, event, kind = data.X[name], data.event, data.types[name].type
    if kind == "categorical":
        levels = list(column.cat.categories) if isinstance(column.dtype, pd.CategoricalDtype) else sorted(
            column.dropna().unique())
        rows = [_row(readable(name), "header", None, np.nan, np.nan)]
        for i, level in enumerate(levels):
            mask = (column == level).to_numpy() & complete
            rows.append(_row(f"{readable(level)} (ref.)" if i == 0 else readable(level), "ref" if i == 0 else "level",
                             None if i == 0 else f"{name}[{level}]", mask.sum(), event[mask].sum()))
        return rows
    mask = ((column == 1).to_numpy() if kind == "binary" else column.notna().to_numpy()) & complete
    term = per_unit(name, data)[1]
    return [_row(readable(term), "term", term, mask.sum(), event[mask].sum())]


def forest_rows(table: pd.DataFrame, data: SurvivalData | None = None) -> pd.DataFrame:
    """The rows of a forest plot: covariate headers, reference levels and terms, with n/events.

    Parameters
    ----------
    table : pandas.DataFrame
        A Cox table (column ``term``; ``n`` and ``events`` are used without ``data``).
    data : SurvivalData, optional
        The analysed data: groups categorical levels under their covariate, adds the reference
        rows and counts n/events per level on the complete cases (the patients with every
        covariate of ``data`` observed: those of the multivariate fit). Without it, one row per
        term of ``table``, with the table's ``n`` and ``events``.

    Returns
    -------
    pandas.DataFrame
        Columns ``label, kind, term, n, events``; ``kind`` is ``"header"``, ``"ref"``, ``"level"``
        (a categorical level) or ``"term"`` (``term`` names the row of a Cox table, None for headers and references).
    """
    if data is None:
        return pd.DataFrame([_row(readable(t), "term", t, n, e) for t, n, e in
                             zip(table["term"], table.get("n", np.nan), table.get("events", np.nan), strict=False)],
                            columns=_COLUMNS)
    complete = data.complete
    return pd.DataFrame([r for name in data.types for r in _covariate_rows(name, data, complete)], columns=_COLUMNS)


def _lookup(table: pd.DataFrame, term: str | None) -> pd.Series | None:
    if term is None:
        return None
    hit = table[table["term"] == term]
    return None if hit.empty else hit.iloc[0]


def _hr_text(row: pd.Series | None, kind: str) -> tuple[str, str]:
    if kind == "ref":
        return "1 (ref.)", ""
    if row is None:
        return "", ""
    if not np.isfinite(row["hr"]):
        return f"NA ({str(row.get('note', '')).split(':')[0] or 'not estimable'})", ""
    return format_hr(row["hr"], row["ci_low"], row["ci_high"]), format_p(row["p"])


def _panel(ax: Axes, rows: pd.DataFrame, table: pd.DataFrame, title: str) -> None:
    y = np.arange(len(rows))[::-1].astype(float)
    found = [_lookup(table, term) for term in rows["term"]]
    values = np.array([[r["hr"], r["ci_low"], r["ci_high"]] if r is not None else [np.nan] * 3 for r in found],
                      dtype=float).reshape(-1, 3)
    ok = np.isfinite(values).all(axis=1) & (values > 0).all(axis=1)
    ax.hlines(y[ok], values[ok, 1], values[ok, 2], color="black", lw=1.2)
    ax.plot(values[ok, 0], y[ok], "s", color="black", ms=5, gid="hr")
    refs = (rows["kind"] == "ref").to_numpy()
    ax.plot(np.ones(refs.sum()), y[refs], "D", mfc="white", color="grey", ms=4, gid="ref")
    ax.axvline(1.0, color="grey", ls="--", lw=0.8)
    shown = values[ok] if ok.any() else np.array([[1.0, 1.0, 1.0]])
    log_hr_axis(ax, float(np.min(shown[:, 1])), float(np.max(shown[:, 2])))
    ax.set_ylim(-0.7, len(rows) + 0.2)
    ax.set_xlabel("hazard ratio (95% CI), log scale", fontsize=8)
    ax.set_title(title, fontsize=9, fontweight="bold", loc="left")
    top = len(rows) - 0.3
    for text, dx in (("HR (95% CI)", 8), ("p", 118)):
        ax.annotate(text, xy=(1, top), xycoords=("axes fraction", "data"), xytext=(dx, 0),
                    textcoords="offset points", fontsize=8, fontweight="bold", va="bottom")
    for yi, row, kind in zip(y, found, rows["kind"], strict=True):
        hr_text, p_text = _hr_text(row, kind)
        for text, dx in ((hr_text, 8), (p_text, 118)):
            ax.annotate(text, xy=(1, yi), xycoords=("axes fraction", "data"), xytext=(dx, 0),
                        textcoords="offset points", fontsize=8, va="center", gid="column")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


def _complete_note(ax: Axes, data: SurvivalData) -> None:
    """Under the n/events column: whom the counts cover, when missing values left patients out."""
    complete = data.complete
    if complete.all():
        return
    ax.annotate(f"n/events: complete cases,\n{int(complete.sum())} of {len(complete)} patients",
                xy=(0, 0), xycoords="axes fraction", xytext=(-8, -22), textcoords="offset points",
                fontsize=7, ha="right", va="top", gid="n-events-note")


def _label_column(ax: Axes, rows: pd.DataFrame) -> None:
    y = np.arange(len(rows))[::-1].astype(float)
    ax.set_yticks(y, ["    " + lbl if kind in ("ref", "level") else lbl
                      for lbl, kind in zip(rows["label"], rows["kind"], strict=True)], fontsize=8)
    ax.tick_params(axis="y", length=0, pad=64)
    for tick, kind in zip(ax.get_yticklabels(), rows["kind"], strict=True):
        tick.set_fontweight("bold" if kind == "header" else "normal")
    ax.annotate("n/events", xy=(0, len(rows) - 0.3), xycoords=("axes fraction", "data"), xytext=(-8, 0),
                textcoords="offset points", fontsize=8, fontweight="bold", ha="right", va="bottom")
    for yi, n, e in zip(y, rows["n"], rows["events"], strict=True):
        if np.isfinite(n):
            ax.annotate(f"{int(n)}/{int(e)}", xy=(0, yi), xycoords=("axes fraction", "data"), xytext=(-8, 0),
                        textcoords="offset points", fontsize=8, ha="right", va="center", gid="n-events")


def plot_forest(
    multivariate: pd.DataFrame,
    *,
    univariate: pd.DataFrame | None = None,
    data: SurvivalData | None = None,
    ax: Axes | Sequence[Axes] | None = None,
    title: str = "",
    path: str | Path | None = None,
) -> Figure:
    """A forest plot with its table: labels, n/events, HR (95% CI) and p, per panel.

    Parameters
    ----------
    multivariate : pandas.DataFrame
        A Cox table (columns ``term, hr, ci_low, ci_high, p``; :data:`~necml.prognosis.COX_COLUMNS`).
    univariate : pandas.DataFrame, optional
        The univariate table of the same terms, drawn in a panel left of the multivariate one.
    data : SurvivalData, optional
        The analysed data, for covariate groups, "(ref.)" rows and n/events per level, counted
        on the complete cases of the multivariate fit (see :func:`forest_rows`; the univariate
        fits' own n is the univariate table's ``n``).
    ax : matplotlib.axes.Axes or sequence of Axes, optional
        One axes per panel (two with ``univariate``: univariate, multivariate); the label and
        n/events columns are drawn left of the first, the HR and p columns right of each. A new
        figure when omitted.
    title : str, default=""
        Figure title (on the axes' figure).
    path : str or pathlib.Path, optional
        Also write the figure there as a PNG (atomically; :func:`~necml.prognosis.save_figure`).

    Returns
    -------
    matplotlib.figure.Figure
        The figure of the axes.

    Raises
    ------
    ValueError
        When ``ax`` does not hold one axes per panel.
    """
    tables = [("Univariate", univariate), ("Multivariate", multivariate)] if univariate is not None else [
        ("Multivariate", multivariate)]
    rows = forest_rows(multivariate if univariate is None else univariate, data)
    if ax is None:
        width = 3.6 + 4.4 * len(tables)
        fig = Figure(figsize=(width, 0.3 * len(rows) + 1.6))
        axes = list(np.atleast_1d(fig.subplots(1, len(tables), sharey=True)))
        fig.subplots_adjust(left=2.9 / width, right=1 - 2.0 / width, wspace=2.3 / 2.4,
                            top=1 - 0.5 / (0.3 * len(rows) + 1.6))
    else:
        axes = [ax] if isinstance(ax, Axes) else list(ax)
        if len(axes) != len(tables):
            raise ValueError(f"ax must hold {len(tables)} axes (one per panel), but got {len(axes)}")
    for panel_ax, (name, table) in zip(axes, tables, strict=True):
        _panel(panel_ax, rows, table, name)
    _label_column(axes[0], rows)
    if data is not None:
        _complete_note(axes[0], data)
    for other in axes[1:]:
        other.tick_params(axis="y", left=False, labelleft=False)
    if title:
        axes[0].figure.suptitle(title, fontsize=10, x=0.02, ha="left")
    if path is not None:
        save_figure(axes[0].figure, path)
    return axes[0].figure
