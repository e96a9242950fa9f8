"""Test of proportional hazards for a fitted Cox model: the score test of survival >= 3.0 ``cox.zph``.

Definition (``method="score"``, the default). Let ``beta`` be the fitted coefficients of a Cox
model with covariates X (n x p) and let g(t) be a transform of time: ``"km"`` (default)
g(t) = 1 - S(t-) with S the left-continuous Kaplan-Meier estimate of all the data,
``"identity"`` g(t) = t, ``"rank"`` g(t) = the average rank of t among all n observed times,
``"log"`` g(t) = log t; g is then centred by its mean over the event rows. Consider the extended
model with covariates X and X * g(t). Nothing new is fitted: at (beta, 0) we form its score
vector U = (U_X, U_Z) and information matrix I (2p x 2p); with Efron ties the risk-set means
and variances at a time with d tied deaths are the Efron ones (the k-th death sees the risk
set with k/d of the tied deaths' risk removed), with Breslow ties they are the plain risk-set
ones. The statistic for column j is u' I_jj^{-1} u over the block [all of X, X_j * g], with
u = (0 for X, U_Z[j]), on 1 degree of freedom; GLOBAL uses all of U_Z (u = (0, U_Z)) and the
whole I, on p degrees of freedom. This is exactly the test of R's ``survival::cox.zph``
(survival >= 3.0, ``terms = TRUE`` with one column per term), which replaced the older
Grambsch-Therneau approximation.

``method="gt-legacy"`` keeps that older approximation: with scaled Schoenfeld residuals
s*_k = D * r_k V (r_k the Schoenfeld residual of the k-th death, D the number of deaths,
V = I_XX^{-1} at beta), T_j = (sum_k c_k s*_kj)^2 / (D V_jj sum_k c_k^2) with c the centred
transformed event times, as in lifelines' ``proportional_hazard_test`` (whose default
``time_transform="rank"`` numbers the deaths 1..D in time order, tied deaths in input order);
GLOBAL is the pre-3.0 R global test (c' R) V (R' c) D / sum c^2 with R the unscaled residuals.

Only right-censored data without strata or case weights are handled.

The conventions every necml number follows: ``docs/conventions.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from necml.dataset._arrays import as_event

__all__ = ["ZphResult", "cox_zph"]

_TRANSFORMS = ("km", "identity", "rank", "log")
_TIES = ("efron", "breslow")
_METHODS = ("score", "gt-legacy")


@dataclass(frozen=True)
class ZphResult:
    """Result of :func:`cox_zph`.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``term, chisq, df, p``: one row per column of X, then a row ``GLOBAL``.
    transform : str
        The time transform used.
    ties : str
        The tie handling used, ``"efron"`` or ``"breslow"``.
    method : str
        ``"score"`` (survival >= 3.0) or ``"gt-legacy"``.
    """

    table: pd.DataFrame
    transform: str
    ties: str
    method: str


class _Groups(NamedTuple):
    """Patients sorted by decreasing time, with tied-time groups and per-death Efron slots."""

    order: np.ndarray  # (n,) the sort: row i of the sorted arrays is patient order[i]
    x: np.ndarray  # (n, p) centred covariates, sorted
    w: np.ndarray  # (n,) exp(eta), sorted
    event: np.ndarray  # (n,) bool, sorted
    group: np.ndarray  # (n,) index of the row's distinct time (0 = latest)
    slot_group: np.ndarray  # (D,) distinct-time index of each death slot
    frac: np.ndarray  # (D,) Efron fraction k/d of the slot (0 for Breslow)
    den: np.ndarray  # (D,) risk-set denominator of the slot
    mean: np.ndarray  # (D, p) risk-set mean of the slot
    dsum: np.ndarray  # (D, p) sum of x over the slot's tied deaths, divided by their number


def _check(X: np.ndarray, time: np.ndarray, event: np.ndarray, beta: np.ndarray) -> None:
    n, p = X.shape
    if time.shape != (n,) or event.shape != (n,):
        raise ValueError(f"time and event must have length {n}, the rows of X")
    if beta.shape != (p,):
        raise ValueError(f"beta must have length {p}, the columns of X")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(time)) and np.all(np.isfinite(beta))):
        raise ValueError("X, time and beta must be finite")
    if not event.any():
        raise ValueError("there are no events")


def _groups(X: np.ndarray, time: np.ndarray, event: np.ndarray, beta: np.ndarray, efron: bool) -> _Groups:
    order = np.argsort(-time, kind="stable")
    t, e = time[order], event[order]
    x = X[order] - X.mean(axis=0)
    eta = x @ beta
    w = np.exp(eta - eta.max())
    new = np.r_[True, t[1:] != t[:-1]]
    group = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(t)] - 1
    s0, s1 = np.cumsum(w)[ends], np.cumsum(w[:, None] * x, axis=0)[ends]
    we = w * e
    d0, d1 = np.add.reduceat(we, starts), np.add.reduceat(we[:, None] * x, starts, axis=0)
    dx = np.add.reduceat(e[:, None] * x, starts, axis=0)
    ndeath = np.add.reduceat(e.astype(np.int64), starts)
    slot_group = np.repeat(np.arange(len(starts)), ndeath)
    first = np.repeat(np.cumsum(ndeath) - ndeath, ndeath)
    d = ndeath[slot_group]
    frac = (np.arange(len(slot_group)) - first) / d if efron else np.zeros(len(slot_group))
    den = s0[slot_group] - frac * d0[slot_group]
    mean = (s1[slot_group] - frac[:, None] * d1[slot_group]) / den[:, None]
    return _Groups(order, x, w, e, group, slot_group, frac, den, mean, dx[slot_group] / d[:, None])


def _information(g: _Groups, h: np.ndarray) -> np.ndarray:
    """Sum over death slots of h * (Efron) risk-set variance of x, as a p x p matrix."""
    ngroup = int(g.group[-1]) + 1
    a = np.bincount(g.slot_group, weights=h / g.den, minlength=ngroup)
    b = np.bincount(g.slot_group, weights=h * g.frac / g.den, minlength=ngroup)
    at_risk = np.cumsum(a[::-1])[::-1]  # a row is at risk at every slot of its own or an earlier time
    c = g.w * (at_risk[g.group] - g.event * b[g.group])
    return (g.x * c[:, None]).T @ g.x - (g.mean * h[:, None]).T @ g.mean


def _km_left(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """1 - S(t-) at every observed time, S the Kaplan-Meier estimate of all the data."""
    uniq, inv = np.unique(time, return_inverse=True)
    deaths = np.bincount(inv, weights=event.astype(float), minlength=len(uniq))
    at_risk = np.cumsum(np.bincount(inv, minlength=len(uniq))[::-1])[::-1]
    surv = np.cumprod(1.0 - deaths / at_risk)
    before = np.r_[1.0, surv[:-1]]
    return 1.0 - before[inv]


def _transform(time: np.ndarray, event: np.ndarray, transform: str) -> np.ndarray:
    if transform == "km":
        return _km_left(time, event)
    if transform == "rank":
        return stats.rankdata(time)
    if transform == "log":
        if np.any(time <= 0):
            raise ValueError('transform="log" needs positive times')
        return np.log(time)
    return time.astype(float)


def _slot_values(g: _Groups, values: np.ndarray) -> np.ndarray:
    """A per-patient quantity that depends on time only, at each death slot."""
    per_group = np.empty(int(g.group[-1]) + 1)
    per_group[g.group] = values[g.order]
    return per_group[g.slot_group]


def _score_tests(g: _Groups, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column and global score statistics of the extended model at (beta, 0)."""
    p = g.x.shape[1]
    u_z = gt @ (g.dsum - g.mean)
    i_xx, i_xz, i_zz = (_information(g, h) for h in (np.ones_like(gt), gt, gt * gt))
    imat = np.block([[i_xx, i_xz], [i_xz.T, i_zz]])
    chisq = np.empty(p + 1)
    for j in range(p):
        kk = np.r_[np.arange(p), p + j]
        u = np.r_[np.zeros(p), u_z[j]]
        chisq[j] = u @ np.linalg.solve(imat[np.ix_(kk, kk)], u)
    u = np.r_[np.zeros(p), u_z]
    chisq[p] = u @ np.linalg.solve(imat, u)
    return chisq, np.r_[np.ones(p, dtype=int), p]


