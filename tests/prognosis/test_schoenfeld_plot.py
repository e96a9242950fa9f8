"""The Schoenfeld plot's lowess smooth: necml's own, checked against statsmodels, and used without it."""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from necml.dataset import VETERANS_MAPPING, load_veterans  # noqa: E402
from necml.prognosis import _schoenfeld as schoenfeld  # noqa: E402
from necml.prognosis import ph_violations, plot_schoenfeld, prognostic_analysis  # noqa: E402
from necml.prognosis._schoenfeld import _lowess, _smooth  # noqa: E402


@pytest.mark.parametrize(("n", "delta_share"), [(25, 0.0), (400, 0.0), (400, 0.01), (3000, 0.01)])
def test_necml_lowess_is_statsmodels_lowess(stat_seed: int, n: int, delta_share: float) -> None:
    lowess = pytest.importorskip("statsmodels.nonparametric.smoothers_lowess").lowess
    rng = np.random.default_rng(stat_seed)
    x = rng.exponential(10, n)  # distinct values
    y = np.sin(x / 5) + rng.normal(0, 0.5, n)
    delta = delta_share * float(np.ptp(x))
    expected = lowess(y, x, frac=2 / 3, it=0, delta=delta, return_sorted=True)
    got_x, got_y = _lowess(x, y, frac=2 / 3, delta=delta)
    np.testing.assert_allclose(got_x, expected[:, 0])
    np.testing.assert_allclose(got_y, expected[:, 1], rtol=1e-9, atol=1e-12)


def test_lowess_gives_tied_x_one_value_and_follows_a_line() -> None:
    x = np.repeat(np.arange(10.0), 3)
    sx, sy = _lowess(x, 2 * x + 1, frac=2 / 3, delta=0.5)
    np.testing.assert_allclose(sy, 2 * sx + 1, atol=1e-9)  # a local line reproduces a straight line


def test_schoenfeld_plot_without_statsmodels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "statsmodels.nonparametric.smoothers_lowess", None)  # import fails
    calls = []
    monkeypatch.setattr(schoenfeld, "_lowess", lambda *a, **k: calls.append(1) or _lowess(*a, **k))
    x = np.linspace(0, 20, 50)
    sx, sy = _smooth(x, np.cos(x))
    assert sx.shape == sy.shape == (50,) and calls == [1]
    result = prognostic_analysis(load_veterans(), VETERANS_MAPPING, "os")
    terms = list(ph_violations(result.multivariate)["term"])
    fig = plot_schoenfeld(result.data, result.multivariate, terms)
    smooths = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "smooth"]
    assert len(smooths) == len(terms) and all(np.isfinite(ln.get_ydata()).all() for ln in smooths)
    assert len(calls) == 1 + len(terms)
