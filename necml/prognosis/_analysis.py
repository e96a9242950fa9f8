"""The papers' prognostic analysis in one call: KM per group, log-rank, Cox tables, plots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from necml.dataset import DataMapping, SurvivalData, atomic_write, prepare_survival_data
from necml.exceptions import DataError
from necml.files import all_or_nothing, check_output_root
from necml.markdown import markdown_table
from necml.prognosis._cox import FirthPolicy, cox_multivariate, cox_univariate
from necml.prognosis._forest import plot_forest
from necml.prognosis._format import format_hr, format_p, p_statement
from necml.prognosis._km import DEFAULT_LANDMARKS, km_table, logrank_test
from necml.prognosis._plots import plot_km, save_figure
from necml.prognosis._schoenfeld import PH_ALPHA, ph_violations, plot_schoenfeld

__all__ = ["PrognosticResult", "format_p", "paper_table", "prognostic_analysis", "write_prognostic"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PrognosticResult:
    """Everything :func:`prognostic_analysis` computed (nothing is written yet)."""

    data: SurvivalData
    groups: pd.Series | None
    by: str | None
    km: pd.DataFrame
    logrank: dict[str, float] | None
    univariate: pd.DataFrame
    multivariate: pd.DataFrame
    warnings: list[str]

    @property
    def multivariate_counts(self) -> tuple[int, int]:
        """Patients and events of the multivariate fit (its complete cases)."""
        complete = self.data.complete
        return int(complete.sum()), int(self.data.event[complete].sum())

    @property
    def events_per_parameter(self) -> float:
        """Events of the multivariate fit (complete cases) divided by its number of terms."""
        return float(self.multivariate_counts[1]) / max(len(self.multivariate), 1)

    def counts_text(self) -> str:
        """Who the analysis counts: all patients, then the multivariate fit's and who it left out."""
        data = self.data
        n, events = self.multivariate_counts
        text = f"{len(data.time)} patients, {int(data.event.sum())} events"
        if data.time_unit != "months":
            text += f" (times in months, converted from {data.time_unit}; a month is 365.25/12 days)"
        excluded = data.exclusion_note()
        if excluded:
            text += f". The multivariate Cox model uses {n} patients with {events} events: {excluded}"
        return f"{text}; {self.events_per_parameter:.1f} events per multivariate parameter."


def prognostic_analysis(
    frame: pd.DataFrame,
    mapping: DataMapping,
    endpoint: str,
    *,
    by: str | None = None,
    source: str = "data",
    landmarks: tuple[float, ...] = DEFAULT_LANDMARKS,
    firth: FirthPolicy = "auto",
) -> PrognosticResult:
    """Kaplan-Meier, log-rank, univariate and multivariate Cox for one endpoint.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (a cohort or a user's file).
    mapping : DataMapping
        Endpoints, covariates and cut-offs (see :func:`~necml.dataset.contract_mapping`).
    endpoint : str
        ``"pfs"``, ``"os"``, or another endpoint of the mapping.
    by : str, optional
        Column to stratify the Kaplan-Meier curves and the log-rank test by (e.g. ``"arm"``).
    source : str, default="data"
        File name for messages.
    landmarks : tuple of float, default=(6, 12, 24)
        Months at which survival is reported.
    firth : {"auto", "always", "never"}, default="auto"
        Firth's penalised Cox on separation, always, or never.

    Returns
    -------
    PrognosticResult
    """
    data = prepare_survival_data(frame, mapping, endpoint, source=source)
    groups = None
    if by is not None:
        if by not in frame.columns:
            raise DataError(f"{source}: --by column {by!r} is absent")
        groups = frame[by].reset_index(drop=True)
    univariate = cox_univariate(data, firth=firth)
    multivariate = cox_multivariate(data, firth=firth)
    return PrognosticResult(
        data=data,
        groups=groups,
        by=by,
        km=km_table(data.time, data.event, groups, landmarks=landmarks),
        logrank=None if groups is None else logrank_test(data.time, data.event, groups),
        univariate=univariate.table,
        multivariate=multivariate.table,
        warnings=[
            *data.warnings,
            *univariate.warnings,
            *(f"multivariate: {m}" for m in multivariate.warnings),
            *_ph_warnings(multivariate.table),
        ],
    )


