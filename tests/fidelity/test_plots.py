"""Image tests of the fidelity dot plot: its panels, titles and dots, and the rendered PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import to_rgb
from PIL import Image

from necml.fidelity import plot_fidelity_dots

TABLE = pd.DataFrame({
    "section": ["covariates", "covariates", "covariates", "os", "os"],
    "arm": ["chemo", "ici", "chemo", "chemo", "all"],
    "item": ["age", "age", "ldh", "OS median (months)", "age"],
    "statistic": ["mean", "mean", "median", "", "log HR"],
    "published": [64.1, 70.4, 279.0, 11.0, 0.01],
    "synthetic": [63.8, 70.3, 300.0, 10.98, 0.015],
    "tolerance": [0.8, 0.7, 5.0, 0.5, 0.02],
    "within": [True, True, False, True, True],
})


def test_one_dot_panel_per_section_saying_which_n_is_which(tmp_path: Path) -> None:
    fig = plot_fidelity_dots(TABLE, published_n={"chemo": 17, "ici": 14}, synthetic_n={"chemo": 1097, "ici": 903})
    covariates, os_panel = fig.axes
    assert covariates.get_title(loc="left").startswith("covariates\nchemo: published n = 17, synthetic n = 1097")
    assert "ici: published n = 14, synthetic n = 903" in os_panel.get_title(loc="left")
    assert [t.get_text() for t in covariates.get_yticklabels()][0] == "chemo | age mean: 64.1 vs 63.8"
    outside = next(line for line in covariates.get_lines() if line.get_gid() == "synthetic-outside")
    assert list(outside.get_xdata()) == [4.0]  # 4.2 tolerances away: clipped at the edge
    within = next(line for line in covariates.get_lines() if line.get_gid() == "synthetic-within")
    np.testing.assert_allclose(within.get_xdata(), [(63.8 - 64.1) / 0.8, (70.3 - 70.4) / 0.7])
    fig.savefig(tmp_path / "dots.png", dpi=80)
    pixels = np.asarray(Image.open(tmp_path / "dots.png").convert("RGB"), dtype=float) / 255
    assert pixels.shape[:2] == (round(80 * (0.17 * 5 + 1.1 * 2)), 80 * 9.5)  # 0.17 in a row, 1.1 in a panel
    red = (np.abs(pixels - np.asarray(to_rgb("#d62728"))).max(axis=2) < 0.1).mean()
    assert red > 1e-5  # the dot outside its tolerance is drawn
