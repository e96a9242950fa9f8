"""Published extras of a spec: corrected readings, per-level sources, Total columns, univariate HRs."""

from __future__ import annotations

import copy
import pickle

import pytest
import yaml

from necml.exceptions import SpecError
from necml.spec import (
    CorrectedValue,
    corrections,
    is_assumed,
    level_source,
    load_spec,
    spec_from_dict,
    spec_hash,
)

from ..conftest import COHORTS, SHIPPED

LDH_Q3 = ["variables", "ldh", "arms", "chemo", "q3"]
REASON = "assumed: the Total column needs an arm Q3 near 510; read as 511"


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load((COHORTS / "lcnec_stage4_2025.yaml").read_text())


def _set(data: dict, path: list, value: object) -> dict:
    data = copy.deepcopy(data)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_specs_round_trip(name: str) -> None:
    spec = load_spec(COHORTS / name)
    again = spec_from_dict(yaml.safe_load(yaml.safe_dump(spec.model_dump(mode="json"))))
    assert again == spec
    assert spec_hash(again) == spec_hash(spec)


def test_a_corrected_number_is_its_value_and_keeps_the_printed_one(raw: dict) -> None:
    spec = spec_from_dict(_set(raw, LDH_Q3, {"value": 511, "as_printed": 1511, "source": REASON}))
    q3 = spec.variables["ldh"].arms["chemo"].q3
    assert isinstance(q3, float) and isinstance(q3, CorrectedValue)
    assert q3 == 511.0 and q3.as_printed == 1511.0 and q3.source == REASON
    assert q3 + 0 == 511.0 and type(q3 + 0) is float
    assert pickle.loads(pickle.dumps(q3)) == q3
    assert corrections(spec.variables["ldh"].arms["chemo"]) == {"q3": q3}
    dumped = spec.model_dump(mode="json")["variables"]["ldh"]["arms"]["chemo"]["q3"]
    assert dumped == {"value": 511.0, "as_printed": 1511.0, "source": REASON}


def test_plain_numbers_stay_plain(raw: dict) -> None:
    spec = spec_from_dict(_set(raw, LDH_Q3, 1511.0))
    q3 = spec.variables["ldh"].arms["chemo"].q3
    assert type(q3) is float and q3 == 1511.0
    assert spec.model_dump(mode="json")["variables"]["ldh"]["arms"]["chemo"]["q3"] == 1511.0
    assert corrections(spec.variables["ldh"].arms["chemo"]) == {}


def test_a_different_printed_value_changes_the_hash(raw: dict) -> None:
    a = spec_from_dict(_set(raw, LDH_Q3, {"value": 511, "as_printed": 1511, "source": REASON}))
    b = spec_from_dict(_set(raw, LDH_Q3, {"value": 511, "as_printed": 1521, "source": REASON}))
    assert a != b and spec_hash(a) != spec_hash(b)


BAD = [
    pytest.param(LDH_Q3, {"value": 511, "as_printed": "fifteen", "source": REASON},
                 r"variables\.ldh\.arms\.chemo\.q3\n.*`as_printed`: Input should be a valid number",
                 id="as_printed-nan"),
    pytest.param(LDH_Q3, {"value": 511, "source": REASON},
                 r"variables\.ldh\.arms\.chemo\.q3\n.*`as_printed`: Field required", id="as_printed-missing"),
    pytest.param(LDH_Q3, {"as_printed": 1511, "source": REASON},
                 r"variables\.ldh\.arms\.chemo\.q3\n.*`value`: Field required", id="value-missing"),
    pytest.param(LDH_Q3, {"value": 511, "as_printed": 1511, "source": REASON, "why": "x"},
                 r"variables\.ldh\.arms\.chemo\.q3\n.*`why`: Extra inputs", id="extra-key"),
    pytest.param(LDH_Q3, {"value": 511, "as_printed": 1511, "source": "002 Table 2"},
                 r"variables\.ldh\.arms\.chemo\.q3\n.*`source` must be `assumed", id="published-source"),
    pytest.param(LDH_Q3, {"value": 1511, "as_printed": 1511, "source": REASON},
                 r"variables\.ldh\.arms\.chemo\.q3\n.*must differ from `as_printed`", id="no-change"),
    pytest.param(LDH_Q3, {"value": -5, "as_printed": 1511, "source": REASON},
                 r"variables\.ldh\.arms\.chemo\.q3\n.*greater than 0", id="value-bound"),
    pytest.param(LDH_Q3, {"value": 200, "as_printed": 1511, "source": REASON},
                 r"variables\.ldh\.arms\.chemo\n.*`q1 <= median <= q3` must hold", id="value-order"),
    pytest.param(["variables", "ecog", "arms", "chemo", "level_sources"], {"3": REASON},
                 r"variables\.ecog\.arms\.chemo\n.*level_sources: \['3'\] are not levels", id="level-source-level"),
    pytest.param(["variables", "ecog", "arms", "chemo", "level_sources"], {"0": "a guess"},
                 r"variables\.ecog\.arms\.chemo\.level_sources\.0\n.*`assumed: <one-line reason>`",
                 id="level-source-format"),
    pytest.param(["variables", "ecog", "totals"], {"levels": {"0+3": 87.1}, "source": "002 Table 2"},
                 r"variables\.ecog\n.*totals\.levels\.0\+3: \['3'\] not a level", id="total-level"),
    pytest.param(["variables", "smoking", "totals"], {"mean": 3.0, "source": "002 Table 2"},
                 r"variables\.smoking\n.*a binary variable's total takes", id="total-kind"),
    pytest.param(["variables", "smoking", "totals"], {"percent": 83.9, "count": 20, "source": "002 Table 2"},
                 r"variables\.smoking\.totals\.count: `count / n` must match `percent`", id="total-count"),
    pytest.param(["variables", "ldh", "totals"], {"median": 278, "q1": 300, "source": "002 Table 2"},
                 r"variables\.ldh\.totals\n.*`q1 <= median <= q3` must hold", id="total-order"),
    pytest.param(["variables", "ldh", "totals"], {"source": "002 Table 2"},
                 r"variables\.ldh\.totals\n.*at least one statistic", id="total-empty"),
    pytest.param(["outcomes", "os", "univariate"], [{"term": {"variable": "crp", "above": 3}, "hr": 2.0,
                                                     "source": "002 Table 4"}],
                 r"outcomes\.os\.univariate\.0\.term: unknown variable 'crp'", id="univariate-term"),
    pytest.param(["outcomes", "os", "univariate"], [{"term": {"variable": "nlr", "above": 3}, "hr": 2.0,
                                                     "ci": [2.1, 3.0], "source": "002 Table 4"}],
                 r"outcomes\.os\.univariate\.0\n.*`0 < ci_low <= hr <= ci_high` must hold", id="univariate-ci"),
    pytest.param(["follow_up", "cutoff_source"], "June 2023",
                 r"follow_up\.cutoff_source\n.*`assumed: <one-line reason>`", id="cutoff-source"),
]