def _legacy_times(time: np.ndarray, event: np.ndarray, transform: str) -> np.ndarray:
    """lifelines' transformed event times, for the deaths in (time, event) sorted order."""
    order = np.lexsort((event, time))
    t, e = time[order], event[order]
    if transform == "rank":
        out = np.cumsum(e).astype(float)
    elif transform == "km":
        uniq, inv = np.unique(t, return_inverse=True)
        deaths = np.bincount(inv, weights=e.astype(float), minlength=len(uniq))
        at_risk = np.cumsum(np.bincount(inv, minlength=len(uniq))[::-1])[::-1]
        out = 1.0 - np.cumprod(1.0 - deaths / at_risk)[inv]
    else:
        out = _transform(t, e, transform)
    return out[e]


def _legacy_tests(g: _Groups, time: np.ndarray, event: np.ndarray, transform: str) -> tuple[np.ndarray, np.ndarray]:
    """Grambsch-Therneau approximation (pre-3.0 R, lifelines ``proportional_hazard_test``)."""
    p = g.x.shape[1]
    ndeath = int(event.sum())
    var = np.linalg.inv(_information(g, np.ones(len(g.slot_group))))
    # Schoenfeld residual of each death: its x minus the (Efron-averaged) mean of its tied-death group
    ngroup = int(g.group[-1]) + 1
    count = np.bincount(g.slot_group, minlength=ngroup)
    tie_mean = np.zeros((ngroup, p))
    np.add.at(tie_mean, g.slot_group, g.mean)
    tie_mean /= np.maximum(count, 1)[:, None]
    # deaths in ascending (time, input order); g rows are descending-time stable, so re-sort
    order = np.lexsort((event, time))
    rank_desc = np.empty(len(time), dtype=np.int64)
    rank_desc[g.order] = np.arange(len(time))
    rows = rank_desc[order][event[order]]
    resid = g.x[rows] - tie_mean[g.group[rows]]
    c = _legacy_times(time, event, transform)
    c = c - c.mean()
    scaled = ndeath * resid @ var
    chisq = np.empty(p + 1)
    chisq[:p] = (c @ scaled) ** 2 / (ndeath * np.diag(var) * (c @ c))
    r = c @ resid
    chisq[p] = r @ var @ r * ndeath / (c @ c)
    return chisq, np.r_[np.ones(p, dtype=int), p]


