"""The ``necml`` command line: parse, call the library, turn errors into exit codes.

Every error a user can cause (a malformed spec, impossible statistics, a bad argument) prints
one message naming the file, field and reason, exits with status 2, and leaves no output file.
A tracking store that cannot be reached exits with status 3 after the results were saved, and
says how to log them later; ``necml reproduce`` exits with status 1 when a metric differs.
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
        from necml.exceptions import NecmlError, TrackingUnavailable

        try:
            return func(*args, **kwargs)
        except TrackingUnavailable:
            raise
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
    for dep in s.departures:
        detail = dep.model_dump(exclude={"kind", "source"}, mode="json")
        out.print(escape(f"  departure from the paper's model: {dep.kind} {detail} ({dep.source})"))
    out.print(f"  spec hash: {spec_hash(s)}")


@app.command()
@_user_errors
def generate(
    spec: SpecArg,
    n: Annotated[int, typer.Option("--n", "-n", help="Number of patients (>= 1).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Output .parquet file.")],
    seed: SeedOpt = 0,
    allocation: Annotated[str, typer.Option(help="Arm sizes: 'exact' published proportions or 'random'.")] = "exact",
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
    write_cohort(
        frame,
        out_path,
        {
            "spec_name": s.name,
            "spec_hash": spec_hash(s),
            "spec_path": str(spec),
            "seed": seed,
            "n": n,
            "allocation": allocation,
            "necml_version": necml.__version__,
        },
    )
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
            t.add_row(r.arm, r.item, r.statistic, f"{r.published:.4g}", f"{r.synthetic:.4g}", f"{r.tolerance:.3g}")
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
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Directory for fidelity.md/.csv and km.png.")] = Path(
        "reports"
    ),
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
        typer.Option(
            help="Comma-separated names or cut-offs, e.g. 'arm,age,ecog>=2,nlr>3'. "
            f"Default: every mapped covariate ({DEFAULT_COHORT_COVARIATES} for a cohort)."
        ),
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
    table = Table(
        title=f"Multivariate Cox, {endpoint.upper()} ({len(result.data.time)} patients, "
        f"{int(result.data.event.sum())} events)"
    )
    shown = paper_table(result.multivariate)
    for col in shown.columns:
        table.add_column(col)
    for row in shown.itertuples(index=False):
        table.add_row(*(escape(str(v)) for v in row))
    out.print(table)
    paths = write_prognostic(result, out_dir)
    out.print("wrote " + ", ".join(str(p) for p in paths))


EXIT_MISMATCH = 1
EXIT_TRACKING_UNAVAILABLE = 3

TrackingUriOpt = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow store: sqlite:///path.db or http://host:port. "
        "Default: $MLFLOW_TRACKING_URI, else sqlite:///./mlflow.db with artifacts in ./mlruns.",
    ),
]


def _tracking(uri: str | None):  # noqa: ANN202 - TrackingSettings
    from necml.tracking import TrackingSettings

    return TrackingSettings.resolve(uri)


def _tracking_errors(func: Callable[P, R]) -> Callable[P, R]:
    """An unreachable store: the saved results and how to log them, exit status 3."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from necml.exceptions import TrackingUnavailable

        try:
            return func(*args, **kwargs)
        except TrackingUnavailable as exc:
            _print_error(exc)
            raise typer.Exit(EXIT_TRACKING_UNAVAILABLE) from None

    return wrapper


def _print_metrics(result, title: str) -> None:  # noqa: ANN001 - PipelineResult
    table = Table(title=title)
    for col in ("model", "metric", "value", "95% CI"):
        table.add_column(col)
    for r in result.metrics.itertuples():
        if r.metric.startswith("cindex") or r.metric == "ibs":
            table.add_row(r.model, r.metric, f"{r.value:.3f}", f"{r.ci_low:.3f}-{r.ci_high:.3f}")
    out.print(table)


