"""The one-page HTML report: self-contained, complete, and rendered by a headless Chromium.

The screenshot test runs Debian's ``chromium --headless --screenshot``; without it the test is
skipped, except under CI (``CI=true``), where a missing browser is a failure (``.ci/run``
installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image
from typer.testing import CliRunner

import necml
from necml.cli import app
from necml.report import MAX_ROWS, flatten_provenance, render_html, write_html_report

runner = CliRunner()
WINDOW = (1200, 1600)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is missing: .ci/run must install Debian's chromium")
    pytest.skip("chromium is not installed")


@pytest.fixture
def run_directory(tmp_path: Path) -> Path:
    """A small run directory: a Markdown report showing one figure, another figure, two tables."""
    folder = tmp_path / "run"
    (folder / "fidelity").mkdir(parents=True)
    for name, colour in (("km.png", "#1f77b4"), ("fidelity/dots.png", "#d62728")):
        fig = Figure(figsize=(6, 3))
        ax = fig.subplots()
        ax.fill_between([0, 1, 2], [0, 1, 0.5], color=colour)
        fig.savefig(folder / name, dpi=80)
    (folder / "summary.md").write_text("# Summary\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![curves](km.png)\n")
    pd.DataFrame({"metric": ["cindex"], "value": [0.7123456]}).to_csv(folder / "metrics.csv", index=False)
    pd.DataFrame({"i": range(MAX_ROWS + 5)}).to_csv(folder / "fidelity" / "long.csv", index=False)
    (folder / "model.skops").write_bytes(b"\x00")
    return folder


PROVENANCE = {"command": "necml run p.yaml", "seed": 3, "data": {"sha256": "ab" * 32},
              "environment": {"versions": {"necml": necml.__version__}}}


def test_report_is_self_contained_and_complete(run_directory: Path) -> None:
    path = write_html_report(run_directory, title="Pipeline small", provenance=PROVENANCE)
    page = path.read_text()
    assert path.name == "report.html"
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing outside the page
    assert page.count("data:image/png;base64,") == 2  # km.png inside the Markdown, dots.png as a figure
    assert page.count("<figure>") == 1 and "fidelity/dots.png" in page
    assert "<h1>Summary</h1>" in page and "<td>1</td>" in page  # Markdown tables rendered
    assert "0.7123" in page and f"first {MAX_ROWS} of {MAX_ROWS + 5} rows" in page
    assert "<code>model.skops</code>" in page
    keys = re.findall(r'<tr><td>([^<]+)</td>', page.split('class="provenance"')[1].split("</table>")[0])
    assert keys == ["command", "data.sha256", "seed", "environment.versions.necml"]  # what a reader checks first


def test_flatten_provenance() -> None:
    assert flatten_provenance({"a": {"b": 1, "c": [1, 2]}, "d": None}) == {"a.b": "1", "a.c": "1, 2", "d": ""}


def test_render_escapes_html(tmp_path: Path) -> None:
    page = render_html([], title="<script>", provenance={"x": "<b>"}, root=tmp_path)
    assert "<script>" not in page.split("<body>")[1] and "&lt;b&gt;" in page


def test_headless_chromium_renders_the_report(run_directory: Path, tmp_path: Path) -> None:
    browser = _chromium()
    page = write_html_report(run_directory, title="Pipeline small", provenance=PROVENANCE)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--screenshot={shot}",
         f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=float) / 255
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    assert pixels.std() > 0.05  # not blank
    blue = (np.abs(pixels - np.array([0x1F, 0x77, 0xB4]) / 255).max(axis=2) < 0.1).mean()
    assert blue > 0.005  # the embedded figure was decoded and painted


def test_cli_prognostic_writes_the_report_and_p_below(tmp_path: Path) -> None:
    result = runner.invoke(app, ["prognostic", "veterans", "--by", "celltype", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report.html").read_text()
    assert "Prognostic analysis: OS" in page and "<td>data.sha256</td>" in page
    assert page.count("data:image/png;base64,") == 3  # KM, forest, Schoenfeld
    markdown = (tmp_path / "prognostic_os.md").read_text()
    assert "p < 0.001" in markdown and "p = <" not in markdown
    assert "proportional hazards violated: karnofsky" in result.output


def test_cli_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"necml {necml.__version__}"
