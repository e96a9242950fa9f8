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

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from necml.dataset import SurvivalData
from necml.prognosis._cox import _design
from necml.prognosis._format import p_statement
from necml.prognosis._plots import readable
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
    from statsmodels.nonparametric.smoothers_lowess import lowess

    # delta = 1% of the range, R's lowess() default: local fits about 100 points apart, interpolated
    # between (without it every point gets its own fit over 2/3 of the data: O(n^2), minutes at 1e5)
    span = float(np.ptp(x)) if len(x) else 0.0
    fitted = lowess(y, x, frac=2 / 3, it=0, delta=0.01 * span, return_sorted=True)
    return fitted[:, 0], fitted[:, 1]


def plot_schoenfeld(
    data: SurvivalData,
    table: pd.DataFrame,
    terms: Sequence[str],
    *,
    ax: Axes | Sequence[Axes] | None = None,
    title: str = "",
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
        One axes per term; a new figure when omitted.
    title : str, default=""

    Returns
    -------
    matplotlib.figure.Figure
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
    return axes[0].figure
