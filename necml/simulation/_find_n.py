"""The n a study needs: the smallest n whose power (or assurance) reaches a target, with a CI.

Stochastic root-finding over n, in the spirit of SimDesign's ``SimSolve`` (ProBABLI), with a
monotone model in place of a dense grid: each replicate at a sample size n gives one Bernoulli
outcome (the test of the term rejected at alpha; a failed fit does not reject, so the power is
``power_all``), and the rejection probability is modelled as logistic in log n,
``logit P(reject | n) = a + b log n`` with b > 0 (monotone in n). Round 0 spreads replicates over
a few sample sizes, log-spaced over ``[n_min, n_max]``; each later round places its replicates
around the current root ``n* = exp((logit(target) - a) / b)`` at a spread that halves every
round (a round whose fit is not yet monotone repeats the wide grid); the final fit uses the
replicates whose n lies within a factor ``window`` of the root
(the logistic is only asked to hold locally). The reported n is ``ceil(n*)``; its 95% CI is the
delta-method interval of ``log n*`` from the fit's covariance, exponentiated.

Assurance (O'Hagan, Stevens & Campbell 2005) replaces the fixed effect by a design prior: a
normal prior on the term's log-HR (mean: the spec's, SD given), carried through the effect scale
(every log-HR of the mechanism times ``s``, ``s ~ N(1, sd / |log-HR|)``, truncated at 0), by
Gauss-Hermite quadrature: each replicate draws its scale from the quadrature nodes with their
weights, so the rejection rate estimates the prior-averaged power.

Schoenfeld's (1983) formula for a binary term with prevalence p and an event share e:
``n = (z_{1-alpha/2} + z_{power})^2 / (p (1 - p) log(HR)^2 e)``; for a covariate-adjusted
term it ignores the other covariates (and their correlation with the term).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

__all__ = ["FIND_N_COLUMNS", "FindNResult", "find_n", "logistic_root", "schoenfeld_n"]

FIND_N_COLUMNS = ["term", "target", "n", "ci_low", "ci_high"]

#: ``rejections(sizes, ids)`` -> one 0/1 outcome per (n, replicate id) pair; ids are unique over a search.
Rejections = Callable[[list[int], list[int]], np.ndarray]


@dataclass(frozen=True, slots=True, kw_only=True)
class FindNResult:
    """The needed n, its 95% CI and the evaluations behind it (``n``, ``reject`` per replicate)."""

    term: str
    target: float
    n: int
    ci_low: float
    ci_high: float
    root: float
    evaluations: pd.DataFrame = field(repr=False)

    def row(self) -> dict[str, object]:
        """The ``find_n.csv`` row."""
        return {"term": self.term, "target": self.target, "n": self.n, "ci_low": self.ci_low, "ci_high": self.ci_high}


def _logistic_fit(log_n: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Maximum-likelihood (a, b) of logit P(y) = a + b log n, and its covariance; None if it diverges."""
    X = np.column_stack([np.ones_like(log_n), log_n - log_n.mean()])
    beta = np.zeros(2)
    for _ in range(50):
        prob = special.expit(X @ beta)
        weight = prob * (1 - prob)
        info = X.T @ (X * weight[:, None])
        try:
            step = np.linalg.solve(info, X.T @ (y - prob))
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    if not np.all(np.isfinite(beta)) or abs(beta[1]) > 50:
        return None
    cov = np.linalg.inv(info)
    # back to the uncentred intercept: a = a_c - b mean(log n)
    m = log_n.mean()
    J = np.array([[1.0, -m], [0.0, 1.0]])
    return J @ beta, J @ cov @ J.T


def logistic_root(n: np.ndarray, reject: np.ndarray, target: float) -> tuple[float, float, float]:
    """(n*, CI low, CI high) where the logistic fit in log n crosses ``target``; NaNs when not monotone.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = rng.integers(20, 400, 4000)
    >>> y = rng.random(4000) < 1 / (1 + np.exp(-(2.0 * (np.log(n) - np.log(100)) + np.log(4))))
    >>> root, lo, hi = logistic_root(n, y.astype(float), 0.8)
    >>> bool(lo < 100 < hi), bool(90 < root < 110)
    (True, True)
    """
    fitted = _logistic_fit(np.log(np.asarray(n, float)), np.asarray(reject, float))
    if fitted is None or fitted[0][1] <= 0:
        return float("nan"), float("nan"), float("nan")
    (a, b), cov = fitted
    g = (special.logit(target) - a) / b
    grad = np.array([-1 / b, -g / b])
    sd = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
    z = stats.norm.ppf(0.975)
    if not np.isfinite(g) or abs(g) + z * sd > 50:  # far outside any n: the curve does not cross the target
        return float("nan"), float("nan"), float("nan")
    return float(np.exp(g)), float(np.exp(g - z * sd)), float(np.exp(g + z * sd))


