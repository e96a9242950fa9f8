"""Faults: a server that dies mid-run or is down at the start, a crash, Ctrl-C."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from necml.cli import app
from necml.exceptions import TrackingUnavailable
from necml.pipeline import invoke_pipeline, load_pipeline, run_pipeline, write_outputs
from necml.pipeline._run import load_data
from necml.tracking import PipelineRun, TrackingSettings, read_record
from tests.tracking.conftest import MlflowServer, free_port

runner = CliRunner()
DOCUMENTED = (
    r"could not log to the tracking store (?P<uri>\S+) \((?P<reason>.+)\); the results are saved in "
    r"(?P<dir>\S+)\. Log them when the store is back with: necml log (?P=dir) --tracking-uri (?P=uri)"
)


def test_server_killed_mid_run_keeps_results_and_necml_log_completes_the_same_run(
    tmp_path: Path, tiny_config: Path, mlflow_server: MlflowServer
) -> None:
    server = mlflow_server  # the session's server: killed and restarted here (same port, same store)
    try:
        settings = TrackingSettings.resolve(server.url)
        config = load_pipeline(tiny_config)
        run = PipelineRun(settings, pipeline=config.name, seed=config.seed, command="test")
        assert run.run_id is not None and run.start_error is None
        server.kill()  # the server goes away while the pipeline computes
        result = run_pipeline(config, base=tiny_config.parent)
        directory = write_outputs(result, tmp_path / "out", record=run.record())
        with pytest.raises(TrackingUnavailable) as caught:
            run.complete(directory)
        match = re.fullmatch(DOCUMENTED, str(caught.value))
        assert match, str(caught.value)
        assert match["uri"] == server.url and Path(match["dir"]) == directory
        saved = pd.read_csv(directory / "metrics.csv")
        pd.testing.assert_frame_equal(saved, result.metrics, check_dtype=False)

        server.start()  # back: the saved outputs complete the run that was started
        logged = runner.invoke(app, ["log", str(directory), "--tracking-uri", server.url])
        assert logged.exit_code == 0, logged.output
        assert run.run_id in logged.output
        finished = MlflowClient(tracking_uri=server.url).get_run(run.run_id)
        assert finished.info.status == "FINISHED"
        assert finished.data.metrics["coxph.cindex_harrell"] == pytest.approx(
            saved.set_index(["model", "metric"]).loc[("coxph", "cindex_harrell"), "value"], rel=1e-12
        )
    finally:
        if server.process is None or server.process.poll() is not None:
            server.start()  # the other tests share it


def test_server_down_at_start_exits_3_with_results_on_disk(tmp_path: Path, tiny_config: Path) -> None:
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = runner.invoke(app, ["run", str(tiny_config), "--out", str(tmp_path / "out"), "--tracking-uri", uri])
    assert result.exit_code == 3, result.output
    assert re.search(r"could not log to the tracking store http://127\.0\.0\.1:\d+ ", result.output)
    assert "necml log" in result.output
    directory = tmp_path / "out" / "tiny"
    assert (directory / "metrics.csv").is_file()
    record = read_record(directory)
    assert record["tracking"]["run_id"] is None and record["tracking"]["start_error"]


def _status(store: Path) -> dict[str, str]:
    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    return {r.info.run_id: r.info.status for r in runs}


def _only_run(store: Path):  # noqa: ANN202 - mlflow Run
    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    return run


def test_crash_marks_the_run_failed_and_writes_nothing(tmp_path: Path, tiny_config: Path) -> None:
    """The pipeline raises mid-run, before any output exists: the run still says what ran and why it failed."""
    store = tmp_path / "mlflow.db"
    settings = TrackingSettings.resolve(f"sqlite:///{store}")
    config = load_pipeline(tiny_config).model_copy(update={"endpoint": "pfs_missing"})
    with pytest.raises(Exception, match="unknown endpoint") as caught:
        invoke_pipeline(config, base=tiny_config.parent, out=tmp_path / "out", tracking=settings)
    assert list(_status(store).values()) == ["FAILED"]
    assert not (tmp_path / "out" / "tiny").exists()
    run = _only_run(store)
    assert run.data.tags["necml.error"] == f"{type(caught.value).__name__}: {str(caught.value).strip()}"
    params = run.data.params
    assert params["endpoint"] == "pfs_missing" and params["seed"] == "3" and params["seed_entropy"] == "3"
    assert params["validation.folds"] == "3" and params["models.1.n_trials"] == "3"
    (dataset,) = run.inputs.dataset_inputs
    assert dataset.dataset.digest == load_data(config, tiny_config.parent).sha256[:8]
    assert '"age"' in dataset.dataset.schema


def test_a_run_whose_data_cannot_be_read_fails_with_its_params_and_error(tmp_path: Path, tiny_config: Path) -> None:
    store = tmp_path / "mlflow.db"
    settings = TrackingSettings.resolve(f"sqlite:///{store}")
    config = load_pipeline(tiny_config)
    missing = config.data.generate.model_copy(update={"spec": str(tmp_path / "no_such_spec.yaml")})
    config = config.model_copy(update={"data": config.data.model_copy(update={"generate": missing})})
    with pytest.raises(Exception, match="no_such_spec"):
        invoke_pipeline(config, base=tiny_config.parent, out=tmp_path / "out", tracking=settings)
    run = _only_run(store)
    assert run.info.status == "FAILED"
    assert "no_such_spec" in run.data.tags["necml.error"]
    assert run.data.params["data.generate.spec"] == str(tmp_path / "no_such_spec.yaml")
    assert not run.inputs.dataset_inputs  # nothing could be read, so no dataset is claimed


def test_ctrl_c_marks_the_run_killed(tmp_path: Path, tiny_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import necml.pipeline._invoke as invoke

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(invoke, "run_pipeline", interrupted)
    store = tmp_path / "mlflow.db"
    settings = TrackingSettings.resolve(f"sqlite:///{store}")
    with pytest.raises(KeyboardInterrupt):
        invoke.invoke_pipeline(load_pipeline(tiny_config), base=tiny_config.parent, out=tmp_path / "out",
                               tracking=settings)
    assert list(_status(store).values()) == ["KILLED"]
    assert _only_run(store).data.params["validation.folds"] == "3"
