"""The command line: exit codes, messages, no partial outputs."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from necml.cli import app
from necml.dataset import read_metadata
from necml.spec import load_spec, spec_hash

from .conftest import COHORTS

runner = CliRunner()
LCNEC = str(COHORTS / "lcnec_stage4_2025.yaml")


def test_help_lists_every_subcommand() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for cmd in ("validate", "generate", "fidelity"):
        assert cmd in result.output


def test_generate_writes_parquet_with_metadata(tmp_path: Path) -> None:
    out = tmp_path / "c.parquet"
    result = runner.invoke(app, ["generate", LCNEC, "--n", "31", "--seed", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    df = pd.read_parquet(out)
    assert df["arm"].value_counts().to_dict() == {"chemo": 17, "ici_chemo": 14}
    meta = read_metadata(out)
    assert meta["seed"] == 4 and meta["n"] == 31
    assert meta["spec_hash"] == spec_hash(load_spec(LCNEC))
    assert "necml_version" in meta


def test_generate_roundtrip_preserves_frame(tmp_path: Path, lcnec) -> None:
    from necml.cohort import generate_cohort

    out = tmp_path / "c.parquet"
    runner.invoke(app, ["generate", LCNEC, "--n", "40", "--seed", "8", "--out", str(out)])
    pd.testing.assert_frame_equal(pd.read_parquet(out), generate_cohort(lcnec, 40, seed=8))


BAD_SPECS = [
    pytest.param("name: x\n  - : [", r"not valid YAML", id="not-yaml"),
    pytest.param("", r"the file is empty", id="empty"),
]


@pytest.mark.parametrize(("text", "match"), BAD_SPECS)
def test_bad_spec_exit_2_and_no_output(tmp_path: Path, text: str, match: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    out = tmp_path / "c.parquet"
    result = runner.invoke(app, ["generate", str(spec), "--n", "31", "--out", str(out)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output
    assert re.search(match, result.output)
    assert "Traceback" not in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [spec]


def test_invalid_field_message_names_path(tmp_path: Path) -> None:
    text = Path(LCNEC).read_text().replace("sd: 7.01", "sd: -7.01")
    spec = tmp_path / "neg.yaml"
    spec.write_text(text)
    result = runner.invoke(app, ["generate", str(spec), "--n", "31", "--out",
                                 str(tmp_path / "c.parquet")])
    assert result.exit_code == 2
    assert "variables.age.arms.ici_chemo.sd" in result.output
    assert "greater than 0" in result.output


@pytest.mark.parametrize("n", ["0", "-5"])
def test_non_positive_n_refused(tmp_path: Path, n: str) -> None:
    out = tmp_path / "c.parquet"
    result = runner.invoke(app, ["generate", LCNEC, "--n", n, "--out", str(out)])
    assert result.exit_code == 2
    assert "--n must be >= 1" in result.output
    assert not out.exists()


def test_missing_spec_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2
    assert "none.yaml: no such file" in result.output


def test_fidelity_writes_report(tmp_path: Path) -> None:
    result = runner.invoke(app, ["fidelity", LCNEC, "--n", "3000", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "lcnec_stage4_2025"
    assert {p.name for p in folder.iterdir()} == {"fidelity.md", "fidelity.csv", "km.png", "dots.png", "report.html"}
    md = (folder / "fidelity.md").read_text()
    assert "Residual conflicts" in md and "78.8" in md


def test_validate_lists_the_departures_from_the_papers_model(tmp_path: Path) -> None:
    text = Path(LCNEC).read_text() + (
        "\ndepartures:\n  - {kind: delayed_effect, arm: ici_chemo, delay: 2.5, source: 'assumed: a test'}\n"
    )
    (tmp_path / "delayed.yaml").write_text(text)
    result = runner.invoke(app, ["validate", str(tmp_path / "delayed.yaml")])
    assert result.exit_code == 0, result.output
    assert re.search(r"departure from the paper's model: delayed_effect .*'delay': 2\.5", result.output, re.S)
