"""Univariate and multivariate Cox tables, with the checks the papers skipped.

Definitions: Cox partial likelihood with **Efron's method for tied event times**, fitted by
:func:`necml.prognosis.fit_cox_newton`, which follows R's ``survival::coxph`` (Newton-Raphson
from 0, step-halving, stop when the relative change of the log-likelihood is below 1e-9, at
most 20 iterations); Wald 95% CIs and Wald p-values; complete cases only. The
proportional-hazards check ``ph_p`` is R's ``cox.zph`` score test (survival >= 3.0, Kaplan-Meier
time transform) of :func:`necml.prognosis._zph.cox_zph`, for the estimable terms.

Terms that cannot be estimated get NA ``hr``, CI and ``p`` and a reason in ``note``; the other
terms are estimated without them (as R reports NA for an aliased coefficient):

- ``aliased``: the column is constant in the fitted patients, collinear with earlier columns,
  or has no information in any risk set (R's ``toler.chol`` test);
- ``infinite``: a monotone likelihood (separation), R's "coefficient may be infinite" test.

Separation: when a binary level has no events (or the likelihood is monotone for any other
reason) the maximum-likelihood HR does not exist. necml flags the term (``separation``) and,
with ``firth="auto"``, refits the model with Firth's penalised likelihood (Heinze & Schemper
2001; ``firthmodels``, Breslow ties, profile-likelihood CIs, likelihood-ratio p-values) on the
non-aliased columns, stating ``method=firth``. A Firth failure is reported in ``note`` and the
warnings, and the Cox table is kept: the table never raises.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from lifelines.utils import concordance_index

from necml.dataset import SurvivalData, design_matrix
from necml.prognosis._cox_newton import NewtonCoxFit, fit_cox_newton

__all__ = ["COX_COLUMNS", "CoxFit", "cox_multivariate", "cox_univariate", "fit_cox"]

#: Columns of every Cox table, in order.
COX_COLUMNS = [
    "term",
    "hr",
    "ci_low",
    "ci_high",
    "p",
    "n",
    "events",
    "ph_p",
    "separation",
    "method",
    "note",
]
FirthPolicy = Literal["auto", "always", "never"]
PHTest = Literal["score", "gt-legacy"]
_COX_METHOD, _FIRTH_METHOD = "cox (efron)", "firth (breslow, profile CI, LR p)"


@dataclass(frozen=True, slots=True)
class CoxFit:
    """A fitted Cox table and the warnings its fit raised."""

    table: pd.DataFrame
    warnings: list[str]
    concordance: float


def per_unit(name: str, data: SurvivalData) -> tuple[float, str]:
    """The unit a continuous covariate's HR is reported per (mapping ``per:``) and its term name.

    ``per: 10`` gives ``(10.0, "age (per 10)")``; ``per: sd`` divides by the standard deviation
    of the observed values, ``"ldh (per SD = 112)"``; without ``per``, ``(1.0, name)``.
    """
    per = getattr(data.types[name], "per", None)
    if per is None:
        return 1.0, name
    if per == "sd":
        sd = float(pd.to_numeric(data.X[name], errors="coerce").std())
        return (sd, f"{name} (per SD = {sd:.3g})") if np.isfinite(sd) and sd > 0 else (1.0, name)
    return float(per), f"{name} (per {float(per):g})"


def _design(data: SurvivalData, names: list[str]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    design = design_matrix(data.X[names], {n: data.types[n] for n in names})
    for name in names:
        scale, term = per_unit(name, data)
        if term != name:
            design[name] = design[name] / scale
            design = design.rename(columns={name: term})
    rows = design.index.to_numpy()
    return design.reset_index(drop=True), data.time[rows], data.event[rows]


def _separated(design: pd.DataFrame, event: np.ndarray) -> set[str]:
    """Binary terms with a level (0 or 1) in which nobody has an event (and both levels occur)."""
    found = set()
    for name in design.columns:
        values = design[name].to_numpy()
        if np.isin(values, (0.0, 1.0)).all() and len(np.unique(values)) == 2:
            for level in (0.0, 1.0):
                if not event[values == level].any():
                    found.add(name)
    return found


def _ph_p(
    design: pd.DataFrame, time: np.ndarray, event: np.ndarray, fit: NewtonCoxFit, ph_test: PHTest = "score"
) -> tuple[np.ndarray, list[str]]:
    """Per-term ``cox.zph`` p-values for the estimable terms (NaN elsewhere, or on failure)."""
    ph = np.full(design.shape[1], np.nan)
    keep = np.flatnonzero(fit.estimable)
    if len(keep) == 0:
        return ph, []
    try:
        from necml.prognosis._zph import cox_zph

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            zph = cox_zph(design.to_numpy(float)[:, keep], time, event, fit.coef[keep],
                          names=[str(c) for c in design.columns[keep]], ties="efron", method=ph_test,
                          transform="km" if ph_test == "score" else "rank")  # legacy: lifelines' rank(time)
        ph[keep] = zph.table["p"].to_numpy(float)[: len(keep)]
    except Exception as exc:  # noqa: BLE001 (a failed PH test must not fail the table)
        return ph, [f"proportional-hazards test failed ({type(exc).__name__}: {exc}); ph_p is NA"]
    return ph, []


def _concordance(design: pd.DataFrame, time: np.ndarray, event: np.ndarray, fit: NewtonCoxFit) -> float:
    """Harrell's C of the fitted linear predictor (estimable terms)."""
    keep = fit.estimable
    if not keep.any() or not event.any():
        return float("nan")
    lp = design.to_numpy(float)[:, keep] @ fit.coef[keep]
    try:
        return float(concordance_index(time, -lp, event))
    except ZeroDivisionError:  # no comparable pairs
        return float("nan")


