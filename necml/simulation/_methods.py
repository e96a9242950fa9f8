"""The methods a replicate runs, each returning rows of estimates.

A row: ``method, estimand, estimate, se, ci_low, ci_high, p, converged, truth, note, reason``.
Cox methods estimate log hazard ratios (Wald 95% CIs, complete cases, the Newton-Efron fit of
:func:`necml.prognosis.fit_cox_newton`, R's ``coxph``). A fit is *converged* only when every
term of the model is estimable; otherwise every row of the fit is a failure with one
``reason`` (:data:`FAILURE_REASONS`: a constant column, a collinear column, a monotone
likelihood (separation), singular information, the iteration limit, no events, or the method
raised) and ``note`` names the terms. ``cox_firth`` fits Firth's penalised likelihood
(``firthmodels``, Breslow ties, as :mod:`necml.prognosis` does on separation): profile-likelihood
95% CIs and likelihood-ratio p-values for the study's estimands, Wald SEs. A ``model``
method estimates the model's C-index by ``folds``-fold stratified CV inside the replicate
(pooled out-of-fold Harrell C, and the IBS). CV estimates the performance of a model trained
on (K-1)/K of n. Its truth is Harrell's C of the same model fitted on the whole replicate (n
patients), evaluated on the uncensored latent times of a large independent sample of the same
mechanism (:func:`_true_c`), so the gap validated - true mixes the CV's own error with the
smaller training sets.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from necml.dataset import Covariate, SurvivalData
from necml.prognosis import fit_cox_newton
from necml.random import child_seed
from necml.simulation._config import MethodConfig, StudyConfig
from necml.simulation._mechanism import Mechanism, Scenario, mechanism_for, truth_sample

__all__ = ["FAILURE_REASONS", "ROW_COLUMNS", "DesignArrays", "run_method"]

ROW_COLUMNS = [
    "method", "estimand", "estimate", "se", "ci_low", "ci_high", "p", "converged", "truth", "note", "reason",
]

#: Why a fit failed (the ``reason`` of a row; ``""`` when it did not), in order of precedence.
FAILURE_REASONS = (
    "constant column",
    "collinear",
    "monotone likelihood",
    "singular information",
    "iteration limit",
    "no events",
    "method raised",
)

# words of the engine's per-term reason (necml.dataset._coxph.AliasReason) -> the fit's failure reason
_REASON_WORDS = (
    ("constant", "constant column"),
    ("collinear", "collinear"),
    ("monotone", "monotone likelihood"),
    ("no events", "no events"),
    ("singular", "singular information"),
    ("iteration", "iteration limit"),
)


def _row(method: str, estimand: str, **values: object) -> dict[str, object]:
    base = dict.fromkeys(ROW_COLUMNS, float("nan")) | {"converged": True, "note": "", "reason": ""}
    return base | {"method": method, "estimand": estimand, **values}


def _term_reason(status: str, reason: str) -> str:
    """The failure reason of one term's engine status (``""`` when the term is fine)."""
    if status == "ok":
        return ""
    return next((r for word, r in _REASON_WORDS if word in reason), "singular information")


def _fit_failure(columns: list[str], reasons: list[str]) -> tuple[str, str]:
    """(reason, note) of a fit from its terms' reasons: the first reason by precedence, naming its terms."""
    for reason in FAILURE_REASONS:
        terms = [c for c, r in zip(columns, reasons, strict=True) if r == reason]
        if terms:
            return reason, f"{reason}: {', '.join(terms)}"
    return "", ""


def _constant(X: pd.DataFrame) -> list[str]:
    return _constant_columns(list(X.columns), X.to_numpy(float))


def _constant_columns(names: list[str], values: np.ndarray) -> list[str]:
    """The columns of ``values`` (no NaN) that take one value (all of them without rows)."""
    if not len(values):
        return list(names)
    return [c for c, flat in zip(names, np.ptp(values, axis=0) == 0, strict=True) if flat]


