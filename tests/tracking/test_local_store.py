"""The default local store (SQLite + mlruns/, set explicitly) and per-trial runs on request."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from necml.exceptions import TrackingError
from necml.pipeline import invoke_pipeline, load_pipeline
from necml.tracking import TrackingSettings


def test_default_store_is_sqlite_with_artifacts_in_mlruns(
    tmp_path: Path, tiny_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = TrackingSettings.resolve(root=tmp_path)
    assert settings.uri == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    invocation = invoke_pipeline(
        load_pipeline(tiny_config), base=tmp_path, out=tmp_path / "out", tracking=settings, log_trials=True
    )
    assert (tmp_path / "mlflow.db").is_file()
    client = MlflowClient(tracking_uri=settings.uri)
    run = client.get_run(invocation.run_id)
    assert run.info.artifact_uri.startswith((tmp_path / "mlruns").resolve().as_uri())
    assert (tmp_path / "mlruns" / "tiny").is_dir()
    experiment = run.info.experiment_id
    models = client.search_runs([experiment], filter_string=f"tags.mlflow.parentRunId = '{invocation.run_id}'")
    coxnet = next(r for r in models if r.data.tags["necml.model"] == "coxnet")
    trials = client.search_runs([experiment], filter_string=f"tags.mlflow.parentRunId = '{coxnet.info.run_id}'")
    assert len(trials) == 3  # --log-trials: one run per trial of the tuning on all patients
    assert all(t.data.tags["necml.kind"] == "trial" and "alpha" in t.data.params for t in trials)
    coxph = next(r for r in models if r.data.tags["necml.model"] == "coxph")
    assert not client.search_runs([experiment], filter_string=f"tags.mlflow.parentRunId = '{coxph.info.run_id}'")


@pytest.mark.parametrize("uri", ["file:///tmp/mlruns", "mlruns"])
def test_folder_stores_are_refused(uri: str) -> None:
    with pytest.raises(TrackingError, match="folder stores"):
        TrackingSettings.resolve(uri)
