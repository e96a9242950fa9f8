"""A pipeline invocation's MLflow run: started first, completed from the saved outputs.

The order protects results: the run is created (``RUNNING``) before any computation, the
results are written to the run directory, and only then logged. A crash marks the run
``FAILED``, Ctrl-C ``KILLED``; a store that is unreachable at the start or the end never costs
the results: they are on disk and :class:`~necml.exceptions.TrackingUnavailable` says how to
log them later (``necml log DIR``), which completes the same run when it was created.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from necml.exceptions import TrackingUnavailable
from necml.files import pid_alive
from necml.tracking._client import client, experiment_id, unreachable_errors
from necml.tracking._directory import current_user, read_record
from necml.tracking._log import (
    ERROR_TAG,
    _flatten,
    _log_batches,
    dataset_input,
    error_text,
    log_run_directory,
    run_name,
    source_tags,
)
from necml.tracking._settings import TrackingSettings
from necml.tracking._study import STUDY_FILE, log_study_directory

__all__ = ["ERROR_TAG", "PipelineRun", "log_saved_directory", "mark_orphaned_runs", "unavailable_message"]


def unavailable_message(settings: TrackingSettings, directory: str | Path, reason: str) -> str:
    """The documented message when results could not be logged."""
    return (
        f"could not log to the tracking store {settings.uri} ({reason}); the results are saved in "
        f"{directory}. Log them when the store is back with: "
        f"necml log {directory} --tracking-uri {settings.uri}"
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def failed_message(settings: TrackingSettings, directory: str | Path, run_id: str | None, exc: BaseException) -> str:
    """The message when logging the saved results failed for another reason than the store."""
    marked = f"; MLflow run {run_id} is marked FAILED with the error as tag {ERROR_TAG}" if run_id else ""
    return (
        f"logging to the tracking store {settings.uri} failed ({type(exc).__name__}: {_reason(exc)}); the results "
        f"are saved in {directory}{marked}. Log them again with: necml log {directory} --tracking-uri {settings.uri}"
    )


def mark_orphaned_runs(settings: TrackingSettings, experiment: str, *, keep: str | None = None) -> list[str]:
    """Mark FAILED the RUNNING runs of ``experiment`` whose necml process (on this host) is dead.

    A run killed by ``kill -9`` or a power cut cannot mark itself; the next run in the same
    experiment does, tags it ``necml.orphaned`` and says so on stderr. Returns their ids.
    """
    mlflow_client = client(settings)
    host = socket.gethostname()
    found = mlflow_client.search_runs(
        [experiment], filter_string=f"attributes.status = 'RUNNING' and tags.`necml.host` = '{host}'", max_results=200
    )
    marked = []
    for run in found:
        pid = run.data.tags.get("necml.pid", "")
        if run.info.run_id == keep or not pid.isdigit() or pid_alive(int(pid)):
            continue
        mlflow_client.set_tag(run.info.run_id, "necml.orphaned", f"process {pid} on {host} died while it ran")
        mlflow_client.set_terminated(run.info.run_id, "FAILED")
        marked.append(run.info.run_id)
        print(f"note: marked MLflow run {run.info.run_id} FAILED: its process {pid} died while it ran", file=sys.stderr)
    return marked


class PipelineRun:
    """The MLflow run of one pipeline invocation.

    Named ``<pipeline>-seed<seed>`` (a reproduction: ``reproduce-<pipeline>-seed<seed>``) and
    tagged with the user and the command as MLflow's ``mlflow.user`` and ``mlflow.source.name``.

    Parameters
    ----------
    settings : TrackingSettings
    pipeline : str
        Pipeline name (also the experiment name).
    seed : int
    command : str
        The command line, recorded as a tag.
    tags : dict, optional
        More tags (``necml reproduce`` adds ``necml.reproduces``).
    log_trials : bool, default=False
        Log every tuning trial as its own nested run (see :func:`log_run_directory`).
    """

    def __init__(
        self,
        settings: TrackingSettings,
        *,
        pipeline: str,
        seed: int,
        command: str,
        tags: dict[str, str] | None = None,
        log_trials: bool = False,
    ) -> None:
        self.settings = settings
        self.log_trials = log_trials
        self.pipeline = pipeline
        self.run_id: str | None = None
        self.start_error: str | None = None
        self.orphans: list[str] = []
        try:
            mlflow_client = client(settings)
            experiment = experiment_id(settings, pipeline)
            run = mlflow_client.create_run(
                experiment,
                run_name=run_name(pipeline, seed, tags),
                tags={
                    **source_tags(command, current_user()),
                    "necml.kind": "pipeline",
                    "necml.pipeline": pipeline,
                    "necml.seed": str(seed),
                    "necml.command": command[:5000],
                    "necml.pid": str(os.getpid()),
                    "necml.host": socket.gethostname(),
                    **(tags or {}),
                },
            )
            self.run_id = run.info.run_id
        except unreachable_errors() as exc:
            self.start_error = _reason(exc)
            return
        try:
            self.orphans = mark_orphaned_runs(settings, experiment, keep=self.run_id)
        except unreachable_errors():  # best effort: the next run tries again
            pass

    def record(self) -> dict[str, object]:
        """What ``record.json`` keeps about tracking."""
        return {"tracking": {"uri": self.settings.uri, "run_id": self.run_id, "start_error": self.start_error}}

    def abort(
        self,
        status: str,
        error: BaseException | None = None,
        *,
        config: dict | None = None,
        data: Callable[[], dict | None] | None = None,
    ) -> None:
        """Mark the run ``FAILED`` or ``KILLED``, with the error as tag :data:`ERROR_TAG`, its
        config as params and its dataset as input (best effort: the store may be gone).

        Parameters
        ----------
        status : {"FAILED", "KILLED"}
        error : BaseException, optional
            What ended the run.
        config : dict, optional
            The pipeline config as far as it was resolved (nested; logged flattened, as a
            finished run's ``validation.folds``).
        data : callable, optional
            Returns the dataset's ``kind``, ``source``, ``path``, ``sha256`` and ``schema`` (as in
            ``record.json``), or None when the data could not be read; called only when the run exists.
        """
        if self.run_id is None:
            return
        mlflow_client = client(self.settings)
        try:
            if error is not None:
                mlflow_client.set_tag(self.run_id, ERROR_TAG, error_text(error))
            mlflow_client.set_terminated(self.run_id, status)
        except unreachable_errors():
            return  # the store is gone: asking it for more only waits for its timeouts
        self._describe(config, data)

    def _describe(self, config: dict | None, data: Callable[[], dict | None] | None) -> None:
        """Log a run's config and dataset after it ended early (each best effort, on its own)."""
        if config is not None:
            try:
                existing = client(self.settings).get_run(self.run_id).data.params
                params = {k: v for k, v in _flatten(config).items() if k not in existing}
                _log_batches(self.run_id, self.settings, [], params)
            except unreachable_errors():
                pass
        described = data() if data is not None else None
        if described is not None:
            try:
                client(self.settings).log_inputs(self.run_id, datasets=[dataset_input(described)])
            except unreachable_errors():
                pass

    def complete(self, directory: str | Path) -> str:
        """Log the saved run directory and mark the run FINISHED.

        Raises
        ------
        TrackingUnavailable
            The store could not be reached, or logging failed for any other reason; the run is
            marked FAILED where possible, with the error as tag :data:`ERROR_TAG`. The results
            are on disk either way (``necml log DIR`` sends them later).
        """
        if self.start_error is not None:
            raise TrackingUnavailable(
                unavailable_message(self.settings, directory, self.start_error), directory=str(directory)
            )
        try:
            return log_run_directory(directory, self.settings, run_id=self.run_id, log_trials=self.log_trials)
        except unreachable_errors() as exc:
            self.abort("FAILED", exc)
            raise TrackingUnavailable(
                unavailable_message(self.settings, directory, _reason(exc)), directory=str(directory)
            ) from None
        except Exception as exc:  # noqa: BLE001 - any failure while logging: the run must not stay RUNNING
            self.abort("FAILED", exc)
            raise TrackingUnavailable(
                failed_message(self.settings, directory, self.run_id, exc), directory=str(directory)
            ) from exc


def log_saved_directory(directory: str | Path, settings: TrackingSettings) -> str:
    """Log a saved run or study directory (``necml log``); returns the MLflow run id.

    A run directory completes the run recorded in its ``record.json`` when that run is in the
    same store; otherwise a new run is created.

    Raises
    ------
    TrackingUnavailable
        The store could not be reached (nothing on disk is touched).
    """
    directory = Path(directory)
    try:
        if (directory / STUDY_FILE).is_file() and (directory / "performance.csv").is_file():
            return log_study_directory(directory, settings)
        recorded = read_record(directory).get("tracking") or {}
        same_store = recorded.get("uri") == settings.uri and recorded.get("run_id")
        return log_run_directory(directory, settings, run_id=recorded["run_id"] if same_store else None)
    except unreachable_errors() as exc:
        raise TrackingUnavailable(
            unavailable_message(settings, directory, _reason(exc)), directory=str(directory)
        ) from None
