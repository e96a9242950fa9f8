"""Small studies for the tests."""

from __future__ import annotations

from necml.simulation import StudyConfig
from tests.conftest import ROOT

EPNEC = str(ROOT / "configs/cohorts/epnec_atezolizumab_2025.yaml")


def small_study(**changes: object) -> StudyConfig:
    base = {
        "name": "small",
        "aims": "test",
        "seed": 5,
        "replicates": 6,
        "data": {"spec": EPNEC, "endpoint": "os", "n": [56, 120]},
        "methods": [{"name": "cox", "kind": "cox"}, {"name": "uni", "kind": "cox_univariate", "terms": ["nlr_gt_3"]}],
    }
    return StudyConfig.model_validate(base | changes)
