"""Univariate and multivariate Cox tables, with the checks the papers skipped.

Definitions: Cox partial likelihood with **Efron's method for tied event times** (lifelines'
``CoxPHFitter``); Wald 95% CIs and Wald p-values; the proportional-hazards check is the
Grambsch-Therneau test on scaled Schoenfeld residuals against rank(time)
(``lifelines.statistics.proportional_hazard_test``). Complete cases only.

Separation: when a binary level has no events (or the likelihood is monotone for any other
reason) the maximum-likelihood HR does not exist; lifelines and scikit-survival return a huge
coefficient instead. necml flags the term (``separation``) and, with ``firth="auto"``, refits
the model with Firth's penalised likelihood (Heinze & Schemper 2001; ``firthmodels``,
Breslow ties, profile-likelihood CIs, likelihood-ratio p-values), stating ``method=firth``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test

from necml.dataset import SurvivalData, design_matrix

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
]
#: |log HR| beyond which (or a SE beyond which) the fit is taken to have diverged.
_DIVERGED_COEF, _DIVERGED_SE = 10.0, 50.0
FirthPolicy = Literal["auto", "always", "never"]


@dataclass(frozen=True, slots=True)
class CoxFit:
    """A fitted Cox table and the warnings its fit raised."""

    table: pd.DataFrame
    warnings: list[str]
    concordance: float


def _design(data: SurvivalData, names: list[str]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    design = design_matrix(data.X[names], {n: data.types[n] for n in names})
    rows = design.index.to_numpy()
    return design.reset_index(drop=True), data.time[rows], data.event[rows]


def _separated(design: pd.DataFrame, event: np.ndarray) -> set[str]:
    """Binary terms with a level (0 or 1) in which nobody has an event."""
    found = set()
    for name in design.columns:
        values = design[name].to_numpy()
        if np.isin(values, (0.0, 1.0)).all():
            for level in (0.0, 1.0):
                at = values == level
                if at.any() and not event[at].any():
                    found.add(name)
    return found


def _lifelines_fit(
    design: pd.DataFrame, time: np.ndarray, event: np.ndarray
) -> tuple[pd.DataFrame, list[str], float]:
    frame = design.assign(_time=time, _event=event.astype(int))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cph = CoxPHFitter().fit(
            frame, "_time", "_event", fit_options={"precision": 1e-10}
        )  # Efron ties
        ph = proportional_hazard_test(cph, frame, time_transform="rank").summary["p"]
    s = cph.summary
    table = pd.DataFrame(
        {
            "term": list(s.index),
            "hr": s["exp(coef)"].to_numpy(),
            "ci_low": s["exp(coef) lower 95%"].to_numpy(),
            "ci_high": s["exp(coef) upper 95%"].to_numpy(),
            "p": s["p"].to_numpy(),
            "ph_p": ph.reindex(s.index).to_numpy(),
            "separation": (
                (s["coef"].abs() > _DIVERGED_COEF) | (s["se(coef)"] > _DIVERGED_SE)
            ).to_numpy(),
            "method": "cox (efron)",
        }
    )
    messages = sorted({str(w.message).splitlines()[0] for w in caught})
    return table, messages, float(cph.concordance_index_)


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
            "separation": False,
            "method": "firth (breslow, profile CI, LR p)",
        }
    )


def fit_cox(data: SurvivalData, names: list[str], *, firth: FirthPolicy = "auto") -> CoxFit:
    """Fit one Cox model on the covariates ``names`` (complete cases).

    Parameters
    ----------
    data : SurvivalData
        The endpoint and covariates.
    names : list of str
        Covariates in the model.
    firth : {"auto", "always", "never"}, default="auto"
        When to use Firth's penalised likelihood: on separation, always, or never.

    Returns
    -------
    CoxFit
        The table (columns :data:`COX_COLUMNS`, one row per model term), the fit's
        warnings, and Harrell's C of the fitted linear predictor.
    """
    design, time, event = _design(data, names)
    table, messages, concordance = _lifelines_fit(design, time, event)
    separated = _separated(design, event) | set(table.loc[table["separation"], "term"])
    table["separation"] = table["term"].isin(separated)
    notes = (
        [f"{', '.join(sorted(separated))}: separation (no events in a level, or a diverging HR)"]
        if separated
        else []
    )
    if firth == "always" or (firth == "auto" and separated):
        firth_table = _firth_fit(design, time, event)
        firth_table["separation"] = firth_table["term"].isin(separated)
        table = firth_table
        notes.append("refitted with Firth's penalised likelihood")
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
