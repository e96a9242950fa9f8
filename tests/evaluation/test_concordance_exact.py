"""The fast concordance counts equal an O(n^2) pair count exactly, tied and untied, and lifelines
to the last bit at moderate n."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines.utils import concordance_index

from necml.evaluation import concordance_counts, harrell_c


def _brute_force(time, event, risk, weights):  # noqa: ANN001, ANN202
    """The definitions of the module docstring, pair by pair."""
    concordant = tied = comparable = 0.0
    for i in np.flatnonzero(event):
        partner = (time > time[i]) | ((time == time[i]) & ~event)
        comparable += weights[i] * partner.sum()
        concordant += weights[i] * (partner & (risk < risk[i])).sum()
        tied += weights[i] * (partner & (risk == risk[i])).sum()
    return concordant, tied, comparable


def _data(rng: np.random.Generator, n: int, ties: str):  # noqa: ANN202
    time = rng.exponential(10, n)
    event = rng.random(n) < 0.6
    risk = rng.normal(size=n) - 0.1 * time
    if ties in ("time", "both"):
        time = np.ceil(time / 3)
    if ties in ("risk", "both"):
        risk = np.round(risk)
    return time, event, risk


@pytest.mark.parametrize("ties", ["none", "time", "risk", "both"])
@pytest.mark.parametrize("n", [1, 2, 7, 60, 300])
def test_counts_equal_brute_force(ties: str, n: int, stat_seed: int) -> None:
    rng = np.random.default_rng([stat_seed, n])
    time, event, risk = _data(rng, n, ties)
    assert tuple(concordance_counts(time, event, risk)) == _brute_force(time, event, risk, np.ones(n))


@pytest.mark.parametrize("ties", ["none", "both"])
def test_weighted_counts_equal_brute_force(ties: str, stat_seed: int) -> None:
    rng = np.random.default_rng(stat_seed)
    time, event, risk = _data(rng, 200, ties)
    weights = 1 / rng.uniform(0.2, 1, 200) ** 2
    found = concordance_counts(time, event, risk, weights)
    # weighted sums are added in another order than pair by pair: a few ulps
    np.testing.assert_allclose(found, _brute_force(time, event, risk, weights), rtol=1e-13)


@pytest.mark.parametrize("ties", ["none", "time", "both"])
def test_harrell_equals_lifelines_to_the_last_bit(ties: str, stat_seed: int) -> None:
    rng = np.random.default_rng(stat_seed)
    time, event, risk = _data(rng, 20_000, ties)
    assert harrell_c(time, event, risk) == concordance_index(time, -risk, event)
