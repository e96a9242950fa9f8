"""The fidelity report: build it, render it as Markdown, write it with its plots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from necml.cohort import CohortModel, fit_cohort_model, generate_cohort
from necml.dataset import atomic_write
from necml.fidelity._conflicts import Residual, model_residuals
from necml.fidelity._exactness import exactness_lines, mechanism_lines
from necml.fidelity._plots import plot_fidelity_dots, plot_km_against_published
from necml.fidelity._stats import K_SE, FidelityRow, cohort_rows
from necml.files import all_or_nothing, check_output_root
from necml.spec import CohortSpec

__all__ = ["FidelityReport", "build_fidelity_report", "render_markdown", "write_report"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FidelityReport:
    """A synthetic cohort's statistics against the published ones."""

    spec: CohortSpec
    model: CohortModel
    n: int
    seed: int
    frame: pd.DataFrame
    rows: list[FidelityRow]
    residuals: list[Residual]

    @property
    def n_within(self) -> int:
        return sum(r.within for r in self.rows)

    def table(self) -> pd.DataFrame:
        """All rows as a DataFrame."""
        return pd.DataFrame([{
            "section": r.section, "arm": r.arm, "item": r.item, "statistic": r.statistic,
            "published": r.published, "synthetic": r.synthetic, "tolerance": r.tolerance,
            "within": r.within, "source": r.source, "as_printed": r.as_printed,
        } for r in self.rows])


def build_fidelity_report(
    spec: CohortSpec, *, n: int, seed: int, frame: pd.DataFrame | None = None
) -> FidelityReport:
    """Generate a cohort and compare every published statistic with its synthetic value.

    Parameters
    ----------
    spec : CohortSpec
        The specification.
    n : int
        Cohort size (large n checks the mechanism; the published n shows sampling noise).
    seed : int
        Root seed.
    frame : pandas.DataFrame, optional
        A cohort already drawn from ``spec`` (of ``n`` patients) to report on instead.

    Returns
    -------
    FidelityReport
        Rows, residual conflicts and the cohort itself.
    """
    model = fit_cohort_model(spec)
    if frame is None:
        frame = generate_cohort(spec, n, seed=seed)
    return FidelityReport(
        spec=spec, model=model, n=n, seed=seed, frame=frame,
        rows=cohort_rows(frame, model), residuals=model_residuals(model),
    )


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "NA"
    return f"{x:.4g}"


def _hr_display(row: FidelityRow) -> tuple[str, str]:
    if row.statistic == "log HR":
        return f"HR {np.exp(row.published):.3g}", f"HR {np.exp(row.synthetic):.3g}"
    return _fmt(row.published), _fmt(row.synthetic)


def render_markdown(report: FidelityReport, *, plot_name: str = "km.png", dots_name: str = "dots.png") -> str:
    """Render the report as Markdown (tables per section, conflicts, residuals)."""
    spec = report.spec
    lines = [
        f"# Fidelity report: {spec.title}",
        "",
        f"Specification `{spec.name}` (hash `{report.model.spec_hash[:12]}`), source "
        f"`{spec.seed_file}`; synthetic cohort n = {report.n}, seed = {report.seed}.",
        f"**{report.n_within} of {len(report.rows)} published statistics are within tolerance** "
        f"(tolerance = {K_SE:g} x the Monte-Carlo SE at this n + half the last printed digit).",
        "",
        f"![Kaplan-Meier curves per arm against the published medians]({plot_name})",
        "",
        f"![Every published statistic against its synthetic value, one panel per section]({dots_name})",
        "",
    ]
    for section, group in pd.DataFrame({"row": report.rows,
                                        "section": [r.section for r in report.rows]}
                                       ).groupby("section", sort=False):
        lines += [f"## {section}", "",
                  "| arm | item | statistic | published | synthetic | tolerance | ok | source |",
                  "|---|---|---|---|---|---|---|---|"]
        for row in group["row"]:
            pub, syn = _hr_display(row)
            if row.as_printed is not None:
                pub += f" (as printed: {_fmt(row.as_printed)})"
            lines.append(
                f"| {row.arm} | {row.item} | {row.statistic} | {pub} | {syn} | "
                f"{_fmt(row.tolerance)} | {'yes' if row.within else '**no**'} | {row.source} |"
            )
        lines.append("")
    lines += ["## Residual conflicts between targets (properties of the spec, any n)", ""]
    if report.residuals:
        lines += ["| target | published | model | size | why |", "|---|---|---|---|---|"]
        lines += [f"| {r.target} | {r.published} | {r.model} | {r.size} | {r.note} |"
                  for r in report.residuals]
    else:
        lines.append("None: the calibrated mechanism meets every target.")
    lines += ["", "## Contradictions recorded in the paper", ""]
    for c in spec.conflicts:
        lines.append(f"- `{c.field}`: {c.description} ({'; '.join(c.values)}). "
                     f"Resolution: {c.resolution}.")
    if not spec.conflicts:
        lines.append("None recorded.")
    lines += ["", *exactness_lines(report.frame, report.model)]
    lines += ["", "## Calibrated mechanism", ""]
    lines += mechanism_lines(report.model)
    cens = report.model.censoring
    lines.append(f"- Censoring: administrative {cens.min_admin:.1f}-{cens.max_admin:.1f} months, "
                 f"dropout hazard {cens.dropout_rate:.5f}/month")
    return "\n".join(lines) + "\n"


def write_report(report: FidelityReport, out_dir: str | Path) -> dict[str, Path]:
    """Write ``fidelity.md``, ``fidelity.csv``, ``km.png`` and ``dots.png`` to ``out_dir``: all, or none changes."""
    out = check_output_root(Path(out_dir))
    with all_or_nothing():
        png = out / "km.png"
        plot_km_against_published(report.frame, report.spec, png)
        arms = report.frame["arm"].astype(str).value_counts()
        dots = plot_fidelity_dots(report.table(), published_n={a: report.spec.arms[a].n for a in report.spec.arm_names},
                                  synthetic_n={a: int(arms.get(a, 0)) for a in report.spec.arm_names})
        dots_png = atomic_write(out / "dots.png", lambda tmp: dots.savefig(tmp, format="png", dpi=110))
        md = atomic_write(out / "fidelity.md",
                          lambda tmp: tmp.write_text(render_markdown(report), encoding="utf-8"))
        csv = atomic_write(out / "fidelity.csv", lambda tmp: report.table().to_csv(tmp, index=False))
    return {"markdown": md, "csv": csv, "plot": png, "dots": dots_png}
