"""Proportional-hazards violations: which terms ``cox.zph`` flags, and their Schoenfeld residual plots.

A term is flagged when its ``ph_p`` (the score test of current ``cox.zph``, see
``docs/conventions.md``) is below 0.05. Its plot is R's ``plot(cox.zph(fit))``: the scaled
Schoenfeld residuals beta_j + D (r_k V)_j of each death k (r_k = x of the death minus the Efron
risk-set mean, averaged over the deaths tied with it, as R's ``coxph.detail``; V the inverse
information at beta, D the number of deaths) against the death
time, with a lowess smooth. A flat smooth at beta_j is what proportional hazards predict; the
smooth shows how the log-HR drifts over follow-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from necml.dataset import SurvivalData
from necml.prognosis._cox import _design
from necml.prognosis._format import p_statement
from necml.prognosis._plots import readable, save_figure
from necml.prognosis._zph import _groups, _information

__all__ = ["PH_ALPHA", "plot_schoenfeld", "ph_violations", "scaled_schoenfeld"]

#: ``ph_p`` below this flags a term.
PH_ALPHA = 0.05


def ph_violations(table: pd.DataFrame, *, alpha: float = PH_ALPHA) -> pd.DataFrame:
    """The rows of a Cox table whose proportional-hazards test ``ph_p`` is below ``alpha``."""
    ph = pd.to_numeric(table["ph_p"], errors="coerce")
    return table[ph.lt(alpha)].reset_index(drop=True)


def scaled_schoenfeld(
    X: np.ndarray, time: np.ndarray, event: np.ndarray, beta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Scaled Schoenfeld residuals (Efron ties), one row per death, as R's ``cox.zph(fit)$y``.

    Parameters
    ----------
    X : numpy.ndarray
        Design (n x p) of the fitted model.
    time, event : numpy.ndarray
        Follow-up and event indicator.
    beta : numpy.ndarray
        Fitted coefficients.

    Returns
    -------
    death_times : numpy.ndarray
        (D,) time of each death, increasing.
    residuals : numpy.ndarray
        (D, p) ``beta + D * r V``.
    """
    X, time = np.asarray(X, dtype=float), np.asarray(time, dtype=float)
    event, beta = np.asarray(event, dtype=bool), np.asarray(beta, dtype=float)
    g = _groups(X, time, event, beta, True)
    # R's coxph.detail / cox.zph: each of d tied deaths is compared with the average of the d
    # Efron risk-set means of its time (the death slots run from the latest time to the earliest)
    ngroup = int(g.group[-1]) + 1
    per_time = np.stack([np.bincount(g.slot_group, weights=g.mean[:, j], minlength=ngroup)
                         for j in range(g.mean.shape[1])], axis=1)
    deaths = np.bincount(g.slot_group, minlength=ngroup)
    average = per_time[g.slot_group] / deaths[g.slot_group, None]
    raw = g.x[g.event] - average
    info = _information(g, np.ones(len(g.slot_group)))
    scaled = beta + len(raw) * raw @ np.linalg.pinv(info)
    times = time[g.order][g.event]
    return times[::-1], scaled[::-1]


