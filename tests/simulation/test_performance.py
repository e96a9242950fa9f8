"""Performance measures: values against direct computation; MCSEs against a meta-simulation."""

from __future__ import annotations

import statistics

import numpy as np
from scipy import stats

from necml.simulation import estimand_measures, relative_precision


def test_values_against_direct_computation() -> None:
    rng = np.random.default_rng(0)
    t = rng.normal(0.3, 0.2, 40)
    s = rng.uniform(0.15, 0.25, 40)
    lo, hi = t - 1.96 * s, t + 1.96 * s
    p = rng.uniform(0, 0.2, 40)
    ok = np.ones(40, bool)
    ok[3] = False
    m = estimand_measures(t, s, lo, hi, p, ok, 0.25, 0.05)
    kept = [float(v) for v, k in zip(t, ok, strict=True) if k]
    assert np.isclose(m["bias"][0], statistics.fmean(kept) - 0.25)
    assert np.isclose(m["empirical_se"][0], statistics.stdev(kept))
    assert np.isclose(m["model_se"][0], statistics.fmean(float(x) ** 2 for x in s[ok]) ** 0.5)
    assert np.isclose(
        m["coverage"][0], statistics.fmean(float(a <= 0.25 <= b) for a, b in zip(lo[ok], hi[ok], strict=True))
    )
    assert np.isclose(m["power"][0], statistics.fmean(float(x < 0.05) for x in p[ok]))
    assert np.isclose(m["rmse"][0], statistics.fmean((x - 0.25) ** 2 for x in kept) ** 0.5)
    assert np.isclose(m["failures"][0], 1 / 40)


def test_monte_carlo_standard_errors_match_the_spread_across_studies() -> None:
    """Each MCSE estimates the SD of its measure across repeated studies: check that directly.

    Estimates are normal (the empirical SE's MCSE assumes it) and the model SEs vary independently.
    """
    rng = np.random.default_rng(1)
    studies, r, truth = 3000, 60, 0.5
    values: dict[str, list[float]] = {}
    mcses: dict[str, list[float]] = {}
    for _ in range(studies):
        se = rng.uniform(0.15, 0.25, r)
        t = truth + 0.05 + rng.normal(0, 0.2, r)  # biased by 0.05
        m = estimand_measures(
            t, se, t - 1.96 * se, t + 1.96 * se, rng.uniform(0, 0.1, r), np.ones(r, bool), truth, 0.05
        )
        for key in ("bias", "empirical_se", "model_se", "relative_error_se", "coverage", "rmse"):
            values.setdefault(key, []).append(m[key][0])
            mcses.setdefault(key, []).append(m[key][1])
    for key in values:
        spread, reported = np.std(values[key], ddof=1), np.mean(mcses[key])
        assert abs(reported / spread - 1) < 0.1, (key, reported, spread)


def test_power_all_counts_failed_fits_as_not_rejecting() -> None:
    p = np.array([0.01, 0.01, 0.5, np.nan])
    ok = np.array([True, True, True, False])
    t = np.array([1.0, 1.0, 1.0, np.nan])
    m = estimand_measures(t, np.ones(4), t - 1, t + 1, p, ok, 1.0, 0.05)
    assert np.isclose(m["power"][0], 2 / 3) and np.isclose(m["power_all"][0], 2 / 4)
    assert np.isclose(m["failures"][0], 1 / 4)


def test_new_measures_against_direct_computation() -> None:
    t = np.array([0.9, -0.2, 0.4, 1.6, 0.5, 0.7, 2.0, 0.1])
    s = np.full(8, 0.3)
    lo, hi = t - 0.6, t + 0.6
    p = np.array([0.01, 0.03, 0.2, 0.001, 0.3, 0.04, 0.0001, 0.6])
    m = estimand_measures(t, s, lo, hi, p, np.ones(8, bool), 0.5, 0.05)
    assert np.isclose(m["median_bias"][0], statistics.median(t.tolist()) - 0.5)
    centre = statistics.fmean(t.tolist())
    covered = [float(a <= centre <= b) for a, b in zip(lo, hi, strict=True)]
    assert np.isclose(m["be_coverage"][0], statistics.fmean(covered))
    assert np.isclose(m["ci_width"][0], 1.2) and np.isclose(m["median_ci_width"][0], 1.2)
    significant = [x for x, q in zip(t.tolist(), p.tolist(), strict=True) if q < 0.05]  # 0.9, -0.2, 1.6, 0.7, 2.0
    assert np.isclose(m["type_s"][0], 1 / 5)
    assert np.isclose(m["type_m"][0], statistics.fmean(abs(x) / 0.5 for x in significant))
    assert np.isclose(m["type_m"][1], statistics.stdev(abs(x) / 0.5 for x in significant) / 5**0.5)


def test_relative_precision_against_direct_computation() -> None:
    rng = np.random.default_rng(2)
    ref = rng.normal(0, 0.3, 50)
    est = 0.5 * ref + rng.normal(0, 0.1, 50)
    value, _ = relative_precision(est, ref)
    assert np.isclose(value, 100 * (statistics.variance(ref.tolist()) / statistics.variance(est.tolist()) - 1))


def _spread_matches(values: dict[str, list[float]], mcses: dict[str, list[float]], tolerance: float) -> None:
    for key in values:
        spread, reported = np.nanstd(values[key], ddof=1), np.nanmean(mcses[key])
        assert abs(reported / spread - 1) < tolerance, (key, reported, spread)


def test_new_monte_carlo_standard_errors_match_the_spread_across_studies() -> None:
    """Median bias, bias-eliminated coverage, CI widths, type-S and type-M (significance from z = t / se)."""
    rng = np.random.default_rng(3)
    studies, r, truth = 2000, 200, 0.12  # power about 14%: type-S about 14%, so its binomial MCSE is not degenerate
    values: dict[str, list[float]] = {}
    mcses: dict[str, list[float]] = {}
    for _ in range(studies):
        se = rng.uniform(0.15, 0.25, r)
        t = truth + rng.normal(0, 0.25, r)
        p = 2 * stats.norm.sf(np.abs(t) / se)
        m = estimand_measures(t, se, t - 1.96 * se, t + 1.96 * se, p, np.ones(r, bool), truth, 0.05)
        for key in ("median_bias", "be_coverage", "ci_width", "median_ci_width", "type_s", "type_m"):
            values.setdefault(key, []).append(m[key][0])
            mcses.setdefault(key, []).append(m[key][1])
    _spread_matches(values, mcses, 0.12)


def test_relative_precision_mcse_matches_the_spread_across_studies() -> None:
    rng = np.random.default_rng(4)
    values: dict[str, list[float]] = {"relative_precision": []}
    mcses: dict[str, list[float]] = {"relative_precision": []}
    for _ in range(2000):
        ref = rng.normal(0, 0.3, 100)
        est = 0.8 * ref + rng.normal(0, 0.15, 100)
        value, mcse = relative_precision(est, ref)
        values["relative_precision"].append(value)
        mcses["relative_precision"].append(mcse)
    _spread_matches(values, mcses, 0.1)
