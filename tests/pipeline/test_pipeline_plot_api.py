"""The pipeline's comparison and tuning plots draw on the caller's axes and return the figure."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from necml.pipeline._plots import plot_comparison, plot_tuning_history  # noqa: E402

MODELS = ("coxph", "rsf")
METRICS = pd.DataFrame({
    "model": [m for m in MODELS for _ in range(2)],
    "metric": ["cindex_harrell", "ibs"] * 2,
    "value": [0.68, 0.18, 0.71, 0.17], "ci_low": [0.62, 0.15, 0.65, 0.14], "ci_high": [0.74, 0.21, 0.77, 0.2],
})
# plot_comparison reads only the per-resample table of each ValidationResult
VALIDATIONS = {
    m: SimpleNamespace(resamples=pd.DataFrame({"metric": "cindex_harrell", "fold": [0, 1, 2, -1],
                                               "value": [0.6 + i / 20, 0.66, 0.7, 0.68]}))
    for i, m in enumerate(MODELS)
}
TRIALS = pd.DataFrame({"number": [0, 1, 2, 3], "value": [0.61, 0.66, np.nan, 0.64],
                       "state": ["COMPLETE", "COMPLETE", "PRUNED", "COMPLETE"]})


def test_comparison_draws_on_the_given_axes(tmp_path: Path) -> None:
    fig = Figure(figsize=(12, 4))
    axes = fig.subplots(1, 3)
    assert plot_comparison(METRICS, VALIDATIONS, ax=axes) is fig
    assert [ax.get_title() for ax in axes] == ["cindex_harrell", "ibs", "Harrell's C per resample"]
    assert [t.get_text() for t in axes[0].get_yticklabels()] == list(MODELS)
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="ax must hold 3 axes"):
        plot_comparison(METRICS, VALIDATIONS, ax=axes[:2])
    own = plot_comparison(METRICS, VALIDATIONS, tmp_path / "comparison.png")
    assert isinstance(own, Figure) and len(own.axes) == 3
    assert (tmp_path / "comparison.png").read_bytes()[:4] == b"\x89PNG"


def test_tuning_history_draws_on_the_given_axes(tmp_path: Path) -> None:
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plot_tuning_history(TRIALS, "rsf: tuning", ax=right, path=tmp_path / "t.png") is fig
    assert right.get_title() == "rsf: tuning" and not left.lines
    best = next(ln for ln in right.get_lines() if ln.get_label() == "best so far")
    np.testing.assert_allclose(best.get_ydata(), [0.61, 0.66, 0.66])
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
