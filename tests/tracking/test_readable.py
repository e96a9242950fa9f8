"""Tracking people can read: the classic ML view, run names, who ran what and when, model metrics.

One tracked run of the tiny pipeline into a temporary SQLite store is read back through
``MlflowClient``; its run directory, edited to say that it ran for 62 s an hour ago, is then
logged later (``necml log``) into a second store.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import mlflow
import pytest
import yaml
from mlflow import MlflowClient
from typer.testing import CliRunner

from necml.cli import app
from necml.pipeline import Invocation, invoke_pipeline, load_pipeline
from necml.tracking import PipelineRun, TrackingSettings, current_user, record_times
from necml.tracking._client import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG, experiment_id
from tests.tracking.conftest import TINY

COMMAND = "necml run tiny.yaml --out out"
HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Invocation, str]:
    tmp = tmp_path_factory.mktemp("readable")
    (tmp / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    settings = TrackingSettings.resolve(f"sqlite:///{tmp / 'mlflow.db'}")
    invocation = invoke_pipeline(
        load_pipeline(tmp / "tiny.yaml"), base=tmp, out=tmp / "out", tracking=settings, command=COMMAND
    )
    return invocation, settings.uri


def _children(client: MlflowClient, parent: str) -> dict[str, object]:
    experiment = client.get_run(parent).info.experiment_id
    runs = client.search_runs([experiment], filter_string=f"tags.mlflow.parentRunId = '{parent}'")
    return {r.info.run_name: r for r in runs}


@pytest.fixture(scope="module")
def logged_later(tracked: tuple[Invocation, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    """The tracked run's directory, saying it ran for 62 s an hour ago as a reproduction by "ana",
    logged with ``necml log`` into a fresh store: (store URI, its record)."""
    invocation, _ = tracked
    tmp = tmp_path_factory.mktemp("logged-later")
    directory = tmp / "tiny"
    shutil.copytree(invocation.directory, directory)
    record = json.loads((directory / "record.json").read_text())
    record |= {
        "start_time_ms": int(time.time() * 1000) - HOUR_MS,
        "duration_s": 62.0,
        "user": "ana",
        "tags": {"necml.reproduces": "0" * 32},
    }
    (directory / "record.json").write_text(json.dumps(record))
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    done = CliRunner().invoke(app, ["log", str(directory), "--tracking-uri", uri])
    assert done.exit_code == 0, done.output
    return uri, record


def test_a_new_experiment_opens_in_the_classic_ml_view(tracked: tuple[Invocation, str]) -> None:
    _, uri = tracked
    experiment = MlflowClient(tracking_uri=uri).get_experiment_by_name("tiny")
    assert experiment.tags[EXPERIMENT_KIND_TAG] == "custom_model_development" == EXPERIMENT_KIND


def test_an_existing_experiment_gets_the_kind_and_a_users_kind_is_kept(tmp_path: Path) -> None:
    settings = TrackingSettings.resolve(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = MlflowClient(tracking_uri=settings.uri)
    bare = client.create_experiment("old-necml", artifact_location=(tmp_path / "a").as_uri())
    chosen = client.create_experiment(
        "chosen", artifact_location=(tmp_path / "b").as_uri(), tags={EXPERIMENT_KIND_TAG: "genai_development"}
    )
    assert EXPERIMENT_KIND_TAG not in client.get_experiment(bare).tags
    assert experiment_id(settings, "old-necml") == bare
    assert client.get_experiment(bare).tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND
    assert experiment_id(settings, "chosen") == chosen
    assert client.get_experiment(chosen).tags[EXPERIMENT_KIND_TAG] == "genai_development"


def test_runs_are_named_and_say_who_ran_which_command(tracked: tuple[Invocation, str]) -> None:
    invocation, uri = tracked
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(invocation.run_id)
    children = _children(client, invocation.run_id)
    assert parent.info.run_name == "tiny-seed3"
    assert set(children) == {"coxph", "coxnet"}  # each model run is named after its model
    for run in (parent, *children.values()):
        assert run.info.user_id == current_user() == run.data.tags["mlflow.user"]
        assert run.data.tags["mlflow.source.name"] == COMMAND
        assert run.data.tags["mlflow.source.type"] == "LOCAL"


def test_a_live_run_spans_the_recorded_computation(tracked: tuple[Invocation, str]) -> None:
    invocation, uri = tracked
    record = json.loads((invocation.directory / "record.json").read_text())
    start, end = record_times(record)
    assert record["user"] == current_user() and record["tags"] == {}
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(invocation.run_id)
    assert parent.info.start_time <= start  # created before the computation began
    assert parent.info.end_time == end
    for run in _children(client, invocation.run_id).values():
        assert (run.info.start_time, run.info.end_time) == (start, end)


def test_a_reproduction_is_named_as_one(tmp_path: Path) -> None:
    settings = TrackingSettings.resolve(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = PipelineRun(settings, pipeline="tiny", seed=3, command="necml reproduce 0f3a",
                      tags={"necml.reproduces": "0f3a"})
    run.abort("KILLED")
    found = MlflowClient(tracking_uri=settings.uri).get_run(run.run_id)
    assert found.info.run_name == "reproduce-tiny-seed3"
    assert found.data.tags["necml.reproduces"] == "0f3a"


def test_necml_log_later_keeps_the_runs_own_times_user_and_source(logged_later: tuple[str, dict]) -> None:
    uri, record = logged_later
    client = MlflowClient(tracking_uri=uri)
    (parent,) = client.search_runs(
        [client.get_experiment_by_name("tiny").experiment_id], filter_string="tags.`necml.kind` = 'pipeline'"
    )
    start = record["start_time_ms"]
    assert parent.info.run_name == "reproduce-tiny-seed3"  # the record's tags say it is a reproduction
    children = _children(client, parent.info.run_id)
    for run in (parent, *children.values()):
        assert run.info.status == "FINISHED"
        assert run.info.start_time == start
        assert run.info.end_time == start + 62_000
        assert run.info.end_time - run.info.start_time == 62_000  # not the hour since it ran
        assert run.info.user_id == "ana" == run.data.tags["mlflow.user"]
        assert run.data.tags["mlflow.source.name"] == record["command"] == COMMAND
        assert run.data.tags["mlflow.source.type"] == "LOCAL"


def test_each_logged_model_holds_its_validated_metrics_on_the_dataset(tracked: tuple[Invocation, str]) -> None:
    invocation, uri = tracked
    client = MlflowClient(tracking_uri=uri)
    (dataset,) = client.get_run(invocation.run_id).inputs.dataset_inputs
    metrics = invocation.result.metrics.set_index(["model", "metric"])["value"]
    mlflow.set_tracking_uri(uri)
    for name, run in _children(client, invocation.run_id).items():
        (output,) = run.outputs.model_outputs
        model = mlflow.get_logged_model(output.model_id)
        assert model.source_run_id == run.info.run_id and model.tags["necml.model"] == name
        on_model = {m.key: m for m in model.metrics}
        assert on_model["cindex_harrell"].value == pytest.approx(metrics[(name, "cindex_harrell")], rel=1e-12)
        assert {"cindex_harrell.ci_low", "cindex_harrell.ci_high", "ibs", "brier_12m"} <= set(on_model)
        assert not any(key.endswith(".resample") for key in on_model)  # the per-fold history is the run's
        assert {(m.dataset_name, m.dataset_digest) for m in model.metrics} == {
            (dataset.dataset.name, dataset.dataset.digest)
        }
        assert run.data.metrics["cindex_harrell"] == on_model["cindex_harrell"].value  # flat, for search
        assert {p.removeprefix("model.") for p in model.params} == {
            p.removeprefix("model.") for p in run.data.params
        }
