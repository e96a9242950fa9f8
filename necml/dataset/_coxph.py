"""A small, fast Cox proportional-hazards fit that behaves like R's ``survival::coxph``.

Newton-Raphson on the Cox partial likelihood, on arrays, vectorised over patients and over
tied-event groups: risk-set sums are cumulative sums over patients sorted by decreasing time,
Efron's correction is computed per tied group with ``np.repeat`` / ``np.add.reduceat``, so an
iteration costs O(n p^2) numpy work and no Python loop over patients. It lives in the dataset
stage so that both :mod:`necml.fidelity` and :mod:`necml.prognosis` (its public home,
:mod:`necml.prognosis._cox_newton`) can use it.

Conventions (those of R's ``coxph`` with ``coxph.control()`` defaults):

- **Ties**: Efron's approximation by default; ``ties="breslow"`` for Breslow's. A censored
  time tied with an event time is in that event's risk set.
- **Convergence**: start at beta = 0; Newton steps; stop when the relative change of the
  log-likelihood ``|1 - loglik_old / loglik_new|`` is below ``eps`` (1e-9) after a full (not
  halved) step; when a step decreases the log-likelihood, halve it (R's step-halving); at most
  ``max_iter`` (20) iterations, beyond which every estimable term is "not converged".
- **Aliasing**: columns are centred (and scaled by their mean absolute deviation) and the
  information matrix at beta = 0 is factored by R's ``cholesky2`` rule (an LDL' in column order
  whose pivot below ``toler_chol`` (``.Machine$double.eps^0.75``) times the largest diagonal
  marks the column singular). A singular column (constant, collinear with earlier columns, or
  without information in any risk set) is "aliased": coef NA as in R, and the others are fitted
  without it.
- **Infinite coefficients**: R's test after convergence: with ``u`` the score and ``V`` the
  inverse information at the estimate, a term whose next Newton step ``|(V u)_j|`` exceeds
  ``eps`` and ``sqrt(eps) * |beta_j|`` (R's ``toler.inf``) is "infinite" (R warns "Loglik
  converged before variable j; coefficient may be infinite"): a monotone likelihood, i.e.
  separation. Its coef and SE are NaN; the other terms keep their estimates from the same fit
  (their limits as the infinite coefficient diverges), and the fit is not ``converged``. When
  the iteration limit is reached first (R: "Ran out of iterations and did not converge"; e.g. a
  log-likelihood tending to 0, whose relative change never vanishes), a term whose step is
  still large and whose coefficient exceeds ``_HUGE`` (8) mean absolute deviations of its
  covariate is also "infinite"; the other terms are "not converged" (estimates kept, flagged).
- Standard errors are Wald, from the observed information at the estimate (restricted to the
  estimable terms). ``penalizer`` adds a ridge (see :func:`fit_cox_newton`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import special

from necml.dataset._arrays import as_event

__all__ = ["AliasReason", "NewtonCoxFit", "fit_cox_newton"]

FloatArray = NDArray[np.float64]
_Z975 = float(special.ndtri(0.975))  # stats.norm.ppf(0.975), the same bits

#: R's ``coxph.control()`` defaults.
EPS, TOLER_CHOL, ITER_MAX = 1e-9, float(np.finfo(float).eps) ** 0.75, 20

#: At the iteration limit, a still-moving coefficient beyond this many mean absolute deviations of
#: its covariate (a hazard ratio of e^8 per deviation) is taken as infinite, not merely unconverged.
_HUGE = 8.0

#: Reasons of a term that cannot be estimated (the status is the word before the colon).
AliasReason = {
    "constant": "aliased: constant in the fitted patients",
    "singular": "aliased: collinear with other terms, or no information in any risk set",
    "infinite": "infinite: monotone likelihood (separation)",
    "not converged": "not converged: iteration limit reached",
    "failed": "failed: singular information during the iterations",
    "no events": "failed: no events",
}


@dataclass(frozen=True, slots=True)
class NewtonCoxFit:
    """A Cox fit: per-term coefficients, Wald SEs and status, and the fit's summaries.

    Attributes
    ----------
    coef, se : numpy.ndarray, shape (p,)
        Log hazard ratios and Wald SEs; NaN for a term that is not estimable.
    converged : bool
        False when any term is infinite, the iteration limit was reached, or the fit failed.
    iterations : int
        Newton iterations (R's ``iter``).
    method : str
        ``"newton-efron"`` or ``"newton-breslow"``.
    status : tuple of str
        Per term: ``"ok"``, ``"aliased"``, ``"infinite"``, ``"not converged"`` or ``"failed"``.
    reason : tuple of str
        Per term: ``""`` or a sentence (:data:`AliasReason`).
    loglik0, loglik : float
        Log partial likelihood at beta = 0 and at the estimate (penalised with a ridge).
    information, cov : numpy.ndarray, shape (p, p)
        Observed information at the estimate and its inverse over the estimable terms (zero
        rows and columns for aliased terms; NaN in ``cov`` for infinite ones).
    coef_last : numpy.ndarray, shape (p,)
        The last iterate, also for infinite terms (0 for aliased ones).
    """

    coef: FloatArray
    se: FloatArray
    converged: bool
    iterations: int
    method: str
    status: tuple[str, ...] = ()
    reason: tuple[str, ...] = ()
    loglik0: float = float("nan")
    loglik: float = float("nan")
    information: FloatArray = field(default_factory=lambda: np.empty((0, 0)))
    cov: FloatArray = field(default_factory=lambda: np.empty((0, 0)))
    coef_last: FloatArray = field(default_factory=lambda: np.empty(0))

    @property
    def ci(self) -> tuple[FloatArray, FloatArray]:
        """Wald 95% confidence limits of the coefficients."""
        return self.coef - _Z975 * self.se, self.coef + _Z975 * self.se

    @property
    def p(self) -> FloatArray:
        """Two-sided Wald p-values."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2 * special.ndtr(-np.abs(self.coef / self.se))  # stats.norm.sf, without its per-call checks

    @property
    def estimable(self) -> NDArray[np.bool_]:
        """Terms with a finite estimate (status ``ok`` or ``not converged``)."""
        return np.isfinite(self.coef)


@dataclass(frozen=True, slots=True)
class _Risk:
    """Sorted data and the tied-event-group structure, computed once per fit."""

    X: FloatArray  # centred, scaled, sorted by decreasing time
    last: NDArray[np.intp]  # per group: the last position of its risk set
    events: NDArray[np.intp]  # positions of the events, in sorted order
    starts: NDArray[np.intp]  # per group: its first row among the events
    group: NDArray[np.intp]  # per event: its group
    frac: FloatArray  # per event: Efron's k / d (0 for Breslow)
    simple: bool  # no tied event times, or Breslow: no Efron correction to compute


def _risk(X: FloatArray, time: FloatArray, event: NDArray[np.bool_], efron: bool) -> _Risk:
    order = np.argsort(-time, kind="stable")
    t, d = time[order], event[order]
    events = np.flatnonzero(d)
    te = t[events]
    starts = np.flatnonzero(np.r_[True, te[1:] != te[:-1]])
    sizes = np.diff(np.r_[starts, len(events)])
    group = np.repeat(np.arange(len(starts)), sizes)
    # the risk set of an event time is every patient with time >= it: up to the end of its tie block
    last = np.searchsorted(-t, -te[starts], side="right") - 1
    frac = (np.arange(len(events)) - starts[group]) / sizes[group] if efron else np.zeros(len(events))
    simple = not efron or len(starts) == len(events)
    return _Risk(X[order], last, events, starts, group, frac, simple)


def _derivatives(beta: FloatArray, r: _Risk) -> tuple[float, FloatArray, FloatArray]:
    """Log partial likelihood, score and information at ``beta`` (Efron or Breslow)."""
    X = r.X
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        eta = X @ beta
        shift = eta.max()
        w = np.exp(eta - shift)
        wX = w[:, None] * X
        s0 = np.cumsum(w)[r.last]
        s1 = np.cumsum(wX, axis=0)[r.last]
        g = r.group
        if r.simple:  # Breslow (or no tied events): every death of a group sees the whole risk set
            den, mean = s0[g], s1[g] / s0[g, None]
            c1, c2 = np.bincount(g, minlength=len(r.starts)) / s0, None
        else:  # Efron: the k-th of d tied deaths sees the risk set less k/d of the deaths' weight
            a = r.frac
            e0 = np.add.reduceat(w[r.events], r.starts)
            e1 = np.add.reduceat(wX[r.events], r.starts, axis=0)
            den = s0[g] - a * e0[g]
            mean = (s1[g] - a[:, None] * e1[g]) / den[:, None]
            inv = 1.0 / den
            c1, c2 = np.add.reduceat(inv, r.starts), np.add.reduceat(a * inv, r.starts)
        loglik = float(np.sum(eta[r.events] - shift) - np.sum(np.log(den)))
        grad = X[r.events].sum(axis=0) - mean.sum(axis=0)
        # sum_g c1_g * S2_g = X' diag(w * (sum of c1 over the risk sets holding the patient)) X
        at = np.zeros(len(w))
        at[r.last] = c1
        v = w * np.cumsum(at[::-1])[::-1]
        if c2 is not None:
            v[r.events] -= w[r.events] * c2[g]
        info = (X * v[:, None]).T @ X - mean.T @ mean
    return loglik, grad, info


def _singular(info: FloatArray, toler: float) -> NDArray[np.bool_]:
    """Columns R's ``cholesky2`` declares singular (LDL' in column order, relative pivot test)."""
    m = np.array(info, dtype=float)
    n = len(m)
    diag = np.diag(m)
    eps = diag.max() * toler if n and diag.max() > 0 else toler
    singular = np.zeros(n, bool)
    try:  # fast path: a full-rank factor whose pivots (squared diagonal of L) all pass the test
        if n and np.all(np.diag(np.linalg.cholesky(m)) ** 2 >= eps):
            return singular
    except np.linalg.LinAlgError:
        pass
    for i in range(n):
        pivot = m[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            singular[i] = True
            continue
        col = m[i + 1 :, i] / pivot
        m[i + 1 :, i + 1 :] -= np.outer(col, m[i, i + 1 :])
    return singular


@dataclass(slots=True)
class _State:
    beta: FloatArray
    loglik: float
    grad: FloatArray
    info: FloatArray
    iterations: int = 0
    converged: bool = False
    failed: bool = False

    def accept(self, beta: FloatArray, values: tuple[float, FloatArray, FloatArray]) -> None:
        self.beta, (self.loglik, self.grad, self.info) = beta, values


def _step(info: FloatArray, grad: FloatArray) -> FloatArray | None:
    try:
        step = np.linalg.solve(info, grad)
    except np.linalg.LinAlgError:
        return None
    return step if np.all(np.isfinite(step)) else None


def _newton(derivatives, beta: FloatArray, *, eps: float, max_iter: int, start=None) -> _State:  # noqa: ANN001
    """R's ``coxfit6`` iteration: Newton steps, step-halving, relative log-likelihood rule.

    ``start``: the derivatives at ``beta`` when already computed.
    """
    loglik, grad, info = derivatives(beta) if start is None else start
    state = _State(beta, loglik, grad, info)
    step = _step(info, grad)
    if step is None:
        state.failed = True
        return state
    old, new, halving = beta, beta + step, False
    for iteration in range(1, max_iter + 1):
        values = derivatives(new)
        new_loglik = values[0]
        state.iterations = iteration
        if not halving and np.isfinite(new_loglik) and abs(1 - state.loglik / new_loglik) <= eps:
            state.accept(new, values)
            state.converged = True
            return state
        if iteration == max_iter:  # R keeps the last iterate
            state.accept(new, values)
            return state
        if not np.isfinite(new_loglik) or new_loglik < state.loglik:  # not converging: halve the step
            halving, new = True, (old + new) / 2
            continue
        halving = False
        state.accept(new, values)
        step = _step(state.info, state.grad)
        if step is None:
            state.failed = True
            return state
        old, new = new, new + step
    return state


def _invert(info: FloatArray) -> FloatArray | None:
    if info.size == 0:
        return np.zeros((0, 0))
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return None
    return cov if np.all(np.isfinite(cov)) else None


def _infinite(state: _State, cov: FloatArray, scale: FloatArray, eps: float) -> NDArray[np.bool_]:
    """R's post-fit test: the next Newton step is not small relative to the coefficient (original units)."""
    with np.errstate(invalid="ignore", over="ignore"):
        infs = np.abs(state.grad @ cov) / scale
        big = (infs > eps) & (infs > np.sqrt(eps) * np.abs(state.beta / scale))
        if not state.converged:  # at the iteration limit (R: "did not converge"): also a huge coefficient
            big &= np.abs(state.beta) > _HUGE
        return ~np.isfinite(state.grad) | ~np.isfinite(infs) | big


def _failed(p: int, method: str, why: str) -> NewtonCoxFit:
    nan = np.full(p, np.nan)
    return NewtonCoxFit(nan, nan.copy(), False, 0, method, ("failed",) * p, (AliasReason[why],) * p,
                        information=np.full((p, p), np.nan), cov=np.full((p, p), np.nan), coef_last=nan.copy())


def _prepare(X: FloatArray) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """Centre and scale the columns (R's coxfit6 scales by the mean absolute deviation)."""
    centred = X - X.mean(axis=0) if len(X) else X
    scale = np.abs(centred).mean(axis=0) if len(X) else np.ones(X.shape[1])
    constant = np.ptp(X, axis=0) == 0 if len(X) else np.ones(X.shape[1], bool)
    scale = np.where((scale > 0) & ~constant, scale, 1.0)
    return np.where(constant, 0.0, centred / scale), scale, constant


def _statuses(
    p: int,
    aliased: NDArray[np.bool_],
    constant: NDArray[np.bool_],
    kept: NDArray[np.intp],
    infinite: NDArray[np.bool_],
    state: _State,
) -> tuple[list[str], list[str]]:
    status, reason = ["ok"] * p, [""] * p
    for j in np.flatnonzero(aliased):
        status[j], reason[j] = "aliased", AliasReason["constant" if constant[j] else "singular"]
    for k, j in enumerate(kept):
        if infinite[k]:
            status[j], reason[j] = "infinite", AliasReason["infinite"]
        elif state.failed:
            status[j], reason[j] = "failed", AliasReason["failed"]
        elif not state.converged:
            status[j], reason[j] = "not converged", AliasReason["not converged"]
    return status, reason


def _assemble(
    p: int, method: str, kept: NDArray[np.intp], scale: FloatArray, state: _State, loglik0: float,
    aliased: NDArray[np.bool_], constant: NDArray[np.bool_], eps: float,
) -> NewtonCoxFit:
    cov_s = _invert(state.info) if not state.failed else None
    infinite = _infinite(state, cov_s, scale[kept], eps) if cov_s is not None else np.zeros(len(kept), bool)
    if cov_s is None:
        state.failed = True
    status, reason = _statuses(p, aliased, constant, kept, infinite, state)
    s = scale[kept]
    beta = state.beta / s
    coef, se, last = np.full(p, np.nan), np.full(p, np.nan), np.zeros(p)
    last[kept] = beta
    block = (slice(None), slice(None)) if len(kept) == p else np.ix_(kept, kept)
    information, cov = np.zeros((p, p)), np.zeros((p, p))
    information[block] = state.info * np.outer(s, s)
    if cov_s is not None:
        cov[block] = cov_s / np.outer(s, s)
        good = ~infinite
        coef[kept[good]] = beta[good]
        se[kept[good]] = np.sqrt(np.clip(np.diag(cov_s)[good], 0, None)) / s[good]
        bad = kept[infinite]
        cov[bad, :], cov[:, bad] = np.nan, np.nan
    else:
        cov[block] = np.nan
    converged = state.converged and not state.failed and not infinite.any()
    return NewtonCoxFit(coef, se, bool(converged), state.iterations, method, tuple(status), tuple(reason),
                        loglik0, state.loglik, information, cov, last)


def fit_cox_newton(
    X: FloatArray,
    time: FloatArray,
    event: NDArray[np.bool_] | FloatArray,
    *,
    ties: str = "efron",
    eps: float = EPS,
    max_iter: int = ITER_MAX,
    toler_chol: float = TOLER_CHOL,
    penalizer: float = 0.0,
) -> NewtonCoxFit:
    """Fit a Cox proportional-hazards model as R's ``coxph`` does (see the module docstring).

    Parameters
    ----------
    X : numpy.ndarray, shape (n, p)
        Covariates, no missing values.
    time : numpy.ndarray, shape (n,)
    event : numpy.ndarray, shape (n,)
        1/True for an event.
    ties : {"efron", "breslow"}, default="efron"
        Handling of tied event times.
    eps, max_iter, toler_chol : float, int, float
        R's ``coxph.control(eps, iter.max, toler.chol)``.
    penalizer : float, default=0.0
        Ridge penalty: maximises ``loglik - penalizer / 2 * n * sum_j (sd_j * beta_j)^2``, a
        ridge on standardised covariates (sd with ddof=1), as lifelines' ``penalizer`` with
        ``l1_ratio=0``; SEs from the penalised information.

    Returns
    -------
    NewtonCoxFit

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 1))
    >>> t = rng.exponential(np.exp(-0.7 * x[:, 0]))
    >>> fit = fit_cox_newton(x, t, np.ones(200, bool))
    >>> bool(abs(fit.coef[0] - 0.7) < 0.25), fit.converged, fit.status
    (True, True, ('ok',))
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', but got {ties!r}.")
    X = np.asarray(X, dtype=float).reshape(len(time), -1)
    time = np.asarray(time, dtype=float)
    event = as_event(event)
    p, method = X.shape[1], f"newton-{ties}"
    if not event.any():
        return _failed(p, method, "no events")
    Xs, scale, constant = _prepare(X)
    risk = _risk(Xs, time, event, ties == "efron")
    # the ridge on the original scale: penalizer * n * var_j * beta_j^2 / 2, with beta_j = b_j / scale_j
    ridge_all = penalizer * len(time) * (X.var(axis=0, ddof=1) if len(time) > 1 else np.ones(p)) / scale**2
    loglik0, grad0, info0 = _derivatives(np.zeros(p), risk)
    info0 = info0 + np.diag(ridge_all)
    aliased = constant | _singular(info0, toler_chol)
    kept = np.flatnonzero(~aliased)
    sub = _Risk(risk.X[:, kept], risk.last, risk.events, risk.starts, risk.group, risk.frac, risk.simple)
    ridge = ridge_all[kept]

    def derivatives(b: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        loglik, grad, info = _derivatives(b, sub)
        return loglik - float(ridge @ b**2) / 2, grad - ridge * b, info + np.diag(ridge)

    if len(kept) == 0:
        state = _State(np.zeros(0), loglik0, np.zeros(0), np.zeros((0, 0)), converged=True)
    else:
        start = (loglik0, grad0, info0) if len(kept) == p else None  # the penalty and its gradient are 0 at 0
        state = _newton(derivatives, np.zeros(len(kept)), eps=eps, max_iter=max_iter, start=start)
    return _assemble(p, method, kept, scale, state, loglik0, aliased, constant, eps)
