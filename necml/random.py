"""Seeding: one root :class:`numpy.random.SeedSequence`, spawned into named streams.

Each component of the generator draws from its own stream, so that adding a variable, or
changing how one component draws, leaves the draws of every other component unchanged.
Per-variable streams are keyed by the variable's *name* (not its position), so adding or
reordering variables in a specification does not change the draws of the others.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np

__all__ = ["STREAMS", "as_seed_sequence", "child_seed", "int_seed", "named_rng", "stream_rngs"]

#: Named top-level streams of the cohort generator. Append only: reordering changes outputs.
STREAMS: tuple[str, ...] = (
    "arm",
    "covariates",
    "missingness",
    "transitions",
    "censoring",
    "response",
    "order",
)


def as_seed_sequence(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    """Return ``seed`` as a :class:`numpy.random.SeedSequence`.

    Parameters
    ----------
    seed : int or numpy.random.SeedSequence
        A non-negative integer or an existing seed sequence.

    Returns
    -------
    numpy.random.SeedSequence
        The root sequence.

    Raises
    ------
    ValueError
        If ``seed`` is a negative integer or not an integer.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be a non-negative integer, but got {seed!r}.")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, but got {seed}.")
    return np.random.SeedSequence(int(seed))


def stream_rngs(
    seed: int | np.random.SeedSequence,
) -> dict[str, np.random.SeedSequence]:
    """Spawn one child seed sequence per name in :data:`STREAMS`.

    Parameters
    ----------
    seed : int or numpy.random.SeedSequence
        Root seed.

    Returns
    -------
    dict of str to numpy.random.SeedSequence
        One independent child per stream name.
    """
    root = as_seed_sequence(seed)
    # Build the children explicitly from the root's spawn key so that spawning is idempotent
    # (``SeedSequence.spawn`` advances a counter on the root object).
    return {
        name: np.random.SeedSequence(
            entropy=root.entropy, spawn_key=(*root.spawn_key, i), pool_size=root.pool_size
        )
        for i, name in enumerate(STREAMS)
    }


def named_rng(parent: np.random.SeedSequence, name: str) -> np.random.Generator:
    """Return a generator for the child of ``parent`` keyed by ``name``.

    The child's spawn key extends the parent's with a CRC-32 of ``name``, so the stream depends
    on the name only, never on how many other names exist.

    Parameters
    ----------
    parent : numpy.random.SeedSequence
        Parent sequence, e.g. the ``"covariates"`` stream.
    name : str
        Component name, e.g. a variable name.

    Returns
    -------
    numpy.random.Generator
        A PCG64 generator for that component.
    """
    return np.random.default_rng(child_seed(parent, name))


def child_seed(parent: np.random.SeedSequence, *keys: str | int) -> np.random.SeedSequence:
    """The child of ``parent`` at the path ``keys`` (names are keyed by their CRC-32).

    Idempotent, unlike ``SeedSequence.spawn``: the same path always gives the same child.

    Examples
    --------
    >>> root = np.random.SeedSequence(1)
    >>> child_seed(root, "rsf", 3).spawn_key == child_seed(root, "rsf", 3).spawn_key
    True
    """
    path = tuple(_name_key(k) if isinstance(k, str) else int(k) for k in keys)
    return np.random.SeedSequence(
        entropy=parent.entropy, spawn_key=(*parent.spawn_key, *path), pool_size=parent.pool_size
    )


@functools.lru_cache(maxsize=4096)
def _name_key(name: str) -> int:
    """A name's spawn-key word: its CRC-32 (cached: a replicate derives dozens of named streams)."""
    return zlib.crc32(name.encode("utf-8"))


def int_seed(seed: np.random.SeedSequence) -> int:
    """A 31-bit integer from ``seed`` for libraries that take ``random_state=int`` (sklearn, xgboost)."""
    return int(seed.generate_state(1, dtype=np.uint32)[0] >> 1)
