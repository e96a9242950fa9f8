"""Per-arm distribution blocks, written the way papers report a variable.

A closed grammar: the ``dist`` key selects one of the models below (a pydantic discriminated
union). Nothing is evaluated. Validators only check; they never compute or mutate.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from necml.spec._provenance import Source
from necml.spec._published import Printed, check_level_sources

__all__ = [
    "BernoulliDist",
    "BetaDist",
    "CategoricalDist",
    "ContinuousDist",
    "Distribution",
    "MedianRangeDist",
    "NormalDist",
    "QuartilesDist",
    "ShareAbove",
    "ZeroInflatedDist",
]

Percent = Annotated[float, Field(ge=0.0, le=100.0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ShareAbove(_Frozen):
    """A reported share at or above a cut-off, e.g. ``age >= 65: 85.7%``.

    Parameters
    ----------
    cutoff : float
        The cut-off value.
    percent : float
        Share of patients at or above (``inclusive``) or strictly above the cut-off, in %.
    inclusive : bool, default=True
        ``True`` for ``>=``, ``False`` for ``>``.
    count : int, optional
        The printed count, if any (checked against ``percent``).
    """

    cutoff: float
    percent: Percent
    inclusive: bool = True
    count: StrictInt | None = Field(default=None, ge=0)


def _check_share(mean: float, sd: float, share: ShareAbove | None) -> None:
    """Cantelli's inequality: no distribution with this mean and SD has this share above the cut-off."""
    if share is None:
        return
    p, c = share.percent / 100, share.cutoff
    z = (c - mean) / sd  # products, not powers: a huge value gives inf (bound 0), never an OverflowError
    bound = 1.0 / (1.0 + z * z)
    tail = p if c > mean else 1 - p
    if (c != mean and tail > bound + 1e-9) or (p == 1 and c > mean) or (p == 0 and c < mean):
        raise ValueError(
            f"share_above: {share.percent}% at or above {c} is impossible with mean {mean} and SD {sd} "
            f"(at most {100 * (bound if c > mean else 1 - bound):.1f}% {'above' if c > mean else 'below'} "
            "is possible, Cantelli's inequality)"
        )


class _Base(_Frozen):
    source: Source
    missing_percent: Percent = 0.0


class NormalDist(_Base):
    """Mean ± SD, optionally with a reported share above a cut-off.

    Without ``share_above`` this is a normal truncated to the variable's bounds, its location
    and scale solved so that the truncated mean and SD equal the published ones. With
    ``share_above`` the share is honoured exactly by a two-piece construction (see
    :mod:`necml.cohort`).
    """

    dist: Literal["normal"]
    mean: Printed
    sd: Printed = Field(gt=0.0)
    share_above: ShareAbove | None = None

    @model_validator(mode="after")
    def _possible_share(self) -> NormalDist:
        _check_share(self.mean, self.sd, self.share_above)
        return self


class QuartilesDist(_Base):
    """Median (IQR): a split log-normal that hits all three quartiles exactly.

    Any of the three may be a corrected reading of a likely misprint,
    ``q3: {value: 511, as_printed: 1511, source: "assumed: ..."}`` (see
    :data:`necml.spec._published.Printed`): the generator uses ``value``.
    """

    dist: Literal["quartiles"]
    median: Printed = Field(gt=0.0)
    q1: Printed = Field(gt=0.0)
    q3: Printed = Field(gt=0.0)

    @model_validator(mode="after")
    def _ordered(self) -> QuartilesDist:
        if not self.q1 <= self.median <= self.q3:
            raise ValueError(
                "`q1 <= median <= q3` must hold, but got "
                f"(q1={self.q1}, median={self.median}, q3={self.q3})"
            )
        return self


class MedianRangeDist(_Base):
    """Median (range): a split normal with the range ends at their expected extremes."""

    dist: Literal["median_range"]
    median: Printed
    min: Printed
    max: Printed

    @model_validator(mode="after")
    def _ordered(self) -> MedianRangeDist:
        if not self.min < self.median < self.max:
            raise ValueError(
                "`min < median < max` must hold, but got "
                f"(min={self.min}, median={self.median}, max={self.max})"
            )
        return self


class BetaDist(_Base):
    """Mean ± SD of a bounded quantity (a percentage such as Ki-67): a scaled beta."""

    dist: Literal["beta"]
    mean: Printed
    sd: Printed = Field(gt=0.0)
    share_above: ShareAbove | None = None

    @model_validator(mode="after")
    def _possible_share(self) -> BetaDist:
        _check_share(self.mean, self.sd, self.share_above)
        return self


PositivePart = Annotated[
    NormalDist | QuartilesDist | BetaDist, Field(discriminator="dist")
]


class ZeroInflatedDist(_Base):
    """A point mass at zero plus a positive part, e.g. PD-L1 TPS (most NEC are < 1%)."""

    dist: Literal["zero_inflated"]
    zero_percent: Percent
    positive: PositivePart
    positive_bounds: tuple[float, float] | None = None


class BernoulliDist(_Base):
    """n (%) of a yes/no variable."""

    dist: Literal["bernoulli"]
    percent: Percent
    count: StrictInt | None = Field(default=None, ge=0)


class CategoricalDist(_Base):
    """n (%) per level. Shares must sum to ~100% (rounding), missingness included.

    ``source`` covers every level; ``level_sources`` overrides it for the levels it names, for a
    block where some levels are printed and others assumed, e.g. ECOG with only ``0-1`` printed:
    ``source: "002 Table 2 (ECOG 0-1 = 88.2%; 2 = the complement)"`` and
    ``level_sources: {"0": "assumed: ...", "1": "assumed: ..."}``. Keys must be levels (or
    ``not available`` when ``missing_percent > 0``).
    """

    dist: Literal["categorical"]
    levels: dict[str, Percent] = Field(min_length=1)
    level_sources: dict[str, Source] = Field(default_factory=dict, exclude_if=lambda v: not v)

    @model_validator(mode="after")
    def _known_level_sources(self) -> CategoricalDist:
        check_level_sources(self.levels, self.level_sources, self.missing_percent)
        return self

    @model_validator(mode="after")
    def _sums_to_100(self) -> CategoricalDist:
        total = sum(self.levels.values()) + self.missing_percent
        if abs(total - 100.0) > 1.5:
            raise ValueError(
                "level shares plus `missing_percent` must sum to 100 (+/- 1.5 for rounding), "
                f"but got {total:.2f}"
            )
        return self


ContinuousDist = Annotated[
    NormalDist | QuartilesDist | MedianRangeDist | BetaDist | ZeroInflatedDist,
    Field(discriminator="dist"),
]

Distribution = Annotated[
    NormalDist
    | QuartilesDist
    | MedianRangeDist
    | BetaDist
    | ZeroInflatedDist
    | BernoulliDist
    | CategoricalDist,
    Field(discriminator="dist"),
]
