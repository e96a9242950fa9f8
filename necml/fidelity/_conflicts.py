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
    for check in model.checks:
        ep = check.endpoint
        if check.what == "median" and abs(check.relative_error) > 1e-3:
            out.append(Residual(
                target=f"{ep} median, {check.arm}", published=f"{check.published:g}",
                model=f"{check.model:.2f}",
                size=f"{100 * check.relative_error:+.1f}% ({check.residual_se:+.2f} SE)",
                note="least squares over the printed medians and landmark rates, each in its SE",
            ))
        if check.what == "landmark" and abs(check.model - check.published) > 0.02:
            out.append(Residual(
                target=f"{ep} {check.time:g}-month rate, {check.arm} ({check.source})",
                published=f"{100 * check.published:.1f}%",
                model=f"{100 * check.model:.1f}%",
                size=f"{100 * (check.model - check.published):+.1f} pp ({check.residual_se:+.2f} SE)",
                note="targeted (least squares, in its SE)" if check.targeted
                else "checked, not targeted (a conflicting printed value)",
            ))
    for ep, bound in model.outcome.shape_at_bound.items():
        if bound:
            base = model.joint.pfs if ep == "pfs" else model.joint.post
            out.append(Residual(
                target=f"{ep} baseline shape" + (" (after progression)" if ep == "os" else ""),
                published="-", model=base.describe(), size="at bound",
                note="the shape needed to meet the targets is outside the spec's shape_bounds",
            ))
    if model.outcome.os_hr_residual > 1e-3:
        out.append(Residual(
            target="OS hazard ratios", published="as printed", model="limit of a Cox fit",
            size=f"{model.outcome.os_hr_residual:.4f} (largest log-HR gap)",
            note="the post-progression effects could not be solved exactly",
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
    return out + correlation_residuals(model)


_UNMET = {
    "closest_feasible": "beyond what the two margins allow (Frechet bound); closest feasible",
    "repaired": "moved by the positive-definite repair",
    "constant_margin": "a margin has one value in this arm: undefined, latent correlation 0",
}


def correlation_residuals(model: CohortModel) -> list[Residual]:
    """The rank correlations (per arm) that the copula cannot give, with the value it gives."""
    out = []
    for pair in model.covariates.correlation.unmet:
        achieved = "undefined" if pair.status == "constant_margin" else f"{pair.achieved:.3f}"
        out.append(Residual(
            target=f"rank correlation {pair.item}, {pair.arm}", published=f"{pair.target:g}",
            model=f"closest feasible {achieved}" if pair.status == "closest_feasible" else achieved,
            size="-" if pair.status == "constant_margin" else f"{pair.achieved - pair.target:+.3f}",
            note=_UNMET[pair.status],
        ))
    return out
