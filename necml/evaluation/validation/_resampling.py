"""Small-sample validation protocols: repeated stratified K-fold CV, bootstrap optimism, holdout.

* ``cv``: ``repeats`` x stratified (by event) K-fold. Per fold, the model is tuned and fitted
  on the training folds only and evaluated on the held-out fold (G from the training folds):
  the per-fold distribution. The out-of-fold predictions of each repeat are also pooled and
  evaluated once over all patients (G from the whole data): the pooled estimate, which is far
  less noisy at n = 31. Reported value: the mean over repeats of the pooled metric.
* ``bootstrap``: Harrell's optimism correction. The apparent metric of the model fitted on
  all data, minus the mean over B bootstrap samples of (metric on the bootstrap sample -
  metric on the original data) of the model fitted (and tuned) on that sample. For the
  concordance indices the .632+ estimate (Efron & Tibshirani 1997, no-information C = 0.5)
  is reported as well, from the out-of-bag patients.
* ``holdout``: one stratified split; only allowed from ``holdout_min_n`` patients.

Every undefined metric, failed fit and fit warning goes to the ledger; nothing is dropped.

Every scheme also returns the *final* model: tuned and fitted on all patients (for ``bootstrap``
the apparent fit), the model a user would deploy or log. Tuning studies are named by resample:
``r<repeat>f<fold>`` (cv), ``b<b>`` (bootstrap), ``holdout`` and ``final``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from necml.dataset import SurvivalData
from necml.evaluation.metrics._metrics import Metrics, MetricSettings, compute_metrics
from necml.evaluation.tuning._tuning import FitResult, ModelPlan, fit_model
from necml.exceptions import DataError
from necml.models import survival_at
from necml.random import child_seed, int_seed

__all__ = ["ValidationResult", "ValidationSettings", "validate_model"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationSettings:
    """The validation protocol (see the module docstring)."""

    scheme: Literal["cv", "bootstrap", "holdout"] = "cv"
    folds: int = 5
    repeats: int = 5
    bootstrap: int = 100
    holdout_fraction: float = 0.3
    holdout_min_n: int = 1000
    ci_resamples: int = 200
    metrics: MetricSettings = field(default_factory=MetricSettings)


@dataclass(slots=True, kw_only=True)
class ValidationResult:
    """One model's validation: per-resample metrics, pooled predictions, ledger, summary."""

    model: str
    scheme: str
    resamples: pd.DataFrame  # repeat, fold, metric, value, note
    estimates: pd.DataFrame  # metric, value (+ apparent, optimism, 632plus for bootstrap)
    risk: np.ndarray  # (repeats, n) out-of-fold (cv), apparent (bootstrap) or test (holdout) risk
    survival: np.ndarray  # (repeats, n, len(times)); NaN where not predicted
    rows: np.ndarray  # patient positions the predictions refer to
    ledger: list[dict[str, object]]
    params: list[dict[str, object]]
    final: FitResult | None = None  # tuned and fitted on all patients
    trials: pd.DataFrame = field(default_factory=pd.DataFrame)  # every tuning trial


def _trials(fits: list[tuple[str, FitResult]]) -> pd.DataFrame:
    tables = [f.trials.assign(resample=name) for name, f in fits if len(f.trials)]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def _final(plan: ModelPlan, data: SurvivalData, seed: np.random.SeedSequence) -> FitResult:
    return fit_model(plan, data, child_seed(seed, "final"), study="final")


def _rows(m: Metrics, **where: object) -> list[dict[str, object]]:
    return [
        {**where, "metric": k, "value": v, "note": m.notes.get(k, "")} for k, v in m.values.items()
    ]


def _ledger(notes: list[str], **where: object) -> list[dict[str, object]]:
    return [{**where, "note": n} for n in notes]