def _sizes(centre: float, spread: float, points: int, n_min: int, n_max: int) -> list[int]:
    grid = centre * np.exp(spread * np.linspace(-1, 1, points))
    return sorted({int(round(x)) for x in np.clip(grid, n_min, n_max)})


def find_n(
    rejections: Rejections,
    *,
    term: str,
    target: float = 0.8,
    n_min: int = 10,
    n_max: int = 2000,
    per_round: int = 400,
    rounds: int = 5,
    points: int = 5,
    window: float = 2.0,
) -> FindNResult:
    """Smallest n whose rejection rate reaches ``target`` (see the module docstring).

    Parameters
    ----------
    rejections : callable
        ``rejections(sizes, ids)``: for each pair, 1.0 when the test rejected, else 0.0; the
        replicate ids are unique over the search (seed each replicate from its id).
    term : str
        The estimand's name (reported).
    target : float, default=0.8
        Power (or assurance) to reach.
    n_min, n_max : int
        Search range; round 0 spreads over it, later rounds stay inside it.
    per_round : int, default=400
        Replicates per round (spread over ``points`` sample sizes).
    rounds : int, default=5
        Rounds after round 0.
    points : int, default=5
        Sample sizes per round.
    window : float, default=2.0
        The final fit uses the replicates with n in [n*/window, n* window].

    Returns
    -------
    FindNResult
        ``n`` is ``ceil(n*)``, or -1 when the rejection rate does not reach ``target`` in range.
    """
    done: list[pd.DataFrame] = []
    sizes = _sizes(float(np.sqrt(n_min * n_max)), float(np.log(n_max / n_min) / 2), points, n_min, n_max)
    root = float("nan")
    for k in range(rounds + 1):
        each = max(1, per_round // len(sizes))
        ns = [n for n in sizes for _ in range(each)]
        start = sum(len(d) for d in done)
        ids = list(range(start, start + len(ns)))
        done.append(pd.DataFrame({"round": k, "n": ns, "reject": np.asarray(rejections(ns, ids), float)}))
        table = pd.concat(done, ignore_index=True)
        root = logistic_root(table["n"].to_numpy(), table["reject"].to_numpy(), target)[0]
        if np.isfinite(root):  # else (too few outcomes for a monotone fit yet) the next round repeats the wide grid
            sizes = _sizes(min(max(root, n_min), n_max), 0.5 / 2**k, points, n_min, n_max)
    table = pd.concat(done, ignore_index=True)
    if np.isfinite(root):
        local = table[(table["n"] >= root / window) & (table["n"] <= root * window)]
        if local["n"].nunique() >= 3:
            root, lo, hi = logistic_root(local["n"].to_numpy(), local["reject"].to_numpy(), target)
        else:
            root, lo, hi = logistic_root(table["n"].to_numpy(), table["reject"].to_numpy(), target)
    if not np.isfinite(root) or root > n_max * window:
        return FindNResult(term=term, target=target, n=-1, ci_low=np.nan, ci_high=np.nan, root=np.nan,
                           evaluations=table)
    return FindNResult(term=term, target=target, n=int(np.ceil(root)), ci_low=lo, ci_high=hi, root=root,
                       evaluations=table)


def schoenfeld_n(log_hr: float, prevalence: float, event_share: float, *, alpha: float = 0.05,
                 power: float = 0.8) -> float:
    """Schoenfeld's n for a binary term (see the module docstring).

    Examples
    --------
    >>> round(schoenfeld_n(np.log(0.5), 0.5, 1.0), 1)
    65.3
    """
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(z**2 / (prevalence * (1 - prevalence) * log_hr**2 * event_share))


def _scale_nodes(log_hr: float, sd: float, points: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and weights of the effect scale under a N(log_hr, sd) design prior."""
    x, w = np.polynomial.hermite_e.hermegauss(points)
    return np.clip(1 + x * sd / abs(log_hr), 0, None), w / w.sum()

