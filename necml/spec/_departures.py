"""Departures from the analysis model: assumed changes to a specification's mechanism.

A published Cox model assumes linear effects, no interactions and proportional hazards. A
simulation study asks what happens when the truth is otherwise, so a specification may list
``departures`` (each one an assumption with a source, usually ``"assumed: ..."``):

``nonlinear``
    The effect of a continuous ``variable`` becomes U-shaped: its log-hazard contribution is
    ``log_hr * z**2`` with ``z`` the variable (on the log scale when ``log``) standardised by
    its mean and SD in the calibration sample, so ``log_hr`` is the log-HR of a patient one SD
    from the centre against one at the centre. It replaces the specification's effects of that
    variable on the listed endpoints (a missing value contributes 0, the centre).
``interaction``
    The treatment effect of ``arm`` differs by a ``term`` (e.g. ``pdl1_tps >= 1``): patients
    with the term have the arm's hazard ratio multiplied by ``hr``.
``delayed_effect``
    The treatment (with its interactions) has no effect before ``delay`` months; from then on
    its log-HR is solved so that the arm's published medians still hold (non-proportional
    hazards, as in immunotherapy trials).

The baselines are re-calibrated to the published medians with the departures in place.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from necml.spec._provenance import Source
from necml.spec._term import Term

__all__ = ["DelayedEffect", "Departure", "NonlinearEffect", "TreatmentInteraction"]

Endpoints = list[Literal["pfs", "os"]]


class _Departure(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    endpoints: Endpoints = Field(default_factory=lambda: ["pfs", "os"], min_length=1)
    source: Source


class NonlinearEffect(_Departure):
    """A U-shaped effect of a continuous variable (see the module docstring)."""

    kind: Literal["nonlinear"]
    variable: str
    log_hr: float = Field(description="log-HR one SD from the centre against the centre")
    log: bool = True


class TreatmentInteraction(_Departure):
    """An arm's hazard ratio multiplied by ``hr`` in patients with ``term``."""

    kind: Literal["interaction"]
    arm: str
    term: Term
    hr: float = Field(gt=0.0)


class DelayedEffect(_Departure):
    """No treatment effect of ``arm`` before ``delay`` months."""

    kind: Literal["delayed_effect"]
    arm: str
    delay: float = Field(gt=0.0)


#: One departure, chosen by its ``kind``.
Departure = Annotated[NonlinearEffect | TreatmentInteraction | DelayedEffect, Field(discriminator="kind")]

