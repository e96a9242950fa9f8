"""Simulation-study plots: Wilson intervals, dodged methods, readable titles, failure panels, the ``ax`` API.

Figures are checked structurally (axes, titles, the data of the errorbar artists) and rendered
to PNGs in a temporary directory; nothing is compared by pixel hash.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from necml.simulation._performance import performance_table  # noqa: E402
from necml.simulation._plots import (  # noqa: E402
    Z95,
    estimand_label,
    estimand_labels,
    plot_bias_coverage,
    plot_bias_forest,
    plot_cindex,
    plot_nested_loop,
    plot_power,
    plot_zip,
    wilson_interval,
)

# ---- the Wilson score interval, by hand -----------------------------------------------------------
# For a share p of n trials and z = 1.96:
#   centre     = (p + z^2 / 2n) / (1 + z^2 / n)
#   half-width = z * sqrt(p (1 - p) / n + z^2 / 4n^2) / (1 + z^2 / n)
#   interval   = [centre - half, centre + half], clipped to [0, 1]


def test_wilson_interval_at_p_095_n_500_by_hand() -> None:
    # z^2 = 3.8416, z^2/n = 0.0076832, 1 + z^2/n = 1.0076832
    # centre = (0.95 + 3.8416/1000) / 1.0076832 = 0.9538416 / 1.0076832 = 0.946569
    # half   = 1.96 * sqrt(0.0000950 + 0.0000038416) / 1.0076832 = 1.96 * 0.00994191 / 1.0076832 = 0.019338
    low, high = wilson_interval(0.95, 500, z=1.96)
    assert float(low) == pytest.approx(0.946569 - 0.019338, abs=2e-6)
    assert float(high) == pytest.approx(0.946569 + 0.019338, abs=2e-6)


def test_wilson_interval_at_p_0_n_40_is_clipped_at_0_by_hand() -> None:
    # centre = (0 + 3.8416/80) / (1 + 3.8416/40) = 0.04802 / 1.09604 = 0.043812
    # half   = 1.96 * sqrt(0 + 3.8416/6400) / 1.09604 = 1.96 * 0.0245 / 1.09604 = 0.043812
    # so [0, 0.087624]: the unclipped lower bound is -7e-18 in floating point
    low, high = wilson_interval(0.0, 40, z=1.96)
    assert float(low) == 0.0
    assert float(high) == pytest.approx(0.087624, abs=2e-6)


def test_wilson_interval_at_p_1_reaches_1_and_n_over_n_plus_z2() -> None:
    # p = 1: centre - half = (1 + z^2/2n - z^2/2n) / (1 + z^2/n) = n / (n + z^2)
    low, high = wilson_interval(np.array([1.0, 1.0]), np.array([32, 400]), z=1.96)
    np.testing.assert_allclose(low, [32 / (32 + 1.96**2), 400 / (400 + 1.96**2)])
    np.testing.assert_array_equal(high, [1.0, 1.0])


def test_wilson_interval_of_no_trials_is_nan() -> None:
    low, high = wilson_interval(0.5, 0)
    assert np.isnan(low) and np.isnan(high)


def test_wilson_interval_agrees_with_statsmodels() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    for count, n in ((0, 40), (39, 40), (475, 500), (7, 31)):
        expected = proportion.proportion_confint(count, n, alpha=0.05, method="wilson")
        np.testing.assert_allclose(wilson_interval(count / n, n), np.clip(expected, 0, 1), atol=1e-12)


# ---- readable names -------------------------------------------------------------------------------


def test_estimand_labels_name_the_arms_from_the_spec(lcnec) -> None:  # noqa: ANN001
    assert estimand_labels(lcnec) == {"arm_ici_chemo": "ICIs + platinum-based chemotherapy vs Platinum-based "
                                                       "chemotherapy"}
    assert estimand_label("ecog_ge_2") == "ecog \u2265 2"
    assert estimand_label("pdl1_tps_ge_1") == "pdl1 tps \u2265 1"


# ---- a small study, built by hand ---------------------------------------------------------------

TRUE = {"arm_ici": float(np.log(0.51)), "ecog_ge_2": float(np.log(1.48))}
R = 40  # replicates per scenario
FAILED = 8  # firth fails in the first 8 replicates at n = 40


def _replicates() -> pd.DataFrame:
    """Two methods x two n x two departures x two estimands x 40 replicates.

    cox misses the truth in replicate 0 at n = 40 (coverage 39/40 = 0.975); firth fails in 8 of 40
    replicates at n = 40 and covers in all 32 others (coverage 1); every fit rejects in
    replicates 0-29. Under ``delayed_ici`` the arm term has no single true value.
    """
    rng = np.random.default_rng(7)
    rows = []
    for departure in ("none", "delayed_ici"):
        for n in (40, 160):
            for method in ("cox", "firth"):
                for estimand, truth in TRUE.items():
                    shown = np.nan if departure != "none" and estimand == "arm_ici" else truth
                    for r in range(R):
                        failed = method == "firth" and n == 40 and r < FAILED
                        estimate = truth + rng.normal(0, 0.05)
                        miss = method == "cox" and n == 40 and r == 0
                        low, high = (truth + 0.5, truth + 1.0) if miss else (truth - 0.5, truth + 0.5)
                        rows.append({
                            "method": method, "estimand": estimand,
                            "estimate": np.nan if failed else estimate, "se": np.nan if failed else 0.25,
                            "ci_low": np.nan if failed else low, "ci_high": np.nan if failed else high,
                            "p": np.nan if failed else (0.01 if r < 30 else 0.5), "converged": not failed,
                            "truth": shown, "note": "", "reason": "monotone likelihood" if failed else "",
                            "scenario": f"n{n}_{departure}", "n": n, "effect_scale": 1.0,
                            "censoring": "published", "departure": departure, "replicate": r,
                        })
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def study() -> tuple[pd.DataFrame, pd.DataFrame]:
    replicates = _replicates()
    return replicates, performance_table(replicates, 0.05)


def _bars(ax) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Method -> the vertical errorbar segments of its line, an (k, 2, 2) array of (x, y) ends."""
    out = {}
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer):
            (segments,) = container.lines[2]
            out[container.get_label()] = np.asarray(segments.get_segments(), dtype=float)
    return out


