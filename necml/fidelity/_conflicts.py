"""Residual conflicts: targets the calibrated mechanism cannot meet, with their size.

These do not depend on the cohort's size or seed: they are properties of the specification.
"""

from __future__ import annotations

from dataclasses import dataclass

from necml.cohort import CohortModel

__all__ = ["Residual", "model_residuals"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Residual:
    """A target, the mechanism's value, and the gap."""

    target: str
    published: str
    model: str
    size: str
    note: str


def _calibration_residuals(model: CohortModel) -> list[Residual]:
    out = []
    for ep, cal in model.calibration.items():
        for check in cal.checks:
            if check.what == "median" and abs(check.relative_error) > 1e-3:
                out.append(Residual(
                    target=f"{ep} median, {check.arm}", published=f"{check.published:g}",
                    model=f"{check.model:.2f}", size=f"{100 * check.relative_error:+.1f}%",
                    note="the shape bound binds: HR, medians and covariate mix disagree",
                ))
            if check.what == "landmark" and abs(check.model - check.published) > 0.02:
                out.append(Residual(
                    target=f"{ep} {check.time:g}-month rate, {check.arm} ({check.source})",
                    published=f"{100 * check.published:.1f}%",
                    model=f"{100 * check.model:.1f}%",
                    size=f"{100 * (check.model - check.published):+.1f} pp",
                    note="checked, not targeted: Weibull PH with the published medians and HR",
                ))
        if cal.shape_at_bound:
            out.append(Residual(
                target=f"{ep} Weibull shape", published="-", model=f"{cal.baseline.shape:.3f}",
                size="at bound", note="the shape needed to meet both medians is implausible",
            ))
    return out


def model_residuals(model: CohortModel) -> list[Residual]:
    """List every target the mechanism misses, largest first within each kind.

    Parameters
    ----------
    model : CohortModel
        The fitted mechanism.

    Returns
    -------
    list of Residual
        Calibration misses, landmark gaps, marginal fit residuals, follow-up and copula repairs.
    """
    out = _calibration_residuals(model)
    for var in model.covariates.variables:
        for arm, marginal in var.marginals.items():
            res = getattr(marginal, "residual", 0.0)
            if res > 1e-4:
                out.append(Residual(
                    target=f"{var.name} moments, {arm}", published="mean/SD/share",
                    model="best fit", size=f"{100 * res:.2f}% of SD",
                    note="no distribution of the family meets all published summaries",
                ))
    if model.pfs_clipped_share > 0.01:
        out.append(Residual(
            target="PFS hazard ratios", published="exact PH", model="PH where h_pfs >= h_os",
            size=f"{100 * model.pfs_clipped_share:.1f}% of PFS events clipped",
            note="where the OS hazard exceeds the PFS hazard, PFS HRs drift towards the OS ones",
        ))
    if abs(model.follow_up_residual) > 0.05:
        out.append(Residual(
            target="median follow-up",
            published=f"{model.censoring.target_median_follow_up:g}",
            model=f"{model.censoring.median():.1f}", size=f"{model.follow_up_residual:+.1f} months",
            note="accrual window and cut-off cannot give this follow-up",
        ))
    if model.covariates.correlation.repair_distance > 1e-9:
        out.append(Residual(
            target="rank correlations", published="as specified", model="nearest PD",
            size=f"{model.covariates.correlation.repair_distance:.3f} (Frobenius)",
            note="the specified correlations were not positive definite",
        ))
    return out
