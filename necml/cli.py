"""The ``necml`` command line: parse, call the library, turn errors into exit codes.

Every error a user can cause (a malformed spec, impossible statistics, a bad argument) prints
one message naming the file, field and reason, exits with status 2, and leaves no output file.
A tracking store that cannot be reached exits with status 3 after the results were saved, and
says how to log them later; ``necml reproduce`` exits with status 1 when a metric differs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
#: Memory per generated patient, generous (the cohort, its latent draws and the Parquet copy).
BYTES_PER_PATIENT = 4096
#: Memory per patient of ``generate``, which streams chunks to Parquet: only the arm allocation
#: is held for all patients (a chunk's working memory is fixed).
STREAMED_BYTES_PER_PATIENT = 64


def _print_error(exc: Exception | str) -> None:
    err.print(f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)


def _user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Report every error as one message without a traceback: status 2 for necml's own and the
    machine's (full disk, read-only folder, memory), 3 for a store that cannot be reached, 4 otherwise."""

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
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - one error path (OS, memory, store, dependencies): no traceback
            from necml.failures import describe_failure

            message, code = describe_failure(exc)
            _print_error(message)
            raise typer.Exit(code) from None

    return wrapper


def _show_version(value: bool) -> None:
    if value:
        import necml

        out.print(f"necml {necml.__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print necml's version and exit.")
    ] = False,
) -> None:
    """Synthetic neuroendocrine-carcinoma cohorts from published aggregates."""


def _write_report(directory: Path, files: list[Path] | None, *, title: str, provenance: dict[str, object]) -> Path:
    """The one-page HTML report of a command's outputs, with the command line and the environment."""
    from necml.environment import environment_record
    from necml.report import write_html_report

    full = {"command": " ".join(["necml", *sys.argv[1:]]), **provenance, "environment": environment_record()}
    return write_html_report(directory, files, title=title, provenance=full)


SpecArg = Annotated[Path, typer.Argument(help="Cohort specification (YAML).")]
SeedOpt = Annotated[int, typer.Option("--seed", "-s", min=0, help="Root seed (>= 0).")]


