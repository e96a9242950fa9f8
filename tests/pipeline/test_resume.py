"""``necml run --resume``: a pipeline interrupted during tuning finishes with the uninterrupted results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

import necml.evaluation.tuning._tuning as tuning
from necml.exceptions import DataError
from necml.pipeline import invoke_pipeline, load_pipeline
from tests.tracking.conftest import TINY


def test_interrupted_tuning_resumes_and_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = tmp_path / "tiny.yaml"
    config_file.write_text(yaml.safe_dump(TINY))
    config = load_pipeline(config_file)
    clean = invoke_pipeline(config, base=tmp_path, out=tmp_path / "clean")

    real, calls = tuning._inner_c, {"n": 0}

    def interrupted(*args: object, **kwargs: object) -> float:
        calls["n"] += 1
        if calls["n"] == 7:  # inside the third fold's tuning
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(tuning, "_inner_c", interrupted)
    with pytest.raises(KeyboardInterrupt):
        invoke_pipeline(config, base=tmp_path, out=tmp_path / "out")
    journal = tmp_path / "out" / ".tiny.tuning" / "optuna.journal"
    assert journal.is_file() and not (tmp_path / "out" / "tiny").exists()
    with pytest.raises(DataError, match="--resume"):
        invoke_pipeline(config, base=tmp_path, out=tmp_path / "out")

    monkeypatch.setattr(tuning, "_inner_c", real)
    calls["n"] = 0
    resumed = invoke_pipeline(config, base=tmp_path, out=tmp_path / "out", resume=True)
    pd.testing.assert_frame_equal(resumed.result.metrics, clean.result.metrics)
    trials = pd.read_csv(resumed.directory / "trials.csv")
    assert (trials["state"] == "FAIL").sum() == 1  # the interrupted trial, kept and marked
    assert (resumed.directory / "optuna.journal").is_file() and not journal.parent.exists()
