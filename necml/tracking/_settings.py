"""Where runs go, and MLflow's environment: local SQLite store by default, telemetry off.

The default store is explicit: run metadata in ``mlflow.db`` (SQLite) and artifacts under
``mlruns/``, both in the working directory and both git-ignored. MLflow 3 no longer accepts its
old folder store and switches to it silently when an old ``mlruns/`` is present, so necml never
leaves the choice to MLflow. ``--tracking-uri`` or ``MLFLOW_TRACKING_URI`` sends runs to a
server (``http://host:port``) or another database instead.

necml makes no network call the user did not ask for: MLflow's telemetry is disabled unless
the user sets ``MLFLOW_DISABLE_TELEMETRY=false`` themselves. HTTP retries are shortened (2
retries, 30 s timeout) so that an unreachable server is reported in seconds, not minutes; the
user's own ``MLFLOW_HTTP_REQUEST_*`` settings win.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from necml.exceptions import TrackingError

__all__ = ["DEFAULT_ARTIFACTS", "DEFAULT_DB", "TrackingSettings", "prepare_environment"]

DEFAULT_DB = "mlflow.db"
DEFAULT_ARTIFACTS = "mlruns"

_ENV_DEFAULTS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    # necml states each model's requirements; never copy the caller's uv project into a model
    "MLFLOW_UV_AUTO_DETECT": "false",
    "MLFLOW_LOG_UV_FILES": "false",
}


def prepare_environment() -> None:
    """Set necml's MLflow defaults (the user's environment wins); quieten MLflow's INFO logs."""
    for key, value in _ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # "pip will be added without a version": irrelevant, necml pins the model's requirements
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)


@dataclass(frozen=True, slots=True)
class TrackingSettings:
    """A tracking store: its URI and, for a local database, where artifacts go.

    Parameters
    ----------
    uri : str
        ``sqlite:///path/mlflow.db``, ``http(s)://host:port`` or another MLflow store URI.
    artifact_root : str, optional
        Artifact location for new experiments (a file URI); None lets a server decide.
    """

    uri: str
    artifact_root: str | None = None

    @classmethod
    def resolve(cls, uri: str | None = None, *, root: str | Path = ".") -> TrackingSettings:
        """``uri``, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///<root>/mlflow.db``.

        A SQLite store keeps artifacts in ``mlruns/`` next to the database file.

        Examples
        --------
        >>> s = TrackingSettings.resolve("sqlite:////tmp/x/mlflow.db")
        >>> s.artifact_root
        'file:///tmp/x/mlruns'
        >>> TrackingSettings.resolve("http://127.0.0.1:5000").artifact_root is None
        True
        """
        chosen = uri or os.environ.get("MLFLOW_TRACKING_URI") or ""
        if not chosen:
            chosen = f"sqlite:///{(Path(root) / DEFAULT_DB).resolve()}"
        scheme = chosen.split("://", 1)[0] if "://" in chosen else ""
        if scheme in ("", "file"):
            raise TrackingError(
                f"tracking URI {chosen!r}: MLflow 3 no longer supports folder stores; use a "
                "database (sqlite:///path/mlflow.db) or a server (http://host:port)"
            )
        if scheme == "sqlite":
            db = Path(chosen.removeprefix("sqlite:///"))
            return cls(uri=chosen, artifact_root=(db.parent / DEFAULT_ARTIFACTS).resolve().as_uri())
        return cls(uri=chosen)

    @property
    def is_server(self) -> bool:
        return self.uri.startswith(("http://", "https://"))
