"""Bootstrap confidence intervals for every metric, and paired comparisons of two models.

The validated predictions (out-of-fold for ``cv``, apparent for ``bootstrap``, test for
``holdout``) are resampled by patient: each draw resamples the same patients for every model,
so differences between models are *paired*. A draw recomputes each metric with the estimator
of the point estimate (for ``cv``: rank metrics from pairs inside a test fold, absolute ones
pooled, averaged over repeats; :mod:`necml.evaluation.validation._pooling`) and the censoring
KM of the resampled patients. For the optimism-corrected ``bootstrap`` scheme each draw of a
model is shifted by that model's estimated optimism, so a draw is a draw of the corrected
metric. The interval is the percentile interval of the draws; a difference between two models,
its interval and its paired p-value (twice the smaller share of draws on either side of zero)
all describe the same quantity, the difference of the reported values.

**What these intervals are**: the fitted models are held fixed. They show how much the
evaluation would move on other patients scored by the same models, not how much the models
would change if refitted on other training samples (the ``interval`` column of ``metrics.csv``
says so); the refitting variation shows in the per-fold distribution.

The conventions every necml number follows: ``docs/conventions.md``.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from necml.dataset import SurvivalData
from necml.evaluation.metrics._metrics import MetricSettings
from necml.evaluation.validation._pooling import pooled_metrics
from necml.evaluation.validation._resampling import ValidationResult

#: What the ``ci_low``/``ci_high`` of :func:`metric_table` are.
INTERVAL = "percentile, patients resampled with the fitted models held fixed"

__all__ = ["INTERVAL", "bootstrap_draws", "metric_table", "paired_comparisons"]


def _draw(
    result: ValidationResult, data: SurvivalData, idx: np.ndarray, settings: MetricSettings
) -> dict[str, float]:
    values: dict[str, list[float]] = {}
    rows = result.rows[idx]
    labels = result.fold_labels
    for r in range(result.risk.shape[0]):
        risk, surv, folds = result.risk[r, idx], result.survival[r, idx], labels[r, idx]
        ok = np.isfinite(risk)
        t, e = data.time[rows][ok], data.event[rows][ok]
        if not e.any():
            continue
        got, _ = pooled_metrics(t, e, risk[ok], surv[ok], folds[ok], settings)
        for k, v in got.items():
            values.setdefault(k, []).append(v)
    shift = _optimism(result)
    return {
        k: (float(np.nanmean(v)) - shift.get(k, 0.0)) if np.isfinite(v).any() else np.nan
        for k, v in values.items()
    }


def _optimism(result: ValidationResult) -> dict[str, float]:
    if "optimism" not in result.estimates:
        return {}
    return dict(zip(result.estimates["metric"], result.estimates["optimism"].fillna(0.0), strict=True))


def bootstrap_draws(
    results: dict[str, ValidationResult],
    data: SurvivalData,
    settings: MetricSettings,
    *,
    resamples: int,
    seed: np.random.SeedSequence,
) -> pd.DataFrame:
    """Metric values of every model on the same patient resamples: columns draw, model, metric, value."""
    rng = np.random.default_rng(seed)
    sizes = {len(r.rows) for r in results.values()}
    if len(sizes) != 1:
        raise ValueError("paired resampling needs every model evaluated on the same patients")
    m = sizes.pop()
    rows = []
    for b in range(resamples):
        idx = rng.integers(0, m, m)
        for name, result in results.items():
            rows += [
                {"draw": b, "model": name, "metric": k, "value": v}
                for k, v in _draw(result, data, idx, settings).items()
            ]
    return pd.DataFrame(rows)


def metric_table(results: dict[str, ValidationResult], draws: pd.DataFrame) -> pd.DataFrame:
    """``model, metric, value, ci_low, ci_high, validation, estimator, interval, undefined_draws``.

    ``estimator`` says which estimate ``value`` is (e.g. pairs within test folds), ``interval``
    what the CI is (:data:`INTERVAL`).
    """
    out = []
    for name, result in results.items():
        for row in result.estimates.itertuples():
            got = draws[(draws["model"] == name) & (draws["metric"] == row.metric)][
                "value"
            ].to_numpy()
            finite = got[np.isfinite(got)]
            low, high = np.quantile(finite, [0.025, 0.975]) if finite.size else (np.nan, np.nan)
            out.append(
                {
                    "model": name,
                    "metric": row.metric,
                    "value": row.value,
                    "ci_low": low,
                    "ci_high": high,
                    "validation": _describe(result),
                    "estimator": result.estimator(row.metric),
                    "interval": INTERVAL,
                    "undefined_draws": int(got.size - finite.size),
                }
            )
    return pd.DataFrame(out)


def _describe(result: ValidationResult) -> str:
    return {
        "cv": "repeated stratified k-fold",
        "bootstrap": "bootstrap optimism-corrected",
        "holdout": "held-out split",
    }[result.scheme]


def paired_comparisons(draws: pd.DataFrame, estimates: pd.DataFrame) -> pd.DataFrame:
    """Every pair of models on every metric: difference (a - b), 95% CI and paired p-value.

    ``draws`` are draws of the reported estimators (:func:`bootstrap_draws`, optimism-shifted
    for the bootstrap scheme), so the difference lies in its own interval's population.
    """
    wide = draws.pivot_table(
        index=["draw", "metric"], columns="model", values="value", dropna=False
    )
    point = estimates.set_index(["model", "metric"])["value"]
    out = []
    for a, b in combinations(list(dict.fromkeys(estimates["model"])), 2):
        for metric in dict.fromkeys(estimates["metric"]):
            diff = (wide[a] - wide[b]).xs(metric, level="metric").to_numpy()
            diff = diff[np.isfinite(diff)]
            if not diff.size:
                continue
            low, high = np.quantile(diff, [0.025, 0.975])
            p = min(1.0, 2 * min((diff <= 0).mean(), (diff >= 0).mean()))
            out.append(
                {
                    "model_a": a,
                    "model_b": b,
                    "metric": metric,
                    "difference": point[(a, metric)] - point[(b, metric)],
                    "ci_low": low,
                    "ci_high": high,
                    "p": p,
                }
            )
    return pd.DataFrame(out)
