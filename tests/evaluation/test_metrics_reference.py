"""Metrics against independent implementations (lifelines, scikit-survival) and hand computations."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines.utils import concordance_index
from sksurv.metrics import (
    brier_score,
    concordance_index_censored,
    concordance_index_ipcw,
    cumulative_dynamic_auc,
)
from sksurv.util import Surv

from necml.evaluation import (
    CensoringKM,
    MetricSettings,
    brier_scores,
    compute_metrics,
    cumulative_dynamic_auc_at,
    harrell_c,
    integrated_brier_score,
    resolve_settings,
    uno_c,
)


def _tied_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    time = rng.integers(1, 8, n).astype(float)
    event = rng.random(n) < 0.6
    event[0], time[0] = True, 0.5  # the earliest patient has an event: comparable pairs exist
    return time, event, rng.integers(0, 5, n).astype(float)


@pytest.mark.parametrize("case", range(40))
def test_harrell_matches_lifelines_and_sksurv_with_heavy_ties(case: int, stat_seed: int) -> None:
    rng = np.random.default_rng([stat_seed, case])
    time, event, risk = _tied_data(rng, int(rng.integers(3, 60)))
    ours = harrell_c(time, event, risk)
    # lifelines expects predicted times (higher = better): pass minus the risk
    assert ours == pytest.approx(concordance_index(time, -risk, event), abs=1e-12)
    assert ours == pytest.approx(concordance_index_censored(event, time, risk)[0], abs=1e-12)


def test_harrell_large_continuous_matches_lifelines(stat_seed: int) -> None:
    rng = np.random.default_rng(stat_seed)
    time = rng.exponential(size=20000)
    event = rng.random(20000) < 0.7
    risk = rng.normal(size=20000) - 0.3 * time
    assert harrell_c(time, event, risk) == pytest.approx(
        concordance_index(time, -risk, event), abs=1e-9
    )


def test_harrell_hand_example() -> None:
    # pairs: (1,2) concordant, (1,3) concordant, (2,3) discordant; 3 is censored -> C = 2/3
    time, event, risk = np.array([1.0, 2.0, 3.0]), np.array([1, 1, 0]), np.array([3.0, 1.0, 2.0])
    assert harrell_c(time, event, risk) == pytest.approx(2 / 3)


@pytest.mark.parametrize("tau", [4.0, 6.0, 9.0])
def test_uno_matches_sksurv(tau: float, stat_seed: int) -> None:
    rng = np.random.default_rng(stat_seed)
    train_t, train_e = rng.exponential(5, 300), rng.random(300) < 0.6
    t = np.minimum(rng.exponential(5, 200), train_t.max() * 0.9)
    e = rng.random(200) < 0.6
    risk = rng.normal(size=200) - 0.2 * t
    g = CensoringKM().fit(train_t, train_e)
    # necml weights events by G(T_i-), scikit-survival by G(T_i): equal here (continuous times,
    # no test event tied with a training censoring); ties are checked against R in tests/conformance
    ours = uno_c(t, e, risk, censoring_survival=g.survival_left(t), tau=tau)
    theirs = concordance_index_ipcw(
        Surv.from_arrays(train_e, train_t), Surv.from_arrays(e, t), risk, tau=tau
    )[0]
    assert ours == pytest.approx(theirs, abs=1e-10)


def test_uno_hand_example() -> None:
    # G = 1 (no censoring in training), tau = 2.5: pairs with the earlier event before 2.5:
    # (1,2) concordant, (1,3) concordant, (2,3) discordant -> 2/3
    t, e = np.array([1.0, 2.0, 3.0]), np.array([True, True, True])
    assert uno_c(
        t, e, np.array([3.0, 1.0, 2.0]), censoring_survival=np.ones(3), tau=2.5
    ) == pytest.approx(2 / 3)


def test_censoring_km_hand_example_with_a_tie() -> None:
    # censoring risk set at 2: 4 at risk minus the death at 2 -> 1 of 3 censored: G(2) = 2/3;
    # at 3: 1 of 2 censored -> G(3) = 1/3; the death at 4 leaves G unchanged.
    g = CensoringKM().fit(np.array([1.0, 2.0, 2.0, 3.0, 4.0]), np.array([True, True, False, False, True]))
    np.testing.assert_allclose(g.survival(np.array([0.5, 2.0, 3.0, 5.0])), [1.0, 2 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(g.survival_left(np.array([2.0, 3.0])), [1.0, 2 / 3])


def test_brier_hand_example_uses_left_limit_of_g() -> None:
    # training: events at 1 and 3, censoring at 2 -> G(t) = 1 before 2, 1/2 from 2 on.
    g = CensoringKM().fit(np.array([1.0, 2.0, 3.0]), np.array([True, False, True]))
    # test patient dies at 2 (tied with the censoring): weight 1/G(2-) = 1 (Graf), not 1/G(2) = 2.
    # at t = 2.5: S = 0.4 -> term 0.4^2 / 1 = 0.16; a second patient alive at 4 with S = 0.7:
    # (1 - 0.7)^2 / G(2.5) = 0.09 / 0.5 = 0.18 -> BS = (0.16 + 0.18) / 2 = 0.17
    t, e = np.array([2.0, 4.0]), np.array([True, False])
    assert brier_scores(t, e, np.array([[0.4], [0.7]]), np.array([2.5]), g)[0] == pytest.approx(
        0.17
    )


def test_brier_and_ibs_match_sksurv_without_ties(stat_seed: int) -> None:
    rng = np.random.default_rng(stat_seed)
    n = 300
    t, e = rng.exponential(10, n), rng.random(n) < 0.6
    grid = np.linspace(1, 20, 30)
    surv = np.exp(-np.outer(rng.uniform(0.05, 0.2, n), grid))
    y = Surv.from_arrays(e, t)
    g = CensoringKM().fit(t, e)
    np.testing.assert_allclose(
        brier_scores(t, e, surv, grid, g), brier_score(y, y, surv, grid)[1], atol=1e-12
    )
    from sksurv.metrics import integrated_brier_score as sksurv_ibs

    assert integrated_brier_score(t, e, surv, grid, g) == pytest.approx(
        sksurv_ibs(y, y, surv, grid), abs=1e-12
    )


@pytest.mark.parametrize("quantile", [0.2, 0.5, 0.8])
def test_auc_matches_sksurv(quantile: float, stat_seed: int) -> None:
    rng = np.random.default_rng(stat_seed)
    train_t, train_e = rng.exponential(10, 150), rng.random(150) < 0.6
    t = np.minimum(rng.exponential(10, 120), train_t.max() * 0.9)
    e = rng.random(120) < 0.6
    risk = np.round(rng.normal(size=120) - 0.05 * t, 1)  # rounded: tied risks too
    at = float(np.quantile(t, quantile))
    ours = cumulative_dynamic_auc_at(t, e, risk, at, CensoringKM().fit(train_t, train_e))
    theirs = cumulative_dynamic_auc(
        Surv.from_arrays(train_e, train_t), Surv.from_arrays(e, t), risk, [at]
    )[0][0]
    assert ours == pytest.approx(theirs, abs=1e-12)


def test_uno_and_auc_weight_events_by_left_limit_of_g_and_keep_events_at_tau() -> None:
    # training: events at 1 and 3, censoring at 2 -> G(2-) = 1, G(2) = 1/2
    g = CensoringKM().fit(np.array([1.0, 2.0, 3.0]), np.array([True, False, True]))
    # test: events at 1 and 2 (tied with the training censoring), a censoring at 4
    t, e, risk = np.array([1.0, 2.0, 4.0]), np.array([True, True, False]), np.array([1.0, 3.0, 2.0])
    # Uno, tau = 2 (events at T <= tau count, as R's ymax): pairs (1,2) discordant, (1,4)
    # discordant with weight 1/G(1-)^2 = 1; (2,4) concordant with 1/G(2-)^2 = 1 -> C = 1/3
    # (with G(2) it would be 4 / 6)
    c = uno_c(t, e, risk, censoring_survival=g.survival_left(t), tau=2.0)
    assert c == pytest.approx(1 / 3)
    # AUC(3): cases 1 (weight 1) and 2 (weight 1/G(2-) = 1), one control (risk 2): 1/2
    assert cumulative_dynamic_auc_at(t, e, risk, 3.0, g) == pytest.approx(0.5)


def test_compute_metrics_counts_reproduce_rank_metrics(stat_seed: int) -> None:
    rng = np.random.default_rng(stat_seed)
    n = 150
    t, e = np.maximum(np.round(rng.exponential(10, n)), 1.0), rng.random(n) < 0.7
    risk = np.round(rng.normal(size=n), 1)
    settings, _ = resolve_settings(MetricSettings(), t, e)
    surv = np.exp(-np.outer(np.exp(risk), settings.times) / 10)
    m = compute_metrics(t[:100], e[:100], t[100:], e[100:], risk[100:], surv[100:], settings)
    ranked = [k for k in m.values if k.startswith(("cindex", "auc")) and np.isfinite(m.values[k])]
    assert ranked and set(ranked) == set(m.counts)
    for name in ranked:
        numerator, denominator = m.counts[name]
        assert m.values[name] == numerator / denominator


def test_settings_are_resolved_once_and_a_short_test_set_is_undefined_not_clipped() -> None:
    t = np.array([2.0, 4.0, 6.0, 9.0, 12.0, 15.0, 18.0, 20.0])
    e = np.array([True, True, False, True, True, False, True, False])
    settings, notes = resolve_settings(MetricSettings(), t, e)
    # the censoring KM is 0 at 20 (the last patient is censored): tau and the grid stop at 18
    assert settings.tau == 18.0 and settings.grid_stop == 18.0 and settings.grid_points == 18
    assert settings.names()[1] == "cindex_uno_tau18" and any("tau clipped" in n for n in notes)
    assert any("landmark 24" in n for n in notes)
    surv = np.full((t.size, settings.times.size), 0.5)
    risk = -t
    short = t <= 12  # a test set followed up to 12 months only
    m = compute_metrics(t, e, t[short], e[short], risk[short], surv[short], settings)
    assert np.isnan(m.values["cindex_uno_tau18"]) and "before tau=18" in m.notes["cindex_uno_tau18"]
    assert np.isnan(m.values["ibs"]) and m.notes["ibs"].startswith("undefined")
    assert np.isnan(m.values["auc_12m"]) and np.isnan(m.values["brier_24m"])
    assert np.isfinite(m.values["auc_6m"]) and np.isfinite(m.values["brier_6m"])
    full = compute_metrics(t, e, t, e, risk, surv, settings)
    assert np.isfinite(full.values["cindex_uno_tau18"]) and np.isfinite(full.values["ibs"])
    # the last patient has an event: the KM supports the whole follow-up, grid up to the last time
    e[-1] = True
    settings, _ = resolve_settings(MetricSettings(), t, e)
    assert settings.tau == 20.0 and settings.grid_stop == 20.0
    full = compute_metrics(t, e, t, e, risk, np.full((t.size, settings.times.size), 0.5), settings)
    assert np.isfinite(full.values["cindex_uno_tau20"]) and np.isfinite(full.values["ibs"])
