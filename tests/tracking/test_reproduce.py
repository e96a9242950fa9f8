"""``necml reproduce``: the quickstart pipeline re-run from its MLflow record gives identical metrics."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from necml.cli import app
from tests.conftest import ROOT

runner = CliRunner()


def _run_id(output: str) -> str:
    found = re.search(r"MLflow run ([0-9a-f]{32})", output)
    assert found, output
    return found[1]


def _small_quickstart(tmp_path: Path) -> Path:
    """The quickstart pipeline (all six models, tuned, its covariates and metrics) on fewer patients,
    folds, trials and CI resamples: what makes it reproduce is the same, at a fifth of the cost."""
    config = yaml.safe_load((ROOT / "pipelines/quickstart.yaml").read_text())
    config["data"]["generate"] |= {"spec": str(ROOT / config["data"]["generate"]["spec"]), "n": 150}
    config["validation"] = {"scheme": "cv", "folds": 3, "repeats": 1, "ci_resamples": 20}
    config["models"] = [
        {**m, "config": str(ROOT / m["config"])} | ({"n_trials": 2} if "n_trials" in m else {})
        for m in config["models"]
    ]
    path = tmp_path / "quickstart.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_quickstart_reproduces_identically(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = runner.invoke(
        app, ["run", str(_small_quickstart(tmp_path)), "--out", str(tmp_path / "a"), "--tracking-uri", uri]
    )
    assert first.exit_code == 0, first.output
    run_id = _run_id(first.output)
    again = runner.invoke(app, ["reproduce", run_id, "--tracking-uri", uri, "--out", str(tmp_path / "b")],
                          terminal_width=200)
    assert again.exit_code == 0, again.output
    n = len(pd.read_csv(tmp_path / "a/quickstart/metrics.csv")) * 3  # value, ci_low, ci_high
    assert f"reproduced: {n} of {n} metrics match" in again.output
    # independently of reproduce's own comparison: the two runs' tables are identical
    for table in ("metrics", "metrics_resamples", "comparisons", "params"):
        pd.testing.assert_frame_equal(
            pd.read_csv(tmp_path / f"a/quickstart/{table}.csv", float_precision="round_trip"),
            pd.read_csv(tmp_path / f"b/quickstart/{table}.csv", float_precision="round_trip"),
        )
    new_run = _run_id(again.output.split("reproduced:")[-1])
    assert new_run != run_id
    from mlflow import MlflowClient

    seed = yaml.safe_load((ROOT / "pipelines/quickstart.yaml").read_text())["seed"]
    client = MlflowClient(tracking_uri=uri)
    assert client.get_run(run_id).info.run_name == f"quickstart-seed{seed}"
    reproduction = client.get_run(new_run)
    assert reproduction.info.run_name == f"reproduce-quickstart-seed{seed}"
    assert reproduction.data.tags["necml.reproduces"] == run_id
    listed = runner.invoke(app, ["compare", run_id, new_run, "--tracking-uri", uri], terminal_width=200)
    assert listed.exit_code == 0 and "coxph.cindex_harrell" in listed.output


def test_reproduce_refuses_changed_code_unless_allowed(
    tmp_path: Path, tiny_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import necml.pipeline._reproduce as reproduce

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = runner.invoke(app, ["run", str(tiny_config), "--out", str(tmp_path / "a"), "--tracking-uri", uri])
    assert first.exit_code == 0, first.output
    run_id = _run_id(first.output)
    monkeypatch.setattr(reproduce, "code_sha256", lambda: "0" * 64)
    refused = runner.invoke(app, ["reproduce", run_id, "--tracking-uri", uri, "--out", str(tmp_path / "b")])
    assert refused.exit_code == 1
    assert "code differs" in refused.output and "--allow-code-change" in refused.output
    assert not (tmp_path / "b").exists()
    allowed = runner.invoke(
        app, ["reproduce", run_id, "--tracking-uri", uri, "--out", str(tmp_path / "b"), "--allow-code-change",
              "--no-track"], terminal_width=200,
    )
    assert allowed.exit_code == 0, allowed.output
    assert "reproduced:" in allowed.output and "code differs" in allowed.output


def test_reproduce_detects_a_changed_metric(tmp_path: Path, tiny_config: Path) -> None:
    """A record whose metric was altered no longer reproduces: exit 1, the metric marked NO."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = runner.invoke(app, ["run", str(tiny_config), "--out", str(tmp_path / "a"), "--tracking-uri", uri])
    run_id = _run_id(first.output)
    table = pd.read_csv(tmp_path / "a/tiny/metrics.csv", float_precision="round_trip")
    table.loc[0, "value"] += 1e-12
    altered = tmp_path / "altered" / "metrics.csv"
    altered.parent.mkdir()
    table.to_csv(altered, index=False)
    MlflowClient(tracking_uri=uri).log_artifact(run_id, str(altered))
    again = runner.invoke(app, ["reproduce", run_id, "--tracking-uri", uri, "--out", str(tmp_path / "b"),
                                "--no-track"], terminal_width=200)
    assert again.exit_code == 1, again.output
    assert re.search(rf"{table.loc[0, 'model']}\.{table.loc[0, 'metric']} .* NO", again.output)
    assert "NOT reproduced" in again.output
