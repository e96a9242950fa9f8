"""A tracked pipeline over a user's file (R's coding: days, status 1/2, sex 1/2, dotted names).

Regression: an integer-coded categorical made the MLflow logging step raise "Found unknown
categories [1]", exit 2 and leave the run RUNNING. A failure while logging now ends every run
it touched as FAILED with the error as tag ``necml.error``, exits 3 with the results on disk,
and ``necml log`` completes the same run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient
from typer.testing import CliRunner

from necml.cli import app
from tests.dataset.test_user_file import LONG_FORM, _lung_like

runner = CliRunner()
SMALL = {
    "name": "lunglike",
    "data": {"dataset": "veterans"},  # replaced by --data/--mapping
    "endpoint": "os",
    "validation": {"scheme": "cv", "folds": 3, "repeats": 1, "ci_resamples": 10},
    "metrics": {"landmarks": [3, 6], "tau": 6, "grid": {"start": 1, "stop": 6, "points": 6}, "calibration_at": 3},
    "models": [{"model": "coxph"}],
}


def _files(tmp_path: Path) -> list[str]:
    _lung_like().to_csv(tmp_path / "lung.csv", index=False)
    (tmp_path / "mapping.yaml").write_text(LONG_FORM)
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(SMALL))
    return [str(tmp_path / "pipeline.yaml"), "--data", str(tmp_path / "lung.csv"),
            "--mapping", str(tmp_path / "mapping.yaml"), "--out", str(tmp_path / "out")]


def _runs(uri: str) -> dict[str, object]:
    client = MlflowClient(tracking_uri=uri)
    found = client.search_runs([e.experiment_id for e in client.search_experiments()])
    return {r.info.run_name: r for r in found}


def test_a_logging_failure_ends_the_runs_failed_exits_3_and_necml_log_repairs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import necml.tracking._log as log

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("Found unknown categories [1] in column 0 during transform")

    monkeypatch.setattr(log, "_log_model_file", broken)
    done = runner.invoke(app, ["run", *_files(tmp_path), "--tracking-uri", uri])
    assert done.exit_code == 3, done.output
    text = " ".join(done.output.split())
    assert "logging to the tracking store" in text and "Found unknown categories [1]" in text
    assert f"necml log {tmp_path / 'out' / 'lunglike'} --tracking-uri {uri}" in text
    assert (tmp_path / "out" / "lunglike" / "metrics.csv").is_file()
    runs = _runs(uri)
    assert {name: r.info.status for name, r in runs.items()} == {"lunglike-seed0": "FAILED", "coxph": "FAILED"}
    assert runs["lunglike-seed0"].data.tags["necml.error"].startswith("ValueError: Found unknown categories [1]")
    assert "Found unknown categories" in runs["coxph"].data.tags["necml.error"]

    monkeypatch.undo()  # the bug fixed: `necml log` completes the same run, the failed model run replaced
    logged = runner.invoke(app, ["log", str(tmp_path / "out" / "lunglike"), "--tracking-uri", uri])
    assert logged.exit_code == 0, logged.output
    runs = _runs(uri)
    assert {name: r.info.status for name, r in runs.items()} == {"lunglike-seed0": "FINISHED", "coxph": "FINISHED"}
    assert runs["lunglike-seed0"].info.run_id in logged.output


def test_a_tracked_run_over_an_r_coded_file_finishes(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = runner.invoke(app, ["run", *_files(tmp_path), "--tracking-uri", uri])
    assert done.exit_code == 0, done.output
    runs = _runs(uri)
    assert {name: r.info.status for name, r in runs.items()} == {"lunglike-seed0": "FINISHED", "coxph": "FINISHED"}
    parent = runs["lunglike-seed0"]
    assert parent.data.params["models.0.config"] == "inputs/models/coxph.yaml"
    assert "necml.error" not in parent.data.tags
    directory = tmp_path / "out" / "lunglike"
    assert (directory / "inputs" / "mapping.yaml").read_text() == LONG_FORM
    record = yaml.safe_load((directory / "pipeline.yaml").read_text())
    assert record["models"] == [{"config": "inputs/models/coxph.yaml", "n_trials": 0, "inner_folds": 3}]
