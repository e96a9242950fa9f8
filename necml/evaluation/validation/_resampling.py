"""Small-sample validation protocols: repeated stratified K-fold CV, bootstrap optimism, holdout.

* ``cv``: ``repeats`` x stratified (by event) K-fold. Per fold, the model is tuned and fitted
  on the training folds only and evaluated on the held-out fold (G from the training folds):
  the per-fold distribution. The reported value pools each repeat's out-of-fold predictions
  (:mod:`necml.evaluation.validation._pooling`): rank metrics count only pairs inside a test
  fold, summed over folds; Brier and IBS pool all patients; G from the whole data. Mean over
  repeats. It estimates the performance of a model trained on (K-1)/K of the patients.
* ``bootstrap``: Harrell's optimism correction. The apparent metric of the model fitted on
  all data, minus the mean over B bootstrap samples of (metric on the bootstrap sample -
  metric on the original data) of the model fitted (and tuned) on that sample; the evaluation
  on the original data uses the original data's censoring distribution. For the concordance
  indices the .632+ estimate (Efron & Tibshirani 1997, no-information C = 0.5) is reported as
  well; its out-of-bag term pools concordant and comparable pair counts over all bootstraps
  (an out-of-bag set has about 11 patients at n = 31). .632+ for a pairwise index is a
  heuristic: the index is not a mean of per-patient losses, as the .632+ theory assumes.
  The out-of-bag predictions (each patient's mean over the bootstraps that left it out) are
  what calibration is assessed on.
* ``holdout``: one stratified split; only allowed from ``holdout_min_n`` patients.

Every undefined metric, failed fit and fit warning goes to the ledger; nothing is dropped.

All models of a run share one ``resample_seed``: the same CV splits, bootstrap samples and
holdout split, so differences between models are paired and carry no partition noise.

Every scheme also returns the *final* model: tuned and fitted on all patients (for ``bootstrap``
the apparent fit), the model a user would deploy or log. Tuning studies are named by resample:
``r<repeat>f<fold>`` (cv), ``b<b>`` (bootstrap), ``holdout`` and ``final``.

The conventions every necml number follows: ``docs/conventions.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from necml.dataset import SurvivalData
from necml.evaluation.metrics._metrics import Metrics, MetricSettings, compute_metrics
from necml.evaluation.tuning._studies import search_kind
from necml.evaluation.tuning._tuning import FitResult, ModelPlan, fit_model
from necml.evaluation.validation._pooling import add_counts, is_rank_metric, pooled_metrics
from necml.evaluation.validation._progress import fit_done
from necml.exceptions import DataError
from necml.models import survival_at
from necml.random import child_seed, int_seed

__all__ = ["ValidationResult", "ValidationSettings", "cv_splits", "validate_model"]


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
    folds: np.ndarray | None = None  # (repeats, n) test fold of each prediction (cv); None: one set
    final: FitResult | None = None  # tuned and fitted on all patients
    trials: pd.DataFrame = field(default_factory=pd.DataFrame)  # every tuning trial
    oob_survival: np.ndarray | None = None  # (n, len(times)) bootstrap: mean out-of-bag prediction

    @property
    def fold_labels(self) -> np.ndarray:
        """``(repeats, n)`` test fold of each prediction; 0 everywhere for a single set."""
        return self.folds if self.folds is not None else np.zeros(self.risk.shape, dtype=np.int64)

    @property
    def validated_survival(self) -> np.ndarray:
        """Each patient's validated S(t) (``(n, len(times))``): mean out-of-fold (cv), out-of-bag
        (bootstrap) or test (holdout) prediction; what calibration is assessed on."""
        if self.oob_survival is not None:
            return self.oob_survival
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(self.survival).sum(axis=0)
            total = np.nansum(self.survival, axis=0)
        return np.where(finite > 0, total / np.maximum(finite, 1), np.nan)

    def estimator(self, metric: str) -> str:
        """Which estimator the reported value of ``metric`` is."""
        if self.scheme == "cv":
            pooled = "pairs within test folds, summed over folds" if is_rank_metric(metric) else (
                "pooled out-of-fold predictions")
            return f"{pooled}; mean over repeats"
        if self.scheme == "bootstrap":
            return "apparent minus bootstrap optimism (Harrell)"
        return "held-out test set"


def _trials(fits: list[tuple[str, FitResult]]) -> pd.DataFrame:
    tables = [f.trials.assign(resample=name) for name, f in fits if len(f.trials)]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def _final(plan: ModelPlan, data: SurvivalData, seed: np.random.SeedSequence) -> FitResult:
    final = fit_model(plan, data, child_seed(seed, "final"), study="final")
    fit_done("final fit on all patients")
    return final


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


def cv_splits(
    data: SurvivalData, folds: int, repeats: int, seed: np.random.SeedSequence
) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """``repeats`` stratified (by event) K-fold partitions, from ``seed`` alone (shared by models).

    Stratified only when events and censorings both number at least ``folds`` (else some fold
    would lack one of them anyway); otherwise plain shuffled K-fold.
    """
    counts = np.bincount(np.asarray(data.event, dtype=int), minlength=2)
    splitter = StratifiedKFold if counts.min() >= folds else KFold
    return [
        list(
            splitter(folds, shuffle=True, random_state=int_seed(child_seed(seed, "split", r))).split(
                data.X, data.event
            )
        )
        for r in range(repeats)
    ]


def _cross_validate(
    plan: ModelPlan,
    data: SurvivalData,
    s: ValidationSettings,
    seed: np.random.SeedSequence,
    resample_seed: np.random.SeedSequence,
) -> ValidationResult:
    n, times = len(data.time), s.metrics.times
    risk = np.full((s.repeats, n), np.nan)
    surv = np.full((s.repeats, n, times.size), np.nan)
    fold_of = np.full((s.repeats, n), -1, dtype=np.int64)
    per_fold, ledger, params, fits = [], [], [], []
    for r, partition in enumerate(cv_splits(data, s.folds, s.repeats, resample_seed)):
        for k, (train, test) in enumerate(partition):
            fold_of[r, test] = k
            fit = fit_model(plan, data.subset(train), child_seed(seed, "fit", r, k), study=f"r{r}f{k}")
            fit_done(f"repeat {r + 1} of {s.repeats}, fold {k + 1} of {s.folds}")
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
        values, notes = pooled_metrics(
            data.time[ok], data.event[ok], risk[r, ok], surv[r, ok], fold_of[r, ok], s.metrics
        )
        pooled += _rows(Metrics(values=values, notes=notes), repeat=r, fold=-1)
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
        folds=fold_of,
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


def _optimism_estimates(apparent: Metrics, resamples: pd.DataFrame, oob_counts: dict) -> list[dict]:
    wide = resamples.pivot_table(index="repeat", columns=["fold", "metric"], values="value", dropna=False)
    estimates = []
    for name, value in apparent.values.items():
        optimism = float(np.nanmean(wide[(0, name)] - wide[(1, name)])) if (0, name) in wide else np.nan
        row = {"metric": name, "apparent": value, "optimism": optimism, "value": value - optimism}
        if name.startswith("cindex"):
            num, den = oob_counts.get(name, (0.0, 0.0))
            row["oob"] = num / den if den > 0 else np.nan
            row["plus632"] = _plus632(value, row["oob"])
        estimates.append(row)
    return estimates


def _bootstrap_optimism(
    plan: ModelPlan,
    data: SurvivalData,
    s: ValidationSettings,
    seed: np.random.SeedSequence,
    resample_seed: np.random.SeedSequence,
) -> ValidationResult:
    n, times, everyone = len(data.time), s.metrics.times, np.arange(len(data.time))
    full = fit_model(plan, data, child_seed(seed, "apparent"), study="final")
    fit_done("fit on all patients")
    if full.model is None:
        raise DataError(f"{plan.name}: the fit on all data failed: {'; '.join(full.notes)}")
    risk, surv = _predict(full, data, everyone, times)
    apparent = compute_metrics(data.time, data.event, data.time, data.event, risk, surv, s.metrics)
    rng = np.random.default_rng(child_seed(resample_seed, "resample"))
    rows, ledger, fits = [], _ledger(full.notes, repeat=-1, fold=-1), [("final", full)]
    oob_counts: dict[str, list[float]] = {}
    oob_sum, oob_n = np.zeros((n, times.size)), np.zeros(n)
    for b in range(s.bootstrap):
        boot = rng.integers(0, n, n)
        oob = np.setdiff1d(everyone, boot)
        fit = fit_model(plan, data.subset(boot), child_seed(seed, "fit", b), study=f"b{b}")
        fit_done(f"bootstrap sample {b + 1} of {s.bootstrap}")
        fits.append((f"b{b}", fit))
        ledger += _ledger(fit.notes, repeat=b, fold=-1)
        if fit.model is None:
            continue
        bt, be = data.time[boot], data.event[boot]
        r_all, s_all = _predict(fit, data, everyone, times)
        on_boot = compute_metrics(bt, be, bt, be, r_all[boot], s_all[boot], s.metrics)
        # the test on the original data uses the original data's censoring distribution
        on_orig = compute_metrics(data.time, data.event, data.time, data.event, r_all, s_all, s.metrics)
        rows += _rows(on_boot, repeat=b, fold=0) + _rows(on_orig, repeat=b, fold=1)
        if oob.size and data.event[oob].any():
            on_oob = compute_metrics(
                data.time, data.event, data.time[oob], data.event[oob], r_all[oob], s_all[oob], s.metrics
            )
            rows += _rows(on_oob, repeat=b, fold=2)
            add_counts(oob_counts, on_oob)
        oob_sum[oob] += s_all[oob]
        oob_n[oob] += 1
    resamples = pd.DataFrame(rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        oob_survival = np.where(oob_n[:, None] > 0, oob_sum / oob_n[:, None], np.nan)
    if (oob_n == 0).any():
        ledger.append({"repeat": -1, "fold": -1, "note": f"{int((oob_n == 0).sum())} patients never out of bag"})
    return ValidationResult(
        model=plan.name,
        scheme="bootstrap",
        resamples=resamples,
        estimates=pd.DataFrame(_optimism_estimates(apparent, resamples, oob_counts)),
        risk=risk[None, :],
        survival=surv[None, :],
        rows=everyone,
        ledger=ledger,
        params=[{"repeat": -1, "fold": -1, **full.params}],
        final=full,
        trials=_trials(fits),
        oob_survival=oob_survival,
    )


def _holdout(
    plan: ModelPlan,
    data: SurvivalData,
    s: ValidationSettings,
    seed: np.random.SeedSequence,
    resample_seed: np.random.SeedSequence,
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
        random_state=int_seed(child_seed(resample_seed, "split")),
    )
    fit = fit_model(plan, data.subset(train), child_seed(seed, "fit"), study="holdout")
    fit_done("fit on the training split")
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
    plan: ModelPlan,
    data: SurvivalData,
    settings: ValidationSettings,
    seed: np.random.SeedSequence,
    *,
    resample_seed: np.random.SeedSequence | None = None,
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
        Seeds tuning and fits; the same seed gives the same result.
    resample_seed : numpy.random.SeedSequence, optional
        Seeds the CV splits, bootstrap samples or holdout split; pass the same one for every
        model of a comparison (default: ``seed``).

    Returns
    -------
    ValidationResult
    """
    shared = seed if resample_seed is None else resample_seed
    result = _SCHEMES[settings.scheme](plan, data, settings, seed, shared)
    if plan.n_trials > 0 and plan.config.search:
        note = f"tuning per resample: {search_kind(plan.n_trials)}"
        result.ledger.insert(0, {"repeat": -1, "fold": -1, "note": note})
    return result