def _cox_table(
    design: pd.DataFrame, time: np.ndarray, event: np.ndarray, ph_test: PHTest = "score"
) -> tuple[pd.DataFrame, list[str], float]:
    fit = fit_cox_newton(design.to_numpy(float), time, event, ties="efron")
    low, high = fit.ci
    ph, messages = _ph_p(design, time, event, fit, ph_test)
    table = pd.DataFrame(
        {
            "term": [str(c) for c in design.columns],
            "hr": np.exp(fit.coef),
            "ci_low": np.exp(low),
            "ci_high": np.exp(high),
            "p": fit.p,
            "ph_p": ph,
            "separation": [s == "infinite" for s in fit.status],
            "method": _COX_METHOD,
            "note": list(fit.reason),
        }
    )
    messages += [f"{term}: {reason}" for term, reason in zip(table["term"], fit.reason, strict=True) if reason]
    if not fit.estimable.any() and not event.any():
        messages.append("no events: nothing can be estimated")
    return table, messages, _concordance(design, time, event, fit)


def _firth_fit(design: pd.DataFrame, time: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    from firthmodels import FirthCoxPH

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = FirthCoxPH(backend="numpy").fit(design.to_numpy(), (event.astype(bool), time))
        bounds = model.conf_int(method="pl")
        model.lrt()
    return pd.DataFrame(
        {
            "term": list(design.columns),
            "hr": np.exp(model.coef_),
            "ci_low": np.exp(bounds[:, 0]),
            "ci_high": np.exp(bounds[:, 1]),
            "p": model.lrt_pvalues_,
            "ph_p": np.nan,
            "method": _FIRTH_METHOD,
        }
    )


def _firth_table(
    table: pd.DataFrame, design: pd.DataFrame, time: np.ndarray, event: np.ndarray
) -> tuple[pd.DataFrame, list[str]]:
    """Refit the non-aliased columns with Firth; on failure keep ``table`` and say why."""
    usable = (~table["note"].str.startswith("aliased")).to_numpy()
    columns = design.columns[usable]
    if len(columns) == 0 or not event.any():
        return table, ["Firth refit skipped: no estimable term"]
    try:
        firth = _firth_fit(design[columns], time, event)
    except Exception as exc:  # noqa: BLE001 (firthmodels fails in many ways on tiny data; report, never raise)
        why = f"Firth refit failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        out = table.copy()
        out["note"] = [f"{n}; {why}" if n else why for n in out["note"]]
        return out, [why]
    out = table.copy()
    cols = ["hr", "ci_low", "ci_high", "p", "ph_p", "method"]
    out.loc[usable, cols] = firth[cols].to_numpy()
    out.loc[usable, "note"] = [f"{n}; Firth estimate" if n else "" for n in out.loc[usable, "note"]]
    bad = usable & ~np.isfinite(out["hr"].to_numpy(float))
    out.loc[bad, "note"] = [f"{n}; Firth estimate not finite" if n else "Firth estimate not finite"
                            for n in out.loc[bad, "note"]]
    return out, ["refitted with Firth's penalised likelihood"]


def fit_cox(
    data: SurvivalData, names: list[str], *, firth: FirthPolicy = "auto", ph_test: PHTest = "score"
) -> CoxFit:
    """Fit one Cox model on the covariates ``names`` (complete cases).

    Parameters
    ----------
    data : SurvivalData
        The endpoint and covariates.
    names : list of str
        Covariates in the model.
    firth : {"auto", "always", "never"}, default="auto"
        When to use Firth's penalised likelihood: on separation, always, or never.
    ph_test : {"score", "gt-legacy"}, default="score"
        ``ph_p``: the score test of current ``cox.zph`` (survival >= 3.0), or the pre-2020
        Grambsch-Therneau approximation (lifelines' ``proportional_hazard_test``, rank time).

    Returns
    -------
    CoxFit
        The table (columns :data:`COX_COLUMNS`, one row per model term), the fit's
        warnings, and Harrell's C of the fitted linear predictor.
    """
    design, time, event = _design(data, names)
    table, messages, concordance = _cox_table(design, time, event, ph_test)
    separated = _separated(design, event) | set(table.loc[table["separation"], "term"])
    table["separation"] = table["term"].isin(separated)
    notes = (
        [f"{', '.join(sorted(separated))}: separation (no events in a level, or a diverging HR)"]
        if separated
        else []
    )
    if firth == "always" or (firth == "auto" and separated):
        table, firth_notes = _firth_table(table, design, time, event)
        notes += firth_notes
    table.insert(5, "n", len(design))
    table.insert(6, "events", int(event.sum()))
    return CoxFit(table=table[COX_COLUMNS], warnings=notes + messages, concordance=concordance)


def cox_univariate(data: SurvivalData, *, firth: FirthPolicy = "auto") -> CoxFit:
    """One Cox model per covariate (each on its own complete cases), stacked."""
    fits = [fit_cox(data, [name], firth=firth) for name in data.types]
    table = pd.concat([f.table for f in fits], ignore_index=True)
    messages = [
        f"{name}: {m}" for name, f in zip(data.types, fits, strict=True) for m in f.warnings
    ]
    return CoxFit(table=table, warnings=messages, concordance=np.nan)


def cox_multivariate(data: SurvivalData, *, firth: FirthPolicy = "auto") -> CoxFit:
    """One Cox model with every covariate (complete cases)."""
    return fit_cox(data, list(data.types), firth=firth)
