"""One MLflow client per store, and the errors that mean "the store is unreachable"."""

from __future__ import annotations

from functools import lru_cache

from necml.tracking._settings import TrackingSettings

__all__ = [
    "EXPERIMENT_KIND", "EXPERIMENT_KIND_TAG", "client", "experiment_id", "unreachable_errors", "unreachable_reason",
]

#: The experiment tag MLflow's UI reads to choose its view (``genai_development`` opens the GenAI
#: dashboard of traces and prompts; ``custom_model_development`` the classic runs, metrics and models).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
#: necml's experiments hold trained models: the classic ML view.
EXPERIMENT_KIND = "custom_model_development"


@lru_cache(maxsize=8)
def client(settings: TrackingSettings):  # noqa: ANN201 - MlflowClient, imported lazily
    """An ``MlflowClient`` for ``settings.uri``."""
    from mlflow import MlflowClient

    from necml.tracking._settings import prepare_environment

    prepare_environment()  # again: importing mlflow resets its loggers
    return MlflowClient(tracking_uri=settings.uri)


def unreachable_errors() -> tuple[type[BaseException], ...]:
    """Exceptions meaning the store could not be reached or written."""
    import requests
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    return (MlflowException, requests.exceptions.RequestException, SQLAlchemyError, OSError)


def unreachable_reason(exc: BaseException) -> str | None:
    """The first line of a store client's error (MLflow, HTTP, SQL), or None for any other error."""
    import requests
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, MlflowException | requests.exceptions.RequestException | SQLAlchemyError):
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    return None


def experiment_id(settings: TrackingSettings, name: str) -> str:
    """The id of experiment ``name``, created (with necml's artifact root) when missing.

    The experiment is tagged :data:`EXPERIMENT_KIND_TAG` = :data:`EXPERIMENT_KIND` so that
    MLflow's UI opens it in the classic ML view; an existing experiment without that tag gets it
    (one set by the user is kept).
    """
    mlflow_client = client(settings)
    found = mlflow_client.get_experiment_by_name(name)
    if found is not None:
        if EXPERIMENT_KIND_TAG not in found.tags:
            mlflow_client.set_experiment_tag(found.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return found.experiment_id
    location = f"{settings.artifact_root}/{name}" if settings.artifact_root else None
    return mlflow_client.create_experiment(
        name, artifact_location=location, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
    )
