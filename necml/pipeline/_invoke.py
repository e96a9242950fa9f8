"""One pipeline invocation end to end: tracking run, tuning journal, compute, write, log.

Order of events (what protects the results):

1. the MLflow run is created (``RUNNING``), unless tracking is off or the store is down;
2. the pipeline computes, tuning studies kept in a journal file (``out/.<name>.tuning/``);
3. every output is written to ``out/<name>/`` (all or nothing), the journal moved in with them;
4. the run directory is logged and the run marked ``FINISHED``.

A crash in 2-3 marks the run ``FAILED`` (Ctrl-C: ``KILLED``), with the error as tag
``necml.error``, the config as params and, when the data can still be read, the dataset. A store that cannot be reached
in 1 or 4 raises :class:`~necml.exceptions.TrackingUnavailable` after step 3, so the results are
on disk and ``necml log`` can send them later.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from necml.exceptions import DataError
from necml.files import check_output_root, check_run_directory
from necml.pipeline._config import PipelineConfig
from necml.pipeline._outputs import write_outputs
from necml.pipeline._run import PipelineResult, load_data, run_pipeline
from necml.random import as_seed_sequence
from necml.tracking import RECORD_FILE, PipelineRun, TrackingSettings, current_user

__all__ = ["JOURNAL_FILE", "Invocation", "invoke_pipeline", "tuning_journal"]

JOURNAL_FILE = "optuna.journal"


@dataclass(slots=True, kw_only=True)
class Invocation:
    """What an invocation produced: the results, their directory and the MLflow run id."""

    result: PipelineResult
    directory: Path
    run_id: str | None


def tuning_journal(config: PipelineConfig, out: Path, *, resume: bool) -> Path:
    """The default journal file of a pipeline's tuning studies, prepared for a fresh or resumed run.

    During a run it lives in ``out/.<name>.tuning/``; a finished run keeps it in ``out/<name>/``.
    """
    work = out / f".{config.name}.tuning" / JOURNAL_FILE
    finished = out / config.name / JOURNAL_FILE
    if resume:
        if not work.exists() and finished.exists():
            work.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(finished, work)
        return work
    if work.exists():
        raise DataError(
            f"{work}: an interrupted tuning of pipeline {config.name!r} is kept there; pass --resume "
            f"to continue it, or delete {work.parent} to start afresh"
        )
    return work


def _config_params(config: PipelineConfig) -> dict:
    """A failed run's params: its config as given (paths not yet copied into ``inputs/``) and seed entropy."""
    return {**config.model_dump(mode="json"), "seed_entropy": str(as_seed_sequence(config.seed).entropy)}


def _data_description(
    config: PipelineConfig, base: Path, data_file: Path | None, mapping_file: Path | None
) -> dict | None:
    """A failed run's dataset as ``record.json`` describes it, or None when the data cannot be read."""
    from necml.dataset import data_schema

    try:
        loaded = load_data(config, base, data_file=data_file, mapping_file=mapping_file)
    except Exception:  # noqa: BLE001 - best effort: the data may be what failed
        return None
    path = str(loaded.file_path or loaded.spec_path or "")
    return {"kind": loaded.kind, "source": loaded.source, "path": path, "sha256": loaded.sha256,
            "schema": data_schema(loaded.frame)}


def invoke_pipeline(
    config: PipelineConfig,
    *,
    base: Path,
    out: Path,
    data_file: Path | None = None,
    mapping_file: Path | None = None,
    tracking: TrackingSettings | None = None,
    tuning_storage: str | None = None,
    resume: bool = False,
    command: str = "",
    tags: dict[str, str] | None = None,
    log_trials: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> Invocation:
    """Run, write and log one pipeline invocation (see the module docstring).

    Parameters
    ----------
    config : PipelineConfig
    base : pathlib.Path
        Directory of the config file.
    out : pathlib.Path
        Output root; the run directory is ``out/<name>``.
    data_file : pathlib.Path, optional
        Analyse this file instead of the config's data.
    mapping_file : pathlib.Path, optional
        The data mapping (YAML) of ``data_file``, instead of the config's ``data.mapping``.
    tracking : TrackingSettings, optional
        Where to log; None turns tracking off.
    tuning_storage : str, optional
        Optuna storage (journal path or RDB URL); default a journal file next to the outputs.
    resume : bool, default=False
        Continue interrupted tuning studies.
    command : str, default=""
        The command line, for the record.
    tags : dict, optional
        Extra tags for the MLflow run.
    log_trials : bool, default=False
        Log each tuning trial on all patients as its own nested MLflow run.
    progress : callable, optional
        Receives each model fit of the validation (see :func:`necml.pipeline.run_pipeline`).

    Returns
    -------
    Invocation

    Raises
    ------
    TrackingUnavailable
        After the results were written, when the store could not be reached.
    """
    check_output_root(out)
    check_run_directory(out / config.name, marker=RECORD_FILE)
    tunes = any(m.n_trials > 0 for m in config.models)
    journal = tuning_journal(config, out, resume=resume) if tunes and tuning_storage is None else None
    storage = tuning_storage or (str(journal) if journal else None)
    run = (
        PipelineRun(tracking, pipeline=config.name, seed=config.seed, command=command, tags=tags, log_trials=log_trials)
        if tracking
        else None
    )
    started, clock = datetime.now(UTC), time.perf_counter()
    try:
        result = run_pipeline(config, base=base, data_file=data_file, mapping_file=mapping_file,
                              tuning_storage=storage, resume=resume, progress=progress)
        extra = {
            "command": command,
            "started": started.isoformat(),
            "start_time_ms": int(started.timestamp() * 1000),
            "duration_s": round(time.perf_counter() - clock, 3),
            "user": current_user(),
            "tags": dict(tags or {}),
            **(run.record() if run else {"tracking": None}),
        }
        directory = write_outputs(result, out, record=extra)
    except KeyboardInterrupt:
        if run:
            run.abort("KILLED", config=_config_params(config))
        raise
    except BaseException as exc:
        if run:
            run.abort("FAILED", exc, config=_config_params(config),
                      data=lambda: _data_description(config, base, data_file, mapping_file))
        raise
    if journal is not None and journal.exists():
        shutil.move(journal, directory / JOURNAL_FILE)
        shutil.rmtree(journal.parent, ignore_errors=True)
    run_id = run.complete(directory) if run else None
    return Invocation(result=result, directory=directory, run_id=run_id)
