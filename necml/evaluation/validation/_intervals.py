"""Bootstrap confidence intervals for every metric, and paired comparisons of two models.

The validated predictions (pooled out-of-fold for ``cv``, apparent for ``bootstrap``, test
for ``holdout``) are resampled by patient: each draw resamples the same patients for every
model, so differences between models are *paired*. A draw recomputes each metric (averaged
over CV repeats) with the censoring KM of the resampled patients. The interval is the
percentile interval of the draws; for the optimism-corrected ``bootstrap`` scheme it is the
apparent metric's interval shifted by the estimated optimism. The paired p-value is twice
the smaller share of draws on either side of a zero difference.

These intervals describe the uncertainty of the evaluation given the fitted models; the
variation from refitting on other training samples is shown by the per-fold distribution.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from necml.dataset import SurvivalData
from necml.evaluation.metrics._metrics import MetricSettings, compute_metrics
from necml.evaluation.validation._resampling import ValidationResult

__all__ = ["bootstrap_draws", "metric_table", "paired_comparisons"]


def _draw(
    result: ValidationResult, data: SurvivalData, idx: np.ndarray, settings: MetricSettings
) -> dict[str, float]:
    values: dict[str, list[float]] = {}
    rows = result.rows[idx]
    for r in range(result.risk.shape[0]):
        risk, surv = result.risk[r, idx], result.survival[r, idx]
        ok = np.isfinite(risk)
        t, e = data.time[rows][ok], data.event[rows][ok]
        if not e.any():
            continue
        m = compute_metrics(t, e, t, e, risk[ok], surv[ok], settings)
        for k, v in m.values.items():
            values.setdefault(k, []).append(v)
    return {k: float(np.nanmean(v)) if np.isfinite(v).any() else np.nan for k, v in values.items()}


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
    """``model, metric, value, ci_low, ci_high, validation, undefined_draws`` for every model and metric."""
    out = []
    for name, result in results.items():
        shift = result.estimates.set_index("metric").get("optimism")
        for row in result.estimates.itertuples():
            got = draws[(draws["model"] == name) & (draws["metric"] == row.metric)][
                "value"
            ].to_numpy()
            finite = got[np.isfinite(got)]
            low, high = np.quantile(finite, [0.025, 0.975]) if finite.size else (np.nan, np.nan)
            if shift is not None:
                low, high = low - shift[row.metric], high - shift[row.metric]
            out.append(
                {
                    "model": name,
                    "metric": row.metric,
                    "value": row.value,
                    "ci_low": low,
                    "ci_high": high,
                    "validation": _describe(result),
                    "undefined_draws": int(got.size - finite.size),
                }
            )
    return pd.DataFrame(out)


def _describe(result: ValidationResult) -> str:
    return {
        "cv": "repeated stratified k-fold (pooled out-of-fold)",
        "bootstrap": "bootstrap optimism-corrected",
        "holdout": "held-out split",
    }[result.scheme]


def paired_comparisons(draws: pd.DataFrame, estimates: pd.DataFrame) -> pd.DataFrame:
    """Every pair of models on every metric: difference (a - b), 95% CI and paired p-value."""
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
