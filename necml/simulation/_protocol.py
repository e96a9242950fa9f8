"""The filled-in ADEMP protocol of a study, as Markdown (``protocol.md`` beside the results).

Aims, data-generating mechanisms, estimands (with their true values per scenario), methods,
performance measures (with their Monte-Carlo SEs) and the number of replicates and why
(Morris, White & Crowther 2019, Table 1). It is written from the study config alone, before any
replicate, so it can be pre-registered or appended to a paper; :func:`write_protocol` is called
by :func:`necml.simulation.run_study` and can be called on its own.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from necml.simulation._config import MethodConfig, StudyConfig

__all__ = ["protocol_markdown", "write_protocol"]

_METHOD_TEXT = {
    "cox": "multivariate Cox model (Newton-Raphson, Efron ties, Wald 95% CI and test, R's `coxph`)",
    "cox_univariate": "one Cox model per term (Efron ties, Wald 95% CI and test)",
    "cox_firth": "Firth-penalised Cox model (Breslow ties, profile-likelihood 95% CI, likelihood-ratio test)",
    "model": "predictive model, validated by stratified K-fold CV inside the replicate",
    "python": "user method",
}

_MEASURES = """\
Every measure is reported with its Monte-Carlo SE (`performance.csv`: `estimate`, `mcse`).

- Convergence: `failures` (share of replicates whose fit failed; a replicate whose method raised
  counts for every estimand of that method) and `failed_<reason>` (constant column, collinear,
  monotone likelihood, singular information, iteration limit, no events, method raised). A fit is
  converged only when every term of its model is estimable.
- Bias: `bias` (mean), `median_bias`, `rmse`; precision: `empirical_se`, `model_se`,
  `relative_error_se`, `relative_precision` (% increase in precision against the reference
  method, paired replicates).
- Intervals: `coverage`, `be_coverage` (bias-eliminated), `ci_width`, `median_ci_width`.
- Tests: `power` (rejection rate at alpha among converged fits), `power_all` (failed fits count as
  not rejecting), `type_s` (wrong sign) and `type_m` (exaggeration ratio |estimate| / |truth|)
  among the significant estimates (Gelman & Carlin 2014).
- Predictive models: mean and SD of the validated C, its true C, the gap validated - true, the
  mean rank of the models.

Conditional measures (all but the failure shares and `power_all`) use the converged replicates.
"""


def _method_line(method: MethodConfig) -> str:
    options = []
    if method.terms:
        options.append(f"terms {', '.join(method.terms)}")
    if method.penalizer:
        options.append(f"ridge penalizer {method.penalizer:g}")
    if method.drop_constant:
        options.append("a covariate constant in the replicate is dropped (and recorded)")
    if method.kind == "cox_firth" and method.ci == "wald":
        options.append("Wald CIs")
    if method.kind == "model":
        name = Path(method.config or '').name
        options.append(f"config {name}, {method.folds}-fold CV, {method.n_trials} tuning trials")
    if method.kind == "python":
        options.append(f"`{method.callable}`")
    extra = f" ({'; '.join(options)})" if options else ""
    return f"- `{method.name}`: {_METHOD_TEXT[method.kind]}{extra}."


def _replicates_text(study: StudyConfig) -> str:
    r = study.n_replicates
    cover, power = math.sqrt(0.95 * 0.05 / r), math.sqrt(0.25 / r)
    why = (
        f"derived from the target Monte-Carlo SE {study.target.mcse:g} of {study.target.measure} "
        f"(R = p (1 - p) / MCSE^2 with p = {0.95 if study.target.measure == 'coverage' else 0.5})"
        if study.target
        else "given"
    )
    return (
        f"{r} replicates per scenario ({why}): the MCSE of a 95% coverage is {cover:.4f}, of a power "
        f"at most {power:.4f}. Seed {study.seed}; replicate r of scenario s uses "
        "`child_seed(SeedSequence(seed), s, r)`, so results do not depend on scheduling."
    )


def _truth_table(study: StudyConfig) -> str:
    from necml.simulation._mechanism import mechanism_for
    from necml.simulation._replicate import scenarios

    shown = study.estimands
    lines = []
    for scenario in scenarios(study):
        truth = mechanism_for(study.data, scenario).truth
        names = shown or list(truth)
        values = ", ".join(
            f"{t} {truth[t]:+.3f} (HR {np.exp(truth[t]):.3f})" if np.isfinite(truth[t]) else f"{t} none (NaN)"
            for t in names
        )
        lines.append(f"| {scenario.key} | {values} |")
    return "| scenario | true log-HR |\n|---|---|\n" + "\n".join(lines)


def protocol_markdown(study: StudyConfig, *, truths: bool = True) -> str:
    """The ADEMP protocol of ``study`` (see the module docstring).

    ``truths`` adds the table of true log-HRs per scenario (it fits every scenario's mechanism).
    """
    data = study.data
    grid = [f"n: {data.n}", f"effect scale: {data.effect_scale}", f"censoring: {data.censoring}"]
    departures = "".join(
        f"\n  - `{name}`: " + "; ".join(f"{d.kind} ({getattr(d, 'source', '')})" for d in listed)
        for name, listed in data.departures.items()
    )
    sections = [
        f"# ADEMP protocol: {study.name}",
        f"## Aims\n\n{study.aims.strip()}",
        "## Data-generating mechanisms\n\n"
        f"Cohort spec `{Path(data.spec).name}`, endpoint {data.endpoint.upper()}; the full grid of "
        + "; ".join(grid)
        + f"; departures: none{', ' if data.departures else ''}{', '.join(data.departures)}."
        + (f"\n\nDepartures from the analysis model:{departures}" if departures else ""),
        "## Estimands\n\n"
        f"The true conditional log hazard ratios of the mechanism ({', '.join(study.estimands or ['every term'])}): "
        "the spec's log-HRs, times the effect scale. Under a departure that changes a term, the term "
        "has no single true log-HR (NaN): only its rejection rate is reported. For PFS the spec's "
        "log-HRs are those of the progression hazard, which the generator clips where death dominates, "
        "so the PFS truth is approximate (the pseudo-true PFS estimands of the generator issue are not "
        "used yet). A predictive model's estimand is its true C: Harrell's C of the model fitted on "
        f"the replicate, on the uncensored latent times of {data.true_c_n} independent patients of the "
        "same mechanism; K-fold CV estimates the C of a model trained on (K-1)/K of n."
        + (f"\n\n{_truth_table(study)}" if truths else ""),
        "## Methods\n\n" + "\n".join(_method_line(m) for m in study.methods)
        + (f"\n\nReference method for relative precision: `{study.reference}`." if study.reference else ""),
        f"## Performance measures\n\nTests at alpha = {study.alpha:g}. " + _MEASURES,
        f"## Replicates\n\n{_replicates_text(study)}",
    ]
    return "\n\n".join(sections) + "\n"


def write_protocol(study: StudyConfig, path: Path, *, truths: bool = True) -> Path:
    """Write :func:`protocol_markdown` to ``path`` (atomically)."""
    from necml.dataset import atomic_write

    text = protocol_markdown(study, truths=truths)
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