@app.command("run")
@_tracking_errors
@_user_errors
def run_command(
    pipeline: Annotated[Path, typer.Argument(help="Pipeline config, e.g. pipelines/quickstart.yaml.")],
    data: Annotated[Path | None, typer.Option(help="Analyse this CSV/Parquet instead.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", "-s", min=0, help="Override the seed.")] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output root.")] = Path("reports"),
    track: Annotated[bool, typer.Option("--track/--no-track", help="Log the run to MLflow.")] = True,
    tracking_uri: TrackingUriOpt = None,
    tuning_storage: Annotated[
        str | None,
        typer.Option(
            help="Optuna storage: a journal file or an RDB URL (postgresql://...). "
            "Default: a journal file kept with the outputs."
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted tuning.")] = False,
    log_trials: Annotated[
        bool, typer.Option("--log-trials", help="One MLflow run per tuning trial (default: a summary per model).")
    ] = False,
) -> None:
    """Run a pipeline: data, validation, prognostic analysis, models, metrics with CIs; log to MLflow."""
    from necml.pipeline import invoke_pipeline, load_pipeline

    config = load_pipeline(pipeline)
    if seed is not None:
        config = config.model_copy(update={"seed": seed})
    invocation = invoke_pipeline(
        config,
        base=pipeline.parent,
        out=out_dir,
        data_file=data,
        tracking=_tracking(tracking_uri) if track else None,
        tuning_storage=tuning_storage,
        resume=resume,
        command=" ".join(["necml", *sys.argv[1:]]),
        log_trials=log_trials,
    )
    result = invocation.result
    for message in result.data.warnings:
        err.print(f"warning: {message}", style="yellow", markup=False, highlight=False)
    _print_metrics(
        result,
        f"{config.name}: {len(result.data.time)} patients, "
        f"{int(result.data.event.sum())} events, {config.validation.scheme}",
    )
    out.print(f"wrote {invocation.directory}")
    if invocation.run_id:
        out.print(f"MLflow run {invocation.run_id}")


@app.command("log")
@_tracking_errors
@_user_errors
def log_command(
    directory: Annotated[Path, typer.Argument(help="A run directory written by 'necml run'.")],
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Log a saved run or study directory to MLflow (e.g. after the server was down)."""
    from necml.tracking import log_saved_directory

    settings = _tracking(tracking_uri)
    run_id = log_saved_directory(directory, settings)
    out.print(f"logged {directory} as MLflow run {run_id} in {settings.uri}")


def _key_metric(metrics: dict[str, float], name: str = "cindex_harrell") -> str:
    found = {k.split(".")[0]: v for k, v in metrics.items() if k.endswith(f".{name}")}
    if not found:
        return ""
    best = max(found, key=lambda k: (found[k] == found[k], found[k]))
    return f"{best} {found[best]:.3f}"


@app.command("runs")
@_user_errors
def runs_command(
    tracking_uri: TrackingUriOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs.")] = 20,
) -> None:
    """List recent pipeline runs: pipeline, data, seed, status and the best model's Harrell C."""
    from necml.tracking import list_runs

    settings = _tracking(tracking_uri)
    table = Table(title=f"Pipeline runs in {settings.uri}")
    table.add_column("run id", no_wrap=True)
    for col in ("started (UTC)", "status", "pipeline", "data", "seed", "best Harrell C"):
        table.add_column(col, overflow="fold")
    for run in list_runs(settings, max_results=limit):
        tags = run["tags"]
        table.add_row(
            run["run_id"],
            f"{run['start']:%Y-%m-%d %H:%M}",
            run["status"],
            escape(tags.get("necml.pipeline", "")),
            escape(tags.get("necml.data_source", "")),
            tags.get("necml.seed", ""),
            _key_metric(run["metrics"]),
        )
    out.print(table)
    if settings.is_server:
        out.print(f"browse them at {settings.uri}")
    else:
        out.print(f"browse them with: mlflow ui --backend-store-uri {settings.uri}")


@app.command("compare")
@_user_errors
def compare_command(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more pipeline run ids.")],
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Show pipeline runs side by side: provenance, then every metric."""
    from necml.tracking import get_run_summary

    settings = _tracking(tracking_uri)
    runs = [get_run_summary(settings, r) for r in run_ids]
    table = Table(title="Runs side by side")
    table.add_column("")
    for run in runs:
        table.add_column(run["run_id"][:12])
    for label, key in (
        ("pipeline", "necml.pipeline"),
        ("data", "necml.data_source"),
        ("data sha256", "necml.data_sha256"),
        ("seed", "necml.seed"),
        ("validation", "necml.validation"),
        ("git commit", "necml.git_commit"),
        ("code sha256", "necml.code_sha256"),
    ):
        values = [run["tags"].get(key, "") for run in runs]
        shown = [v[:12] if "sha" in key or "commit" in key else v for v in values]
        table.add_row(label, *(escape(v) for v in shown))
    table.add_row("status", *(run["status"] for run in runs))
    names = sorted({k for run in runs for k in run["metrics"] if not k.endswith((".ci_low", ".ci_high"))})
    for name in names:
        table.add_row(name, *(f"{run['metrics'][name]:.4f}" if name in run["metrics"] else "-" for run in runs))
    out.print(table)


@app.command("reproduce")
@_tracking_errors
@_user_errors
def reproduce_command(
    run_id: Annotated[str, typer.Argument(help="Pipeline run id (see 'necml runs').")],
    tracking_uri: TrackingUriOpt = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output root.")] = Path("reports/reproduced"),
    allow_code_change: Annotated[
        bool, typer.Option("--allow-code-change", help="Proceed when necml's code differs from the record.")
    ] = False,
    rtol: Annotated[float, typer.Option(min=0, help="Relative tolerance (0: identical values).")] = 0.0,
    track: Annotated[bool, typer.Option("--track/--no-track", help="Log the reproduction.")] = True,
) -> None:
    """Re-run a recorded invocation from its record and check every metric; exit 1 on a mismatch."""
    from necml.exceptions import ReproductionError
    from necml.pipeline import reproduce_run

    settings = _tracking(tracking_uri)
    try:
        outcome = reproduce_run(
            run_id, settings=settings, out=out_dir, allow_code_change=allow_code_change, rtol=rtol, track=track
        )
    except ReproductionError as exc:
        _print_error(exc)
        raise typer.Exit(EXIT_MISMATCH) from None
    table = Table(title=f"Reproducing {run_id} ({'identical' if rtol == 0 else f'rtol {rtol:g}'})")
    for col in ("metric", "recorded", "reproduced", "match"):
        table.add_column(col)
    for check in outcome.checks:
        table.add_row(
            check.name,
            f"{check.recorded:.17g}",
            f"{check.reproduced:.17g}",
            "[green]yes[/]" if check.match else "[red]NO[/]",
        )
    out.print(table)
    for note in outcome.notes:
        err.print(f"note: {note}", style="yellow", markup=False, highlight=False)
    if not outcome.data_match:
        err.print("the data differ from the recorded data (SHA-256)", style="red")
    matched = sum(c.match for c in outcome.checks)
    verdict = "reproduced" if outcome.ok else "NOT reproduced"
    out.print(
        f"{verdict}: {matched} of {len(outcome.checks)} metrics match; outputs in {outcome.directory}"
        + (f"; MLflow run {outcome.new_run_id}" if outcome.new_run_id else "")
    )
    if not outcome.ok:
        raise typer.Exit(EXIT_MISMATCH)


def _print_study_summary(performance, estimands: list[str] | None) -> None:  # noqa: ANN001 - DataFrame
    from necml.simulation import summary_table

    wide = summary_table(performance, estimands).fillna("")
    table = Table(title="Performance: estimate (Monte-Carlo SE)")
    for col in wide.columns:
        table.add_column(col)
    for row in wide.itertuples(index=False):
        table.add_row(*(escape(str(v)) for v in row))
    out.print(table)


@app.command("simulate")
@_tracking_errors
@_user_errors
def simulate_command(
    study: Annotated[Path, typer.Argument(help="Study config, e.g. configs/studies/lcnec_power.yaml.")],
    replicates: Annotated[int | None, typer.Option(min=2, help="Override the number of replicates.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Local worker processes.")] = 1,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786.")] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output root.")] = Path("reports/studies"),
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted study.")] = False,
    track: Annotated[bool, typer.Option("--track/--no-track", help="Log the study to MLflow.")] = True,
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Run a simulation study: replicates in parallel, performance with Monte-Carlo SEs."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from necml.simulation import load_study, resolve_study, run_study

    config = resolve_study(load_study(study), study.parent, replicates=replicates)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(f"{config.name}: replicates", total=None)
        result = run_study(
            config,
            out=out_dir,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    _print_study_summary(result.performance, config.estimands)
    out.print(
        f"{result.computed} replicates computed ({result.seconds:.1f} s of worker time in all); "
        f"wrote {result.directory}"
    )
    if track:
        from necml.tracking import log_saved_directory

        out.print(f"MLflow run {log_saved_directory(result.directory, _tracking(tracking_uri))}")


def main() -> None:  # pragma: no cover - console entry point
    """Run the CLI."""
    sys.exit(app())
