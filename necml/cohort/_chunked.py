"""Random streams drawn chunk by chunk, with exactly the numbers of one whole-cohort draw.

A component draws from its stream in a fixed sequence of calls: the illness-death model
``n`` exponentials, then ``n`` uniforms, then ``n`` exponentials; the censoring ``n`` uniforms,
then (with dropout) ``n`` exponentials. Drawing that sequence for each chunk of patients from
one generator would interleave the calls and change every number after the first chunk.
:class:`ChunkedStream` keeps one generator per call instead, positioned where that call starts
in the whole-cohort draw (found once, by drawing the earlier calls for all ``n`` patients in
pieces and discarding them), and continues it chunk after chunk. NumPy's ``random``,
``uniform``, ``standard_normal``, ``standard_exponential`` and ``exponential`` draw value after
value, so ``k`` values then ``m`` values equal ``k + m`` values at once: the chunks together
are the whole-cohort draw, whatever the chunk size.
"""

from __future__ import annotations

import copy

import numpy as np
from numpy.typing import NDArray

__all__ = ["ChunkedStream"]

_PIECE = 1 << 18  # values per discarded draw while positioning a call (bounded memory)


class ChunkedStream:
    """A stand-in for a :class:`numpy.random.Generator` used with :meth:`start_chunk`.

    Parameters
    ----------
    seed : numpy.random.SeedSequence
        The stream.
    n : int
        Patients in the whole cohort (the length of every call of the whole-cohort draw).

    Examples
    --------
    >>> seed = np.random.SeedSequence(1)
    >>> whole = np.random.default_rng(seed)
    >>> expected = np.r_[whole.standard_exponential(5), whole.random(5)]
    >>> stream = ChunkedStream(seed, 5)
    >>> parts = []
    >>> for size in (2, 3):
    ...     stream.start_chunk()
    ...     parts.append((stream.standard_exponential(size), stream.random(size)))
    >>> found = np.r_[parts[0][0], parts[1][0], parts[0][1], parts[1][1]]
    >>> bool((found == expected).all())
    True
    """

    def __init__(self, seed: np.random.SeedSequence, n: int) -> None:
        self._n = n
        self._frontier = np.random.default_rng(seed)  # where the next new call starts
        self._calls: list[tuple[str, tuple[float, ...]]] = []
        self._cursors: list[np.random.Generator] = []
        self._k = 0

    def start_chunk(self) -> None:
        """Begin a chunk: its calls continue the whole-cohort calls in order."""
        self._k = 0

    def _draw(self, method: str, args: tuple[float, ...], size: int) -> NDArray[np.float64]:
        k = self._k
        self._k += 1
        if k == len(self._cursors):
            if k > 0:  # move the frontier past all n values of the previous call
                last_method, last_args = self._calls[-1]
                for start in range(0, self._n, _PIECE):
                    getattr(self._frontier, last_method)(*last_args, size=min(_PIECE, self._n - start))
            self._calls.append((method, args))
            self._cursors.append(copy.deepcopy(self._frontier))
        elif self._calls[k] != (method, args):
            raise RuntimeError(f"call {k} of a chunk was {self._calls[k]}, now {(method, args)}")
        return getattr(self._cursors[k], method)(*args, size=size)

    def random(self, size: int) -> NDArray[np.float64]:
        """As :meth:`numpy.random.Generator.random`."""
        return self._draw("random", (), size)

    def standard_exponential(self, size: int) -> NDArray[np.float64]:
        """As :meth:`numpy.random.Generator.standard_exponential`."""
        return self._draw("standard_exponential", (), size)

    def standard_normal(self, size: int) -> NDArray[np.float64]:
        """As :meth:`numpy.random.Generator.standard_normal`."""
        return self._draw("standard_normal", (), size)

    def uniform(self, low: float, high: float, size: int) -> NDArray[np.float64]:
        """As :meth:`numpy.random.Generator.uniform`."""
        return self._draw("uniform", (float(low), float(high)), size)

    def exponential(self, scale: float, size: int) -> NDArray[np.float64]:
        """As :meth:`numpy.random.Generator.exponential`."""
        return self._draw("exponential", (float(scale),), size)