@app.command()
@_user_errors
def validate(spec: SpecArg) -> None:
    """Check a cohort specification and print its arms, variables and recorded conflicts."""
    from necml.spec import load_spec, spec_hash

    s = load_spec(spec)
    out.print(f"[green]ok[/] {escape(str(spec))}: {escape(s.title)}")
    out.print(escape("  arms: " + ", ".join(f"{a} (n={s.arms[a].n})" for a in s.arm_names)))
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
    import pandas as pd

    import necml
    from necml.cohort import iter_cohort
    from necml.dataset import write_cohort_chunks
    from necml.files import check_memory, check_output_file
    from necml.spec import load_spec, spec_hash

    if n < 1:
        raise ValueError(f"--n must be >= 1, but got {n}.")
    if allocation not in ("exact", "random"):
        raise ValueError(f"--allocation must be 'exact' or 'random', but got {allocation!r}.")
    alloc: Literal["exact", "random"] = "exact" if allocation == "exact" else "random"
    check_output_file(out_path)
    check_memory("--n", n, STREAMED_BYTES_PER_PATIENT)
    s = load_spec(spec)
    arm_counts: list[pd.Series] = []  # per chunk, as it streams past
    frames = (c for c in iter_cohort(s, n, seed=seed, allocation=alloc)
              if not arm_counts.append(c["arm"].value_counts()))
    write_cohort_chunks(
        frames,
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
    counts = pd.concat(arm_counts, axis=1).sum(axis=1).sort_values(ascending=False, kind="stable").to_dict()
    out.print(escape(f"wrote {out_path}: {n} patients " + ", ".join(f"{a}={c}" for a, c in counts.items())))


def _print_summary(report) -> None:  # noqa: ANN001
    table = Table(title=escape(f"Fidelity: {report.spec.name}, n={report.n}, seed={report.seed}"))
    for col in ("section", "rows", "within tolerance"):
        table.add_column(col)
    frame = report.table()
    for section, group in frame.groupby("section", sort=False):
        table.add_row(escape(str(section)), str(len(group)), str(int(group["within"].sum())))
    out.print(table)
    misses = frame[~frame["within"]]
    if len(misses):
        t = Table(title="Outside tolerance")
        for col in ("arm", "item", "statistic", "published", "synthetic", "tolerance"):
            t.add_column(col)
        for r in misses.itertuples():
            t.add_row(
                *(escape(str(v)) for v in (r.arm, r.item, r.statistic)),
                f"{r.published:.4g}", f"{r.synthetic:.4g}", f"{r.tolerance:.3g}",
            )
        out.print(t)
    if report.residuals:
        t = Table(title="Residual conflicts between targets")
        for col in ("target", "published", "model", "size"):
            t.add_column(col)
        for r in report.residuals:
            t.add_row(*(escape(str(v)) for v in (r.target, r.published, r.model, r.size)))
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
    from necml.files import check_memory, check_output_root
    from necml.spec import load_spec

    if n < 1:
        raise ValueError(f"--n must be >= 1, but got {n}.")
    check_output_root(out_dir)
    check_memory("--n", n, BYTES_PER_PATIENT)
    s = load_spec(spec)
    report = build_fidelity_report(s, n=n, seed=seed)
    _print_summary(report)
    paths = write_report(report, out_dir / s.name)
    paths["html"] = _write_report(
        out_dir / s.name, list(paths.values()), title=f"Fidelity report: {s.title}",
        provenance={"spec": str(spec), "spec_sha256": report.model.spec_hash, "n": n, "seed": seed},
    )
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
    from necml.files import check_output_root
    from necml.prognosis import paper_table, prognostic_analysis, write_prognostic

    if firth not in ("auto", "always", "never"):
        raise ValueError(f"--firth must be auto, always or never, but got {firth!r}.")
    check_output_root(out_dir)
    frame, found, source = resolve_data(data, mapping)
    if covariates is None and mapping is None and found == contract_mapping(frame):
        covariates = DEFAULT_COHORT_COVARIATES
    if covariates is not None:
        found = found.with_expressions([c for c in covariates.split(",") if c.strip()])
    result = prognostic_analysis(frame, found, endpoint, by=by, source=source, firth=firth)  # type: ignore[arg-type]
    for message in result.warnings:
        err.print(f"warning: {message}", style="yellow", markup=False, highlight=False)
    n_fit, events_fit = result.multivariate_counts  # the patients the fit used (complete cases)
    table = Table(
        title=f"Multivariate Cox, {endpoint.upper()} ({n_fit} patients, {events_fit} events)",
        caption=escape(result.data.exclusion_note()) or None,
    )
    shown = paper_table(result.multivariate)
    for col in shown.columns:
        table.add_column(col)
    for row in shown.itertuples(index=False):
        table.add_row(*(escape(str(v)) for v in row))
    out.print(table)
    paths = write_prognostic(result, out_dir)
    from necml.dataset import data_sha256

    paths.append(_write_report(
        out_dir, paths, title=f"Prognostic analysis: {endpoint.upper()} ({source})",
        provenance={"data": {"source": source, "sha256": data_sha256(frame), "rows": len(frame)},
                    "seed": "none (a deterministic analysis)"},
    ))
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
    pipeline: Annotated[
        Path | None,
        typer.Argument(help="Pipeline config, e.g. pipelines/quickstart.yaml; without one, --data and --mapping "
                       "run necml's default pipeline (Cox, elastic-net Cox, random survival forest)."),
    ] = None,
    data: Annotated[Path | None, typer.Option(help="Analyse this CSV/Parquet instead.")] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="YAML data mapping of --data (endpoints, units, event codes, covariates).")
    ] = None,
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
    """Run a pipeline: data, validation, prognostic analysis, models, metrics with CIs; log to MLflow.

    Over your own file: necml run --data my.csv --mapping my_mapping.yaml (the default pipeline),
    or necml run my_pipeline.yaml --data my.csv --mapping my_mapping.yaml.
    """
    from necml.exceptions import DataError
    from necml.pipeline import invoke_pipeline, load_pipeline

    if mapping is not None and data is None:
        raise DataError("--mapping maps a user's file: give the file with --data FILE")
    if pipeline is None:
        config = _default_pipeline(data, mapping)
    else:
        config = load_pipeline(pipeline)
    if seed is not None:
        config = config.model_copy(update={"seed": seed})
    with _fit_progress(config.name) as progress:
        invocation = _invoke_interruptible(
            invoke_pipeline,
            config,
            base=pipeline.parent if pipeline is not None else Path("."),
            out=out_dir,
            data_file=data,
            mapping_file=mapping,
            tracking=_tracking(tracking_uri) if track else None,
            tuning_storage=tuning_storage,
            resume=resume,
            command=" ".join(["necml", *sys.argv[1:]]),
            log_trials=log_trials,
            progress=progress,
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


@contextmanager
def _fit_progress(name: str) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on stderr over a pipeline's model fits (model k of K, fold j of J, ETA)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("fits, ETA"),
               TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(f"{name}: loading data", total=None)

        def update(what: str, done: int, total: int) -> None:
            bar.update(task, description=f"{name}: {what}", completed=done, total=total)

        yield update


def _invoke_interruptible(invoke: Callable[..., R], *args: object, **kwargs: object) -> R:
    """Run a pipeline; on Ctrl-C say what was kept and how to continue, then exit 130."""
    try:
        return invoke(*args, **kwargs)
    except KeyboardInterrupt:
        config = args[0]
        tunes = any(m.n_trials > 0 for m in config.models)  # type: ignore[attr-defined]
        again = ("run the same command with --resume to continue the tuning from its journal (finished trials "
                 "are kept)" if tunes else "run the same command again to start over")
        err.print(
            f"interrupted: no output was written and the MLflow run, if any, is marked KILLED; {again}",
            style="yellow", markup=False, highlight=False,
        )
        raise typer.Exit(130) from None


def _default_pipeline(data: Path | None, mapping: Path | None):  # noqa: ANN202 - PipelineConfig
    """necml's default pipeline over a user's file: its mapping's ``os`` endpoint, else its first."""
    from necml.config import load_config
    from necml.dataset import DataMapping
    from necml.exceptions import DataError
    from necml.pipeline._config import default_pipeline

    if data is None:
        raise DataError("give a pipeline config (e.g. pipelines/quickstart.yaml), or --data FILE --mapping M.yaml")
    endpoint = "os"
    if mapping is not None:
        endpoints = list(load_config(mapping, DataMapping, what="data mapping").endpoints)
        endpoint = "os" if "os" in endpoints or not endpoints else endpoints[0]
    return default_pipeline(data, endpoint)


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
    settings = _tracking(tracking_uri)
    database = settings.uri.removeprefix("sqlite:///") if settings.uri.startswith("sqlite:///") else None
    if database is not None and not Path(database).exists():  # nothing to list: no MLflow import, no new store
        out.print(escape(f"no runs yet: {database} does not exist (necml run creates it)"))
        return
    from necml.tracking import list_runs

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
    find_n_term: Annotated[
        str | None, typer.Option("--find-n", help="Find the smallest n whose power on TERM reaches --power.")
    ] = None,
    power: Annotated[float, typer.Option(min=0.01, max=0.99, help="Target power (or assurance) of --find-n.")] = 0.8,
    assurance: Annotated[
        float | None, typer.Option(min=0.0, help="--find-n on assurance: SD of a normal design prior on the log-HR.")
    ] = None,
    method: Annotated[str | None, typer.Option(help="--find-n: the study's method to test (default: first).")] = None,
) -> None:
    """Run a simulation study: replicates in parallel, performance with Monte-Carlo SEs.

    With --find-n TERM, find instead the smallest n whose power (rejection rate at alpha, failed
    fits not rejecting) reaches --power, with a 95% CI (written to OUT/<name>_find_n_<TERM>/find_n.csv);
    --replicates then sets the replicates per search round (default 400, 6 rounds).
    """
    if find_n_term is not None:
        _find_n(study, find_n_term, power, assurance, method, replicates, workers, scheduler, out_dir)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from necml.simulation import load_study, resolve_study, run_study, study_hash

    config = resolve_study(load_study(study), study.parent, replicates=replicates)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    # redrawn on each chunk, not by a refresh thread: with no other thread running, local workers
    # are forked (necml.simulation._execute.can_fork) and start in milliseconds
    with Progress(*columns, console=err, transient=False, auto_refresh=False) as bar:
        task = bar.add_task(f"{config.name}: replicates", total=None)
        bar.refresh()
        result = run_study(
            config,
            out=out_dir,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            progress=lambda done, total: bar.update(task, completed=done, total=total, refresh=True),
            announce=lambda line: bar.console.print(line, markup=False, highlight=False),
        )
    _print_study_summary(result.performance, config.estimands)
    report = _write_report(
        result.directory, None, title=f"Simulation study: {config.name}",
        provenance={"study": str(study), "study_sha256": study_hash(config), "seed": config.seed,
                    "replicates": config.replicates, "data": {"spec": str(config.data.spec)}},
    )
    out.print(
        f"{result.computed} replicates computed ({result.seconds:.1f} s of worker time in all); "
        f"wrote {result.directory} (report: {report.name})"
    )
    if track:
        from necml.tracking import log_saved_directory

        out.print(f"MLflow run {log_saved_directory(result.directory, _tracking(tracking_uri))}")


