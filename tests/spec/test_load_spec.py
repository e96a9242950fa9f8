"""Specification loading and validation: clear errors naming file, field and reason."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from necml.exceptions import SpecError
from necml.spec import is_assumed, load_spec, spec_from_dict, spec_hash

from ..conftest import COHORTS, SHIPPED


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load((COHORTS / "lcnec_stage4_2025.yaml").read_text())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_specs_load(name: str) -> None:
    spec = load_spec(COHORTS / name)
    assert spec.control_arm in spec.arms


def test_lcnec_arm_sizes_are_the_papers(lcnec) -> None:
    assert {a: arm.n for a, arm in lcnec.arms.items()} == {"chemo": 17, "ici_chemo": 14}
    assert lcnec.control_arm == "chemo"


def test_epnec_control_is_the_larger_arm(epnec) -> None:
    assert epnec.control_arm == "ep"
    assert epnec.arms["ep"].n == 42


@pytest.mark.parametrize("name", SHIPPED)
def test_every_assumed_number_gives_a_reason(name: str) -> None:
    text = (COHORTS / name).read_text()
    for line in text.splitlines():
        if "assumed:" in line:
            reason = line.split("assumed:", 1)[1].strip().strip('"}')
            assert len(reason) > 10, line


def _set(data: dict, path: list, value: object) -> dict:
    data = copy.deepcopy(data)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


BAD = [
    pytest.param(["variables", "ldh", "arms", "chemo", "q1"], 300.0,
                 r"variables\.ldh\.arms\.chemo\n.*`q1 <= median <= q3` must hold", id="iqr"),
    pytest.param(["variables", "smoking", "arms", "chemo", "percent"], 120.0,
                 r"variables\.smoking\.arms\.chemo\.percent\n.*less than or equal to 100",
                 id="share>100"),
    pytest.param(["variables", "sex", "arms", "chemo", "levels"], {"male": 60.0, "female": 20.0},
                 r"variables\.sex\.arms\.chemo\n.*must sum to 100", id="levels-sum"),
    pytest.param(["variables", "age", "arms", "chemo", "sd"], -8.63,
                 r"variables\.age\.arms\.chemo\.sd\n.*greater than 0", id="negative-sd"),
    pytest.param(["outcomes", "pfs", "treatment", "ici_chemo", "hr"], 0.0,
                 r"outcomes\.pfs\.treatment\.ici_chemo\.hr\n.*greater than 0", id="hr<=0"),
    pytest.param(["outcomes", "os", "arms", "chemo", "median"], -11.0,
                 r"outcomes\.os\.arms\.chemo\.median\n.*greater than 0", id="negative-median"),
    pytest.param(["variables", "age", "arms", "chemo", "dist"], "gamma",
                 r"variables\.age\.arms\.chemo\n.*does not match any of the expected tags",
                 id="unknown-dist"),
    pytest.param(["variables", "age", "arms", "chemo", "sdd"], 1.0,
                 r"variables\.age\.arms\.chemo\.sdd\n.*Extra inputs are not permitted",
                 id="unknown-field"),
    pytest.param(["arms", "chemo", "source"], "Table 2",
                 r"arms\.chemo\.source\n.*`assumed: <one-line reason>`", id="bad-source"),
]


@pytest.mark.parametrize(("path", "value", "match"), BAD)
def test_bad_values_name_field_and_reason(raw: dict, path, value, match) -> None:
    with pytest.raises(SpecError, match=match):
        spec_from_dict(_set(raw, path, value), origin="lcnec.yaml")


def test_missing_file_named(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nope\.yaml: no such file"):
        load_spec(tmp_path / "nope.yaml")


def test_empty_file_refused(tmp_path: Path) -> None:
    p = tmp_path / "empty.yaml"
    p.write_text("  \n")
    with pytest.raises(SpecError, match=r"empty\.yaml: the file is empty"):
        load_spec(p)


def test_non_yaml_refused(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\n  - : [")
    with pytest.raises(SpecError, match=r"bad\.yaml: not valid YAML"):
        load_spec(p)


def test_non_mapping_refused(tmp_path: Path) -> None:
    p = tmp_path / "list.yaml"
    p.write_text("- 1\n- 2\n")
    with pytest.raises(SpecError, match=r"list\.yaml: a cohort spec must be a YAML mapping"):
        load_spec(p)


def test_spec_is_frozen(lcnec) -> None:
    with pytest.raises(Exception, match="frozen"):
        lcnec.arms["chemo"].n = 3  # type: ignore[misc]


def test_hash_ignores_key_order(raw: dict) -> None:
    reordered = dict(reversed(list(raw.items())))
    assert spec_hash(spec_from_dict(raw)) == spec_hash(spec_from_dict(reordered))
    changed = _set(raw, ["arms", "chemo", "label"], "chemotherapy (changed)")
    assert spec_hash(spec_from_dict(raw)) != spec_hash(spec_from_dict(changed))


def test_conflicts_recorded_not_resolved_silently(lcnec) -> None:
    fields = {c.field for c in lcnec.conflicts}
    assert "outcomes.os.arms.ici_chemo.landmarks" in fields
    landmarks = lcnec.outcomes["os"].arms["ici_chemo"].landmarks
    assert sorted(lm.percent for lm in landmarks) == [54.5, 78.8]


def test_provenance_kinds() -> None:
    assert is_assumed("assumed: no paper reports it")
    assert not is_assumed("002 Table 2")