def _at(bars: np.ndarray, n: float) -> np.ndarray:
    """The (low, high) of the segment nearest to ``n`` on a log axis."""
    x = bars[:, 0, 0]
    return np.sort(bars[np.argmin(np.abs(np.log(x / n))), :, 1])


LABELS = {"arm_ici": "ICI + chemo vs chemo"}


def test_bias_coverage_has_a_row_per_estimand_and_variant_with_the_true_hr(study, tmp_path: Path) -> None:
    replicates, perf = study
    fig = plot_bias_coverage(perf, ["arm_ici", "ecog_ge_2"], tmp_path / "bc.png", labels=LABELS,
                             replicates=replicates)
    assert isinstance(fig, Figure)
    # arm_ici under delayed_ici has no bias (no true value): three rows of two panels
    assert len(fig.axes) == 6
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "ICI + chemo vs chemo (true HR 0.51), no departure\nbias of the log-HR"
    assert titles[1] == "ICI + chemo vs chemo (true HR 0.51), no departure\ncoverage of the 95% CI"
    assert titles[4].startswith("ecog \u2265 2 (true HR 1.48), delayed ici\n")
    with Image.open(tmp_path / "bc.png") as image:
        assert image.size[0] > 1000 and image.size[1] > image.size[0]


def test_coverage_bars_are_wilson_intervals_inside_0_1(study) -> None:
    replicates, perf = study
    fig = plot_bias_coverage(perf, ["arm_ici"], replicates=replicates)
    bias_ax, coverage_ax = fig.axes
    bars = _bars(coverage_ax)
    assert set(bars) == {"cox", "firth"}
    # cox at n = 40: 39/40; the old +/- 1.96 MCSE would reach above 1
    mcse = np.sqrt(0.975 * 0.025 / R)
    assert 0.975 + 1.96 * mcse > 1
    np.testing.assert_allclose(_at(bars["cox"], 40), np.ravel(wilson_interval(0.975, R)))
    # firth at n = 40: 32 of 32 converged fits cover (MCSE 0); Wilson over the 32: [32 / (32 + z^2), 1]
    np.testing.assert_allclose(_at(bars["firth"], 40), [32 / (32 + Z95**2), 1.0])
    for segments in bars.values():
        assert ((segments[:, :, 1] >= 0) & (segments[:, :, 1] <= 1)).all()
    assert bias_ax.get_ylabel() == "bias (+/- 1.96 MCSE)"