def _smooth(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R's ``lowess(x, y)`` smooth (frac 2/3, no robustness iterations), by :func:`_lowess`.

    statsmodels (a development extra only) computes the same; lifelines' ``lowess`` builds an
    n x n weight matrix. delta = 1% of the range, R's default: local fits about 100 points apart,
    interpolated between (without it every point gets its own fit: O(n^2), minutes at 1e5).
    """
    span = float(np.ptp(x)) if len(x) else 0.0
    return _lowess(np.asarray(x, dtype=float), np.asarray(y, dtype=float), frac=2 / 3, delta=0.01 * span)


def _lowess(x: np.ndarray, y: np.ndarray, *, frac: float, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Cleveland's lowess without robustness iterations, as statsmodels' ``lowess(it=0)`` computes it.

    At each fitted x: a tricube-weighted straight line through its ``int(frac n)`` nearest
    neighbours; points within ``delta`` of the last fitted x are not fitted but interpolated
    (tied x share one fit). Returns the sorted x and the smooth.
    """
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    n = len(x)
    if n == 0:
        return x, y.copy()
    k = min(max(int(frac * n + 1e-10), 2), n)
    fit = np.empty(n)
    left, right, i, last = 0, k, 0, -1
    while True:
        at = x[i]
        while right < n and at > (x[left] + x[right]) / 2:  # slide to the k nearest neighbours of x[i]
            left, right = left + 1, right + 1
        xs, ys = x[left:right], y[left:right]
        with np.errstate(divide="ignore", invalid="ignore"):
            w = (1 - (np.abs(xs - at) / max(at - x[left], x[right - 1] - at)) ** 3) ** 3
        if (w > 1e-12).sum() < 2:
            fit[i] = y[i]
        else:
            w = w / w.sum()
            mean = w @ xs
            spread = max(float(w @ (xs - mean) ** 2), 1e-12)
            fit[i] = (w * (1 + (at - mean) * (xs - mean) / spread)) @ ys
        if last < i - 1:  # the points skipped within delta: linear between the two fits
            a = (x[last + 1:i] - x[last]) / (x[i] - x[last])
            fit[last + 1:i] = a * fit[i] + (1 - a) * fit[last]
        last = nxt = i
        for nxt in range(i + 1, n):
            if x[nxt] > x[i] + delta:
                break
            if x[nxt] == x[last]:
                fit[nxt] = fit[last]
                last = nxt
        i = max(nxt - 1, last + 1)
        if last >= n - 1:
            return x, fit


def plot_schoenfeld(
    data: SurvivalData,
    table: pd.DataFrame,
    terms: Sequence[str],
    *,
    ax: Axes | Sequence[Axes] | None = None,
    title: str = "",
    path: str | Path | None = None,
) -> Figure:
    """One panel per term: scaled Schoenfeld residuals against time, lowess smooth, the fitted beta.

    Parameters
    ----------
    data : SurvivalData
        The data the Cox table was fitted on.
    table : pandas.DataFrame
        The (multivariate) Cox table; its estimable terms' ``hr`` give beta.
    terms : sequence of str
        Terms to plot (e.g. ``ph_violations(table)["term"]``).
    ax : matplotlib.axes.Axes or sequence of Axes, optional
        One axes per term, in the order of ``terms``; a new figure (three panels a row) when omitted.
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
        When ``ax`` does not hold one axes per term.
    """
    design, time, event = _design(data, list(data.types))
    hr = table.set_index("term")["hr"].reindex(design.columns).to_numpy(float)
    keep = np.isfinite(hr) & (hr > 0)
    cols = list(design.columns[keep])
    death_t, resid = scaled_schoenfeld(design.to_numpy(float)[:, keep], time, event, np.log(hr[keep]))
    if ax is None:
        ncols = min(3, len(terms))
        nrows = -(-len(terms) // ncols)
        fig = Figure(figsize=(4.6 * ncols, 3.4 * nrows + 0.4), layout="constrained")
        grid = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
        for spare in grid[len(terms):]:
            spare.set_visible(False)
        axes = list(grid[: len(terms)])
    else:
        axes = [ax] if isinstance(ax, Axes) else list(ax)
        if len(axes) != len(terms):
            raise ValueError(f"ax must hold {len(terms)} axes (one per term), but got {len(axes)}")
    ph = table.set_index("term")["ph_p"]
    for panel, term in zip(axes, terms, strict=True):
        y = resid[:, cols.index(term)]
        panel.plot(death_t, y, "o", ms=3, color="#1f77b4", alpha=0.6)
        sx, sy = _smooth(death_t, y)
        panel.plot(sx, sy, color="#d62728", lw=1.6, gid="smooth")
        panel.axhline(float(np.log(hr[list(design.columns).index(term)])), color="grey", ls="--", lw=0.8)
        panel.set_title(f"{readable(term)}: cox.zph {p_statement(float(ph[term]))}", fontsize=9)
        panel.set(xlabel="months", ylabel=f"beta(t) for {readable(term)}")
    if title:
        axes[0].figure.suptitle(title, fontsize=10)
    if path is not None:
        save_figure(axes[0].figure, path)
    return axes[0].figure
