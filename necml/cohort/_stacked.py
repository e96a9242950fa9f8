"""Several cohorts drawn at once, each with exactly the numbers of its own draw.

A simulation study draws thousands of small cohorts (56 patients), each from its own seed. One
at a time, NumPy's and pandas' per-call overhead costs more than the arithmetic. Every step of
the generator after the random draws is elementwise over patients (quantile functions, the
copula's per-patient Cholesky product, predictors, the illness-death inversion), so the draws
of ``B`` cohorts can be laid end to end and transformed in one pass: :class:`StackedStream`
stands in for a :class:`numpy.random.Generator` whose every call of ``B * n`` values is each
cohort's own generator's call of ``n`` values, concatenated. Cohort ``b`` of the stack is then
the cohort that its seed gives alone, to the bit (``tests/cohort/test_stacked.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["StackedStream"]


class StackedStream:
    """Generators of ``len(generators)`` cohorts of ``n`` patients each, drawn as one.

    Parameters
    ----------
    generators : sequence of numpy.random.Generator
        Each cohort's generator for this stream, in stack order.
    n : int
        Patients per cohort.

    Examples
    --------
    >>> seeds = [np.random.SeedSequence(s) for s in (1, 2)]
    >>> stacked = StackedStream([np.random.default_rng(s) for s in seeds], 3).random(6)
    >>> alone = np.r_[np.random.default_rng(seeds[0]).random(3), np.random.default_rng(seeds[1]).random(3)]
    >>> bool((stacked == alone).all())
    True
    """

    def __init__(self, generators: Sequence[np.random.Generator], n: int) -> None:
        self._generators = list(generators)
        self._n = n

    def _draw(self, method: str, args: tuple[float, ...], size: int, out: NDArray | None = None) -> NDArray:
        if size != self._n * len(self._generators):
            raise ValueError(f"a stacked draw takes {self._n} values per cohort, {size} were asked for")
        parts = [getattr(g, method)(*args, size=self._n) for g in self._generators]
        return np.concatenate(parts, out=out)

    def random(self, size: int) -> NDArray[np.float64]:
        """As :meth:`numpy.random.Generator.random`."""
        return self._draw("random", (), size)

    def standard_normal(self, size: int, out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        """As :meth:`numpy.random.Generator.standard_normal` (``out`` is filled and returned)."""
        return self._draw("standard_normal", (), size, out)

    def standard_exponential(self, size: int) -> NDArray[np.float64]:
        """As :meth:`numpy.random.Generator.standard_exponential`."""
        return self._draw("standard_exponential", (), size)

    def uniform(self, low: float, high: float, size: int) -> NDArray[np.float64]:
        """As :meth:`numpy.random.Generator.uniform`."""
        return self._draw("uniform", (low, high), size)

    def exponential(self, scale: float, size: int) -> NDArray[np.float64]:
        """As :meth:`numpy.random.Generator.exponential`."""
        return self._draw("exponential", (scale,), size)