def test_methods_are_dodged_around_each_n(study) -> None:
    _, perf = study
    fig = plot_bias_coverage(perf, ["ecog_ge_2"])
    bars = _bars(fig.axes[0])
    for n in (40, 160):
        x = {m: float(b[np.argmin(np.abs(np.log(b[:, 0, 0] / n))), 0, 0]) for m, b in bars.items()}
        assert x["cox"] < n < x["firth"]
        assert np.sqrt(x["cox"] * x["firth"]) == pytest.approx(n)  # symmetric on the log axis
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["40", "160"]


def test_power_has_power_all_and_failed_fits_beside_it(study, tmp_path: Path) -> None:
    replicates, perf = study
    fig = plot_power(perf, ["arm_ici", "ecog_ge_2"], tmp_path / "power.png", labels=LABELS, replicates=replicates)
    assert len(fig.axes) == 4 * 3  # (2 estimands x 2 departures) rows of power, power_all, failures
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == [
        "ICI + chemo vs chemo (true HR 0.51), no departure\npower (converged fits)",
        "ICI + chemo vs chemo (true HR 0.51), no departure\npower_all (a failed fit counts as not rejecting)",
        "ICI + chemo vs chemo (true HR 0.51), no departure\nfailed fits (share of all replicates)",
    ]
    assert titles[3].startswith("ICI + chemo vs chemo (no single true HR), delayed ici\n")
    power, power_all, failures = fig.axes[:3]
    # firth at n = 40: replicates 8-29 reject, 22 of the 32 converged fits (power), 22 of all 40 (power_all);
    # 8 of 40 failed
    np.testing.assert_allclose(_at(_bars(power)["firth"], 40), np.ravel(wilson_interval(22 / 32, 32)))
    np.testing.assert_allclose(_at(_bars(power_all)["firth"], 40), np.ravel(wilson_interval(22 / 40, 40)))
    np.testing.assert_allclose(_at(_bars(failures)["firth"], 40), np.ravel(wilson_interval(8 / 40, 40)))
    np.testing.assert_allclose(_at(_bars(failures)["cox"], 40), np.ravel(wilson_interval(0.0, 40)))
    firth = next(c for c in failures.containers if c.get_label() == "firth")
    np.testing.assert_allclose(firth.lines[0].get_ydata(), [0.2, 0.0])  # the points: 8/40 at n = 40, 0 at 160
    for ax in fig.axes:
        for segments in _bars(ax).values():
            assert ((segments[:, :, 1] >= 0) & (segments[:, :, 1] <= 1)).all(), ax.get_title()
    with Image.open(tmp_path / "power.png") as image:
        assert image.size[1] > 1000


def test_power_without_power_all_or_failures_has_one_column(study) -> None:
    _, perf = study
    fig = plot_power(perf[perf["measure"].isin(["power", "bias"])], ["ecog_ge_2"])
    assert len(fig.axes) == 2  # two departures, power only
    assert "true HR" not in fig.axes[0].get_title()  # no truth given


