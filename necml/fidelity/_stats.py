"""Every published statistic next to its synthetic value, with a Monte-Carlo tolerance.

Tolerance of a row: ``3 x`` the Monte-Carlo standard error of the synthetic statistic at the
cohort's size, plus half a unit of the published number's last printed digit (rounding). The
standard errors: ``sd / sqrt(n)`` for a mean, ``sd / sqrt(2 n)`` for an SD,
``sqrt(p (1 - p) / n)`` for a share, ``sqrt(q (1 - q) / n) / f(x_q)`` for a quantile (density
from the fitted marginal), the Kaplan-Meier (Greenwood, log-log) interval for medians and
landmark rates, and the Cox model's standard error for log hazard ratios.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from necml.cohort import CohortModel, terms_frame
from necml.dataset._coxph import fit_cox_newton
from necml.spec import (
    BernoulliDist,
    BetaDist,
    CategoricalDist,
    MedianRangeDist,
    NormalDist,
    QuartilesDist,
    ZeroInflatedDist,
)

__all__ = ["FidelityRow", "cohort_rows"]

K_SE = 3.0
Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True, kw_only=True)
class FidelityRow:
    """One published statistic and its synthetic counterpart."""

    section: str
    arm: str
    item: str
    statistic: str
    published: float
    synthetic: float
    tolerance: float
    source: str
    #: what the paper prints where the spec uses a corrected reading (``published`` is the used value)
    as_printed: float | None = None

    @property
    def within(self) -> bool:
        return bool(np.isfinite(self.synthetic)) and abs(
            self.synthetic - self.published
        ) <= self.tolerance


def _rounding(value: float) -> float:
    text = f"{value:.6g}"
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0 ** (-decimals)


def _row(section, arm, item, stat, published, synthetic, se, source) -> FidelityRow:  # noqa: ANN001, PLR0913
    return FidelityRow(
        section=section, arm=arm, item=item, statistic=stat, published=float(published),
        synthetic=float(synthetic), tolerance=float(K_SE * se + _rounding(published)),
        source=source,
    )


def _quantile_se(marginal, q: float, n: int) -> float:  # noqa: ANN001
    x = marginal.ppf(np.array([q - 0.005, q + 0.005]))
    density = 0.01 / max(float(x[1] - x[0]), 1e-12)
    return float(np.sqrt(q * (1 - q) / max(n, 1)) / density)


def _continuous_rows(name, arm, dist, x, marginal) -> list[FidelityRow]:  # noqa: ANN001, C901
    rows: list[FidelityRow] = []
    obs = x[~np.isnan(x)]
    n = len(obs)
    src = dist.source
    if isinstance(dist, ZeroInflatedDist):
        p = dist.zero_percent / 100
        rows.append(_row("covariates", arm, name, "% zero", dist.zero_percent,
                         100 * np.mean(obs == 0), 100 * np.sqrt(p * (1 - p) / n), src))
        pos = obs[obs > 0]
        return rows + _continuous_rows(name + " (>0)", arm, dist.positive, pos,
                                       marginal.positive)
    if isinstance(dist, NormalDist | BetaDist):
        sd = dist.sd
        rows.append(_row("covariates", arm, name, "mean", dist.mean, obs.mean(),
                         sd / np.sqrt(n), src))
        rows.append(_row("covariates", arm, name, "sd", dist.sd, obs.std(ddof=1),
                         sd / np.sqrt(2 * n), src))
        if dist.share_above is not None:
            sa = dist.share_above
            p = sa.percent / 100
            above = obs >= sa.cutoff if sa.inclusive else obs > sa.cutoff
            op = ">=" if sa.inclusive else ">"
            rows.append(_row("covariates", arm, name, f"% {op} {sa.cutoff:g}", sa.percent,
                             100 * above.mean(), 100 * np.sqrt(p * (1 - p) / n), src))
    elif isinstance(dist, QuartilesDist):
        for q, label, value in ((0.25, "q1", dist.q1), (0.5, "median", dist.median),
                                (0.75, "q3", dist.q3)):
            rows.append(_row("covariates", arm, name, label, value, np.quantile(obs, q),
                             _quantile_se(marginal, q, n), src))
    elif isinstance(dist, MedianRangeDist):
        rows.append(_row("covariates", arm, name, "median", dist.median, np.median(obs),
                         _quantile_se(marginal, 0.5, n), src))
    return rows


def _discrete_rows(name, arm, dist, col, section="covariates") -> list[FidelityRow]:  # noqa: ANN001
    n = len(col)
    rows = []
    if isinstance(dist, BernoulliDist):
        shares = {"yes": (dist.percent, (col == True).sum())}  # noqa: E712 - nullable boolean
    else:
        as_str = col.astype("string")
        shares = {lv: (pct, (as_str == lv).sum()) for lv, pct in dist.levels.items()}
    if dist.missing_percent > 0:
        shares["not available"] = (dist.missing_percent, col.isna().sum())
    for level, (pct, count) in shares.items():
        p = pct / 100
        rows.append(_row(section, arm, name, f"% {level}", pct, 100 * count / n,
                         100 * np.sqrt(max(p * (1 - p), 0.25 / n) / n), dist.source))
    return rows


def covariate_rows(frame: pd.DataFrame, model: CohortModel) -> list[FidelityRow]:
    """Rows for every per-arm covariate summary of the specification."""
    rows: list[FidelityRow] = []
    fitted = {v.name: v for v in model.covariates.variables}
    arm_col = frame["arm"].astype(str)
    for name, var in model.spec.variables.items():
        for arm, dist in var.arms.items():
            sub = frame.loc[arm_col == arm, name]
            if isinstance(dist, BernoulliDist | CategoricalDist):
                rows += _discrete_rows(name, arm, dist, sub)
                continue
            x = sub.to_numpy(dtype=float, na_value=np.nan)
            rows += _continuous_rows(name, arm, dist, x, fitted[name].marginals[arm])
            if dist.missing_percent > 0:
                p = dist.missing_percent / 100
                rows.append(_row("covariates", arm, name, "% not available",
                                 dist.missing_percent, 100 * np.isnan(x).mean(),
                                 100 * np.sqrt(p * (1 - p) / len(x)), dist.source))
    return rows


def _km(frame: pd.DataFrame, endpoint: str) -> KaplanMeierFitter:
    return KaplanMeierFitter().fit(frame[f"{endpoint}_months"], frame[f"{endpoint}_event"])


def survival_rows(frame: pd.DataFrame, model: CohortModel) -> list[FidelityRow]:
    """Kaplan-Meier medians and landmark rates per arm, and reverse-KM median follow-up."""
    rows: list[FidelityRow] = []
    arm_col = frame["arm"].astype(str)
    for ep, spec in model.spec.outcomes.items():
        for arm, target in spec.arms.items():
            km = _km(frame[arm_col == arm], ep)
            med = float(km.median_survival_time_)
            lo, hi = median_survival_times(km.confidence_interval_).to_numpy().ravel()
            se = (hi - lo) / (2 * Z95) if np.isfinite(hi - lo) else np.inf
            rows.append(_row(ep, arm, f"{ep.upper()}", "median (months)", target.median, med,
                             se, target.source))
            for lm in target.landmarks:
                s = float(km.predict(lm.time))
                ci = km.confidence_interval_survival_function_
                idx = ci.index.searchsorted(lm.time, side="right") - 1
                lo, hi = ci.iloc[max(idx, 0)].to_numpy()
                rows.append(_row(ep, arm, f"{ep.upper()}", f"% at {lm.time:g} months",
                                 lm.percent, 100 * s, 100 * (hi - lo) / (2 * Z95), lm.source))
    fu = model.spec.follow_up
    if fu.median_follow_up is not None:
        rev = KaplanMeierFitter().fit(frame["os_months"], ~frame["os_event"])
        lo, hi = median_survival_times(rev.confidence_interval_).to_numpy().ravel()
        rows.append(_row("follow-up", "all", "follow-up", "median (reverse KM, months)",
                         fu.median_follow_up, float(rev.median_survival_time_),
                         (hi - lo) / (2 * Z95), fu.median_follow_up_source or fu.source))
    return rows


def hazard_ratio_rows(frame: pd.DataFrame, model: CohortModel) -> list[FidelityRow]:
    """Multivariate Cox HRs (Efron ties, R's ``coxph`` rules) re-estimated against the spec's.

    Terms that are constant, aliased or infinite (separation) in the cohort have no row.
    """
    rows: list[FidelityRow] = []
    spec = model.spec
    arm_col = frame["arm"].astype(str)
    for ep, ep_spec in spec.outcomes.items():
        design = terms_frame(frame, [e.term for e in ep_spec.effects], spec).fillna(0.0)
        for arm in ep_spec.treatment:
            design[f"arm_{arm}"] = (arm_col == arm).astype(float).to_numpy()
        design = design.loc[:, design.std() > 0]
        fit = fit_cox_newton(design.to_numpy(float), frame[f"{ep}_months"].to_numpy(float),
                             frame[f"{ep}_event"].to_numpy(bool))
        coef = dict(zip(design.columns, fit.coef, strict=True))
        se = dict(zip(design.columns, fit.se, strict=True))
        named = [(f"arm_{a}", t) for a, t in ep_spec.treatment.items()]
        named += [(e.term.name, e) for e in ep_spec.effects]
        for term, eff in named:
            if not np.isfinite(coef.get(term, np.nan)):
                continue
            rows.append(_row(ep, "all", term, "log HR", np.log(eff.hr), coef[term], se[term], eff.source))
    return rows


def response_rows(frame: pd.DataFrame, model: CohortModel) -> list[FidelityRow]:
    """Best-overall-response shares per arm."""
    if model.spec.response is None:
        return []
    rows: list[FidelityRow] = []
    arm_col = frame["arm"].astype(str)
    for arm, dist in model.spec.response.arms.items():
        sub = frame.loc[arm_col == arm, "best_response"]
        rows += _discrete_rows("best_response", arm, dist, sub, section="response")
    return rows


def cohort_rows(frame: pd.DataFrame, model: CohortModel) -> list[FidelityRow]:
    """All fidelity rows of a synthetic cohort against its specification.

    Parameters
    ----------
    frame : pandas.DataFrame
        A cohort drawn from ``model``.
    model : CohortModel
        The fitted mechanism (for the specification and the marginals' densities).

    Returns
    -------
    list of FidelityRow
        Covariates, survival, follow-up, hazard ratios and response; then the Total columns
        and univariate HRs (:mod:`necml.fidelity._published`, which also marks corrected readings).
    """
    from necml.fidelity._correlations import correlation_rows  # noqa: PLC0415 - it imports this module
    from necml.fidelity._published import with_published  # noqa: PLC0415 - it builds on this module

    return with_published(frame, model, covariate_rows(frame, model) + survival_rows(frame, model)
            + hazard_ratio_rows(frame, model) + response_rows(frame, model)) + correlation_rows(frame, model)
