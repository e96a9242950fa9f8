"""Image tests of the prognostic figures: the matplotlib objects and the rendered PNGs, structurally.

Each figure is checked through what it draws (tick labels, texts, colours, artists) and then
rendered to a PNG whose size and pixel statistics in known regions are asserted; nothing is
compared by eye or against a stored image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex, to_rgb
from PIL import Image

from necml.dataset import VETERANS_MAPPING, Covariate, load_veterans
from necml.prognosis import (
    PH_ALPHA,
    fit_cox_newton,
    format_hr,
    p_statement,
    paper_table,
    ph_violations,
    plot_forest,
    plot_km,
    plot_schoenfeld,
    prognostic_analysis,
    render_markdown,
    save_figure,
    scaled_schoenfeld,
    write_prognostic,
)


@pytest.fixture(scope="module")
def veterans():
    frame = load_veterans()
    return frame, prognostic_analysis(frame, VETERANS_MAPPING, "os", by="celltype", source="veterans")


def _png(fig, tmp_path: Path, name: str) -> np.ndarray:
    path = save_figure(fig, tmp_path / name)
    return np.asarray(Image.open(path).convert("RGB"), dtype=float) / 255


def _share_of_colour(pixels: np.ndarray, colour: str, tol: float = 0.12) -> float:
    return float((np.abs(pixels - np.asarray(to_rgb(colour))).max(axis=2) < tol).mean())


def _texts(fig, gid: str | None = None) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text") and (gid is None or a.get_gid() == gid))]


# ---- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hr", "low", "high", "expected"),
    [
        (3.1509, 1.7748, 5.5943, "3.15 (1.77-5.59)"),
        (1.0021, 1.0004, 1.0038, "1.0021 (1.0004-1.0038)"),  # per IU/L: never 1.00 (1.00-1.00)
        (0.99981, 0.99966, 0.99996, "0.99981 (0.99966-0.99996)"),
        (1.0003, 0.9999, 1.0007, "1.0003 (0.9999-1.0007)"),
        (np.nan, np.nan, np.nan, "NA"),
    ],
    ids=["two-decimals", "near-1-significant", "below-1-significant", "near-1-ns", "na"],
)
def test_format_hr_shows_enough_decimals(hr: float, low: float, high: float, expected: str) -> None:
    assert format_hr(hr, low, high) == expected


def test_paper_table_of_a_per_unit_hr_is_readable() -> None:
    table = pd.DataFrame({"term": ["ldh"], "hr": [1.0021], "ci_low": [1.0004], "ci_high": [1.0038], "p": [0.018],
                          "separation": [False], "note": [""]})
    assert paper_table(table)["HR (95% CI)"].iloc[0] == "1.0021 (1.0004-1.0038)"


@pytest.mark.parametrize(("p", "text"), [(1e-9, "p < 0.001"), (0.0456, "p = 0.046"), (np.nan, "p = NA")])
def test_p_statement(p: float, text: str) -> None:
    assert p_statement(p) == text


# ---- forest --------------------------------------------------------------------------------------


def test_forest_has_the_journal_table_layout(veterans, tmp_path: Path) -> None:
    _, result = veterans
    fig = plot_forest(result.multivariate, univariate=result.univariate, data=result.data, title="OS")
    uni, multi = fig.axes
    assert (uni.get_title(loc="left"), multi.get_title(loc="left")) == ("Univariate", "Multivariate")
    for ax in (uni, multi):
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert {"0.5", "1", "2", "4"} <= set(ticks) and set(ticks) <= {"0.125", "0.25", "0.5", "1", "2", "4", "8"}
        assert not any(t.get_text() for t in ax.get_xticklabels(minor=True))  # no 2x10^0
    labels = [t.get_text().strip() for t in uni.get_yticklabels()]
    assert labels[:7] == ["treatment", "standard (ref.)", "test", "celltype", "squamous (ref.)", "adeno", "large"]
    assert "months from diagnosis" in labels and "prior therapy" in labels
    bold = {t.get_text().strip() for t in uni.get_yticklabels() if t.get_fontweight() == "bold"}
    assert bold == {"treatment", "celltype"}
    columns = _texts(fig, "column")
    assert "1 (ref.)" in columns and "3.31 (1.83-5.96)" in columns and "<0.001" in columns
    assert {"69/64", "35/31", "137/128"} <= set(_texts(fig, "n-events"))
    pixels = _png(fig, tmp_path, "forest.png")
    assert pixels.shape[1] > 1.8 * pixels.shape[0]  # two panels side by side
    assert 0.01 < (pixels.mean(axis=2) < 0.5).mean() < 0.2  # ink, not a blank or a black image


def test_forest_without_data_has_one_row_per_term(veterans) -> None:
    _, result = veterans
    fig = plot_forest(result.multivariate)
    (ax,) = fig.axes
    assert [t.get_text().strip() for t in ax.get_yticklabels()][0] == "treatment[test]"
    assert len(ax.get_yticklabels()) == len(result.multivariate)


def test_forest_refuses_a_wrong_number_of_axes(veterans) -> None:
    _, result = veterans
    fig = plot_forest(result.multivariate)
    with pytest.raises(ValueError, match="ax must hold 2 axes"):
        plot_forest(result.multivariate, univariate=result.univariate, ax=fig.axes[0])


# ---- Kaplan-Meier --------------------------------------------------------------------------------


def test_km_panel_shows_logrank_medians_and_coloured_at_risk_rows(veterans, tmp_path: Path) -> None:
    frame, result = veterans
    fig = plot_km(result.data.time, result.data.event, frame["celltype"], title="OS by celltype",
                  population="veterans")
    (ax,) = fig.axes
    assert ax.get_title() == "OS by celltype, veterans (n = 137)"
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "log-rank p < 0.001"
    entries = [t.get_text() for t in legend.get_texts()]
    assert entries[0] == "adeno: n = 27, 26 events, median 1.7 (0.8-3.0)"
    assert not ax.findobj(PolyCollection)  # four groups: no bands by default
    line_colours = [to_rgb(line.get_color()) for line in legend.get_lines()]
    for i, colour in enumerate(line_colours):
        row = [t for t in fig.findobj(lambda a, i=i: a.get_gid() == f"at-risk-{i}")]
        label = [t for t in fig.findobj(lambda a, i=i: a.get_gid() == f"at-risk-label-{i}")]
        assert row and {to_rgb(t.get_color()) for t in row + label} == {colour}
    assert [int(t.get_text()) for t in fig.findobj(lambda a: a.get_gid() == "at-risk-0")][0] == 27
    pixels = _png(fig, tmp_path, "km.png")
    bottom = pixels[int(0.82 * pixels.shape[0]):]  # the numbers-at-risk rows
    for colour in line_colours:
        assert _share_of_colour(bottom, to_hex(colour)) > 1e-4


def test_km_bands_on_for_two_groups_and_one_curve(veterans) -> None:
    frame, result = veterans
    two = plot_km(result.data.time, result.data.event, frame["treatment"])
    assert len(two.axes[0].findobj(PolyCollection)) == 2
    one = plot_km(result.data.time, result.data.event, None, title="OS")
    assert one.axes[0].get_legend().get_title().get_text() == ""  # no test for one group
    assert len(one.axes[0].findobj(PolyCollection)) == 1


# ---- proportional hazards ------------------------------------------------------------------------


def test_scaled_schoenfeld_residuals_average_to_beta(stat_seed: int) -> None:
    rng = np.random.default_rng(stat_seed)
    x = rng.normal(size=(80, 2))
    time = np.ceil(rng.exponential(np.exp(-x @ [0.5, -0.3])) * 5)  # tied
    event = rng.uniform(size=80) < 0.8
    fit = fit_cox_newton(x, time, event, ties="efron")
    times, resid = scaled_schoenfeld(x, time, event, fit.coef)
    assert len(times) == event.sum() and np.all(np.diff(times) >= 0)
    np.testing.assert_allclose(resid.mean(axis=0), fit.coef, atol=1e-6)  # the score is 0 at the MLE


def test_ph_violations_are_flagged_and_plotted(veterans, tmp_path: Path) -> None:
    _, result = veterans
    flagged = ph_violations(result.multivariate)
    assert "karnofsky" in set(flagged["term"]) and (flagged["ph_p"] < PH_ALPHA).all()
    assert any(w.startswith("proportional hazards violated: karnofsky") for w in result.warnings)
    text = render_markdown(result)
    assert "## Proportional hazards" in text and "- **karnofsky** (multivariate): p < 0.001" in text
    assert "![Scaled Schoenfeld residuals" in text and "p = <" not in text
    fig = plot_schoenfeld(result.data, result.multivariate, list(flagged["term"]))
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == len(flagged) and shown[-1].get_title() == "karnofsky: cox.zph p < 0.001"
    pixels = _png(fig, tmp_path, "schoenfeld.png")
    assert _share_of_colour(pixels, "#d62728") > 1e-4  # the smooths


def test_write_prognostic_adds_the_schoenfeld_plot(veterans, tmp_path: Path) -> None:
    _, result = veterans
    names = {p.name for p in write_prognostic(result, tmp_path)}
    assert {"km_os.png", "forest_os.png", "schoenfeld_os.png", "prognostic_os.md"} <= names


def test_forest_labels_a_per_unit_hr(veterans) -> None:
    frame, _ = veterans
    covariates = {**VETERANS_MAPPING.covariates, "karnofsky": Covariate(type="continuous", per=10)}
    result = prognostic_analysis(frame, VETERANS_MAPPING.model_copy(update={"covariates": covariates}), "os")
    fig = plot_forest(result.multivariate, data=result.data)
    assert "karnofsky (per 10)" in [t.get_text().strip() for t in fig.axes[0].get_yticklabels()]
    assert "0.72 (0.65-0.80)" in _texts(fig, "column")
