"""Nested cross-validation intervals that include refitting (Bates, Hastie & Tibshirani 2023, JASA).

The percentile intervals of :mod:`necml.evaluation.validation._intervals` hold the fitted models
fixed. Cross-validation's estimand, though, is the performance of the *procedure* (fit, with its
tuning, on about (K-1)/K of n patients), and the naive CV standard error ignores that every
patient is in both training and test sets; at small n its intervals cover far below nominal.
Bates et al.'s nested CV estimates the mean squared error of the CV estimate and widens the
interval by the ratio it implies.

The algorithm (as the authors' R package ``nestedcv``, ``nested_cv``):

1. Repeat ``reps`` times: split into K stratified folds; for every pair of folds (a, b) fit on
   the other K - 2 folds and keep the per-patient losses on a and on b.
2. For every fold a: the pivot ``e_in - e_out``, where ``e_in`` is the mean loss over the
   patients outside a from the fits that left a out (an inner CV of the data without a), and
   ``e_out`` the mean loss on a of one such fit (another fold chosen at random).
3. Inflation ``clip((var(pivots) / var(losses) * n / K - 1) * (K - 1), 1, K)``; bias
   ``(mean(losses) - Err_cv) * (1 + ((K - 2) / (K - 1))^1.5)`` with ``Err_cv`` the ordinary CV
   estimate; the interval ``mean(losses) - bias +/- z * sd(losses) / sqrt(n) * sqrt(inflation)``.

It needs a **per-patient loss**, so it applies to the Brier score and the IBS (Graf's
inverse-probability-of-censoring weighted squared error; G is the whole data set's censoring KM,
held fixed, so the losses are per-patient). A concordance index or an AUC is a ratio of pair
counts with no per-patient loss: their nested intervals are undefined, with that reason.
K (K - 1) / 2 fits per repetition, each tuned like any other fit.

The conventions every necml number follows: ``docs/conventions.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.model_selection import StratifiedKFold

from necml.dataset import SurvivalData
from necml.evaluation.metrics import CensoringKM, MetricSettings, brier_losses
from necml.evaluation.tuning._tuning import ModelPlan, fit_model
from necml.evaluation.validation._pooling import is_rank_metric
from necml.models import survival_at
from necml.random import child_seed, int_seed

__all__ = ["NESTED_COLUMNS", "nested_cv_intervals", "patient_losses"]

#: Columns of :func:`nested_cv_intervals`.
NESTED_COLUMNS = ["metric", "refit_value", "refit_ci_low", "refit_ci_high", "refit_inflation", "refit_note"]


def patient_losses(
    time: np.ndarray, event: np.ndarray, survival: np.ndarray, settings: MetricSettings, censoring: CensoringKM
) -> dict[str, np.ndarray]:
    """Per-patient Brier loss at each landmark and integrated over the grid (IPCW, G fixed).

    ``survival`` has shape ``(m, len(settings.times))``; the mean of a returned array over all
    patients is the Brier score (IBS) with that G.
    """
    column = {float(x): i for i, x in enumerate(settings.times)}
    out = {}
    for at in settings.landmarks:
        out[f"brier_{at:g}m"] = brier_losses(time, event, survival[:, [column[at]]], np.array([at]), censoring)[:, 0]
    grid = settings.grid
    per_time = brier_losses(time, event, survival[:, [column[float(x)] for x in grid]], grid, censoring)
    out["ibs"] = np.trapezoid(per_time, grid, axis=1) / (grid[-1] - grid[0])
    return out


def _pair_losses(
    plan: ModelPlan, data: SurvivalData, fold_id: np.ndarray, k: int, s: MetricSettings,
    censoring: CensoringKM, seed: np.random.SeedSequence, study: str,
) -> dict[tuple[int, int], dict[str, np.ndarray]]:
    """losses[(a, b)][metric]: per-patient losses on fold a of the fit without folds a and b."""
    out: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    for a in range(k - 1):
        for b in range(a + 1, k):
            train = np.flatnonzero((fold_id != a) & (fold_id != b))
            fit = fit_model(plan, data.subset(train), child_seed(seed, a, b), study=f"{study}/{a}-{b}")
            if fit.model is None:
                continue
            for own in (a, b):
                rows = np.flatnonzero(fold_id == own)
                surv = survival_at(fit.model, data.X.iloc[rows], s.times)
                out[(own, b if own == a else a)] = patient_losses(
                    data.time[rows], data.event[rows], surv, s, censoring
                )
    return out


def _one_repetition(
    plan: ModelPlan, data: SurvivalData, k: int, s: MetricSettings, censoring: CensoringKM,
    seed: np.random.SeedSequence, split_seed: np.random.SeedSequence, r: int,
) -> tuple[dict[str, list[float]], dict[str, list[np.ndarray]]]:
    split = StratifiedKFold(k, shuffle=True, random_state=int_seed(child_seed(split_seed, "nested", r)))
    fold_id = np.empty(len(data.time), dtype=np.int64)
    for f, (_, test) in enumerate(split.split(data.X, data.event)):
        fold_id[test] = f
    losses = _pair_losses(plan, data, fold_id, k, s, censoring, child_seed(seed, "nested", r), f"nested{r}")
    rng = np.random.default_rng(child_seed(split_seed, "nested-pick", r))
    pivots: dict[str, list[float]] = {}
    errors: dict[str, list[np.ndarray]] = {}
    for (_, _), values in losses.items():
        for name, v in values.items():
            errors.setdefault(name, []).append(v)
    for a in range(k):
        others = [b for b in range(k) if b != a]
        pick = others[int(rng.integers(len(others)))]
        inner = [losses.get((j, a)) for j in others]
        if any(x is None for x in inner) or (a, pick) not in losses:
            continue
        for name in losses[(a, pick)]:
            e_in = float(np.concatenate([x[name] for x in inner]).mean())
            pivots.setdefault(name, []).append(e_in - float(losses[(a, pick)][name].mean()))
    return pivots, errors


def nested_cv_intervals(
    plan: ModelPlan,
    data: SurvivalData,
    *,
    folds: int,
    reps: int,
    settings: MetricSettings,
    cv_estimates: dict[str, float],
    seed: np.random.SeedSequence,
    split_seed: np.random.SeedSequence,
    level: float = 0.95,
) -> pd.DataFrame:
    """Bias-corrected nested-CV estimate and interval for every metric (see the module docstring).

    Parameters
    ----------
    plan : ModelPlan
    data : SurvivalData
        All patients.
    folds, reps : int
        K and the number of nested repetitions (K (K - 1) / 2 fits each).
    settings : MetricSettings
        The data set's resolved landmarks and grid.
    cv_estimates : dict
        The ordinary CV estimate of each metric (``Err_cv``, pooled out-of-fold, same G).
    seed, split_seed : numpy.random.SeedSequence
        Fits / tuning, and the nested splits (shared by the models of a run).
    level : float, default=0.95

    Returns
    -------
    pandas.DataFrame
        Columns :data:`NESTED_COLUMNS`, one row per metric of ``settings``.
    """
    censoring = CensoringKM().fit(data.time, data.event)
    pivots: dict[str, list[float]] = {}
    errors: dict[str, list[np.ndarray]] = {}
    for r in range(reps):
        p, e = _one_repetition(plan, data, folds, settings, censoring, seed, split_seed, r)
        for name, v in p.items():
            pivots.setdefault(name, []).extend(v)
        for name, v in e.items():
            errors.setdefault(name, []).extend(v)
    n, z = len(data.time), float(stats.norm.ppf(0.5 + level / 2))
    rows = []
    for name in settings.names():
        row = dict.fromkeys(NESTED_COLUMNS[1:], np.nan) | {"metric": name, "refit_note": ""}
        if is_rank_metric(name):
            row["refit_note"] = "undefined: nested CV needs a per-patient loss; a pairwise index has none"
        elif len(pivots.get(name, [])) < 2:
            row["refit_note"] = "undefined: too few nested fits succeeded"
        else:
            losses = np.concatenate(errors[name])
            inflation = (np.var(pivots[name], ddof=1) / np.var(losses, ddof=1) * n / folds - 1) * (folds - 1)
            inflation = float(np.clip(inflation, 1.0, folds))
            bias = (losses.mean() - cv_estimates.get(name, np.nan)) * (1 + ((folds - 2) / (folds - 1)) ** 1.5)
            value = float(losses.mean() - bias)
            half = z * float(np.std(losses, ddof=1)) / np.sqrt(n) * np.sqrt(inflation)
            row |= {"refit_value": value, "refit_ci_low": value - half, "refit_ci_high": value + half,
                    "refit_inflation": np.sqrt(inflation)}
        rows.append(row)
    return pd.DataFrame(rows, columns=NESTED_COLUMNS)
