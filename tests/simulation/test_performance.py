"""Performance measures: values against direct computation; MCSEs against a meta-simulation."""

from __future__ import annotations

import statistics

import numpy as np

from necml.simulation import estimand_measures


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
