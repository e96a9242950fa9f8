"""Calibration at a landmark t0 of validated predictions of S(t0), one value per patient.

Three views, all on the same predictions:

* :func:`calibration_table` -- patients split into ``groups`` equal-sized groups by predicted
  S(t0); in each group the mean predicted S(t0) is set against the group's Kaplan-Meier S(t0)
  with its 95% CI (exponential Greenwood). When the group's follow-up ends before t0 the
  observed value is NaN.
* :func:`calibration_curve` -- the smoothed calibration curve of Austin, Harrell & van Klaveren
  (2020): a Cox model of the outcome on a restricted cubic spline of the complementary log-log
  of the predicted risk, x = log(-log S_pred(t0)); its fitted risk at t0 is each patient's
  "observed" risk, and ICI, E50, E90 and Emax summarise |observed - predicted|.
* :func:`calibration_slope_intercept` -- the calibration slope (Cox coefficient of x with the
  outcome censored at t0), the calibration intercept on the cloglog scale (log of the Breslow
  baseline cumulative hazard at t0 with x as an offset) and O/E (Kaplan-Meier risk at t0 over
  mean predicted risk).

Every Cox model here is fitted with Breslow's handling of tied event times and its baseline
cumulative hazard is Breslow's estimator (as R's ``coxph(..., ties = "breslow")`` followed by
``survfit``). The fits use necml's Cox engine (``fit_cox_newton``, Breslow ties). Degenerate inputs (all
predictions equal, fewer than ``min_events`` events by t0, t0 beyond the last follow-up time)
give NaN with the reason in ``note``; they never raise.

References
----------
Austin PC, Harrell FE Jr, van Klaveren D. Graphical calibration curves and the integrated
calibration index (ICI) for survival models. Stat Med 2020;39:2714-2742.

The conventions every necml number follows: ``docs/conventions.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from necml.dataset import atomic_write
from necml.dataset._arrays import as_event
from necml.prognosis import NewtonCoxFit, fit_cox_newton

__all__ = [
    "CalibrationCurve",
    "calibration_curve",
    "calibration_slope_intercept",
    "calibration_table",
    "draw_calibration",
    "harrell_knots",
    "plot_calibration",
]

#: Predicted survival is clipped to [_CLIP, 1 - _CLIP] before the cloglog transform.
_CLIP = 1e-12
#: Outer knot quantile in Hmisc's ``rcspline.eval`` for 3, 4-6 and 7+ knots.
_OUTER = {3: 0.1, 4: 0.05, 5: 0.05, 6: 0.05}


def calibration_table(
    time: np.ndarray, event: np.ndarray, predicted: np.ndarray, at: float, *, groups: int = 3
) -> pd.DataFrame:
    """Columns ``group, n, predicted, observed, observed_low, observed_high`` (S at ``at``)."""
    ok = np.isfinite(predicted)
    time, event, predicted = time[ok], event[ok], predicted[ok]
    order = np.argsort(predicted, kind="stable")
    rows = []
    for g, members in enumerate(np.array_split(order, groups)):
        kmf = KaplanMeierFitter().fit(time[members], event[members])
        if at > time[members].max():
            observed, band = np.nan, (np.nan, np.nan)
        else:
            observed = float(kmf.survival_function_.loc[:at].iloc[-1, 0])
            band = tuple(kmf.confidence_interval_.loc[:at].iloc[-1].to_numpy())
        rows.append(
            {
                "group": g + 1,
                "n": members.size,
                "predicted": float(predicted[members].mean()),
                "observed": observed,
                "observed_low": band[0],
                "observed_high": band[1],
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Breslow Cox fit (Newton-Raphson) and Breslow baseline
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RiskSets:
    """Patients sorted by time; the first sorted index and event count of each event time."""

    order: np.ndarray
    first: np.ndarray
    deaths: np.ndarray
    times: np.ndarray
    event: np.ndarray

    @classmethod
    def of(cls, time: np.ndarray, event: np.ndarray) -> _RiskSets:
        order = np.argsort(time, kind="stable")
        t, d = time[order], event[order].astype(float)
        times, first = np.unique(t, return_index=True)
        deaths = np.add.reduceat(d, first)
        keep = deaths > 0
        return cls(order, first[keep], deaths[keep], times[keep], d)

    def at_risk(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (sorted, first axis) over each event time's risk set."""
        return np.cumsum(values[::-1], axis=0)[::-1][self.first]


