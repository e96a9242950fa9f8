"""The papers' prognostic analysis in one call: KM per group, log-rank, Cox tables, plots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from necml.dataset import DataMapping, SurvivalData, atomic_write, prepare_survival_data
from necml.exceptions import DataError
from necml.markdown import markdown_table
from necml.prognosis._cox import FirthPolicy, cox_multivariate, cox_univariate
from necml.prognosis._km import DEFAULT_LANDMARKS, km_table, logrank_test
from necml.prognosis._plots import plot_forest, plot_km

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
    def events_per_parameter(self) -> float:
        """Events divided by the multivariate model's number of terms."""
        return float(self.data.event.sum()) / max(len(self.multivariate), 1)


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
        ],
    )


def format_p(p: float) -> str:
    """A p-value as papers print it: ``<0.001``, or three decimals."""
    return "NA" if not np.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


def paper_table(table: pd.DataFrame) -> pd.DataFrame:
    """A Cox table laid out like the papers': term, HR (95% CI), p."""
    hr_ci = [
        f"{h:.2f} ({lo:.2f}-{hi:.2f})"
        for h, lo, hi in table[["hr", "ci_low", "ci_high"]].to_numpy()
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
            "Median (95% CI)": [
                _interval(r["median"], r["median_ci_low"], r["median_ci_high"], "{:.1f}")
                for _, r in km.iterrows()
            ],
            **{
                f"S({c[2:]})": [
                    _interval(r[c], r[f"{c}_ci_low"], r[f"{c}_ci_high"], "{:.2f}")
                    for _, r in km.iterrows()
                ]
                for c in cols
            },
        }
    )
    return markdown_table(shown)


def _interval(value: float, low: float, high: float, fmt: str) -> str:
    show = lambda v: "NR" if not np.isfinite(v) else fmt.format(v)  # noqa: E731 (NR: not reached)
    return f"{show(value)} ({show(low)}-{show(high)})"


def render_markdown(result: PrognosticResult) -> str:
    """The analysis as a Markdown report (tables as in the papers, warnings, definitions)."""
    ep, data = result.data.endpoint, result.data
    lines = [
        f"# Prognostic analysis: {ep.upper()} ({data.source})",
        "",
        f"{len(data.time)} patients, {int(data.event.sum())} events; "
        f"{result.events_per_parameter:.1f} events per multivariate parameter.",
        "",
        "## Kaplan-Meier",
        "",
        _km_markdown(result.km),
        "",
    ]
    if result.logrank is not None:
        lines += [
            f"Log-rank test by {result.by}: chi2 = {result.logrank['statistic']:.2f} "
            f"on {result.logrank['df']:.0f} df, p = {format_p(result.logrank['p'])}.",
            "",
        ]
    for title, table in (
        ("Univariate Cox", result.univariate),
        ("Multivariate Cox", result.multivariate),
    ):
        lines += [f"## {title}", "", markdown_table(paper_table(table)), ""]
    lines += [
        "## Warnings",
        "",
        *([f"- {w}" for w in result.warnings] or ["- none"]),
        "",
        "## Definitions",
        "",
        "- Kaplan-Meier with exponential-Greenwood (log-log) 95% CIs; median CI where the band crosses 0.5; "
        "NR = not reached.",
        "- Cox: Efron's method for ties, Wald 95% CIs and p-values, complete cases; "
        "`ph_p` in the CSV is the Grambsch-Therneau test on scaled Schoenfeld residuals vs rank(time).",
        "- Rows marked separation have a level without events; they are refitted with Firth's penalised likelihood "
        "(Breslow ties, profile-likelihood CIs, likelihood-ratio p) unless `--firth never`.",
        "",
    ]
    return "\n".join(lines)


def write_prognostic(result: PrognosticResult, out: str | Path) -> list[Path]:
    """Write CSV tables, the Markdown report, the KM and forest plots (each file atomically)."""
    out = Path(out)
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
    written.append(
        plot_km(
            result.data.time,
            result.data.event,
            result.groups,
            out / f"km_{ep}.png",
            title=f"{ep.upper()} by {result.by}" if result.by else ep.upper(),
        )
    )
    written.append(
        plot_forest(
            result.multivariate, out / f"forest_{ep}.png", title=f"Multivariate Cox, {ep.upper()}"
        )
    )
    return written
