"""--find-n: stochastic root-finding over n against a closed form (Schoenfeld, exponential two-arm trial)."""

from __future__ import annotations

import numpy as np
import pytest

from necml.prognosis import fit_cox_newton
from necml.random import child_seed
from necml.simulation import find_n, logistic_root, schoenfeld_n

HR = 0.5


def _two_arm_trial(sizes: list[int], ids: list[int]) -> np.ndarray:
    """1:1 exponential trial, no censoring (events = n), Wald test of the Cox arm coefficient at 0.05."""
    out = np.zeros(len(sizes))
    for k, (n, j) in enumerate(zip(sizes, ids, strict=True)):
        rng = np.random.default_rng(child_seed(np.random.SeedSequence(11), j))
        arm = np.repeat([0.0, 1.0], [n - n // 2, n // 2])
        time = rng.exponential(1 / np.where(arm == 1, HR, 1.0))
        fit = fit_cox_newton(arm[:, None], time, np.ones(n, bool))
        out[k] = float(fit.p[0] < 0.05)
    return out


def test_find_n_agrees_with_schoenfeld_on_an_exponential_two_arm_trial() -> None:
    expected = schoenfeld_n(np.log(HR), 0.5, 1.0, power=0.8)  # 65.3 events = patients without censoring
    result = find_n(_two_arm_trial, term="arm", target=0.8, n_min=10, n_max=1000, per_round=400, rounds=5)
    assert result.ci_low < result.root < result.ci_high
    assert result.ci_high - result.ci_low < 16  # about 2400 replicates: the CI is a few patients wide
    assert abs(result.root - expected) < 0.08 * expected, (result, expected)
    assert result.evaluations["n"].nunique() < 40  # a few sizes per round, never a dense grid
    assert result.row().keys() == {"term", "target", "n", "ci_low", "ci_high"}


@pytest.mark.parametrize("target", [0.5, 0.9])
def test_logistic_root_recovers_a_known_curve(target: float) -> None:
    rng = np.random.default_rng(5)
    n = rng.integers(20, 600, 6000)
    a, b = -8.0, 2.0  # logit P = a + b log n
    y = (rng.random(6000) < 1 / (1 + np.exp(-(a + b * np.log(n))))).astype(float)
    root, lo, hi = logistic_root(n, y, target)
    exact = np.exp((np.log(target / (1 - target)) - a) / b)
    assert lo < exact < hi and abs(root / exact - 1) < 0.05


def test_a_target_out_of_reach_gives_no_n() -> None:
    result = find_n(lambda sizes, ids: np.zeros(len(sizes)), term="x", n_min=10, n_max=100, per_round=50, rounds=1)
    assert result.n == -1 and np.isnan(result.ci_low)