def paper_table(table: pd.DataFrame) -> pd.DataFrame:
    """A Cox table laid out like the papers': term, HR (95% CI), p."""
    notes = table["note"] if "note" in table else pd.Series("", index=table.index)
    hr_ci = [
        format_hr(h, lo, hi) if np.isfinite(h) else f"NA ({str(note).split(':')[0] or 'not estimable'})"
        for h, lo, hi, note in zip(table["hr"], table["ci_low"], table["ci_high"], notes, strict=True)
    ]
    marks = np.where(table["separation"], " (separation)", "")
    return pd.DataFrame(
        {
            "Term": table["term"] + marks,
            "HR (95% CI)": hr_ci,
            "p": [format_p(p) for p in table["p"]],
        }
    )


def _km_markdown(km: pd.DataFrame) -> str:
    cols = [c for c in km.columns if c.startswith("s_") and not c.endswith(("_low", "_high"))]
    shown = pd.DataFrame(
        {
            "Group": km["group"],
            "n": km["n"],
            "Events": km["events"],
            "Median, months (95% CI)": [
                _interval(r["median"], r["median_ci_low"], r["median_ci_high"], "{:.1f}")
                for _, r in km.iterrows()
            ],
            **{
                f"S({c[2:]})": [
                    _landmark(r[c], r[f"{c}_ci_low"], r[f"{c}_ci_high"])
                    for _, r in km.iterrows()
                ]
                for c in cols
            },
        }
    )
    return markdown_table(shown)


def _landmark(value: float, low: float, high: float) -> str:
    """Landmark survival: "not estimable" beyond follow-up (NaN), never "NR" (a median's word)."""
    if not np.isfinite(value):
        return "not estimable"
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{value:.2f}"  # S = 0 or 1: R gives no log-log interval
    return f"{value:.2f} ({low:.2f}-{high:.2f})"


def _interval(value: float, low: float, high: float, fmt: str) -> str:
    show = lambda v: "NR" if not np.isfinite(v) else fmt.format(v)  # noqa: E731 (NR: not reached)
    return f"{show(value)} ({show(low)}-{show(high)})"


def _ph_warnings(table: pd.DataFrame) -> list[str]:
    """One console warning per multivariate term whose ``cox.zph`` test rejects proportional hazards."""
    return [
        f"proportional hazards violated: {row.term} (multivariate cox.zph {p_statement(row.ph_p)}; "
        "see the Schoenfeld residual plot)"
        for row in ph_violations(table).itertuples()
    ]


def _ph_markdown(result: PrognosticResult, plot: str | None = None) -> list[str]:
    """The proportional-hazards section: flagged terms of both models, and the residual plot."""
    lines = ["## Proportional hazards", ""]
    flagged = [(title, row) for title, table in (("univariate", result.univariate),
                                                 ("multivariate", result.multivariate))
               for row in ph_violations(table).itertuples()]
    if not flagged:
        return [*lines, f"No term has a `cox.zph` p below {PH_ALPHA:g}.", ""]
    lines += [f"Terms with a `cox.zph` p below {PH_ALPHA:g} (their HR averages an effect that changes over time):", ""]
    lines += [f"- **{row.term}** ({title}): {p_statement(row.ph_p)}" for title, row in flagged]
    plot = plot or f"schoenfeld_{result.data.endpoint}.png"
    if len(ph_violations(result.multivariate)):
        lines += ["", f"![Scaled Schoenfeld residuals of the flagged multivariate terms]({plot})"]
    return [*lines, ""]


