"""Stacked generation (several replicates drawn at once) gives each seed's own cohort, to the bit."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from necml.cohort import fit_cohort_model, generate_cohort, generate_stacked, with_censoring, with_departures
from necml.cohort._stacked import StackedStream
from necml.cohort.outcomes._rowwise import linear
from necml.spec import DelayedEffect, NonlinearEffect, Term, TreatmentInteraction, load_spec

from ..conftest import COHORTS, SHIPPED

SOURCE = "assumed: test scenario"


@cache
def _variant(name: str, variant: str):  # noqa: ANN202
    spec = load_spec(COHORTS / name)
    if variant == "published":
        return spec
    if variant == "uncensored":
        return with_censoring(spec, "os", "none")
    arm = spec.arm_names[1]
    departures = {
        "delayed": [DelayedEffect(kind="delayed_effect", arm=arm, delay=2.0, source=SOURCE)],
        "nonlinear": [NonlinearEffect(kind="nonlinear", variable="nlr", log_hr=0.4, source=SOURCE)],
        "interaction": [TreatmentInteraction(kind="interaction", arm=arm, term=Term(variable="ecog", at_least=2),
                                             hr=0.5, source=SOURCE)],
    }[variant]
    return with_departures(spec, departures, variant)


@pytest.mark.parametrize("variant", ["published", "uncensored", "delayed", "nonlinear", "interaction"])
@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("n", [1, 31, 250])
def test_each_stacked_cohort_is_its_seeds_own_cohort(name: str, variant: str, n: int) -> None:
    spec = _variant(name, variant)
    model = fit_cohort_model(spec)
    seeds = [np.random.SeedSequence(5, spawn_key=(r, 7)) for r in range(12)]
    stacked = generate_stacked(spec, n, seeds, model=model)
    assert len(stacked) == 12 * n
    for b, seed in enumerate(seeds):
        alone = generate_cohort(spec, n, seed=seed, model=model)
        pd.testing.assert_frame_equal(stacked.iloc[b * n : (b + 1) * n].reset_index(drop=True), alone,
                                      check_exact=True)


def test_a_stacked_stream_refuses_a_draw_of_another_size() -> None:
    stream = StackedStream([np.random.default_rng(1), np.random.default_rng(2)], 3)
    with pytest.raises(ValueError, match="3 values per cohort, 5 were asked for"):
        stream.random(5)


def test_generate_stacked_refuses_no_seeds_and_a_bad_n(lcnec) -> None:  # noqa: ANN001
    model = fit_cohort_model(lcnec)
    with pytest.raises(ValueError, match="at least one seed"):
        generate_stacked(lcnec, 5, [], model=model)
    with pytest.raises(ValueError, match="positive integer"):
        generate_stacked(lcnec, 0, [np.random.SeedSequence(1)], model=model)


def test_linear_is_the_matrix_product_and_does_not_depend_on_the_row_count() -> None:
    rng = np.random.default_rng(3)
    x, beta = rng.standard_normal((4000, 9)), rng.standard_normal(9)
    found = linear(x, beta)
    # reference: the sum written out in float64, row by row (and BLAS's product to rounding)
    by_hand = np.array([sum(x[i, k] * beta[k] for k in range(9)) for i in range(50)])
    np.testing.assert_array_equal(found[:50], by_hand)
    np.testing.assert_allclose(found, x @ beta, rtol=0, atol=1e-13)
    pieces = np.concatenate([linear(x[i : i + 7], beta) for i in range(0, 4000, 7)])
    np.testing.assert_array_equal(pieces, found)
    assert linear(np.empty((3, 0)), np.empty(0)).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="2 columns but beta has 3"):
        linear(np.ones((2, 2)), np.ones(3))
