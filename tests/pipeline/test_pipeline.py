"""``necml run`` and ``necml prognostic`` end to end: outputs, reproducibility, clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from necml.cli import app
from necml.pipeline import load_pipeline
from tests.conftest import ROOT

runner = CliRunner()
SMALL = {
    "name": "small",
    "seed": 4,
    "data": {"dataset": "veterans"},
    "endpoint": "os",
    "covariates": ["karnofsky", "celltype", "age"],
    "by": "treatment",
    "validation": {"scheme": "cv", "folds": 3, "repeats": 1, "ci_resamples": 10},
    "metrics": {
        "landmarks": [3, 6],
        "tau": 6,
        "grid": {"start": 1, "stop": 6, "points": 6},
        "calibration_at": 6,
    },
    "models": [
        {"config": str(ROOT / "configs/models/coxph.yaml")},
        {"config": str(ROOT / "configs/models/xgb_cox.yaml"), "n_trials": 2},
    ],
}


def _write(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_run_writes_metrics_with_cis_and_is_reproducible(tmp_path: Path) -> None:
    config = _write(tmp_path, SMALL)
    for out in ("a", "b"):
        result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / out), "--no-track"])
        assert result.exit_code == 0, result.output
    first = pd.read_csv(tmp_path / "a/small/metrics.csv")
    assert {"model", "metric", "value", "ci_low", "ci_high", "validation"} <= set(first.columns)
    assert set(first["model"]) == {"coxph", "xgb_cox"}
    pd.testing.assert_frame_equal(first, pd.read_csv(tmp_path / "b/small/metrics.csv"))
    written = {p.name for p in (tmp_path / "a/small").iterdir()}
    assert {
        "model_comparison.png",
        "calibration.png",
        "km_os.png",
        "forest_os.png",
        "ledger.csv",
        "comparisons.csv",
        "cox_multivariate_os.csv",
        "pipeline.yaml",
    } <= written


def test_shipped_pipelines_validate() -> None:
    for path in sorted((ROOT / "pipelines").glob("*.yaml")):
        assert load_pipeline(path).models


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"validation": {"folds": 1}},
            r"validation\.folds\s+Input should be greater than or equal to 2",
        ),
        ({"models": []}, r"models\s+List should have at least 1 item"),
        (
            {"data": {"dataset": "veterans", "file": "x.csv"}},
            r"give exactly one of generate, file, dataset",
        ),
        ({"endpoint": "pfs"}, r"unknown endpoint 'pfs'; this data has: os"),
        ({"covariates": ["karnofsky", "nope"]}, r"unknown covariate\(s\) nope"),
        ({"name": "."}, r"name '\.' is not a folder name"),  # would have deleted --out
        ({"name": ".."}, r"name '\.\.' is not a folder name"),
        ({"validation": {"scheme": "bootstrap", "intervals": "nested"}}, r"intervals: nested needs scheme: cv"),
    ],
    ids=["folds", "no-models", "two-sources", "endpoint", "covariate", "dot-name", "dotdot-name", "nested-bootstrap"],
)
def test_bad_pipeline_exits_2_with_message_and_writes_nothing(
    tmp_path: Path, change: dict, message: str
) -> None:
    config = _write(tmp_path, {**SMALL, **change})
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "out"), "--no-track"])
    assert result.exit_code == 2
    assert re.search(message, result.output), result.output
    assert not (tmp_path / "out").exists()


def test_prognostic_cli_on_user_csv_with_mapping(tmp_path: Path) -> None:
    from necml.dataset import load_veterans

    csv = tmp_path / "cohort.csv"
    load_veterans().rename(columns={"os_months": "months", "os_event": "died"}).to_csv(
        csv, index=False
    )
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        yaml.safe_dump(
            {
                "endpoints": {"os": {"time": "months", "event": "died"}},
                "covariates": {
                    "karnofsky": {"type": "continuous"},
                    "celltype": {"type": "categorical", "reference": "squamous"},
                },
            }
        )
    )
    result = runner.invoke(
        app,
        [
            "prognostic",
            str(csv),
            "--mapping",
            str(mapping),
            "--by",
            "celltype",
            "--covariates",
            "karnofsky,celltype,karnofsky<50",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "o/cox_multivariate_os.csv")
    assert list(table["term"]) == [
        "karnofsky",
        "celltype[adeno]",
        "celltype[large]",
        "celltype[smallcell]",
        "karnofsky_lt_50",
    ]
    missing = runner.invoke(app, ["prognostic", str(csv), "--out", str(tmp_path / "p")])
    assert missing.exit_code == 2 and "pass a data mapping (--mapping)" in missing.output


def test_generated_cohort_is_what_necml_generate_gives_for_the_recorded_seed(tmp_path: Path) -> None:
    # the record says seed = config.seed: `necml generate SPEC --n N --seed SEED` must give the cohort
    from necml.cohort import generate_cohort
    from necml.pipeline import load_pipeline
    from necml.pipeline._run import load_data
    from necml.spec import load_spec

    config = load_pipeline(ROOT / "pipelines" / "quickstart.yaml").model_copy(update={"seed": 7})
    loaded = load_data(config, ROOT)
    spec = load_spec(ROOT / config.data.generate.spec)
    expected = generate_cohort(spec, config.data.generate.n, seed=7)
    pd.testing.assert_frame_equal(loaded.frame, expected)


def test_run_pipeline_reports_every_fit_with_its_model_and_fold() -> None:
    """3 folds x 1 repeat + the final fit = 4 fits per model, 8 in all, counted up to the total."""
    from necml.pipeline import PipelineConfig, run_pipeline

    config = PipelineConfig.model_validate({**SMALL, "prognostic": False})
    seen: list[tuple[str, int, int]] = []
    run_pipeline(config, progress=lambda what, done, total: seen.append((what, done, total)))
    assert [done for _, done, _ in seen] == list(range(1, 9))
    assert {total for _, _, total in seen} == {8}
    assert seen[0][0] == "model 1 of 2: coxph, repeat 1 of 1, fold 1 of 3"
    assert seen[-1][0] == "model 2 of 2: xgb_cox, final fit on all patients"


def test_ctrl_c_in_necml_run_says_how_to_continue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import necml.pipeline

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(necml.pipeline, "invoke_pipeline", interrupted)
    result = runner.invoke(app, ["run", str(_write(tmp_path, SMALL)), "--out", str(tmp_path / "out"), "--no-track"])
    assert result.exit_code == 130
    assert "interrupted: no output was written" in result.output
    assert "--resume to continue the tuning" in result.output  # SMALL tunes xgb_cox (n_trials 2)
