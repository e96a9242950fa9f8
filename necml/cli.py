"""The ``necml`` command line: parse, call the library, turn errors into exit codes.

Every error a user can cause (a malformed spec, impossible statistics, a bad argument) prints
one message naming the file, field and reason, exits with status 2, and leaves no output file.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Literal, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(
    name="necml",
    help="Synthetic neuroendocrine-carcinoma cohorts from published aggregates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console()

P = ParamSpec("P")
R = TypeVar("R")
EXIT_USER_ERROR = 2


def _print_error(exc: Exception) -> None:
    err.print(f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)


def _user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Report necml's own errors as one message and exit status 2, without a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from necml.exceptions import NecmlError

        try:
            return func(*args, **kwargs)
        except NecmlError as exc:
            _print_error(exc)
            raise typer.Exit(EXIT_USER_ERROR) from None
        except ValueError as exc:  # bad argument values from the library
            _print_error(exc)
            raise typer.Exit(EXIT_USER_ERROR) from None

    return wrapper


SpecArg = Annotated[Path, typer.Argument(help="Cohort specification (YAML).")]
SeedOpt = Annotated[int, typer.Option("--seed", "-s", min=0, help="Root seed (>= 0).")]


@app.command()
@_user_errors
def validate(spec: SpecArg) -> None:
    """Check a cohort specification and print its arms, variables and recorded conflicts."""
    from necml.spec import load_spec, spec_hash

    s = load_spec(spec)
    out.print(f"[green]ok[/] {spec}: {s.title}")
    out.print("  arms: " + ", ".join(f"{a} (n={s.arms[a].n})" for a in s.arm_names))
    out.print(f"  variables: {len(s.variables)}; conflicts recorded: {len(s.conflicts)}")
    out.print(f"  spec hash: {spec_hash(s)}")


@app.command()
@_user_errors
def generate(
    spec: SpecArg,
    n: Annotated[int, typer.Option("--n", "-n", help="Number of patients (>= 1).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Output .parquet file.")],
    seed: SeedOpt = 0,
    allocation: Annotated[
        str, typer.Option(help="Arm sizes: 'exact' published proportions or 'random'.")
    ] = "exact",
) -> None:
    """Generate a synthetic cohort and write it to Parquet (with provenance metadata)."""
    import necml
    from necml.cohort import generate_cohort
    from necml.dataset import write_cohort
    from necml.spec import load_spec, spec_hash

    if n < 1:
        raise ValueError(f"--n must be >= 1, but got {n}.")
    if allocation not in ("exact", "random"):
        raise ValueError(f"--allocation must be 'exact' or 'random', but got {allocation!r}.")
    alloc: Literal["exact", "random"] = "exact" if allocation == "exact" else "random"
    s = load_spec(spec)
    frame = generate_cohort(s, n, seed=seed, allocation=alloc)
    write_cohort(frame, out_path, {
        "spec_name": s.name, "spec_hash": spec_hash(s), "spec_path": str(spec), "seed": seed,
        "n": n, "allocation": allocation, "necml_version": necml.__version__,
    })
    counts = frame["arm"].value_counts().to_dict()
    out.print(f"wrote {out_path}: {n} patients " + ", ".join(f"{a}={c}" for a, c in counts.items()))


def _print_summary(report) -> None:  # noqa: ANN001
    table = Table(title=f"Fidelity: {report.spec.name}, n={report.n}, seed={report.seed}")
    for col in ("section", "rows", "within tolerance"):
        table.add_column(col)
    frame = report.table()
    for section, group in frame.groupby("section", sort=False):
        table.add_row(section, str(len(group)), str(int(group["within"].sum())))
    out.print(table)
    misses = frame[~frame["within"]]
    if len(misses):
        t = Table(title="Outside tolerance")
        for col in ("arm", "item", "statistic", "published", "synthetic", "tolerance"):
            t.add_column(col)
        for r in misses.itertuples():
            t.add_row(r.arm, r.item, r.statistic, f"{r.published:.4g}", f"{r.synthetic:.4g}",
                      f"{r.tolerance:.3g}")
        out.print(t)
    if report.residuals:
        t = Table(title="Residual conflicts between targets")
        for col in ("target", "published", "model", "size"):
            t.add_column(col)
        for r in report.residuals:
            t.add_row(r.target, r.published, r.model, r.size)
        out.print(t)


@app.command()
@_user_errors
def fidelity(
    spec: SpecArg,
    n: Annotated[int, typer.Option("--n", "-n", help="Cohort size (>= 1).")] = 20000,
    seed: SeedOpt = 0,
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for fidelity.md/.csv and km.png.")
    ] = Path("reports"),
) -> None:
    """Compare every published statistic with a synthetic cohort's and write the report."""
    from necml.fidelity import build_fidelity_report, write_report
    from necml.spec import load_spec

    if n < 1:
        raise ValueError(f"--n must be >= 1, but got {n}.")
    s = load_spec(spec)
    report = build_fidelity_report(s, n=n, seed=seed)
    _print_summary(report)
    paths = write_report(report, out_dir / s.name)
    out.print("wrote " + ", ".join(str(p) for p in paths.values()))


