"""``child_rngs`` derives many generators at once: each must be numpy's own ``SeedSequence`` stream."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from necml.random import child_rngs, child_seed

words = st.integers(0, 2**32 - 1)
keys = st.one_of(words, st.integers(2**32, 2**70), st.text(max_size=8))


def _reference(parent: np.random.SeedSequence, path: tuple) -> np.random.Generator:
    """numpy's path: the child SeedSequence (its own hash), then ``default_rng``."""
    return np.random.default_rng(child_seed(parent, *path))


@settings(max_examples=60, deadline=None)
@given(
    entropy=st.one_of(st.integers(0, 2**32), st.integers(0, 2**200)),
    spawn=st.lists(st.one_of(words, st.integers(2**32, 2**70)), max_size=4),
    pool_size=st.sampled_from([4, 8]),
    paths=st.lists(st.lists(keys, min_size=1, max_size=4).map(tuple), min_size=1, max_size=5),
)
def test_each_generator_is_numpys_seedsequence_stream(entropy, spawn, pool_size, paths) -> None:  # noqa: ANN001
    parents = [
        np.random.SeedSequence(entropy, spawn_key=tuple(spawn), pool_size=pool_size),
        np.random.SeedSequence(entropy + 1, spawn_key=(*spawn, 7)),  # another prefix length in one batch
    ]
    found = child_rngs(parents, paths)
    for parent, row in zip(parents, found, strict=True):
        for path, rng in zip(paths, row, strict=True):
            ref = _reference(parent, path)
            assert rng.bit_generator.state == ref.bit_generator.state
            np.testing.assert_array_equal(rng.integers(0, 2**63, 16), ref.integers(0, 2**63, 16))


def test_the_pcg64_words_equal_generate_state_and_other_requests_go_to_numpy() -> None:
    parent = np.random.SeedSequence(123456789, spawn_key=(3, 1))
    [[rng]] = child_rngs([parent], [("covariates", 2)])
    seed = rng.bit_generator.seed_seq
    real = child_seed(parent, "covariates", 2)
    np.testing.assert_array_equal(seed.generate_state(4, np.uint64), real.generate_state(4, np.uint64))
    np.testing.assert_array_equal(seed.generate_state(5), real.generate_state(5))  # not precomputed
    assert (seed.entropy, seed.spawn_key, seed.pool_size) == (real.entropy, real.spawn_key, real.pool_size)
    first, second = seed.spawn(1)[0], seed.spawn(1)[0]  # spawning advances, as numpy's does
    assert [first.spawn_key, second.spawn_key] == [c.spawn_key for c in real.spawn(2)]


def test_sequence_entropy_takes_numpys_own_path() -> None:
    parent = np.random.SeedSequence([1, 2, 3])
    [[rng]] = child_rngs([parent], [("x",)])
    assert rng.bit_generator.state == _reference(parent, ("x",)).bit_generator.state


def test_a_negative_key_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        child_rngs([np.random.SeedSequence(1)], [(-1,)])