def test_a_truth_column_of_the_performance_table_is_used(study) -> None:
    replicates, perf = study
    truth = replicates.groupby(["scenario", "estimand"])["truth"].first().rename("truth").reset_index()
    fig = plot_power(perf.merge(truth, on=["scenario", "estimand"]), ["ecog_ge_2"])
    assert fig.axes[0].get_title().startswith("ecog \u2265 2 (true HR 1.48)")


def test_nothing_to_plot_gives_none_and_no_file(study, tmp_path: Path) -> None:
    _, perf = study
    assert plot_bias_coverage(perf, ["unknown"], tmp_path / "a.png") is None
    assert plot_power(perf[perf["measure"] == "bias"], ["arm_ici"], tmp_path / "b.png") is None
    assert plot_cindex(_replicates(), tmp_path / "c.png") is None
    assert not list(tmp_path.iterdir())


# ---- drawing on the user's axes ------------------------------------------------------------------


def test_bias_coverage_and_power_draw_on_given_axes(study) -> None:
    replicates, perf = study
    fig = Figure(layout="constrained")
    axes = fig.subplots(2, 3)
    returned = plot_power(perf, ["ecog_ge_2"], ax=axes, replicates=replicates)
    assert returned is fig
    assert all(_bars(ax) for ax in axes.ravel())
    other = Figure()
    pair = other.subplots(1, 2)
    assert plot_bias_coverage(perf, ["arm_ici"], ax=pair) is other
    assert set(_bars(pair[1])) == {"cox", "firth"}
    with pytest.raises(ValueError, match="ax must hold 6 axes"):
        plot_bias_coverage(perf, ["arm_ici", "ecog_ge_2"], ax=pair)


def test_zip_nested_loop_forest_and_cindex_draw_on_given_axes(study, tmp_path: Path) -> None:
    replicates, perf = study
    fig = Figure()
    grid = fig.subplots(4, 2)  # 4 scenarios x 2 methods
    assert plot_zip(replicates, "ecog_ge_2", tmp_path / "zip.png", ax=grid) is fig
    assert (tmp_path / "zip.png").read_bytes()[:4] == b"\x89PNG"
    assert [ax.get_title() for ax in grid[0]] == ["cox\nn40_none", "firth\nn40_none"]
    band = next(p for p in grid[0, 0].patches if p.get_gid() == "coverage-band")
    low, high = wilson_interval(0.975, R)
    np.testing.assert_allclose([band.get_y(), band.get_y() + band.get_height()], 100 * np.array([low, high]))

    fig = Figure()
    strips = fig.subplots(3, 1)
    assert plot_nested_loop(perf, "ecog_ge_2", ["coverage", "power_all"], ax=strips) is fig
    assert strips[0].get_title() == "Nested-loop plot: ecog \u2265 2"
    assert strips[0].get_ylabel() == "coverage" and strips[1].get_ylabel() == "power_all"
    for ax in strips[:2]:
        for band in (c for c in ax.patches if str(c.get_gid()).startswith("band:")):
            y = band.get_path().vertices[:, 1]
            assert (y[np.isfinite(y)] >= 0).all() and (y[np.isfinite(y)] <= 1).all()

    fig = Figure()
    (left,) = fig.subplots(1, 1, squeeze=False)[0]
    assert plot_bias_forest(perf, ["arm_ici"], ax=left, labels=LABELS, replicates=replicates) is fig
    assert left.get_title() == "Bias of the log-HR: ICI + chemo vs chemo (true HR 0.51)"
    assert left.get_lines()

    cindex = pd.DataFrame({
        "estimand": "cindex_harrell", "converged": True, "estimate": [0.6, 0.62, 0.7, 0.71], "truth": 0.65,
        "method": ["cox", "cox", "rsf", "rsf"], "n": 100, "scenario": "n100", "effect_scale": 1.0,
        "censoring": "published", "departure": "none",
    })
    fig = Figure()
    ax = fig.subplots()
    assert plot_cindex(cindex, ax=ax) is fig
    assert ax.get_title() == "Validated C by model and n" and len(ax.patches) == 2  # one box per model