def _validate_options(ties: str, transform: str, method: str) -> None:
    for value, allowed, what in (
        (ties, _TIES, "ties"),
        (transform, _TRANSFORMS, "transform"),
        (method, _METHODS, "method"),
    ):
        if value not in allowed:
            raise ValueError(f"{what} must be one of {allowed}, got {value!r}")


def cox_zph(
    X: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    beta: np.ndarray,
    *,
    names: list[str] | None = None,
    ties: str = "efron",
    transform: str = "km",
    method: str = "score",
) -> ZphResult:
    """Test proportional hazards of a fitted Cox model, per covariate and globally.

    The default is the score test of R's ``survival::cox.zph`` (survival >= 3.0); see the module
    docstring for the definition.

    Parameters
    ----------
    X : numpy.ndarray
        Design matrix, shape (n, p) (a 1-d array is one column).
    time : numpy.ndarray
        Observed times, shape (n,).
    event : numpy.ndarray
        Event indicators (1/True = event, 0/False = censored), shape (n,).
    beta : numpy.ndarray
        Fitted Cox coefficients for the columns of X, shape (p,); the model is not refitted.
    names : list of str, optional
        Term names for the rows of the table; default ``x0, x1, ...``.
    ties : {"efron", "breslow"}, default="efron"
        Tie handling; use the one the model was fitted with.
    transform : {"km", "identity", "rank", "log"}, default="km"
        Transform of time. For ``method="gt-legacy"`` the transforms are lifelines' (``"rank"``
        numbers the deaths, ``"km"`` is 1 - S(t) of the right-continuous estimate).
    method : {"score", "gt-legacy"}, default="score"
        ``"score"``: survival >= 3.0 ``cox.zph``. ``"gt-legacy"``: the older Grambsch-Therneau
        approximation, equal to lifelines' ``proportional_hazard_test`` with ``ties="efron"``.

    Returns
    -------
    ZphResult
        ``table`` with columns ``term, chisq, df, p``, one row per column and ``GLOBAL``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(50, 1))
    >>> t = rng.exponential(size=50)
    >>> res = cox_zph(x, t, np.ones(50), np.array([0.1]), names=["age"])
    >>> res.table["term"].tolist()
    ['age', 'GLOBAL']
    """
    _validate_options(ties, transform, method)
    X = np.asarray(X, dtype=float)
    X = X[:, None] if X.ndim == 1 else X
    time = np.asarray(time, dtype=float)
    event = as_event(event)
    beta = np.atleast_1d(np.asarray(beta, dtype=float))
    _check(X, time, event, beta)
    names = [f"x{j}" for j in range(X.shape[1])] if names is None else list(names)
    if len(names) != X.shape[1]:
        raise ValueError(f"names must have {X.shape[1]} entries")
    g = _groups(X, time, event, beta, efron=ties == "efron")
    if method == "score":
        tt = _transform(time, event, transform)
        gtime = tt - tt[event].mean()
        chisq, df = _score_tests(g, _slot_values(g, gtime))
    else:
        chisq, df = _legacy_tests(g, time, event, transform)
    table = pd.DataFrame({"term": [*names, "GLOBAL"], "chisq": chisq, "df": df, "p": stats.chi2.sf(chisq, df)})
    return ZphResult(table=table, transform=transform, ties=ties, method=method)