@app.command("benchmark")
@_tracking_errors
@_user_errors
def benchmark_command(
    config: Annotated[Path | None, typer.Argument(help="Benchmark config (YAML); or use --data/--sksurv.")] = None,
    data: Annotated[Path | None, typer.Option(help="Data file (CSV/Parquet), one row per patient.")] = None,
    folds: Annotated[Path | None, typer.Option(help="Given resampling of --data: set, iteration, row_id.")] = None,
    time: Annotated[str, typer.Option(help="Time column of --data.")] = "time",
    event: Annotated[str, typer.Option(help="Event column (0/1) of --data.")] = "event",
    factors: Annotated[str | None, typer.Option(help="Factor columns of --data, comma-separated.")] = None,
    numeric: Annotated[str | None, typer.Option(help="Numeric columns (default: all others).")] = None,
    sksurv: Annotated[str | None, typer.Option(help="scikit-survival data sets, e.g. veterans,gbsg2.")] = None,
    survset: Annotated[str | None, typer.Option(help="SurvSet data sets (extra `data`), e.g. pbc,colon.")] = None,
    models: Annotated[str, typer.Option(help="Models, comma-separated (necml's zoo).")] = "coxph",
    name: Annotated[str, typer.Option(help="Benchmark name (the output folder).")] = "benchmark",
    seed: SeedOpt = 1,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output root.")] = Path("reports/benchmarks"),
    track: Annotated[bool, typer.Option("--track/--no-track", help="Log the benchmark to MLflow.")] = True,
    tracking_uri: TrackingUriOpt = None,
) -> None:
    """Benchmark models on real data sets with a given (folds file) or necml's own resampling."""
    from necml.benchmark import benchmark_from_options, load_benchmark, run_benchmark

    if config is not None:
        spec = load_benchmark(config)
    else:
        spec = benchmark_from_options(data=data, folds=folds, time=time, event=event, factors=factors,
                                      numeric=numeric, sksurv=sksurv, survset=survset, models=models,
                                      name=name, seed=seed)
    result = run_benchmark(spec, out=out_dir)
    table = Table(title="Harrell's C over iterations")
    for col in ("dataset", "model", "mean", "SD", "iterations"):
        table.add_column(col)
    c = result.summary[result.summary["metric"] == "cindex_harrell"]
    for r in c.itertuples():
        table.add_row(escape(r.dataset), r.model, f"{r.mean:.4f}", f"{r.sd:.4f}", str(r.n))
    out.print(table)
    out.print(f"wrote {result.directory} ({result.seconds:.1f} s)")
    if track:
        from necml.tracking import log_saved_directory

        out.print(f"MLflow run {log_saved_directory(result.directory, _tracking(tracking_uri))}")