def _fit_cox(time: np.ndarray, event: np.ndarray, x: np.ndarray) -> NewtonCoxFit:
    """The shared Cox engine (R's ``coxph``), Breslow ties, tighter tolerance than R's default."""
    return fit_cox_newton(x, time, event, ties="breslow", eps=1e-12, max_iter=100)


def _breslow_log_cumhaz(time: np.ndarray, event: np.ndarray, lp: np.ndarray, at: float) -> float:
    """log H0(at): Breslow baseline cumulative hazard at ``at`` for hazard h0(t) exp(lp)."""
    rs = _RiskSets.of(time, event)
    shift = lp.max()
    s0 = rs.at_risk(np.exp(lp[rs.order] - shift))
    upto = rs.times <= at
    if not upto.any():
        return -np.inf
    return float(np.log(np.sum(rs.deaths[upto] / s0[upto])) - shift)


def _km_survival(time: np.ndarray, event: np.ndarray, at: float) -> float:
    """Kaplan-Meier S(at); NaN when ``at`` is beyond the last follow-up time."""
    if time.size == 0 or at > time.max():
        return np.nan
    rs = _RiskSets.of(time, event)
    at_risk = time.size - np.searchsorted(np.sort(time), rs.times, side="left")
    upto = rs.times <= at
    return float(np.prod(1 - rs.deaths[upto] / at_risk[upto]))


# --------------------------------------------------------------------------------------------
# Restricted cubic spline (Harrell)
# --------------------------------------------------------------------------------------------


def harrell_knots(x: np.ndarray, k: int = 3) -> np.ndarray:
    """Knot locations of Harrell's restricted cubic spline (Hmisc ``rcspline.eval`` default).

    Parameters
    ----------
    x : numpy.ndarray
        Values of the covariate (finite).
    k : int, default=3
        Number of knots requested (3 to 7).

    Returns
    -------
    numpy.ndarray
        Sorted distinct knots: quantiles (R type 7) at ``seq(outer, 1 - outer, length = k)``
        with ``outer`` = 0.10 for 3 knots, 0.05 for 4-6 and 0.025 for 7; with fewer than 100
        values the outer knots are the 5th smallest and 5th largest value; with at most k + 2
        distinct values, the distinct values without the extremes. Fewer than ``k`` knots come
        back when the quantiles coincide. Hmisc's ``fractied`` adjustment for a heavily tied
        extreme value is not applied.
    """
    if not 3 <= k <= 7:
        raise ValueError(f"k must be between 3 and 7, got {k}")
    xs = np.sort(np.asarray(x, dtype=float))
    distinct = np.unique(xs)
    if distinct.size - 2 <= k:
        return distinct[1:-1]
    outer = _OUTER.get(k, 0.025)
    knots = np.quantile(xs, np.linspace(outer, 1 - outer, k))
    if xs.size < 100:
        knots[0], knots[-1] = xs[4], xs[-5]
    return np.unique(knots)


def _rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Harrell's restricted cubic spline basis: x and k - 2 non-linear terms (norm = 2)."""
    k = knots.size
    last, penult = knots[-1], knots[-2]
    scale = (last - knots[0]) ** 2

    def cube(v: np.ndarray) -> np.ndarray:
        return np.clip(v, 0, None) ** 3

    inner = knots[: k - 2]
    terms = (
        cube(x[:, None] - inner)
        - cube(x[:, None] - penult) * (last - inner) / (last - penult)
        + cube(x[:, None] - last) * (penult - inner) / (last - penult)
    ) / scale
    return np.column_stack([x, terms])


# --------------------------------------------------------------------------------------------
# Public calibration measures
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationCurve:
    """Smoothed calibration at ``at`` (Austin, Harrell & van Klaveren 2020); risks = 1 - S(at).

    Attributes
    ----------
    at : float
        The landmark t0.
    n, events : int
        Patients with a finite prediction, and their events at or before ``at``.
    knots : numpy.ndarray
        Spline knots on the x = log(-log S_pred(at)) scale.
    predicted, observed : numpy.ndarray
        Per patient: predicted risk 1 - S_pred(at), and the smoothed observed risk
        1 - S0(at)^exp(lp) of the calibration Cox model.
    ici, e50, e90, emax : float
        Mean, median, 90th percentile and maximum of |observed - predicted|.
    grid_predicted, grid_observed : numpy.ndarray
        Points of the curve for plotting, over the 1st to 99th percentile of predicted risk.
    slope, intercept, oe : float
        From :func:`calibration_slope_intercept` on the same data.
    note : str
        Why values are NaN; empty when all were computed.
    """

    at: float
    n: int
    events: int
    knots: np.ndarray
    predicted: np.ndarray
    observed: np.ndarray
    ici: float
    e50: float
    e90: float
    emax: float
    grid_predicted: np.ndarray
    grid_observed: np.ndarray
    slope: float = np.nan
    intercept: float = np.nan
    oe: float = np.nan
    note: str = field(default="")


