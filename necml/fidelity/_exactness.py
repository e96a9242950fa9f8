"""How exactly a cohort reproduces the joint model: per-term recovery, deaths, dependence.

For each endpoint, the main-effects Cox model (Efron ties, complete cases) fitted to the cohort,
term by term beside the specification's log-HR and the mechanism's *pseudo-true* value (what
the fit converges to: the generating log-HR for PFS, which is exactly PH; the limit of the OS
fit, which the calibration solves to equal the printed OS log-HR). Also the share of PFS
events that are deaths without progression, Kendall's tau between latent PFS and OS, and
every median and landmark target's residual in its standard error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from necml.cohort import CohortModel, analysis_design, joint_predictors
from necml.dataset._coxph import fit_cox_newton
from necml.spec import DEFAULT_DEATH_SHARE, DEFAULT_DEATH_SHARE_SOURCE

__all__ = ["exactness_lines", "latent_kendall_tau", "mechanism_lines", "recovery_table"]


def _spec_log_hr(model: CohortModel, endpoint: str) -> dict[str, float]:
    spec = model.spec.outcomes[endpoint]
    out = {e.term.name: float(np.log(e.hr)) for e in spec.effects}
    return out | {f"arm_{a}": float(np.log(t.hr)) for a, t in spec.treatment.items()}


def recovery_table(frame: pd.DataFrame, model: CohortModel) -> pd.DataFrame:
    """Per endpoint and term: spec, pseudo-true, the cohort's Cox estimate, its SE and z."""
    rows = []
    for endpoint in ("pfs", "os"):
        x, keep = analysis_design(frame, model, endpoint)
        names = list(model.pseudo_true[endpoint])
        time = frame[f"{endpoint}_months"].to_numpy(float)[keep]
        event = frame[f"{endpoint}_event"].to_numpy(bool)[keep]
        fit = fit_cox_newton(x, time, event)
        printed = _spec_log_hr(model, endpoint)
        for j, name in enumerate(names):
            truth = model.pseudo_true[endpoint][name]
            est, se = float(fit.coef[j]), float(fit.se[j])
            prevalence = float(np.mean(x[:, j] != 0)) if np.isin(x[:, j], (0.0, 1.0)).all() else np.nan
            rows.append({
                "endpoint": endpoint, "term": name, "spec": printed.get(name, np.nan), "pseudo_true": truth,
                "estimate": est, "se": se, "z": (est - truth) / se if se > 0 else np.nan,
                "prevalence": prevalence, "n": int(keep.size), "events": int(event.sum()),
            })
    return pd.DataFrame(rows)


def latent_kendall_tau(frame: pd.DataFrame, model: CohortModel, *, n: int = 20000, seed: int = 0) -> float:
    """Kendall's tau of latent (uncensored) PFS and OS, redrawn for up to ``n`` of the cohort's patients."""
    part = frame.iloc[: min(n, len(frame))]
    eta_pfs, eta_post, switch = joint_predictors(part, model)
    t_pfs, t_os, _, _ = model.joint.sample(eta_pfs, eta_post, np.random.default_rng(seed), switch=switch)
    return float(stats.kendalltau(t_pfs, t_os).statistic)


def _death_share(frame: pd.DataFrame) -> float:
    pfs_event = frame["pfs_event"].to_numpy(bool)
    death_first = pfs_event & frame["os_event"].to_numpy(bool) & (
        frame["os_months"].to_numpy(float) == frame["pfs_months"].to_numpy(float))
    return float(death_first.sum() / max(pfs_event.sum(), 1))


def mechanism_lines(model: CohortModel) -> list[str]:
    """The calibrated joint model in words."""
    joint, spec = model.joint, model.spec
    given = spec.outcomes["pfs"].deaths_without_progression
    source = DEFAULT_DEATH_SHARE_SOURCE if given is None else given.source
    lines = [
        "- Joint model: illness-death, three transitions (progression, death without progression, death after "
        "progression, clock forward); PFS exactly PH with the spec's PFS HRs.",
        f"- PFS baseline (either exit of the progression-free state): {joint.pfs.describe()}",
        f"- Post-progression death baseline: {joint.post.describe()}",
        f"- Deaths without progression: {100 * joint.death_share:.1f}% of PFS events "
        f"({source if given is not None or joint.death_share != DEFAULT_DEATH_SHARE else DEFAULT_DEATH_SHARE_SOURCE})",
        "- Post-progression log-HRs (solved so the OS Cox fit returns the printed OS HRs): "
        + ", ".join(f"{n} {b:+.3f}" for n, b in zip(model.post_names, model.outcome.post_log_hr, strict=True)),
    ]
    for arm, shifts in model.latent_shift.items():
        listed = ", ".join(f"{v} {d:+.3f} SD" for v, d in shifts.items())
        lines.append(f"- Covariate imbalance (assumed, {spec.imbalance.source if spec.imbalance else ''}): latent "
                     f"shifts in {arm}: {listed}; arm-only Cox limits " + ", ".join(
                         f"{ep.upper()} HR {np.exp(v):.3f}" for ep, d in model.unadjusted.items() for v in d.values()))
    for ep, shift in model.outcome.shifts.items():
        if np.any(shift != 0):
            arms = ", ".join(f"{a} {s:+.3f}" for a, s in zip(spec.arm_names, shift, strict=True) if s != 0)
            lines.append(f"- {ep.upper()} late treatment shift of delayed arms: {arms}")
    return lines


def exactness_lines(frame: pd.DataFrame, model: CohortModel) -> list[str]:
    """Markdown: recovery table, deaths without progression, Kendall's tau, target residuals."""
    table = recovery_table(frame, model)
    lines = ["## Joint PFS/OS model: what this cohort recovers", "",
             f"Main-effects Cox fit (Efron ties, complete cases) on this cohort (n = {len(frame)}); "
             "pseudo-true = what the fit converges to under this mechanism and censoring.", "",
             "| endpoint | term | spec log-HR | pseudo-true | estimate | SE | (est - pseudo-true) / SE |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.endpoint} | {r.term} | {r.spec:+.4f} | {r.pseudo_true:+.4f} | {r.estimate:+.4f} | {r.se:.4f} | "
              f"{r.z:+.2f} |" for r in table.itertuples()]
    lines += ["", f"- Deaths without progression: {100 * _death_share(frame):.1f}% of observed PFS events "
              f"(mechanism {100 * model.joint.death_share:.1f}%)",
              f"- Kendall's tau, latent PFS vs OS: {latent_kendall_tau(frame, model):.3f}", "",
              "| endpoint | target | arm | printed | model | residual (SE) | targeted |",
              "|---|---|---|---|---|---|---|"]
    for c in model.checks:
        what = "median" if c.what == "median" else f"{c.time:g}-month rate"
        fmt = (lambda v: f"{v:.2f}") if c.what == "median" else (lambda v: f"{100 * v:.1f}%")
        lines.append(f"| {c.endpoint} | {what} | {c.arm} | {fmt(c.published)} | {fmt(c.model)} | "
                     f"{c.residual_se:+.2f} | {'yes' if c.targeted else 'no'} |")
    return [*lines, ""]