def _predict(
    fit, data: SurvivalData, rows: np.ndarray, times: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    X = data.X.iloc[rows]
    return fit.model.predict(X), survival_at(fit.model, X, times)


def _cross_validate(
    plan: ModelPlan, data: SurvivalData, s: ValidationSettings, seed: np.random.SeedSequence
) -> ValidationResult:
    n, times = len(data.time), s.metrics.times
    risk = np.full((s.repeats, n), np.nan)
    surv = np.full((s.repeats, n, times.size), np.nan)
    per_fold, ledger, params, fits = [], [], [], []
    for r in range(s.repeats):
        split = StratifiedKFold(
            s.folds, shuffle=True, random_state=int_seed(child_seed(seed, "split", r))
        )
        for k, (train, test) in enumerate(split.split(data.X, data.event)):
            fit = fit_model(plan, data.subset(train), child_seed(seed, "fit", r, k), study=f"r{r}f{k}")
            fits.append((f"r{r}f{k}", fit))
            ledger += _ledger(fit.notes, repeat=r, fold=k)
            params.append({"repeat": r, "fold": k, **fit.params})
            if fit.model is None:
                continue
            risk[r, test], surv[r, test] = _predict(fit, data, test, times)
            m = compute_metrics(
                data.time[train],
                data.event[train],
                data.time[test],
                data.event[test],
                risk[r, test],
                surv[r, test],
                s.metrics,
            )
            per_fold += _rows(m, repeat=r, fold=k)
    pooled = []
    for r in range(s.repeats):
        ok = np.isfinite(risk[r])
        if not ok.all():
            ledger.append(
                {
                    "repeat": r,
                    "fold": -1,
                    "note": f"{int((~ok).sum())} patients without a prediction",
                }
            )
        m = compute_metrics(
            data.time,
            data.event,
            data.time[ok],
            data.event[ok],
            risk[r, ok],
            surv[r, ok],
            s.metrics,
        )
        pooled += _rows(m, repeat=r, fold=-1)
    resamples = pd.DataFrame(per_fold + pooled)
    estimates = (
        resamples[resamples["fold"] == -1]
        .groupby("metric", sort=False)["value"]
        .mean()
        .reset_index()
    )
    final = _final(plan, data, seed)
    ledger += _ledger(final.notes, repeat=-1, fold=-1)
    return ValidationResult(
        model=plan.name,
        scheme="cv",
        resamples=resamples,
        estimates=estimates,
        risk=risk,
        survival=surv,
        rows=np.arange(n),
        ledger=ledger,
        params=params,
        final=final,
        trials=_trials([*fits, ("final", final)]),
    )


def _plus632(apparent: float, oob: float) -> float:
    """.632+ estimate of a concordance (error = 1 - C, no-information error 0.5)."""
    err_app, err_oob, gamma = 1 - apparent, 1 - oob, 0.5
    if not (np.isfinite(err_app) and np.isfinite(err_oob)):
        return float("nan")
    err_oob = min(err_oob, gamma)
    rel = (err_oob - err_app) / (gamma - err_app) if err_oob > err_app and gamma > err_app else 0.0
    weight = 0.632 / (1 - 0.368 * rel)
    return 1 - ((1 - weight) * err_app + weight * err_oob)


def _bootstrap_optimism(
    plan: ModelPlan, data: SurvivalData, s: ValidationSettings, seed: np.random.SeedSequence
) -> ValidationResult:
    n, times, everyone = len(data.time), s.metrics.times, np.arange(len(data.time))
    full = fit_model(plan, data, child_seed(seed, "apparent"), study="final")
    if full.model is None:
        raise DataError(f"{plan.name}: the fit on all data failed: {'; '.join(full.notes)}")
    risk, surv = _predict(full, data, everyone, times)
    apparent = compute_metrics(data.time, data.event, data.time, data.event, risk, surv, s.metrics)
    rng = np.random.default_rng(child_seed(seed, "resample"))
    rows, ledger, fits = [], _ledger(full.notes, repeat=-1, fold=-1), [("final", full)]
    for b in range(s.bootstrap):
        boot = rng.integers(0, n, n)
        oob = np.setdiff1d(everyone, boot)
        fit = fit_model(plan, data.subset(boot), child_seed(seed, "fit", b), study=f"b{b}")
        fits.append((f"b{b}", fit))
        ledger += _ledger(fit.notes, repeat=b, fold=-1)
        if fit.model is None:
            continue
        bt, be = data.time[boot], data.event[boot]
        r_all, s_all = _predict(fit, data, everyone, times)
        on_boot = compute_metrics(bt, be, bt, be, r_all[boot], s_all[boot], s.metrics)
        on_orig = compute_metrics(bt, be, data.time, data.event, r_all, s_all, s.metrics)
        rows += _rows(on_boot, repeat=b, fold=0) + _rows(on_orig, repeat=b, fold=1)
        if oob.size and data.event[oob].any():
            on_oob = compute_metrics(
                bt, be, data.time[oob], data.event[oob], r_all[oob], s_all[oob], s.metrics
            )
            rows += _rows(on_oob, repeat=b, fold=2)
    resamples = pd.DataFrame(rows)
    wide = resamples.pivot_table(
        index="repeat", columns=["fold", "metric"], values="value", dropna=False
    )
    estimates = []
    for name, value in apparent.values.items():
        optimism = (
            float(np.nanmean(wide[(0, name)] - wide[(1, name)])) if (0, name) in wide else np.nan
        )
        row = {"metric": name, "apparent": value, "optimism": optimism, "value": value - optimism}
        if name.startswith("cindex") and (2, name) in wide:
            row["plus632"] = _plus632(value, float(np.nanmean(wide[(2, name)])))
        estimates.append(row)
    return ValidationResult(
        model=plan.name,
        scheme="bootstrap",
        resamples=resamples,
        estimates=pd.DataFrame(estimates),
        risk=risk[None, :],
        survival=surv[None, :],
        rows=everyone,
        ledger=ledger,
        params=[{"repeat": -1, "fold": -1, **full.params}],
        final=full,
        trials=_trials(fits),
    )


def _holdout(
    plan: ModelPlan, data: SurvivalData, s: ValidationSettings, seed: np.random.SeedSequence
) -> ValidationResult:
    n = len(data.time)
    if n < s.holdout_min_n:
        raise DataError(
            f"a held-out split needs at least {s.holdout_min_n} patients, got {n}: use cv or bootstrap"
        )
    train, test = train_test_split(
        np.arange(n),
        test_size=s.holdout_fraction,
        stratify=data.event,
        random_state=int_seed(child_seed(seed, "split")),
    )
    fit = fit_model(plan, data.subset(train), child_seed(seed, "fit"), study="holdout")
    if fit.model is None:
        raise DataError(f"{plan.name}: the fit failed: {'; '.join(fit.notes)}")
    risk, surv = _predict(fit, data, test, s.metrics.times)
    m = compute_metrics(
        data.time[train],
        data.event[train],
        data.time[test],
        data.event[test],
        risk,
        surv,
        s.metrics,
    )
    resamples = pd.DataFrame(_rows(m, repeat=0, fold=-1))
    final = _final(plan, data, seed)
    return ValidationResult(
        model=plan.name,
        scheme="holdout",
        resamples=resamples,
        estimates=resamples[["metric", "value"]].copy(),
        risk=risk[None, :],
        survival=surv[None, :],
        rows=test,
        ledger=_ledger(fit.notes, repeat=0, fold=0) + _ledger(final.notes, repeat=-1, fold=-1),
        params=[{"repeat": 0, "fold": 0, **fit.params}],
        final=final,
        trials=_trials([("holdout", fit), ("final", final)]),
    )


_SCHEMES = {"cv": _cross_validate, "bootstrap": _bootstrap_optimism, "holdout": _holdout}


def validate_model(
    plan: ModelPlan, data: SurvivalData, settings: ValidationSettings, seed: np.random.SeedSequence
) -> ValidationResult:
    """Validate one model with the protocol in ``settings`` (see the module docstring).

    Parameters
    ----------
    plan : ModelPlan
        The model, its parameters and tuning budget.
    data : SurvivalData
        All patients.
    settings : ValidationSettings
    seed : numpy.random.SeedSequence
        Seeds splits, tuning and fits; the same seed gives the same result.

    Returns
    -------
    ValidationResult
    """
    return _SCHEMES[settings.scheme](plan, data, settings, seed)
