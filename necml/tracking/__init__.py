"""Stage 6: MLflow tracking. The only package that imports ``mlflow`` (lazily, inside functions).

Importing it sets necml's MLflow defaults (telemetry off, short HTTP retries; the user's own
environment wins) before MLflow itself is ever imported. The other names are imported on first
use (:mod:`necml._lazy`).
"""

from typing import TYPE_CHECKING

from necml._lazy import lazy_exports
from necml.tracking._settings import DEFAULT_ARTIFACTS, DEFAULT_DB, TrackingSettings, prepare_environment

prepare_environment()

if TYPE_CHECKING:
    from necml.tracking._client import unreachable_reason
    from necml.tracking._directory import RECORD_FILE, current_user, read_record, record_times
    from necml.tracking._lifecycle import (
        PipelineRun,
        log_saved_directory,
        mark_orphaned_runs,
        unavailable_message,
    )
    from necml.tracking._log import log_run_directory, metric_values
    from necml.tracking._query import RunSummary, download_run, get_run_summary, list_runs
    from necml.tracking._study import STUDY_FILE, log_study_directory

__all__ = [
    "DEFAULT_ARTIFACTS",
    "DEFAULT_DB",
    "RECORD_FILE",
    "STUDY_FILE",
    "PipelineRun",
    "RunSummary",
    "TrackingSettings",
    "current_user",
    "download_run",
    "get_run_summary",
    "list_runs",
    "log_run_directory",
    "log_saved_directory",
    "log_study_directory",
    "mark_orphaned_runs",
    "metric_values",
    "prepare_environment",
    "read_record",
    "record_times",
    "unavailable_message",
    "unreachable_reason",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__, __all__)
