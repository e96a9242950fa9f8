"""``necml simulate`` end to end, shipped studies, and bad study configs."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from necml.cli import app
from necml.simulation import check_study, load_study, resolve_study
from tests.conftest import ROOT
from tests.simulation.conftest import EPNEC

runner = CliRunner()

STUDY = {
    "name": "cli",
    "aims": "test",
    "seed": 3,
    "replicates": 4,
    "data": {"spec": EPNEC, "endpoint": "os", "n": [56], "effect_scale": [0.0, 1.0]},
    "methods": [{"name": "cox", "kind": "cox"}],
}


def test_simulate_writes_performance_with_mcse_and_logs_a_study_run(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = runner.invoke(app, ["simulate", str(path), "--out", str(tmp_path / "out"), "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    directory = tmp_path / "out" / "cli"
    performance = pd.read_csv(directory / "performance.csv")
    assert list(performance.columns) == [
        "scenario",
        "n",
        "effect_scale",
        "censoring",
        "departure",
        "method",
        "estimand",
        "measure",
        "estimate",
        "mcse",
        "replicates",
    ]
    assert set(performance["scenario"]) == {"n56_scale0", "n56_scale1"}
    null = performance[(performance["effect_scale"] == 0) & (performance["measure"] == "bias")]
    assert set(null["estimand"]) == {"nlr_gt_3", "ldh_gt_uln", "arm_atezo_ep"}
    assert {"replicates.parquet", "summary.md", "study.yaml", "bias_coverage.png", "power.png"} <= {
        p.name for p in directory.iterdir()
    }
    assert re.search(r"MLflow run [0-9a-f]{32}", result.output)
    # says what it does before the first replicate: 2 scenarios, 2 mechanisms (effect scale 0 and 1)
    assert "cli: 2 scenarios x 4 replicates; fitting 2 data-generating mechanism(s)" in result.output
    assert "--resume continues" in result.output
    again = runner.invoke(app, ["simulate", str(path), "--out", str(tmp_path / "out"), "--no-track"])
    assert again.exit_code == 2 and "--resume" in again.output


LATE = {"kind": "delayed_effect", "arm": "atezo_ep", "delay": 2.0, "source": "assumed: test"}


def test_simulate_runs_no_thread_when_it_starts_its_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The progress bar redraws per chunk, without a refresh thread, so the workers can be forked
    (a thread running at the fork makes ``execute`` fall back to loky: 3-4 s to start)."""
    import threading

    import necml.simulation._execute as execute_module

    seen: list[int] = []
    monkeypatch.setattr(execute_module, "can_fork", lambda: seen.append(threading.active_count()) or False)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = runner.invoke(
        app, ["simulate", str(path), "--workers", "2", "--out", str(tmp_path / "out"), "--tracking-uri", uri]
    )
    assert result.exit_code == 0, result.output
    assert seen == [1]  # only the main thread


def test_shipped_studies_validate() -> None:
    found = sorted((ROOT / "configs/studies").glob("*.yaml"))
    assert {p.stem for p in found} >= {"lcnec_power", "epnec_nlr_power", "model_benchmark"}
    for path in found:  # every spec path, model config and term resolves against its spec
        check_study(resolve_study(load_study(path), path.parent))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"replicates": None}, r"give exactly one of `replicates` and `target`"),
        ({"data": {**STUDY["data"], "n": [5]}}, r"data\s+.*every n must be >= 10"),
        ({"methods": [{"name": "m", "kind": "model"}]}, r"methods\.0\s+.*needs `config`"),
        ({"methods": [{"name": "c", "kind": "cox", "terms": ["nope"]}]}, r"unknown term\(s\) \['nope'\]"),
        ({"data": {**STUDY["data"], "censoring": [1.2]}}, r"data\s+.*censoring level is 'published', 'none' or a"),
        ({"data": {**STUDY["data"], "departures": {"none": [LATE]}}}, r"departures: 'none' must be lower-case"),
        ({"data": {**STUDY["data"], "departures": {"late": [LATE | {"delay": 40.0}]}}},
         r"_late: calibration of the baselines failed: .*no treatment effect for 40 months"),
    ],
    ids=["no-replicates", "small-n", "model-without-config", "unknown-term", "bad-censoring", "departure-none",
         "impossible-delay"],
)
def test_bad_study_exits_2_with_the_field_and_reason(tmp_path: Path, change: dict, message: str) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({**STUDY, **change}))
    result = runner.invoke(app, ["simulate", str(path), "--out", str(tmp_path / "out"), "--no-track"])
    assert result.exit_code == 2, result.output
    assert re.search(message, result.output, re.S), result.output


def test_simulate_find_n_writes_the_needed_n_with_its_ci(tmp_path: Path) -> None:
    study = {**STUDY, "data": {"spec": EPNEC, "endpoint": "os", "n": [20, 40]}}  # search n in [10, 320]
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    result = runner.invoke(
        app, ["simulate", str(path), "--find-n", "nlr_gt_3", "--power", "0.8", "--replicates", "20",
              "--out", str(tmp_path / "out")],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "cli_find_n_nlr_gt_3_cox" / "find_n.csv")
    assert list(table.columns[:5]) == ["term", "target", "n", "ci_low", "ci_high"]
    row = table.iloc[0]
    assert row["term"] == "nlr_gt_3" and row["target"] == 0.8 and row["replicates"] == 120
    assert 10 <= row["ci_low"] <= row["n"] <= row["ci_high"] + 1
    assert "Schoenfeld" in result.output
    # a second search (assurance, another target) gets its own folder: the first result is kept
    again = runner.invoke(
        app, ["simulate", str(path), "--find-n", "nlr_gt_3", "--power", "0.7", "--assurance", "0.3",
              "--replicates", "20", "--out", str(tmp_path / "out")],
    )
    assert again.exit_code == 0, again.output
    assert (tmp_path / "out" / "cli_find_n_nlr_gt_3_cox_power0.7_assurance0.3" / "find_n.csv").exists()
    pd.testing.assert_frame_equal(table, pd.read_csv(tmp_path / "out" / "cli_find_n_nlr_gt_3_cox" / "find_n.csv"))
