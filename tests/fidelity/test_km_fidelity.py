"""The spec's ``km:`` block: validated with field paths; a cohort compared with its digitised figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import necml
from necml.cli import app
from necml.exceptions import SpecError
from necml.fidelity import km_fidelity, reconstructed_ipd
from necml.km import at_risk_table, km_steps
from necml.spec import read_yaml, spec_from_dict

ROOT = Path(__file__).resolve().parents[2]
LCNEC = ROOT / "configs" / "cohorts" / "lcnec_stage4_2025.yaml"


def _figure(time: np.ndarray, event: np.ndarray) -> dict:
    """A 'digitised' figure of one arm: its KM corners and at-risk table every 3 months."""
    pts = km_steps(time, event)
    risk = at_risk_table(time, np.arange(0, 18, 3.0))
    return {"points": pts.round(4).to_numpy().tolist(), "at_risk": [[float(t), int(n)] for t, n in risk.to_numpy()],
            "total_events": int(event.sum()), "source": "assumed: test figure drawn from a synthetic cohort",
            "digitiser": "test", "tool": "necml.km.km_steps"}


@pytest.fixture(scope="module")
def spec_with_km():  # noqa: ANN201
    raw = read_yaml(LCNEC)
    raw["calibration_n"] = 4000  # a fast calibration: the test compares curves, not the calibration
    small = necml.generate(spec_from_dict(raw, origin="test"), 31, seed=5)
    arms = {a: small[small.arm == a] for a in ("chemo", "ici_chemo")}
    raw["km"] = {"os": {a: _figure(p["os_months"].to_numpy(), p["os_event"].to_numpy()) for a, p in arms.items()}}
    return spec_from_dict(raw, origin="test"), raw


def test_km_fidelity_of_the_cohort_against_its_own_figure(spec_with_km) -> None:  # noqa: ANN001
    spec, _ = spec_with_km
    ipd = reconstructed_ipd(spec, "os")
    assert ipd.groupby("arm").size().to_dict() == {"chemo": 17, "ici_chemo": 14}
    table = km_fidelity(spec, necml.generate(spec, 4000, seed=1))
    landmarks = table[table["statistic"].str.startswith("S(")]
    assert landmarks["inside_ci"].dropna().mean() >= 0.75  # a 31-patient figure is noisy, but mostly agrees
    assert {"area between curves (0-15)", "RMST(15)"} <= set(table["statistic"])


@pytest.mark.parametrize(
    ("edit", "match"),
    [(lambda f: f["points"].__setitem__(3, [f["points"][3][0], 1.0]),
      r"(?s)km\.os\.chemo\n.*points\[3\]: a Kaplan-Meier curve cannot increase"),
     (lambda f: f["at_risk"].__setitem__(2, [6.0, 99]),
      r"(?s)km\.os\.chemo\n.*at_risk\[2\]: numbers at risk cannot grow"),
     (lambda f: f["at_risk"].__setitem__(0, [0.0, 16]), r"km\.os\.chemo\.at_risk\[0\]: `at risk at time 0 == arms"),
     (lambda f: f.pop("source"), r"km\.os\.chemo\.source")],
    ids=["curve-increases", "at-risk-grows", "wrong-arm-size", "no-source"],
)
def test_bad_km_block_is_refused_with_its_field_path(spec_with_km, edit, match: str, tmp_path: Path) -> None:  # noqa: ANN001
    _, raw = spec_with_km
    bad = yaml.safe_load(yaml.safe_dump(raw))
    figure = bad["km"]["os"]["chemo"]
    if figure["points"][3][1] > 0.99 and "points" in match:
        pytest.skip("no drop before point 3")
    edit(figure)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(SpecError, match=match):
        necml.spec.load_spec(path)


def test_cli_km_fidelity_writes_table_and_ipd(spec_with_km, tmp_path: Path) -> None:  # noqa: ANN001
    _, raw = spec_with_km
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = CliRunner().invoke(app, ["km", "fidelity", str(path), "--n", "2000", "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    folder = tmp_path / "out" / raw["name"]
    assert pd.read_csv(folder / "km_ipd_os.csv").columns.tolist() == ["arm", "os_months", "os_event"]
    assert (folder / "km_fidelity.md").is_file()