#: Covariates of ``necml prognostic`` on a cohort when ``--covariates`` is not given.
DEFAULT_COHORT_COVARIATES = "arm,age,sex,ecog,nlr,ldh"


@app.command()
@_user_errors
def prognostic(
    data: Annotated[str, typer.Argument(help="CSV/Parquet file, or 'veterans' (built in).")],
    endpoint: Annotated[str, typer.Option("--endpoint", "-e", help="pfs, os, or a mapped endpoint.")] = "os",
    covariates: Annotated[
        str | None,
        typer.Option(help="Comma-separated names or cut-offs, e.g. 'arm,age,ecog>=2,nlr>3'. "
                     f"Default: every mapped covariate ({DEFAULT_COHORT_COVARIATES} for a cohort)."),
    ] = None,
    by: Annotated[str | None, typer.Option(help="Column for KM curves and the log-rank test.")] = None,
    mapping: Annotated[Path | None, typer.Option(help="YAML data mapping for a non-cohort file.")] = None,
    firth: Annotated[str, typer.Option(help="Firth-penalised Cox: auto (on separation), always, never.")] = "auto",
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("reports/prognostic"),
) -> None:
    """Kaplan-Meier, log-rank, univariate and multivariate Cox, as the papers did, done right."""
    from necml.dataset import contract_mapping, resolve_data
    from necml.prognosis import paper_table, prognostic_analysis, write_prognostic

    if firth not in ("auto", "always", "never"):
        raise ValueError(f"--firth must be auto, always or never, but got {firth!r}.")
    frame, found, source = resolve_data(data, mapping)
    if covariates is None and mapping is None and found == contract_mapping(frame):
        covariates = DEFAULT_COHORT_COVARIATES
    if covariates is not None:
        found = found.with_expressions([c for c in covariates.split(",") if c.strip()])
    result = prognostic_analysis(frame, found, endpoint, by=by, source=source, firth=firth)  # type: ignore[arg-type]
    for message in result.warnings:
        err.print(f"warning: {message}", style="yellow", markup=False, highlight=False)
    table = Table(title=f"Multivariate Cox, {endpoint.upper()} ({len(result.data.time)} patients, "
                  f"{int(result.data.event.sum())} events)")
    shown = paper_table(result.multivariate)
    for col in shown.columns:
        table.add_column(col)
    for row in shown.itertuples(index=False):
        table.add_row(*(escape(str(v)) for v in row))
    out.print(table)
    paths = write_prognostic(result, out_dir)
    out.print("wrote " + ", ".join(str(p) for p in paths))


@app.command("run")
@_user_errors
def run_command(
    pipeline: Annotated[Path, typer.Argument(help="Pipeline config, e.g. pipelines/quickstart.yaml.")],
    data: Annotated[Path | None, typer.Option(help="Analyse this CSV/Parquet instead.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", "-s", min=0, help="Override the seed.")] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output root.")] = Path("reports"),
) -> None:
    """Run a pipeline: data, validation, prognostic analysis, models, metrics with CIs."""
    from necml.pipeline import load_pipeline, run_pipeline, write_outputs

    config = load_pipeline(pipeline)
    if seed is not None:
        config = config.model_copy(update={"seed": seed})
    result = run_pipeline(config, base=pipeline.parent, data_file=data)
    for message in result.data.warnings:
        err.print(f"warning: {message}", style="yellow", markup=False, highlight=False)
    table = Table(title=f"{config.name}: {len(result.data.time)} patients, "
                  f"{int(result.data.event.sum())} events, {config.validation.scheme}")
    for col in ("model", "metric", "value", "95% CI"):
        table.add_column(col)
    for r in result.metrics.itertuples():
        if r.metric.startswith("cindex") or r.metric == "ibs":
            table.add_row(r.model, r.metric, f"{r.value:.3f}", f"{r.ci_low:.3f}-{r.ci_high:.3f}")
    out.print(table)
    out.print(f"wrote {write_outputs(result, out_dir)}")


def main() -> None:  # pragma: no cover - console entry point
    """Run the CLI."""
    sys.exit(app())