@pytest.mark.parametrize(("path", "value", "match"), BAD)
def test_bad_published_extras_name_field_and_reason(raw: dict, path, value, match) -> None:
    with pytest.raises(SpecError, match=match):
        spec_from_dict(_set(raw, path, value), origin="lcnec.yaml")


def test_corrections_work_in_every_mean_and_median_field(raw: dict) -> None:
    fixed = {"value": 64.0, "as_printed": 46.1, "source": "assumed: a digit swap, for the test"}
    spec = spec_from_dict(_set(raw, ["variables", "age", "arms", "chemo", "mean"], fixed))
    assert spec.variables["age"].arms["chemo"].mean == 64.0
    total = {"median": {"value": 278.0, "as_printed": 2780.0, "source": "assumed: a slipped decimal, test"},
             "source": "002 Table 2"}
    spec = spec_from_dict(_set(raw, ["variables", "ldh", "totals"], total))
    assert spec.variables["ldh"].totals.median.as_printed == 2780.0


def test_lcnec_labels_what_002_does_not_print(lcnec) -> None:
    ecog = lcnec.variables["ecog"]
    for arm in ("chemo", "ici_chemo"):
        dist = ecog.arms[arm]
        assert is_assumed(level_source(dist, "0")) and is_assumed(level_source(dist, "1"))
        assert not is_assumed(level_source(dist, "2"))  # the complement of the printed 0-1 share
        assert abs(dist.levels["0"] + dist.levels["1"] - {"chemo": 88.2, "ici_chemo": 92.9}[arm]) < 0.05
        for var in ("tmb", "pdl1_tps"):
            assert is_assumed(lcnec.variables[var].arms[arm].source), var
    assert "not incorporated into the analysis" in lcnec.variables["tmb"].arms["chemo"].source
    assert "Shirasawa" in lcnec.variables["pdl1_tps"].arms["chemo"].source
    assert "high" in lcnec.variables["pdl1_tps"].arms["chemo"].source


def test_lcnec_misprints_are_corrected_and_kept(lcnec) -> None:
    ldh = lcnec.variables["ldh"].arms["chemo"].q3
    progrp = lcnec.variables["progrp"].arms["chemo"].q3
    assert (ldh, ldh.as_printed) == (511.0, 1511.0)
    assert progrp.as_printed == 1551.0 and 100 < progrp < 130
    assert lcnec.variables["ldh"].totals.q3 == 458.0
    assert lcnec.variables["ecog"].totals.levels == {"0+1": 87.1}


def test_epnec_cutoff_is_assumed_and_univariate_hrs_are_the_papers(epnec) -> None:
    assert not is_assumed(epnec.follow_up.source)
    assert is_assumed(epnec.follow_up.cutoff_source)
    uni = {(ep, e.term.name): (e.hr, e.ci, e.p) for ep, spec in epnec.outcomes.items() for e in spec.univariate}
    assert uni == {("pfs", "ldh_gt_uln"): (1.81, (1.05, 3.12), 0.033),
                   ("os", "ldh_gt_uln"): (2.39, (1.29, 4.41), 0.005),
                   ("os", "nlr_gt_3"): (2.58, (1.39, 4.72), 0.002)}


@pytest.mark.parametrize(("spec_name", "fields"), [
    ("lcnec", {"variables.ldh", "variables.progrp", "variables.cea", "outcomes.pfs.arms.ici_chemo.ci",
               "outcomes.pfs.effects", "outcomes.pfs.effects.3", "variables.met_liver", "variables.ecog"}),
    ("epnec", {"response.arms", "variables.age.totals", "variables.ki67"}),
])
def test_audit_conflicts_recorded(spec_name: str, fields: set[str], request: pytest.FixtureRequest) -> None:
    spec = request.getfixturevalue(spec_name)
    recorded = {c.field for c in spec.conflicts}
    assert fields <= recorded, fields - recorded
    ecog = next(c for c in spec.conflicts if c.field == "outcomes.pfs.effects.3") if spec_name == "lcnec" else None
    if ecog is not None:
        assert "ambiguous" in ecog.resolution
