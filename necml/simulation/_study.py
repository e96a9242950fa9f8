"""Run a simulation study: resolve, compute missing replicates, persist, summarise, write, log.

``out/<name>/`` holds ``replicates.sqlite`` (the persisted replicates: the resume state),
and at the end ``replicates.parquet`` (one row per replicate x method x estimand),
``performance.csv`` (scenario x method x estimand x measure with ``estimate`` and ``mcse``),
``study.yaml`` (the resolved study), the plots and ``summary.md``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import yaml

from necml.exceptions import DataError
from necml.files import all_or_nothing, check_output_root, check_run_directory, directory_lock
from necml.markdown import markdown_table
from necml.simulation._config import StudyConfig
from necml.simulation._execute import execute
from necml.simulation._performance import performance_table, summary_table
from necml.simulation._plots import plot_bias_coverage, plot_cindex, plot_power
from necml.simulation._replicate import ReplicateResult, ReplicateTask, scenarios
from necml.simulation._report import study_labels, write_study_extras
from necml.simulation._store import ReplicateStore

__all__ = ["StudyResult", "check_study", "resolve_study", "run_study", "study_hash"]

STORE_FILE = "replicates.sqlite"


@dataclass(slots=True, kw_only=True)
class StudyResult:
    """What a study produced."""

    config: StudyConfig
    directory: Path
    replicates: pd.DataFrame
    performance: pd.DataFrame
    computed: int  # replicates computed by this call (the rest were resumed)
    seconds: float  # compute time of all stored replicates (worker time)


def _path(value: str, base: Path) -> str:
    given = Path(value)
    return str((given if given.exists() or given.is_absolute() else base / given).resolve())


def resolve_study(config: StudyConfig, base: Path, *, replicates: int | None = None) -> StudyConfig:
    """Absolute spec and model paths; ``replicates`` overrides the count (and any target)."""
    data = config.data.model_copy(update={"spec": _path(config.data.spec, base)})
    methods = [m.model_copy(update={"config": _path(m.config, base)}) if m.config else m for m in config.methods]
    update: dict[str, object] = {"data": data, "methods": methods}
    if replicates is not None:
        update |= {"replicates": replicates, "target": None}
    return config.model_copy(update=update)


def check_study(config: StudyConfig) -> None:
    """Fail before any replicate on a bad model config, or terms/estimands the spec does not have."""
    from necml.exceptions import SpecError
    from necml.models import load_model_config
    from necml.simulation._mechanism import mechanism_for

    for i, method in enumerate(config.methods):
        if method.kind == "model":
            load_model_config(method.config or "")
        if method.kind == "python":
            _check_callable(config.name, f"methods.{i}.callable", method.callable or "")
    known = [mechanism_for(config.data, s).term_names for s in scenarios(config)][0]  # every variant must fit
    where = [(f"methods.{i}.terms", m.terms or []) for i, m in enumerate(config.methods)]
    for field, names in [*where, ("estimands", config.estimands or [])]:
        unknown = [t for t in names if t not in known]
        if unknown:
            raise SpecError(
                f"study {config.name!r}, {field}: unknown term(s) {unknown}; the spec's "
                f"{config.data.endpoint} terms are {known}"
            )


def _check_callable(study: str, field: str, target: str) -> None:
    """Import a ``python:`` method before the first replicate: a typo fails here, not in every replicate."""
    import importlib

    from necml.exceptions import SpecError

    module_name, _, function = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure of the user's module is reported
        raise SpecError(
            f"study {study!r}, {field}: cannot import module {module_name!r} ({type(exc).__name__}: {exc})"
        ) from None
    found = getattr(module, function, None)
    if not callable(found):
        raise SpecError(f"study {study!r}, {field}: module {module_name!r} has no function {function!r}")


def study_hash(config: StudyConfig) -> str:
    """Identity of a resolved study apart from its replicate count (so it can be extended)."""
    payload = config.model_dump(mode="json", exclude={"replicates", "target"})
    for path in [payload["data"]["spec"], *(m["config"] for m in payload["methods"] if m["config"])]:
        payload.setdefault("files", {})[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _write_products(config: StudyConfig, directory: Path, replicates: pd.DataFrame, performance: pd.DataFrame) -> None:
    from necml.dataset import atomic_write

    atomic_write(directory / "replicates.parquet", lambda tmp: replicates.to_parquet(tmp, index=False))
    atomic_write(directory / "performance.csv", lambda tmp: performance.to_csv(tmp, index=False))
    atomic_write(
        directory / "study.yaml",
        lambda tmp: tmp.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)),
    )
    shown = config.estimands or [
        e for e in dict.fromkeys(performance["estimand"]) if e not in ("cindex_harrell", "ibs")
    ]
    labels = study_labels(config)  # "ICI + chemo vs chemo", "ECOG >= 2"
    plot_bias_coverage(performance, shown[:6], directory / "bias_coverage.png", labels=labels, replicates=replicates)
    plot_power(performance, shown[:6], directory / "power.png", labels=labels, replicates=replicates)
    plot_cindex(replicates, directory / "cindex.png")
    write_study_extras(config, directory, replicates, performance, shown)  # protocol.md, failure reasons, plots
    wide = summary_table(performance)
    text = (
        f"# {config.name}\n\n{config.aims.strip()}\n\n{config.n_replicates} replicates per scenario, seed "
        f"{config.seed}; estimate (Monte-Carlo SE).\n\n" + markdown_table(wide.fillna("")) + "\n"
    )
    atomic_write(directory / "summary.md", lambda tmp: tmp.write_text(text, encoding="utf-8"))


def run_study(
    config: StudyConfig,
    *,
    out: Path,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
    announce: Callable[[str], None] | None = None,
) -> StudyResult:
    """Compute a (resolved) study's missing replicates and write its results.

    Parameters
    ----------
    config : StudyConfig
        Resolved (see :func:`resolve_study`).
    out : pathlib.Path
        Output root; the study directory is ``out/<name>``.
    workers : int, default=1
        Local worker processes.
    scheduler : str, optional
        Dask scheduler address (overrides ``workers``).
    resume : bool, default=False
        Continue a study whose directory already holds replicates.
    progress : callable, optional
        Called with (finished, total) after each chunk of replicates is stored (up to 50).
    announce : callable, optional
        Called with a line saying what happens before the first replicate (how many replicates
        and scenarios, the mechanisms being fitted and how long that took).

    Returns
    -------
    StudyResult

    Raises
    ------
    OutputError
        ``out`` is not a writable directory, ``out/<name>`` is not a study directory, or
        another process runs the same study directory now (the message names it).
    """
    say = announce or (lambda line: None)
    found = scenarios(config)
    variants = dict.fromkeys(replace(s, n=0) for s in found)
    say(
        f"{config.name}: {len(found)} scenarios x {config.n_replicates} replicates; fitting "
        f"{len(variants)} data-generating mechanism(s) first (a calibration takes seconds, none "
        "when the mechanism is in the disk cache)"
    )
    clock = time.perf_counter()
    check_study(config)  # fits every variant's mechanism (kept for the run)
    say(f"mechanisms ready in {time.perf_counter() - clock:.1f} s; running replicates "
        "(Ctrl-C stops; the same command with --resume continues from the last saved replicate)")
    directory = check_run_directory(Path(check_output_root(out)) / config.name, marker=STORE_FILE)
    with directory_lock(directory, what=f"study {config.name!r}"):
        return _run_locked(
            config, directory, workers=workers, scheduler=scheduler, resume=resume, progress=progress,
            announce=say,
        )


def _run_locked(
    config: StudyConfig,
    directory: Path,
    *,
    workers: int,
    scheduler: str | None,
    resume: bool,
    progress: Callable[[int, int], None] | None,
    announce: Callable[[str], None],
) -> StudyResult:
    store_path = directory / STORE_FILE
    if store_path.exists() and not resume:
        raise DataError(f"{store_path} exists: pass --resume to continue that study, or choose another --out")
    store = ReplicateStore(store_path, study_hash(config))
    try:
        done = store.done()
        tasks = [
            ReplicateTask(config, s, r)
            for s in scenarios(config)
            for r in range(config.n_replicates)
            if (s.key, r) not in done
        ]
        total, finished = len(tasks) + len(done), len(done)
        if done:
            announce(f"{len(done)} replicates already saved; {len(tasks)} to compute")
        if progress:
            progress(finished, total)

        def received(results: list[ReplicateResult]) -> None:
            nonlocal finished
            finished += store.add(results)  # a chunk's replicates, committed together as it arrives
            if progress:
                progress(finished, total)

        execute(tasks, workers=workers, scheduler=scheduler, on_results=received)
        # the store's hash fixes the scenarios; an earlier, longer run may hold more replicates
        replicates = store.frame()
        replicates = replicates[replicates["replicate"] < config.n_replicates].reset_index(drop=True)
        performance = performance_table(replicates, config.alpha, reference=config.reference)
        with all_or_nothing():
            _write_products(config, directory, replicates, performance)
        return StudyResult(
            config=config,
            directory=directory,
            replicates=replicates,
            performance=performance,
            computed=len(tasks),
            seconds=store.seconds(),
        )
    finally:
        store.close()
