"""The fidelity figures draw on the caller's axes, return the figure and write a PNG only when asked."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import necml  # noqa: E402
from necml.fidelity import plot_fidelity_dots, plot_km_against_published  # noqa: E402
from tests.fidelity.test_plots import TABLE  # noqa: E402


@pytest.fixture(scope="module")
def cohort(lcnec):  # noqa: ANN001, ANN201
    return necml.generate(lcnec, 200, seed=3)


def test_km_against_published_draws_pfs_and_os_on_the_given_axes(lcnec, cohort, tmp_path: Path) -> None:
    fig = Figure(figsize=(12, 4))
    spare, pfs, os_ax = fig.subplots(1, 3)
    returned = plot_km_against_published(cohort, lcnec, ax=[pfs, os_ax])
    assert returned is fig
    assert pfs.get_title().startswith("PFS:") and os_ax.get_title().startswith("OS:")
    for panel in (pfs, os_ax):
        medians = [ln for ln in panel.get_lines() if ln.get_gid() == "published-median"]
        assert len(medians) == len(lcnec.arm_names)
        assert len(panel.get_legend().get_texts()) == len(lcnec.arm_names)
    assert not spare.lines and not fig.get_suptitle()  # the caller's figure keeps its own title
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="ax must hold 2 axes"):
        plot_km_against_published(cohort, lcnec, ax=[pfs])


def test_km_against_published_writes_the_png_only_when_given_a_path(lcnec, cohort, tmp_path: Path) -> None:
    fig = plot_km_against_published(cohort, lcnec, tmp_path / "km.png")
    assert isinstance(fig, Figure) and len(fig.axes) == 2 and fig.get_suptitle() == lcnec.title
    assert (tmp_path / "km.png").read_bytes()[:4] == b"\x89PNG"


def test_fidelity_dots_draw_on_the_given_axes(tmp_path: Path) -> None:
    fig = Figure()
    first, second = fig.subplots(2, 1)
    returned = plot_fidelity_dots(TABLE, published_n={"chemo": 17, "ici": 14}, synthetic_n={"chemo": 9, "ici": 8},
                                  ax=[first, second], path=tmp_path / "dots.png")
    assert returned is fig
    assert first.get_title(loc="left").startswith("covariates") and second.get_title(loc="left").startswith("os")
    assert [ln for ln in second.get_lines() if ln.get_gid() == "published"]
    assert (tmp_path / "dots.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="ax must hold 2 axes"):
        plot_fidelity_dots(TABLE, published_n={"chemo": 17}, synthetic_n={}, ax=first)