def _inputs(
    time: np.ndarray, event: np.ndarray, predicted_survival: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Patients with finite time and prediction; predicted S clipped away from 0 and 1."""
    time = np.asarray(time, dtype=float)
    event = as_event(event)
    surv = np.asarray(predicted_survival, dtype=float)
    ok = np.isfinite(time) & np.isfinite(surv)
    return time[ok], event[ok], np.clip(surv[ok], _CLIP, 1 - _CLIP)


def _cloglog(surv: np.ndarray) -> np.ndarray:
    """x = log(-log S): the complementary log-log of the predicted risk 1 - S."""
    return np.log(-np.log(surv))


def _problems(time: np.ndarray, event: np.ndarray, surv: np.ndarray, at: float, min_events: int) -> list[str]:
    """Reasons the model-based calibration measures cannot be computed (empty if none)."""
    if time.size == 0:
        return ["no patients with a finite prediction"]
    notes = []
    if at > time.max():
        notes.append(f"t0 = {at:g} is beyond the last follow-up time {time.max():g}")
    events = int(np.sum(event & (time <= at)))
    if events < min_events:
        notes.append(f"{events} events by t0 (fewer than {min_events})")
    if np.ptp(surv) == 0:
        notes.append("all predictions are equal")
    return notes


def calibration_slope_intercept(
    time: np.ndarray, event: np.ndarray, predicted_survival: np.ndarray, at: float, *, min_events: int = 10
) -> dict[str, float | int | str]:
    """Calibration slope, intercept (cloglog scale) and O/E at ``at``.

    Parameters
    ----------
    time, event : numpy.ndarray
        Observed follow-up time and event indicator (1 = event).
    predicted_survival : numpy.ndarray
        Validated predicted S(at) per patient; non-finite values are dropped, the rest clipped
        to [1e-12, 1 - 1e-12].
    at : float
        The landmark t0.
    min_events : int, default=10
        Fewer events at or before ``at`` make slope and intercept NaN.

    Returns
    -------
    dict
        ``slope`` (ideal 1) and its ``slope_se``: coefficient of a Breslow Cox model of the
        outcome administratively censored at ``at`` on x = log(-log S_pred(at));
        ``intercept`` (ideal 0): log of the Breslow baseline cumulative hazard at ``at`` of a
        Cox model with x as an offset and no free coefficient, so that the recalibrated
        S_i(at) = exp(-exp(intercept + x_i)); ``observed_risk`` (Kaplan-Meier 1 - S(at)),
        ``expected_risk`` (mean of 1 - S_pred(at)) and ``oe`` = their ratio; ``n``,
        ``events`` (by ``at``) and ``note`` (why values are NaN, empty if none).

    Notes
    -----
    R equivalents: ``coxph(Surv(pmin(time, t0), status * (time <= t0)) ~ x, ties = "breslow")``
    for the slope; for the intercept ``coxph(Surv(time, status) ~ offset(x))`` followed by
    ``survfit(fit, newdata = data.frame(x = 0))`` at t0 (``basehaz(fit, centered = FALSE)``
    on an offset-only model returns the cumulative hazard at the *mean* offset instead).
    """
    time, event, surv = _inputs(time, event, predicted_survival)
    notes = _problems(time, event, surv, at, min_events)
    out: dict[str, float | int | str] = {
        "slope": np.nan,
        "slope_se": np.nan,
        "intercept": np.nan,
        "observed_risk": np.nan,
        "expected_risk": float(np.mean(1 - surv)) if surv.size else np.nan,
        "oe": np.nan,
        "n": int(time.size),
        "events": int(np.sum(event & (time <= at))),
    }
    beyond = time.size == 0 or at > time.max()
    if not beyond:
        out["observed_risk"] = 1 - _km_survival(time, event, at)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["oe"] = float(np.float64(out["observed_risk"]) / np.float64(out["expected_risk"]))
    if not notes or notes == ["all predictions are equal"]:
        x = _cloglog(surv)
        out["intercept"] = _breslow_log_cumhaz(time, event, x, at)
        if not notes:
            fit = _fit_cox(np.minimum(time, at), event & (time <= at), x[:, None])
            if fit.converged:
                out["slope"] = float(fit.coef[0])
                out["slope_se"] = float(fit.se[0])
            else:
                notes.append("slope: Cox fit did not converge")
    out["note"] = "; ".join(notes)
    return out


def _nan_curve(at: float, n: int, events: int, surv: np.ndarray, note: str, summary: dict) -> CalibrationCurve:
    empty = np.array([], dtype=float)
    return CalibrationCurve(
        at=at, n=n, events=events, knots=empty, predicted=1 - surv, observed=np.full(surv.size, np.nan),
        ici=np.nan, e50=np.nan, e90=np.nan, emax=np.nan, grid_predicted=empty, grid_observed=empty,
        slope=float(summary["slope"]), intercept=float(summary["intercept"]), oe=float(summary["oe"]), note=note,
    )  # fmt: skip


def calibration_curve(
    time: np.ndarray,
    event: np.ndarray,
    predicted_survival: np.ndarray,
    at: float,
    *,
    knots: int | Sequence[float] = 3,
    min_events: int = 10,
    grid_size: int = 100,
) -> CalibrationCurve:
    """Smoothed calibration curve, ICI, E50, E90 and Emax at ``at`` (Austin et al. 2020).

    Parameters
    ----------
    time, event : numpy.ndarray
        Observed follow-up time and event indicator (1 = event).
    predicted_survival : numpy.ndarray
        Validated predicted S(at) per patient; non-finite values are dropped, the rest clipped
        to [1e-12, 1 - 1e-12].
    at : float
        The landmark t0.
    knots : int or sequence of float, default=3
        Number of knots at Harrell's default quantiles of x (:func:`harrell_knots`; 3 knots:
        10th, 50th and 90th percentiles), or the knots themselves on the x scale.
    min_events : int, default=10
        Fewer events at or before ``at`` give a NaN curve.
    grid_size : int, default=100
        Number of points in ``grid_predicted`` / ``grid_observed``.

    Returns
    -------
    CalibrationCurve
        NaN summaries with the reason in ``note`` for degenerate inputs.

    Notes
    -----
    x = log(-log S_pred(at)). A Cox model (Breslow ties) of the outcome over the whole
    follow-up on a restricted cubic spline of x is fitted; each patient's observed risk is
    1 - exp(-H0(at) exp(lp_i)) with H0 Breslow's baseline cumulative hazard. The spline spans
    the same space as R's ``ns(x, knots = k[2:(K-1)], Boundary.knots = k[c(1, K)])``, so the
    fitted risks equal R's ``coxph(Surv(time, status) ~ ns(x, ...), ties = "breslow")`` with
    ``survfit(fit, newdata = data.frame(x = x))`` at ``at``.
    """
    summary = calibration_slope_intercept(time, event, predicted_survival, at, min_events=min_events)
    time, event, surv = _inputs(time, event, predicted_survival)
    notes = _problems(time, event, surv, at, min_events)
    n, events = int(time.size), int(summary["events"])
    if notes:
        return _nan_curve(at, n, events, surv, "; ".join(notes), summary)
    x = _cloglog(surv)
    k = harrell_knots(x, knots) if isinstance(knots, int) else np.unique(np.asarray(knots, dtype=float))
    if k.size < 3:
        return _nan_curve(at, n, events, surv, f"only {k.size} distinct spline knots", summary)
    basis = _rcs_basis(x, k)
    fit = _fit_cox(time, event, basis)
    if not fit.converged:
        return _nan_curve(at, n, events, surv, "calibration Cox fit did not converge", summary)
    beta = np.where(fit.estimable, fit.coef, 0.0)  # an aliased spline column contributes nothing
    lp = basis @ beta
    h0 = np.exp(_breslow_log_cumhaz(time, event, lp, at))
    predicted, observed = 1 - surv, -np.expm1(-h0 * np.exp(lp))
    grid = np.linspace(*np.quantile(predicted, [0.01, 0.99]), grid_size)
    grid_lp = _rcs_basis(np.log(-np.log1p(-grid)), k) @ beta
    err = np.abs(observed - predicted)
    return CalibrationCurve(
        at=at, n=n, events=events, knots=k, predicted=predicted, observed=observed,
        ici=float(err.mean()), e50=float(np.median(err)), e90=float(np.quantile(err, 0.9)), emax=float(err.max()),
        grid_predicted=grid, grid_observed=-np.expm1(-h0 * np.exp(grid_lp)),
        slope=float(summary["slope"]), intercept=float(summary["intercept"]), oe=float(summary["oe"]),
        note=str(summary["note"]),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------


def _draw_table(ax: Axes, table: pd.DataFrame) -> None:
    """Risk-group points: 1 - mean predicted S against 1 - Kaplan-Meier S, with 95% CI."""
    observed = 1 - table["observed"].to_numpy(dtype=float)
    low = 1 - table["observed_high"].to_numpy(dtype=float)
    high = 1 - table["observed_low"].to_numpy(dtype=float)
    err = np.vstack([observed - low, high - observed])
    ax.errorbar(1 - table["predicted"], observed, yerr=err, fmt="o", capsize=3, color="C0", label="risk groups (KM)")


def _draw_curve(ax: Axes, curve: CalibrationCurve) -> None:
    """Smoothed curve and a rug of predicted risks along the bottom."""
    if curve.grid_predicted.size:
        ax.plot(curve.grid_predicted, curve.grid_observed, color="C1", linewidth=1.5, label="smoothed (RCS Cox)")
    ax.plot(curve.predicted, np.zeros(curve.predicted.size), "|", color="black", alpha=0.3, markersize=6,
            transform=ax.get_xaxis_transform())  # fmt: skip


def _annotation(curve: CalibrationCurve | None, table: pd.DataFrame | None) -> str:
    if curve is None:
        return "" if table is None else f"n = {int(table['n'].sum())}"
    lines = [
        f"slope {curve.slope:.2f}, intercept {curve.intercept:.2f}",
        f"ICI {curve.ici:.3f}, E50 {curve.e50:.3f}, E90 {curve.e90:.3f}",
        f"n = {curve.n}, events = {curve.events}",
    ]
    if curve.note:
        lines.append(curve.note)
    return "\n".join(lines)


def draw_calibration(
    ax: Axes,
    table: pd.DataFrame | None = None,
    curve: CalibrationCurve | None = None,
    *,
    at: float,
    title: str | None = None,
) -> Axes:
    """Draw one calibration panel (risk scale, 1 - S(at)) on ``ax``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    table : pandas.DataFrame, optional
        A :func:`calibration_table`: risk-group points with 95% CIs.
    curve : CalibrationCurve, optional
        A :func:`calibration_curve`: the smoothed curve, a rug of predicted risks and a text
        with slope, intercept, ICI, E50, E90, n and events.
    at : float
        The landmark, for the axis labels.
    title : str, optional
        Panel title.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``.
    """
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    if table is not None and len(table):
        _draw_table(ax, table)
    if curve is not None:
        _draw_curve(ax, curve)
    text = _annotation(curve, table)
    if text:
        ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", ha="left", fontsize=6.5)
    ax.set(xlabel=f"predicted risk by {at:g} months", ylabel=f"observed risk by {at:g} months",
           xlim=(0, 1), ylim=(0, 1))
    if title is not None:
        ax.set_title(title)
    return ax


def plot_calibration(
    tables: dict[str, pd.DataFrame],
    at: float,
    path: str | Path | None = None,
    curves: dict[str, CalibrationCurve] | None = None,
    *,
    ax: Sequence[Axes] | Axes | None = None,
) -> Figure:
    """One calibration panel per model (see :func:`draw_calibration`).

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        :func:`calibration_table` per model.
    at : float
        The landmark.
    path : str or pathlib.Path, optional
        Also write the figure there as a PNG (atomically).
    curves : dict of str to CalibrationCurve, optional
        :func:`calibration_curve` per model; models present in only one of the two dicts get
        a panel with what they have.
    ax : matplotlib Axes or sequence of them, optional
        One Axes per model, in the order of ``tables`` then ``curves`` (default: a new figure
        with one row of panels).

    Returns
    -------
    matplotlib.figure.Figure
        The figure the panels are drawn in.
    """
    curves = curves or {}
    names = list(dict.fromkeys([*tables, *curves]))
    if ax is None:
        fig = Figure(figsize=(3.4 * len(names), 3.6))
        axes = list(np.atleast_1d(fig.subplots(1, len(names), sharey=True)))
    else:
        axes = [ax] if isinstance(ax, Axes) else list(ax)
        if len(axes) != len(names):
            raise ValueError(f"plot_calibration draws {len(names)} panels ({names}); got {len(axes)} Axes")
        parent = axes[0].figure
        fig = parent.figure if isinstance(parent, SubFigure) else parent  # the root figure
    for panel, name in zip(axes, names, strict=True):
        draw_calibration(panel, tables.get(name), curves.get(name), at=at, title=name)
    if ax is None:
        for panel in axes[1:]:
            panel.set_ylabel("")
    if path is not None:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))
    return fig
