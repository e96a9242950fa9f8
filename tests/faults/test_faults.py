"""Faults: ``kill -9`` in each write phase, a full disk, read-only folders, a failing store, two studies at once.

Invariants: nothing a user had is lost or overwritten; a run's directory is complete or absent,
never half-written; what a killed run left is cleaned up (or restored) by the next run, which
says so; an MLflow run whose process died is marked FAILED by the next run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient
from typer.testing import CliRunner

from necml.cli import app
from necml.exceptions import OutputError
from tests.conftest import COHORTS, ROOT

runner = CliRunner()
LCNEC = str(COHORTS / "lcnec_stage4_2025.yaml")
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs or a read-only bind needs root")
TINY = {
    "name": "tiny",
    "seed": 1,
    "data": {"generate": {"spec": LCNEC, "n": 60}},
    "prognostic": False,
    "validation": {"scheme": "cv", "folds": 2, "repeats": 1, "ci_resamples": 10},
    "models": [{"config": str(ROOT / "configs/models/coxph.yaml")}],
}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def _killed(phase: str, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults.killer", phase, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == -9, done.stderr[-2000:]
    return done


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_kill_9_in_every_write_phase_loses_nothing_and_the_next_run_cleans_up(tmp_path: Path, tiny: Path) -> None:
    out = tmp_path / "out"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = runner.invoke(app, ["run", str(tiny), "--out", str(out), "--no-track"])
    assert first.exit_code == 0, first.output
    metrics = (out / "tiny" / "metrics.csv").read_bytes()

    _killed("staging", "run", str(tiny), "--out", str(out), "--tracking-uri", uri)
    stale = [n for n in _listing(out) if ".necml-staging-" in n]
    assert len(stale) == 1 and (out / "tiny" / "metrics.csv").read_bytes() == metrics  # the old run untouched

    _killed("swap", "run", str(tiny), "--out", str(out), "--tracking-uri", uri)
    assert not (out / "tiny").exists()  # killed between the renames: the previous output waits aside
    aside = [n for n in _listing(out) if ".necml-old-" in n]
    assert len(aside) == 1 and (out / aside[0] / "tiny" / "metrics.csv").read_bytes() == metrics

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tiny").experiment_id
    runs = client.search_runs([experiment], order_by=["attributes.start_time ASC"])
    assert [r.info.status for r in runs] == ["FAILED", "RUNNING"]  # the second run marked the first
    orphans = [r.info.run_id for r in runs]

    again = runner.invoke(app, ["run", str(tiny), "--out", str(out), "--tracking-uri", uri])
    assert again.exit_code == 0, again.output
    assert "restored" in again.output and "removed" in again.output
    assert f"marked MLflow run {orphans[1]} FAILED" in again.output
    assert _listing(out) == ["tiny"]  # nothing hidden left behind
    assert (out / "tiny" / "metrics.csv").read_bytes() == metrics  # deterministic: the same results
    for run_id in orphans:
        run = client.get_run(run_id)
        assert run.info.status == "FAILED" and "necml.orphaned" in run.data.tags


def test_kill_9_while_logging_keeps_the_results_and_necml_log_completes(tmp_path: Path, tiny: Path) -> None:
    out = tmp_path / "out"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _killed("tracking", "run", str(tiny), "--out", str(out), "--tracking-uri", uri)
    assert (out / "tiny" / "record.json").is_file()
    logged = runner.invoke(app, ["log", str(out / "tiny"), "--tracking-uri", uri])
    assert logged.exit_code == 0, logged.output
    run_id = logged.output.split("MLflow run ")[1].split()[0]
    assert MlflowClient(tracking_uri=uri).get_run(run_id).info.status == "FINISHED"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs, filled but for about 40 KB."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], check=True)
    try:
        stats = os.statvfs(disk)
        (disk / "filler").write_bytes(b"\0" * (stats.f_bavail * stats.f_frsize - 40 * 1024))
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@ROOT_ONLY
def test_full_disk_prognostic_writes_all_six_files_or_none(small_disk: Path) -> None:
    out = small_disk / "out"
    out.mkdir()
    (out / "notes.txt").write_text("user data")
    result = runner.invoke(app, ["prognostic", "veterans", "--by", "celltype", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "disk is full" in result.output and "Traceback" not in result.output
    assert _listing(out) == ["notes.txt"]


@ROOT_ONLY
def test_full_disk_run_leaves_no_half_written_directory(small_disk: Path, tiny: Path) -> None:
    out = small_disk / "out"
    result = runner.invoke(app, ["run", str(tiny), "--out", str(out), "--no-track"])
    assert result.exit_code == 2, result.output
    assert "disk is full" in result.output and "Traceback" not in result.output
    assert _listing(out) == []


@ROOT_ONLY
def test_full_disk_tracking_store_keeps_the_results_and_exits_3(small_disk: Path, tiny: Path, tmp_path: Path) -> None:
    uri = f"sqlite:///{small_disk / 'mlflow.db'}"
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(tiny), "--out", str(out), "--tracking-uri", uri])
    assert result.exit_code == 3, result.output
    flat = " ".join(result.output.split())
    assert "could not log to the tracking store" in flat and f"necml log {out / 'tiny'}" in flat
    assert (out / "tiny" / "metrics.csv").is_file()


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder mounted read-only (a bind mount: root ignores chmod)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "keep.txt").write_text("user data")
    subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@ROOT_ONLY
@pytest.mark.parametrize(
    "command",
    [
        ["run", "TINY", "--no-track", "--out"],
        ["prognostic", "veterans", "--out"],
        ["fidelity", LCNEC, "--n", "2000", "--out"],
        ["generate", LCNEC, "--n", "31", "--out"],
    ],
    ids=["run", "prognostic", "fidelity", "generate"],
)
def test_read_only_folders_are_refused_before_computing(read_only: Path, tiny: Path, command: list[str]) -> None:
    target = read_only / ("c.parquet" if command[0] == "generate" else "out")
    args = [str(tiny) if a == "TINY" else a for a in command]
    result = runner.invoke(app, [*args, str(target)])
    assert result.exit_code == 2, result.output
    assert "not writable" in result.output and str(read_only) in " ".join(result.output.split())
    assert _listing(read_only) == ["keep.txt"]


def test_a_second_simulate_on_the_same_folder_is_refused_with_the_holder(tmp_path: Path) -> None:
    from necml.files import directory_lock
    from necml.simulation import run_study
    from tests.simulation.conftest import small_study

    study = small_study()
    with directory_lock(tmp_path / "small", what="study 'small'"):
        with pytest.raises(OutputError, match=rf"in use by process {os.getpid()} on "):
            run_study(study, out=tmp_path, resume=True)
    assert not (tmp_path / "small" / "replicates.sqlite").exists()


def test_store_down_at_start_mid_run_and_end_is_covered() -> None:
    """The store failing at the start, mid-run and at the end: ``tests/tracking/test_faults.py``."""
    text = (ROOT / "tests/tracking/test_faults.py").read_text()
    for name in ("test_server_down_at_start", "test_server_killed_mid_run", "test_crash_marks_the_run_failed"):
        assert name in text


def test_stale_staging_is_removed_but_a_live_one_and_the_tuning_journal_are_kept(tmp_path: Path) -> None:
    from necml.files import clean_stale

    live = tmp_path / f".tiny.necml-staging-{os.getpid()}-abcd"
    dead = tmp_path / ".tiny.necml-staging-999999999-abcd"
    legacy = tmp_path / ".tiny.ab12cd34"
    tuning = tmp_path / ".tiny.tuning"
    for folder in (live, dead, legacy, tuning):
        folder.mkdir()
        (folder / "x").write_text("x")
    os.utime(legacy, (0, 0))
    notes = clean_stale(tmp_path, "tiny")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, tuning.name])
    assert len(notes) == 2 and all("removed" in n for n in notes)
