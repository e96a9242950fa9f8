"""How a specification shapes the joint PFS/OS model: baselines and deaths without progression."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from necml.spec._provenance import Source

__all__ = ["DEFAULT_DEATH_SHARE", "DEFAULT_DEATH_SHARE_SOURCE", "BaselineSpec", "DeathShare", "Imbalance"]

#: Share of PFS events that are deaths without progression when a spec does not say.
DEFAULT_DEATH_SHARE = 0.10
DEFAULT_DEATH_SHARE_SOURCE = (
    "assumed: no seed paper reports how PFS events split into progressions and deaths; deaths "
    "without documented progression are a small minority of PFS events in first-line trials of "
    "advanced lung cancer; 10% taken, a study can vary it"
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BaselineSpec(_Frozen):
    """The baseline hazard family of an endpoint's transition.

    For PFS it is the hazard of leaving the progression-free state; for OS the clock-forward
    hazard of death after progression. ``weibull`` (two parameters; ``shape`` fixes the shape,
    as an effect-scaled variant keeps the published calibration's) or
    ``piecewise_exponential`` (one rate per interval between ``knots``, in months).
    """

    family: Literal["weibull", "piecewise_exponential"] = "weibull"
    knots: list[float] = Field(default_factory=list)
    shape: float | None = Field(default=None, gt=0.0)
    source: Source = "assumed: a Weibull baseline unless the printed targets need more"

    @model_validator(mode="after")
    def _consistent(self) -> BaselineSpec:
        if self.family == "piecewise_exponential":
            if not self.knots:
                raise ValueError("`family: piecewise_exponential` needs `knots` (months), e.g. [6, 12]")
            if any(k <= 0 for k in self.knots) or sorted(set(self.knots)) != list(self.knots):
                raise ValueError(f"`knots` must be positive and increasing, got {self.knots}")
            if self.shape is not None:
                raise ValueError("`shape` applies to `family: weibull` only")
        elif self.knots:
            raise ValueError("`knots` applies to `family: piecewise_exponential` only")
        return self


class DeathShare(_Frozen):
    """Share of PFS events that are deaths without progression (same for every patient)."""

    share: float = Field(ge=0.0, lt=1.0)
    source: Source


class Imbalance(_Frozen):
    """An assumed covariate imbalance between arms, sized so the unadjusted HRs hold.

    The latent normal scores of ``variables`` are shifted in ``arm`` (one shift per variable),
    solved so that an arm-only Cox fit returns each endpoint's printed unadjusted treatment HR
    while the conditional (adjusted) HRs stay as printed.
    """

    arm: str
    variables: list[str] = Field(min_length=1)
    source: Source
    shifts: dict[str, float] | None = Field(
        default=None, description="fixed latent shifts (SD units) instead of solving them; set by variants"
    )