km_app = typer.Typer(help="Kaplan-Meier figures as data (Guyot et al. 2012).", no_args_is_help=True)
app.add_typer(km_app, name="km")


@km_app.command("reconstruct")
@_user_errors
def km_reconstruct_command(
    points: Annotated[Path, typer.Option(help="Digitised curve: CSV with time, survival.")],
    at_risk: Annotated[Path, typer.Option("--at-risk", help="Numbers at risk: CSV with time, n_at_risk.")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Reconstructed IPD: CSV with time, event.")],
    events: Annotated[int | None, typer.Option("--events", help="Total events, when printed.")] = None,
    arm: Annotated[str | None, typer.Option(help="Add an arm column with this label.")] = None,
    append: Annotated[bool, typer.Option("--append", help="Add the rows to an existing --out.")] = False,
) -> None:
    """Reconstruct individual (time, event) data from a digitised KM curve and its at-risk table."""
    from necml.km import reconstruct_files

    result = reconstruct_files(points, at_risk, out_file, total_events=events, arm=arm, append=append)
    for note in result.notes:
        err.print(f"note: {escape(note)}")
    out.print(f"{len(result.ipd)} patients, {int(result.ipd['event'].sum())} events; wrote {out_file}")


@km_app.command("fidelity")
@_user_errors
def km_fidelity_command(
    spec: SpecArg,
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="Synthetic cohort size.")] = 20000,
    seed: SeedOpt = 0,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output root.")] = Path("reports"),
) -> None:
    """A synthetic cohort against the spec's digitised KM figures; writes the reconstructed patients too."""
    import necml
    from necml.exceptions import SpecError
    from necml.fidelity import write_km_fidelity
    from necml.spec import load_spec

    s = load_spec(spec)
    if not s.km:
        raise SpecError(f"{spec}: km: the spec has no digitised Kaplan-Meier figures.")
    paths = write_km_fidelity(s, necml.generate(s, n=n, seed=seed), out_dir / s.name)
    out.print("wrote " + ", ".join(str(p) for p in paths))


