"""Workers receive the fitted mechanisms: they neither read the spec nor re-calibrate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from necml.simulation import mechanism_for, resolve_study, run_study, scenarios
from tests.simulation.conftest import EPNEC, small_study


def test_workers_use_the_mechanisms_fitted_in_the_main_process(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    shutil.copy(EPNEC, spec)
    study = resolve_study(small_study(data={**small_study().data.model_dump(), "spec": str(spec)}), tmp_path)
    for scenario in scenarios(study):
        mechanism_for(study.data, scenario)  # fitted here, once
    one = run_study(study, out=tmp_path / "one", workers=1).replicates

    def remove_spec(done: int, total: int) -> None:  # first called before the workers start
        spec.unlink(missing_ok=True)  # a worker that loaded the spec to re-calibrate would fail now

    two = run_study(study, out=tmp_path / "two", workers=2, progress=remove_spec).replicates
    assert not spec.exists()
    order = ["scenario", "replicate", "method", "estimand"]
    pd.testing.assert_frame_equal(
        one.sort_values(order).reset_index(drop=True), two.sort_values(order).reset_index(drop=True)
    )
