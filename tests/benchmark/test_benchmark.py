"""``necml benchmark``: Burk et al.'s (2024) veterans Cox PH reproduced on its published folds; bad inputs refused."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sksurv.util import Surv
from typer.testing import CliRunner

from necml.benchmark import BenchmarkConfig, read_folds, run_benchmark, typed_data
from necml.cli import app
from necml.exceptions import DataError
from necml.models import CoxPHSurvival

BURK = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks" / "burk2024"
#: Burk et al. (arXiv 2406.04098 v2), Cox PH on veteran: mean Harrell C over the 30 outer test sets.
PUBLISHED_C, TOLERANCE = 0.7166, 0.002
FACTORS = ["trt", "celltype", "prior"]

needs_burk = pytest.mark.skipif(not (BURK / "veteran_folds.csv").is_file(), reason="shared/benchmarks/burk2024 absent")


@pytest.fixture(scope="module")
def veteran_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if (BURK / "veteran.csv").is_file():
        return BURK / "veteran.csv", BURK / "veteran_folds.csv"
    pytest.skip("shared/benchmarks/burk2024 absent")


@needs_burk
def test_cli_reproduces_burk_veterans_cox_and_tracks(veteran_files, tmp_path: Path) -> None:  # noqa: ANN001
    data, folds = veteran_files
    args = ["benchmark", "--data", str(data), "--folds", str(folds), "--time", "time", "--event", "status",
            "--factors", ",".join(FACTORS), "--models", "coxph", "--out", str(tmp_path),
            "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "MLflow run" in done.output
    results = pd.read_csv(next(tmp_path.glob("**/results.csv")))
    assert list(results.columns[:5]) == ["dataset", "model", "iteration", "metric", "value"]
    c = results[results["metric"] == "cindex_harrell"]
    assert sorted(c["iteration"]) == list(range(1, 31))
    assert abs(c["value"].mean() - PUBLISHED_C) <= TOLERANCE
    summary = pd.read_csv(tmp_path / "benchmark" / "summary.csv")
    assert {"mean", "sd", "se", "n"} <= set(summary.columns)
    assert (tmp_path / "benchmark" / "summary.md").is_file() and (tmp_path / "benchmark" / "cindex.png").is_file()


def test_own_resampling_and_rsf_on_sksurv_data() -> None:
    config = BenchmarkConfig(datasets=[{"sksurv": "veterans"}], models=["coxph", "rsf"],
                             params={"rsf": {"n_estimators": 20}}, resampling={"folds": 3, "repeats": 1})
    result = run_benchmark(config)
    c = result.summary[result.summary["metric"] == "cindex_harrell"].set_index("model")
    assert c.loc[["coxph", "rsf"], "n"].tolist() == [3, 3]
    assert (c["mean"] > 0.6).all()


def _write(tmp_path: Path, rows: pd.DataFrame) -> Path:
    path = tmp_path / "folds.csv"
    rows.to_csv(path, index=False)
    return path


GOOD = pd.DataFrame({"set": ["train", "train", "test"], "iteration": [1, 1, 1], "row_id": [1, 2, 3]})


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        (GOOD.assign(row_id=[1, 2, 9]), r"folds.csv: column 'row_id', line 4: row 9 does not exist \(the data set"),
        (GOOD.assign(set=["train", "valid", "test"]), r"column 'set', line 3: must be 'train' or 'test'"),
        (GOOD.assign(row_id=[1, 1, 3]), r"line 3: row 1 appears twice in iteration 1"),
        (GOOD.assign(row_id=[1, 2.5, 3]), r"column 'row_id', line 3: must be an integer >= 1"),
        (GOOD.assign(set=["train"] * 3), r"iteration 1 has no test rows"),
        (GOOD.drop(columns="iteration"), r"column\(s\) 'iteration' not found"),
    ],
    ids=["row-beyond-data", "bad-set", "duplicate", "non-integer", "no-test", "missing-column"],
)
def test_bad_folds_file_is_refused_with_file_field_and_reason(rows: pd.DataFrame, match: str, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=match):
        read_folds(_write(tmp_path, rows), n_rows=5)


def test_cli_refuses_a_bad_folds_file_with_exit_2_and_writes_nothing(veteran_files, tmp_path: Path) -> None:  # noqa: ANN001
    data, _ = veteran_files
    folds = _write(tmp_path, GOOD.assign(row_id=[1, 2, 500]))
    out = tmp_path / "out"
    done = CliRunner().invoke(app, ["benchmark", "--data", str(data), "--folds", str(folds), "--event", "status",
                                    "--factors", "trt,celltype,prior", "--out", str(out), "--no-track"])
    assert done.exit_code == 2 and "row 500 does not exist" in done.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [("status", 2, r"column 'status', line 3: an event must be 0 or 1"),
     ("time", -1.0, r"column 'time', line 3: a time must be a number >= 0"),
     ("age", "old", r"column 'age', line 3: a numeric column must hold numbers")],
    ids=["event", "time", "numeric"],
)
def test_bad_data_is_refused_with_column_and_line(column: str, value: object, match: str) -> None:
    frame = pd.DataFrame({"time": [1.0, 2.0, 3.0], "status": [1, 0, 1], "age": [60, 70, 80], "arm": ["b", "a", "b"]})
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = value
    with pytest.raises(DataError, match=match):
        typed_data(frame, time="time", event="status", factors=["arm"], source="x.csv")


def test_factor_levels_sorted_as_r_with_first_level_reference() -> None:
    frame = pd.DataFrame({"time": [1.0, 2, 3, 4], "status": [1, 0, 1, 1], "grade": [10, 2, 2, 1], "cell": list("dbca")})
    data = typed_data(frame, time="time", event="status", factors=["grade", "cell"])
    assert list(data.X["grade"].cat.categories) == ["1", "2", "10"]
    assert data.types["cell"].reference == "a"


def test_cox_on_a_separating_rare_level_and_an_aliased_column_warns_and_predicts(stat_seed: int) -> None:
    rng = np.random.default_rng(stat_seed)
    n = 60
    rare = np.zeros(n)
    rare[:3] = 1  # three patients, all dying first: the coefficient runs to infinity
    x = rng.normal(size=n)
    time = np.where(rare == 1, 0.1 + 0.01 * np.arange(n), rng.exponential(5, n) + 1)
    X = np.column_stack([x, rare, 2 * x])  # the third column is aliased
    y = Surv.from_arrays(np.ones(n, bool), time)
    with pytest.warns(Warning, match=r"column 1: infinite.*column 2: aliased"):
        model = CoxPHSurvival().fit(X, y)
    assert model.status_ == ["ok", "infinite", "aliased"]
    assert np.isnan(model.coef_[1:]).all() and np.isfinite(model.predict(X)).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dropped = CoxPHSurvival(infinite="zero").fit(X, y)
    assert dropped.coef_used_[1] == 0 and model.coef_used_[1] > 5


@pytest.mark.skipif(shutil.which("true") is None, reason="no shell")
def test_survset_dataset_loads_offline_when_installed() -> None:
    pytest.importorskip("SurvSet")
    from necml.benchmark import load_survset_dataset

    data = load_survset_dataset("veteran")
    assert len(data.time) == 137 and {"fac_celltype", "num_karno"} <= set(data.X.columns)


def test_config_file_is_validated_with_field_paths(tmp_path: Path) -> None:
    from necml.benchmark import load_benchmark

    path = tmp_path / "b.yaml"
    path.write_text("datasets: [{sksurv: veterans, survset: pbc}]\nmodels: [coxph, lasso]\n")
    with pytest.raises(DataError, match=r"(?s)b.yaml:\n.*datasets\.0\n  .*exactly one of `file`, `sksurv`, `survset`"):
        load_benchmark(path)


def test_shipped_config_loads() -> None:
    from necml.benchmark import load_benchmark

    config = load_benchmark(Path(__file__).resolve().parents[2] / "configs" / "benchmarks" / "burk2024.yaml")
    assert config.datasets[0].folds is not None and config.models == ["coxph", "rsf"]


def test_downsample_study_validated_and_held_out_c() -> None:
    from necml.benchmark import load_sksurv_dataset
    from necml.benchmark._downsample import DownsampleSettings, downsample_study, summarise_downsample

    settings = DownsampleSettings(sizes=(31,), draws=1, folds=3, repeats=1, bootstrap=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small draws: NA Cox terms are expected and warned about
        draws = downsample_study({"veterans": load_sksurv_dataset("veterans")}, settings=settings, seed=1)
    row = draws.iloc[0]
    assert row["n"] == 31 and row["events"] == 29  # 128/137 events, stratified
    assert all(0.3 < row[c] < 1 for c in ("apparent", "cv", "bootstrap_optimism", "plus632", "held_out"))
    assert set(summarise_downsample(draws)["method"]) == {"apparent", "cv", "bootstrap_optimism", "plus632"}
