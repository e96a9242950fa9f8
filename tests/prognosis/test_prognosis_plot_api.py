"""The prognostic figures draw on the caller's axes, return its figure and save only when asked."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from necml.dataset import VETERANS_MAPPING, load_veterans  # noqa: E402
from necml.prognosis import (  # noqa: E402
    ph_violations,
    plot_forest,
    plot_km,
    plot_schoenfeld,
    prognostic_analysis,
    save_figure,
)


@pytest.fixture(scope="module")
def veterans():  # noqa: ANN201
    frame = load_veterans()
    return frame, prognostic_analysis(frame, VETERANS_MAPPING, "os", by="treatment", source="veterans")


def test_km_draws_curves_and_numbers_at_risk_on_the_given_axes(veterans, tmp_path: Path) -> None:
    frame, result = veterans
    fig = Figure(layout="constrained")
    left, right = fig.subplots(1, 2)
    returned = plot_km(result.data.time, result.data.event, frame["treatment"], ax=right, path=tmp_path / "km.png")
    assert returned is fig
    assert not left.lines and not left.texts  # nothing on the other axes
    assert len(right.get_legend().get_texts()) == 2
    assert [t for t in right.texts if t.get_gid() == "at-risk-0"]  # the at-risk table is on the same axes
    assert (tmp_path / "km.png").read_bytes()[:4] == b"\x89PNG"


def test_km_without_ax_makes_its_own_figure_and_writes_nothing(veterans, tmp_path: Path) -> None:
    frame, result = veterans
    fig = plot_km(result.data.time, result.data.event, frame["treatment"])
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert not list(tmp_path.iterdir())


def test_forest_draws_each_panel_on_the_given_axes(veterans, tmp_path: Path) -> None:
    _, result = veterans
    fig = Figure(figsize=(12, 6))
    spare, uni, multi = fig.subplots(1, 3)
    returned = plot_forest(result.multivariate, univariate=result.univariate, data=result.data, ax=[uni, multi],
                           path=tmp_path / "forest.png")
    assert returned is fig
    assert (uni.get_title(loc="left"), multi.get_title(loc="left")) == ("Univariate", "Multivariate")
    assert [ln for ln in multi.get_lines() if ln.get_gid() == "hr"]
    assert not spare.lines
    assert (tmp_path / "forest.png").stat().st_size > 0
    single = Figure().subplots()
    assert plot_forest(result.multivariate, ax=single) is single.figure
    assert [ln for ln in single.get_lines() if ln.get_gid() == "hr"]


def test_schoenfeld_draws_one_panel_per_term_on_the_given_axes(veterans, tmp_path: Path) -> None:
    _, result = veterans
    terms = list(ph_violations(result.multivariate)["term"])
    assert terms
    fig = Figure()
    axes = fig.subplots(1, len(terms), squeeze=False)[0]
    assert plot_schoenfeld(result.data, result.multivariate, terms, ax=list(axes), path=tmp_path / "s.png") is fig
    assert all([ln for ln in ax.get_lines() if ln.get_gid() == "smooth"] for ax in axes)
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match=f"ax must hold {len(terms) + 1} axes"):
        plot_schoenfeld(result.data, result.multivariate, [*terms, terms[0]], ax=list(axes))


def test_a_figure_drawn_in_a_subfigure_is_saved_whole(veterans, tmp_path: Path) -> None:
    frame, result = veterans
    fig = Figure()
    sub = fig.subfigures(1, 2)[1]
    ax = sub.subplots()
    plot_km(result.data.time, result.data.event, frame["treatment"], ax=ax)
    assert save_figure(ax.figure, tmp_path / "sub.png").read_bytes()[:4] == b"\x89PNG"