def render_markdown(result: PrognosticResult) -> str:
    """The analysis as a Markdown report (tables as in the papers, warnings, definitions)."""
    ep, data = result.data.endpoint, result.data
    lines = [
        f"# Prognostic analysis: {ep.upper()} ({data.source})",
        "",
        result.counts_text(),
        "",
        "## Kaplan-Meier",
        "",
        _km_markdown(result.km),
        "",
        f"![Kaplan-Meier curves with numbers at risk](km_{ep}.png)",
        "",
    ]
    if result.logrank is not None:
        lines += [
            f"Log-rank test by {result.by}: chi2 = {result.logrank['statistic']:.2f} "
            f"on {result.logrank['df']:.0f} df, {p_statement(result.logrank['p'])}.",
            "",
        ]
    n, events = result.multivariate_counts
    for title, table in (
        ("Univariate Cox", result.univariate),
        (f"Multivariate Cox ({n} patients, {events} events)", result.multivariate),
    ):
        lines += [f"## {title}", ""]
        if title == "Univariate Cox" and len(table) and table["n"].nunique() > 1:
            lines += [f"Each covariate on the patients with a value: {table['n'].min()} to {table['n'].max()} "
                      "patients (`n`, `events` in the CSV).", ""]
        lines += [markdown_table(paper_table(table)), ""]
    lines += [f"![Forest plot: univariate beside multivariate Cox](forest_{ep}.png)", ""]
    lines += _ph_markdown(result)
    lines += [
        "## Warnings",
        "",
        *([f"- {w}" for w in result.warnings] or ["- none"]),
        "",
        "## Definitions",
        "",
        "- Kaplan-Meier with exponential-Greenwood (log-log) 95% CIs; median CI where the band crosses 0.5; "
        "NR = not reached (a median); a landmark beyond the group's follow-up is not estimable.",
        "- Cox: Efron's method for ties, Wald 95% CIs and p-values, complete cases; "
        "`ph_p` in the CSV is the proportional-hazards score test of R's current `cox.zph` (survival >= 3.0, "
        "transform = \"km\"); a term R would report as NA (aliased, or an infinite coefficient) is NA here, "
        "with the reason in `note`.",
        "- Rows marked separation have a level without events; they are refitted with Firth's penalised likelihood "
        "(Breslow ties, profile-likelihood CIs, likelihood-ratio p) unless `--firth never`.",
        "",
    ]
    return "\n".join(lines)


def write_prognostic(result: PrognosticResult, out: str | Path) -> list[Path]:
    """Write CSV tables, the Markdown report, the KM, forest and (PH flags) Schoenfeld plots: all, or none changes."""
    out = check_output_root(Path(out))
    with all_or_nothing():
        return _write_prognostic(result, out)


def _write_prognostic(result: PrognosticResult, out: Path) -> list[Path]:
    ep = result.data.endpoint
    written = []
    for name, table in (
        ("km", result.km),
        ("cox_univariate", result.univariate),
        ("cox_multivariate", result.multivariate),
    ):
        written.append(
            atomic_write(out / f"{name}_{ep}.csv", lambda tmp, t=table: t.to_csv(tmp, index=False))
        )
    written.append(
        atomic_write(
            out / f"prognostic_{ep}.md", lambda tmp: tmp.write_text(render_markdown(result))
        )
    )
    written += _write_plots(result, out)
    return written


def _write_plots(result: PrognosticResult, out: Path) -> list[Path]:
    """KM, forest (univariate beside multivariate) and, for flagged PH terms, Schoenfeld residuals."""
    ep, data = result.data.endpoint, result.data
    km = plot_km(data.time, data.event, result.groups, population=data.source,
                 title=f"{ep.upper()} by {result.by}" if result.by else ep.upper())
    forest = plot_forest(result.multivariate, univariate=result.univariate, data=data,
                         title=f"Cox proportional hazards, {ep.upper()} ({data.source})")
    written = [save_figure(km, out / f"km_{ep}.png"), save_figure(forest, out / f"forest_{ep}.png")]
    flagged = list(ph_violations(result.multivariate)["term"])
    if flagged:
        fig = plot_schoenfeld(data, result.multivariate, flagged,
                              title=f"Scaled Schoenfeld residuals, multivariate Cox, {ep.upper()}")
        written.append(save_figure(fig, out / f"schoenfeld_{ep}.png"))
    return written
