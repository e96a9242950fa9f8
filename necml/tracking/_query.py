"""Read runs back: list pipeline runs, fetch one run's record, inputs and metrics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from necml.exceptions import TrackingError
from necml.tracking._client import client
from necml.tracking._settings import TrackingSettings

__all__ = ["RunSummary", "download_run", "get_run_summary", "list_runs"]


class RunSummary(dict):
    """A pipeline run: ``run_id``, ``status``, ``start``, ``tags``, ``params``, ``metrics``."""


def _summary(run) -> RunSummary:  # noqa: ANN001 - mlflow Run
    return RunSummary(
        run_id=run.info.run_id,
        status=run.info.status,
        start=pd.Timestamp(run.info.start_time, unit="ms"),
        tags=dict(run.data.tags),
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
    )


def list_runs(settings: TrackingSettings, *, max_results: int = 20) -> list[RunSummary]:
    """The most recent pipeline runs of every experiment, newest first."""
    mlflow_client = client(settings)
    experiments = [e.experiment_id for e in mlflow_client.search_experiments()]
    if not experiments:
        return []
    runs = mlflow_client.search_runs(
        experiments,
        filter_string="tags.`necml.kind` = 'pipeline'",
        order_by=["attributes.start_time DESC"],
        max_results=max_results,
    )
    return [_summary(r) for r in runs]


def get_run_summary(settings: TrackingSettings, run_id: str) -> RunSummary:
    """One pipeline run (a clear error for an unknown id or a run that is not a pipeline's)."""
    from mlflow.exceptions import MlflowException

    try:
        run = client(settings).get_run(run_id)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code) or "not found" in str(exc).lower():
            raise TrackingError(f"run {run_id!r} not found in {settings.uri}") from None
        raise
    if run.data.tags.get("necml.kind") != "pipeline":
        raise TrackingError(f"run {run_id!r} in {settings.uri} is not a necml pipeline run")
    return _summary(run)


def download_run(settings: TrackingSettings, run_id: str, destination: str | Path) -> Path:
    """Download a pipeline run's record, resolved config and inputs into ``destination``."""
    get_run_summary(settings, run_id)
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    mlflow_client = client(settings)
    names = {a.path for a in mlflow_client.list_artifacts(run_id)}
    missing = {"record.json", "pipeline.yaml", "inputs"} - names
    if missing:
        raise TrackingError(f"run {run_id!r} has no {', '.join(sorted(missing))}: it did not finish logging")
    for name in ("record.json", "pipeline.yaml", "inputs", "metrics.csv"):
        mlflow_client.download_artifacts(run_id, name, str(destination))
    return destination