def _find_n(  # noqa: PLR0913 - the simulate options it takes
    study: Path, term: str, power: float, assurance: float | None, method: str | None, per_round: int | None,
    workers: int, scheduler: str | None, out_dir: Path,
) -> None:
    from necml.simulation import find_study_n, load_study, resolve_study
    from necml.simulation._find_n_study import find_n_directory

    config = resolve_study(load_study(study), study.parent)
    directory = out_dir / find_n_directory(config, term, method=method, target=power, assurance=assurance)
    result, table = find_study_n(
        config, term, target=power, method=method, assurance=assurance, workers=workers, scheduler=scheduler,
        per_round=per_round or 400, out=directory,
    )
    row = table.iloc[0]
    measure = f"assurance (prior SD {assurance:g})" if assurance is not None else "power"
    found = f"n = {result.n} (95% CI {result.ci_low:.0f}-{result.ci_high:.0f})" if result.n > 0 else "not reached"
    out.print(
        f"{config.name}, {term}, {row['method']}: {measure} {power:g} needs {found}; Schoenfeld's formula: "
        f"{row['schoenfeld_n']:.0f}; {int(row['replicates'])} replicates; wrote {directory}"
    )


def main() -> None:  # pragma: no cover - console entry point
    """Run the CLI."""
    sys.exit(app())