@dataclass(frozen=True, slots=True)
class DesignArrays:
    """A replicate's design as arrays, built once for all its Cox methods.

    ``names`` are the mechanism's terms, ``values`` the ``n x terms`` covariates (missing as NaN),
    ``time`` and ``event`` the endpoint's. A stack of replicates holds one; each replicate's is a
    view of its rows (:meth:`rows`), so no replicate pays for a frame of its own.
    """

    names: tuple[str, ...]
    values: np.ndarray
    time: np.ndarray
    event: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame, mech: Mechanism) -> DesignArrays:
        """All terms of ``mech`` on ``frame`` (a cohort, or a stack of cohorts)."""
        design = mech.design(frame)
        return cls(tuple(design.columns), design.to_numpy(float), *mech.survival(frame))

    def rows(self, rows: slice) -> DesignArrays:
        return DesignArrays(self.names, self.values[rows], self.time[rows], self.event[rows])

    def take(self, terms: Sequence[str] | None) -> tuple[list[str], np.ndarray]:
        """The columns ``terms`` (all by default; the terms were checked before the first replicate)."""
        if not terms or tuple(terms) == self.names:
            return list(self.names), self.values
        return list(terms), self.values[:, [self.names.index(t) for t in terms]]


def _design(
    method: MethodConfig, frame: pd.DataFrame | None, mech: Mechanism, design: DesignArrays | None
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The method's term names, covariates, times and events: from the replicate's shared design
    when there is one, else from ``frame``."""
    if design is None:
        X = mech.design(frame, method.terms)
        return (list(X.columns), X.to_numpy(float), *mech.survival(frame))
    names, values = design.take(method.terms)
    return names, values, design.time, design.event


def _cox_rows(
    name: str,
    names: list[str],
    values: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    mech: Mechanism,
    penalizer: float,
    *,
    drop_constant: bool = False,
) -> list[dict[str, object]]:
    """Rows of one Cox fit; a fit with any term not estimable fails for every term, with its reason.

    With ``drop_constant`` a constant column is dropped first (its own row fails with reason
    ``constant column``; the others record the drop in ``note``).
    """
    keep = ~np.isnan(values).any(axis=1)
    values, time, event = values[keep], time[keep], event[keep]
    dropped = _constant_columns(names, values) if drop_constant else []
    fitted = [c for c in names if c not in dropped]
    columns = [j for j, c in enumerate(names) if c not in dropped]
    fit = fit_cox_newton(values[:, columns], time, event, penalizer=penalizer)
    low, high = fit.ci
    terms = [_term_reason(s, r) for s, r in zip(fit.status or ("ok",) * len(fitted), fit.reason or ("",) * len(fitted),
                                                   strict=True)]
    reason, note = _fit_failure(fitted, terms)
    if not fit.converged and not reason:
        reason, note = "iteration limit", "not converged"
    drop_note = f"dropped constant: {', '.join(dropped)}" if dropped else ""
    rows = [
        _row(name, term, converged=False, truth=mech.truth[term], reason="constant column",
             note="constant column: dropped")
        for term in dropped
    ]
    failed = bool(reason)
    # plain floats (``tolist``): a worker's results pickle 10x faster than numpy scalars
    coef, se, low, high, p = (np.asarray(a, float).tolist() for a in (fit.coef, fit.se, low, high, fit.p))
    for j, term in enumerate(fitted):
        values = {"estimate": coef[j], "se": se[j], "ci_low": low[j], "ci_high": high[j], "p": p[j]}
        rows.append(
            _row(name, term, **values, converged=not failed, truth=mech.truth[term], reason=reason,
                 note="; ".join(x for x in (note, drop_note) if x))
        )
    return rows


def _cox(
    method: MethodConfig, frame: pd.DataFrame | None, mech: Mechanism, *, design: DesignArrays | None = None,
    **_: object,
) -> list[dict[str, object]]:
    names, values, time, event = _design(method, frame, mech, design)
    return _cox_rows(method.name, names, values, time, event, mech, method.penalizer,
                     drop_constant=method.drop_constant)


def _cox_univariate(
    method: MethodConfig, frame: pd.DataFrame | None, mech: Mechanism, *, design: DesignArrays | None = None,
    **_: object,
) -> list[dict[str, object]]:
    names, values, time, event = _design(method, frame, mech, design)
    return [
        row for j, term in enumerate(names)
        for row in _cox_rows(method.name, [term], values[:, [j]], time, event, mech, method.penalizer)
    ]


#: Steps of the profile-likelihood search for a CI bound; a profile that has not dropped by
#: chi2(1, 0.95) / 2 within them is taken as open (bound +/- inf): at these sizes that is a
#: profile levelling off, and 50 steps cost 3x the time for the same bounds where they exist.
_PL_ITER = 20


def _firth_backend() -> str:
    """numba when installed (about 10x faster per fit, compiled once and cached), else numpy."""
    import importlib.util

    return "numba" if importlib.util.find_spec("numba") is not None else "numpy"


def _cox_firth(  # noqa: C901 - one guarded fit and its failure reasons, kept together for reading
    method: MethodConfig,
    frame: pd.DataFrame | None,
    mech: Mechanism,
    *,
    study: StudyConfig,
    design: DesignArrays | None = None,
    **_: object,
) -> list[dict[str, object]]:
    """Firth-penalised Cox rows: estimate, Wald SE, PL (or Wald) CI and LR p for the reported terms."""
    from firthmodels import FirthCoxPH

    names, values, time, event = _design(method, frame, mech, design)
    X = pd.DataFrame(values, columns=names)
    keep = X.notna().all(axis=1).to_numpy()
    X, time, event = X[keep], time[keep], event[keep].astype(bool)
    constant = _constant(X)
    if constant and not method.drop_constant:
        note = f"constant column: {', '.join(constant)}"
        return [_row(method.name, t, converged=False, truth=mech.truth[t], reason="constant column", note=note)
                for t in X.columns]
    fitted = [c for c in X.columns if c not in constant]
    wanted = [j for j, c in enumerate(fitted) if study.estimands is None or c in study.estimands]
    rows = [_row(method.name, t, converged=False, truth=mech.truth[t], reason="constant column",
                 note="constant column: dropped") for t in constant]
    drop_note = f"dropped constant: {', '.join(constant)}" if constant else ""
    values = dict.fromkeys(("estimate", "se", "ci_low", "ci_high", "p"), np.full(len(fitted), np.nan))
    reason, note = "", drop_note
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if not event.any():
                raise ValueError("no events")
            model = FirthCoxPH(backend=_firth_backend()).fit(X[fitted].to_numpy(float), (event, time))
            bounds = model.conf_int(method=method.ci, features=wanted, max_iter=_PL_ITER)
            model.lrt(features=wanted)
            open_low, open_high = np.isnan(bounds[wanted, 0]), np.isnan(bounds[wanted, 1])
            bounds[wanted, 0] = np.where(open_low, -np.inf, bounds[wanted, 0])
            bounds[wanted, 1] = np.where(open_high, np.inf, bounds[wanted, 1])
            if open_low.any() or open_high.any():
                note = "; ".join(x for x in (drop_note, f"PL bound not reached in {_PL_ITER} steps: infinite") if x)
            values = {"estimate": model.coef_, "se": model.bse_, "ci_low": bounds[:, 0], "ci_high": bounds[:, 1],
                      "p": model.lrt_pvalues_}
            if not model.converged_:
                reason, note = "iteration limit", "; ".join(x for x in ("not converged", drop_note) if x)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            reason = "no events" if str(exc) == "no events" else (
                "singular information" if isinstance(exc, np.linalg.LinAlgError) else "method raised")
            note = f"{reason}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    for j, term in enumerate(fitted):
        rows.append(_row(method.name, term, **{k: float(v[j]) for k, v in values.items()}, converged=not reason,
                         truth=mech.truth[term], reason=reason, note=note))
    return rows


def _survival_data(X: pd.DataFrame, time: np.ndarray, event: np.ndarray) -> SurvivalData:
    types = {c: Covariate(type="binary" if set(X[c].dropna().unique()) <= {0.0, 1.0} else "continuous") for c in X}
    return SurvivalData(X=X.reset_index(drop=True), time=time, event=event, types=types, endpoint="sim", source="sim")


def _true_c(study: StudyConfig, scenario: Scenario, method: MethodConfig, model: object) -> float:
    """Harrell's C of ``model`` on the uncensored latent times of a large independent sample.

    The estimand: the probability that, of two new patients of the scenario's mechanism, the
    one whose event comes first has the higher predicted risk (ties in risk count 1/2), without
    censoring, so it depends neither on the follow-up nor on a tau. The sample is drawn from the
    scenario with censoring ``none`` (same covariates, effects and event-time law).
    """
    from necml.evaluation import harrell_c

    latent = replace(scenario, censoring="none")
    big = truth_sample(study.data, latent, study.data.true_c_n, study.seed)
    big_mech = mechanism_for(study.data, latent)
    big_time, big_event = big_mech.survival(big)
    return harrell_c(big_time, big_event, model.predict(big_mech.design(big, method.terms)))  # type: ignore[attr-defined]


def _model(
    method: MethodConfig,
    frame: pd.DataFrame,
    mech: Mechanism,
    *,
    study: StudyConfig,
    scenario: Scenario,
    seed: np.random.SeedSequence,
    **_: object,
) -> list[dict[str, object]]:
    # imported here: a Cox-only study's workers never load scikit-learn, XGBoost or Optuna
    from necml.evaluation import MetricSettings, ModelPlan, ValidationSettings, fit_model, validate_model
    from necml.models import load_model_config

    config = load_model_config(method.config or "")
    plan = ModelPlan(name=config.model, config=config, n_trials=method.n_trials)
    time, event = mech.survival(frame)
    data = _survival_data(mech.design(frame, method.terms), time, event)
    metrics = MetricSettings(
        landmarks=tuple(study.landmarks), tau=study.tau, grid_start=1.0, grid_stop=max(study.landmarks), grid_points=12
    )
    settings = ValidationSettings(scheme="cv", folds=method.folds, repeats=1, metrics=metrics)
    with warnings.catch_warnings(record=True) as caught:  # e.g. few censored patients for stratified folds
        warnings.simplefilter("always")
        try:
            result = validate_model(plan, data, settings, child_seed(seed, "validate"))
        except ValueError as exc:
            return [_row(method.name, "cindex_harrell", converged=False, reason="method raised",
                         note=f"validation failed: {exc}")]
    note = "; ".join(sorted({str(w.message).splitlines()[0] for w in caught}))
    estimates = dict(zip(result.estimates["metric"], result.estimates["value"], strict=True))
    true_c = float("nan")
    final = result.final if result.final is not None else fit_model(plan, data, child_seed(seed, "final"))
    if final.model is not None:
        true_c = _true_c(study, scenario, method, final.model)
    return [
        _row(
            method.name,
            "cindex_harrell",
            estimate=estimates.get("cindex_harrell", np.nan),
            truth=true_c,
            converged=final.model is not None,
            note=note,
        ),
        _row(method.name, "ibs", estimate=estimates.get("ibs", np.nan), converged=final.model is not None),
    ]


def _python(
    method: MethodConfig, frame: pd.DataFrame, mech: Mechanism, *, seed: np.random.SeedSequence, **_: object
) -> list[dict[str, object]]:
    module, function = (method.callable or ":").split(":", 1)
    found: Callable = getattr(importlib.import_module(module), function)
    return [_row(method.name, **row) for row in found(frame, mech, seed)]


_KINDS = {
    "cox": _cox, "cox_univariate": _cox_univariate, "cox_firth": _cox_firth, "model": _model, "python": _python,
}


def run_method(
    method: MethodConfig, frame: pd.DataFrame | None, mech: Mechanism, **context: object
) -> list[dict[str, object]]:
    """Rows of one method on one replicate's cohort (see the module docstring).

    ``context`` carries ``study``, ``scenario``, ``seed`` and ``design`` (a :class:`DesignArrays`
    or None); the Cox kinds read only ``design`` when it is given, so ``frame`` may then be None.
    """
    return _KINDS[method.kind](method, frame, mech, **context)
