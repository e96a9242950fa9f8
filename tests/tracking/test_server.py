"""A pipeline logs to a real MLflow server; everything is read back through ``MlflowClient``."""

from __future__ import annotations

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from necml.dataset import data_sha256
from necml.models import load_model
from necml.pipeline import invoke_pipeline, load_pipeline
from necml.tracking import TrackingSettings
from tests.tracking.conftest import MlflowServer


@pytest.fixture(scope="module")
def logged(mlflow_server: MlflowServer, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    import yaml

    from tests.tracking.conftest import TINY

    tmp = tmp_path_factory.mktemp("server-run")
    (tmp / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    settings = TrackingSettings.resolve(mlflow_server.url)
    invocation = invoke_pipeline(
        load_pipeline(tmp / "tiny.yaml"), base=tmp, out=tmp / "out", tracking=settings, command="test"
    )
    return invocation, MlflowClient(tracking_uri=mlflow_server.url)


def test_parent_run_params_tags_dataset_and_artifacts(logged) -> None:  # noqa: ANN001
    invocation, client = logged
    run = client.get_run(invocation.run_id)
    assert run.info.status == "FINISHED"
    tags, params = run.data.tags, run.data.params
    # necml's own SHA-256, recomputed here from the data the pipeline analysed
    assert tags["necml.data_sha256"] == data_sha256(invocation.result.loaded.frame)
    assert len(tags["necml.data_sha256"]) == 64
    assert tags["necml.git_dirty"] in {"true", "false", "unknown"}
    assert tags["necml.version.scikit-survival"] and tags["necml.version.mlflow"] == mlflow.__version__
    assert params["seed"] == "3" and params["validation.folds"] == "3"
    assert params["tuning.sampler"] == "TPESampler"
    assert params["tuning.n_startup_trials"].startswith("ceil(n_trials / 2)")
    assert params["seed_entropy"] == "3"
    (dataset,) = run.inputs.dataset_inputs
    assert dataset.dataset.digest == tags["necml.data_sha256"][:8]
    assert '"age"' in dataset.dataset.schema
    written = pd.read_csv(invocation.directory / "metrics.csv")
    for row in written.itertuples():
        assert run.data.metrics[f"{row.model}.{row.metric}"] == pytest.approx(row.value, rel=1e-12, nan_ok=True)
    artifacts = {a.path for a in client.list_artifacts(invocation.run_id)}
    assert {"metrics.csv", "record.json", "pipeline.yaml", "inputs", "km_os.png", "forest_os.png",
            "calibration.png", "fidelity", "trials.csv", "optuna.journal"} <= artifacts
    assert "models" not in artifacts  # logged as MLflow models in the nested runs instead


def test_nested_model_runs_with_metrics_tuning_and_loadable_model(logged) -> None:  # noqa: ANN001
    invocation, client = logged
    parent = client.get_run(invocation.run_id)
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{invocation.run_id}'"
    )
    by_model = {c.data.tags["necml.model"]: c for c in children}
    assert set(by_model) == {"coxph", "coxnet"}
    for child in by_model.values():
        assert child.info.status == "FINISHED"
        assert child.data.tags["necml.validation"] == "cv"
        assert {"cindex_harrell", "cindex_uno_tau24", "ibs", "auc_12m", "brier_12m"} <= set(child.data.metrics)
        history = client.get_metric_history(child.info.run_id, "cindex_harrell.resample")
        assert len(history) == 3  # one value per fold (1 repeat x 3 folds)
    coxnet = by_model["coxnet"]
    assert "model.alpha" in coxnet.data.params
    tuning = {a.path for a in client.list_artifacts(coxnet.info.run_id, "tuning")}
    assert tuning == {"tuning/trials.csv", "tuning/tuning_coxnet.png"}
    loaded = mlflow.sklearn.load_model(f"runs:/{coxnet.info.run_id}/model")
    saved = load_model(invocation.directory / "models" / "coxnet.skops")
    X = invocation.result.data.X
    np.testing.assert_array_equal(loaded.predict(X), saved.predict(X))
    info = mlflow.models.get_model_info(f"runs:/{coxnet.info.run_id}/model")
    assert info.signature is not None and info.saved_input_example_info is not None


def test_runs_and_compare_list_the_run(logged, mlflow_server: MlflowServer) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from necml.cli import app

    invocation, _ = logged
    runner = CliRunner()
    listed = runner.invoke(app, ["runs", "--tracking-uri", mlflow_server.url], terminal_width=250)
    assert listed.exit_code == 0, listed.output
    assert invocation.run_id in listed.output and "tiny" in listed.output
    compared = runner.invoke(
        app, ["compare", invocation.run_id, invocation.run_id, "--tracking-uri", mlflow_server.url],
        terminal_width=250,
    )
    assert compared.exit_code == 0, compared.output
    assert "coxph.cindex_harrell" in compared.output
    missing = runner.invoke(app, ["compare", "0" * 32, "--tracking-uri", mlflow_server.url])
    assert missing.exit_code == 2 and "not found" in missing.output


def test_telemetry_is_off_by_default() -> None:
    import os

    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"
    from mlflow.telemetry.utils import is_telemetry_disabled

    assert is_telemetry_disabled()




def test_reproduce_from_the_server(logged, mlflow_server: MlflowServer, tmp_path) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from necml.cli import app

    invocation, _ = logged
    result = CliRunner().invoke(
        app,
        ["reproduce", invocation.run_id, "--tracking-uri", mlflow_server.url, "--out", str(tmp_path), "--no-track"],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    n = len(invocation.result.metrics) * 3
    assert f"reproduced: {n} of {n} metrics match" in result.output
