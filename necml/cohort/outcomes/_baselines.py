"""Baseline cumulative hazards of one transition: a Weibull or a piecewise-exponential.

Both families share one small interface, so the joint model, its sampler and its calibration
do not care which one a transition uses: ``cumhaz(t)``, ``inverse(h)`` (solve
``cumhaz(t) = h``), ``params`` (unconstrained, log scale) and ``with_params(x)``.
Times are in months.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = ["Baseline", "PiecewiseExponential", "Weibull"]

FloatArray = NDArray[np.float64]


class Baseline(Protocol):
    """What the joint model needs of a baseline hazard."""

    def cumhaz(self, t: FloatArray | float) -> FloatArray: ...

    def inverse(self, h: FloatArray) -> FloatArray: ...

    @property
    def params(self) -> FloatArray: ...

    def with_params(self, x: FloatArray) -> Baseline: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Weibull:
    """``H(t) = lam * t**shape``.

    ``fixed_shape`` keeps the shape out of :attr:`params` (a calibration then solves ``lam``
    only).
    """

    lam: float
    shape: float
    fixed_shape: bool = False

    def cumhaz(self, t: FloatArray | float) -> FloatArray:
        return self.lam * np.asarray(t, dtype=float) ** self.shape

    def inverse(self, h: FloatArray) -> FloatArray:
        return (np.asarray(h, dtype=float) / self.lam) ** (1.0 / self.shape)

    @property
    def params(self) -> FloatArray:
        if self.fixed_shape:
            return np.array([np.log(self.lam)])
        return np.array([np.log(self.lam), np.log(self.shape)])

    def with_params(self, x: FloatArray) -> Weibull:
        if self.fixed_shape:
            return replace(self, lam=float(np.exp(x[0])))
        return replace(self, lam=float(np.exp(x[0])), shape=float(np.exp(x[1])))

    def describe(self) -> str:
        return f"Weibull(lam={self.lam:.4g}, shape={self.shape:.3f})"


@dataclass(frozen=True, slots=True, kw_only=True)
class PiecewiseExponential:
    """Constant hazard ``rates[k]`` on ``[knots[k-1], knots[k])`` (``knots[-1] = 0``, last open)."""

    knots: tuple[float, ...]
    rates: tuple[float, ...]
    _cum: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.rates) != len(self.knots) + 1:
            raise ValueError(f"{len(self.knots)} knots need {len(self.knots) + 1} rates, got {len(self.rates)}")
        if any(b <= a for a, b in zip((0.0, *self.knots), self.knots, strict=False)):
            raise ValueError(f"knots must be positive and increasing, got {self.knots}")
        widths = np.diff(np.r_[0.0, self.knots])
        object.__setattr__(self, "_cum", np.r_[0.0, np.cumsum(np.asarray(self.rates[:-1]) * widths)])

    def cumhaz(self, t: FloatArray | float) -> FloatArray:
        t = np.asarray(t, dtype=float)
        starts = np.r_[0.0, self.knots]
        k = np.searchsorted(self.knots, t, side="right")
        return self._cum[k] + np.asarray(self.rates)[k] * (t - starts[k])

    def inverse(self, h: FloatArray) -> FloatArray:
        h = np.asarray(h, dtype=float)
        starts = np.r_[0.0, self.knots]
        k = np.searchsorted(self._cum, h, side="right") - 1
        k = np.clip(k, 0, len(self.rates) - 1)
        return starts[k] + (h - self._cum[k]) / np.asarray(self.rates)[k]

    @property
    def params(self) -> FloatArray:
        return np.log(np.asarray(self.rates))

    def with_params(self, x: FloatArray) -> PiecewiseExponential:
        return PiecewiseExponential(knots=self.knots, rates=tuple(float(v) for v in np.exp(x)))

    def describe(self) -> str:
        rates = ", ".join(f"{r:.4g}" for r in self.rates)
        return f"PiecewiseExponential(knots={list(self.knots)}, rates=[{rates}])"
