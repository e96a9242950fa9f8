"""The grid's censoring and departure axes: scenarios, truths, measures and stable seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from necml.simulation import Scenario, mechanism_for, resolve_study, run_study, scenarios
from tests.simulation.conftest import small_study

NONLINEAR = {"kind": "nonlinear", "variable": "nlr", "log_hr": 0.4, "source": "assumed: test"}
DELAY = {"kind": "delayed_effect", "arm": "atezo_ep", "delay": 2.0, "source": "assumed: test"}


def _grid_study(**data: object):  # noqa: ANN202
    base = {"spec": small_study().data.spec, "endpoint": "os", "n": [56]}
    return resolve_study(small_study(data=base | data), Path("."))


def test_default_axes_keep_the_scenario_keys_and_so_the_seeds() -> None:
    assert [s.key for s in scenarios(_grid_study(n=[31, 56]))] == ["n31_scale1", "n56_scale1"]
    grid = _grid_study(censoring=["published", 0.5, "none"], departures={"nl": [NONLINEAR]})
    keys = [s.key for s in scenarios(grid)]
    assert keys == [
        "n56_scale1",
        "n56_scale1_cens0.5",
        "n56_scale1_censnone",
        "n56_scale1_nl",
        "n56_scale1_cens0.5_nl",
        "n56_scale1_censnone_nl",
    ]


def test_departed_terms_have_no_truth_and_the_others_keep_theirs() -> None:
    study = _grid_study(departures={"nl": [NONLINEAR], "late": [DELAY]})
    plain = mechanism_for(study.data, Scenario(56, 1.0))
    nonlinear = mechanism_for(study.data, Scenario(56, 1.0, departure="nl"))
    delayed = mechanism_for(study.data, Scenario(56, 1.0, departure="late"))
    assert np.isnan(nonlinear.truth["nlr_gt_3"]) and np.isnan(delayed.truth["arm_atezo_ep"])
    # the pseudo-true OS log-HR equals the printed one to the solve's tolerance (5e-4)
    assert nonlinear.truth["ldh_gt_uln"] == plain.truth["ldh_gt_uln"] == pytest.approx(np.log(1.6), abs=5e-4)
    assert delayed.truth["nlr_gt_3"] == plain.truth["nlr_gt_3"]
    # the raw NLR joins every scenario's design: no effect beyond nlr_gt_3 in the spec, none true under the U
    assert plain.truth["nlr"] == 0.0 and np.isnan(nonlinear.truth["nlr"])
    assert list(plain.truth) == list(nonlinear.truth) == ["nlr_gt_3", "ldh_gt_uln", "nlr", "arm_atezo_ep"]


def test_a_study_over_censoring_and_departures_reports_each_scenario(tmp_path: Path) -> None:
    study = _grid_study(censoring=["published", 0.7], departures={"nl": [NONLINEAR]})
    result = run_study(study, out=tmp_path)
    perf = result.performance
    assert set(perf["censoring"]) == {"published", "0.7"} and set(perf["departure"]) == {"none", "nl"}
    nl = perf[(perf["departure"] == "nl") & (perf["estimand"] == "nlr_gt_3") & (perf["method"] == "cox")]
    assert "power" in set(nl["measure"]) and not {"bias", "coverage", "rmse"} & set(nl["measure"])
    plain = perf[(perf["departure"] == "none") & (perf["estimand"] == "nlr_gt_3") & (perf["method"] == "cox")]
    assert {"bias", "coverage", "rmse", "power"} <= set(plain["measure"])
    heavy = result.replicates[result.replicates["censoring"] == "0.7"]
    assert heavy["scenario"].str.contains("cens0.7").all()
    assert (result.directory / "power.png").exists()
