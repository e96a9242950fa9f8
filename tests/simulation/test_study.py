"""Whole-chain correctness (coverage), resume, Dask and a killed worker all give the same replicates."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from necml.simulation import resolve_study, run_study
from tests.simulation.conftest import small_study


def _run(study, out: Path, **kwargs: object):  # noqa: ANN001, ANN202
    return run_study(resolve_study(study, out), out=out, **kwargs)


@pytest.mark.slow
def test_multivariate_cox_coverage_is_nominal_at_n_1000(tmp_path: Path) -> None:
    """The generator's true log-HRs, estimated by the multivariate Cox model: 95% CIs cover at ~95%."""
    study = small_study(
        replicates=300, data={**small_study().data.model_dump(), "n": [1000]}, methods=[{"name": "cox", "kind": "cox"}]
    )
    result = _run(study, tmp_path)
    perf = result.performance
    for estimand in ("nlr_gt_3", "ldh_gt_uln", "arm_atezo_ep"):
        row = perf[(perf["estimand"] == estimand) & (perf["measure"] == "coverage")].iloc[0]
        assert abs(row["estimate"] - 0.95) <= 3 * row["mcse"], (estimand, row["estimate"], row["mcse"])
        bias = perf[(perf["estimand"] == estimand) & (perf["measure"] == "bias")].iloc[0]
        assert abs(bias["estimate"]) <= 3 * bias["mcse"] + 0.02, (estimand, bias["estimate"])
    assert (perf[perf["measure"] == "failures"]["estimate"] == 0).all()


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    order = ["scenario", "replicate", "method", "estimand"]
    pd.testing.assert_frame_equal(
        a.sort_values(order).reset_index(drop=True), b.sort_values(order).reset_index(drop=True)
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return _run(small_study(), tmp_path_factory.mktemp("reference")).replicates


class _Stop(Exception):
    pass


def test_interrupted_study_resumes_to_identical_results(tmp_path: Path, reference: pd.DataFrame) -> None:
    def stop_after_five(done: int, total: int) -> None:
        if done == 5:
            raise _Stop

    with pytest.raises(_Stop):
        _run(small_study(), tmp_path, progress=stop_after_five)
    with pytest.raises(Exception, match="--resume"):
        _run(small_study(), tmp_path)
    resumed = _run(small_study(), tmp_path, resume=True)
    assert resumed.computed == 12 - 5  # the five finished replicates were not recomputed
    _same(resumed.replicates, reference)
    with pytest.raises(Exception, match="different study"):
        _run(small_study(seed=6), tmp_path, resume=True)


def test_two_local_workers_give_identical_results(tmp_path: Path, reference: pd.DataFrame) -> None:
    _same(_run(small_study(), tmp_path, workers=2).replicates, reference)  # forked or loky, as can_fork says


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_forked_workers_give_identical_results(
    tmp_path: Path, reference: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import necml.simulation._execute as execute_module

    monkeypatch.setattr(execute_module, "can_fork", lambda: True)  # a Cox-only study: no OpenMP in the workers
    _same(_run(small_study(), tmp_path, workers=2).replicates, reference)


def test_spawned_loky_workers_give_identical_results(
    tmp_path: Path, reference: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where workers cannot be forked (macOS, Windows, a process with threads or OpenMP) they are
    fresh loky processes that import necml and receive the fitted mechanisms."""
    import necml.simulation._execute as execute_module

    monkeypatch.setattr(execute_module, "can_fork", lambda: False)
    _same(_run(small_study(), tmp_path, workers=2).replicates, reference)


_PROBE = "import necml.simulation._execute as e, threading; {setup}; print(e.can_fork())"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
@pytest.mark.parametrize(
    ("setup", "forks"),
    [
        ("pass", True),  # a Cox-only study's main process
        ("import xgboost", False),  # an OpenMP runtime is loaded (GNU libgomp is not fork-safe)
        ("threading.Thread(target=threading.Event().wait, daemon=True).start()", False),  # another thread
    ],
)
def test_workers_are_forked_only_from_a_clean_process(setup: str, forks: bool) -> None:
    import subprocess

    found = subprocess.run(
        [sys.executable, "-c", _PROBE.format(setup=setup)], capture_output=True, text=True, check=True, timeout=120
    )
    assert found.stdout.strip() == str(forks)


def test_dask_local_cluster_gives_identical_results(tmp_path: Path, reference: pd.DataFrame) -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = _run(small_study(), tmp_path, scheduler=cluster.scheduler_address)
    _same(result.replicates, reference)


def test_a_killed_worker_is_rerun_once_and_nothing_counted_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    methods = [
        {"name": "cox", "kind": "cox"},
        {"name": "events", "kind": "python", "callable": "tests.simulation.crashy:crash_once"},
    ]
    marker = tmp_path / "marker"
    monkeypatch.setenv("NECML_TEST_CRASH_MARKER", str(marker))
    marker.write_text("no crash")  # the reference run: nothing dies
    clean = _run(small_study(methods=methods), tmp_path / "clean").replicates
    marker.unlink()  # now the first replicate to reach the method kills its worker
    crashed = _run(small_study(methods=methods), tmp_path / "crashed", workers=2)
    assert marker.read_text() == "crashed"
    assert len(crashed.replicates.groupby(["scenario", "replicate"])) == 12
    _same(crashed.replicates, clean)
    assert np.isfinite(crashed.replicates[crashed.replicates["method"] == "events"]["estimate"]).all()
