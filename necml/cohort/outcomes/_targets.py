"""What the calibration aims at: every printed median and landmark rate, with its standard error.

A residual is ``(model - published) / se``: on the log scale for a median, on the probability
scale for a landmark rate. Standard errors (docs/conventions.md, "Cohort calibration"):

* median with a 95% CI: ``(log hi - log lo) / (2 x 1.96)`` (a KM median CI is symmetric on the
  log scale to first order);
* median without a CI (or with a range): ``1 / sqrt(n_arm)``, the exponential approximation
  ``se(log median) = 1 / sqrt(events)`` with every patient an event, stated as a default;
* landmark rate ``S``: the binomial ``sqrt(S (1 - S) / n_arm)`` with ``S`` kept within
  ``[0.5 / n_arm, 1 - 0.5 / n_arm]`` (so a printed 0% or 100% still has a finite weight).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from necml.spec import CohortSpec

__all__ = ["Target", "TargetCheck", "targets_of"]

Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One printed number the baselines are calibrated to (or only checked against)."""

    endpoint: str
    what: str  # "median" or "landmark"
    arm: str
    time: float | None
    published: float
    se: float
    se_source: str
    source: str
    targeted: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetCheck:
    """A target next to the calibrated model's value."""

    endpoint: str
    what: str
    arm: str
    time: float | None
    published: float
    model: float
    se: float
    source: str
    targeted: bool

    @property
    def relative_error(self) -> float:
        return (self.model - self.published) / self.published

    @property
    def residual_se(self) -> float:
        """``(model - published) / se`` on the target's scale (log for medians)."""
        if self.what == "median":
            return float((np.log(self.model) - np.log(self.published)) / self.se)
        return float((self.model - self.published) / self.se)


def targets_of(spec: CohortSpec, endpoint: str) -> list[Target]:
    """The endpoint's medians and landmark rates, per arm, with their standard errors."""
    out: list[Target] = []
    for arm, target in spec.outcomes[endpoint].arms.items():
        n = spec.arms[arm].n
        if target.ci is not None and target.ci_kind == "ci95":
            se = float((np.log(target.ci[1]) - np.log(target.ci[0])) / (2 * Z95))
            se_source = "from the printed 95% CI"
        else:
            se = float(1.0 / np.sqrt(n))
            se_source = "default 1/sqrt(n): no 95% CI printed"
        out.append(Target(
            endpoint=endpoint, what="median", arm=arm, time=None, published=target.median, se=se,
            se_source=se_source, source=target.source, targeted=True,
        ))
        for lm in target.landmarks:
            s = float(np.clip(lm.percent / 100.0, 0.5 / n, 1 - 0.5 / n))
            out.append(Target(
                endpoint=endpoint, what="landmark", arm=arm, time=lm.time, published=lm.percent / 100.0,
                se=float(np.sqrt(s * (1 - s) / n)), se_source="binomial at the arm's n", source=lm.source,
                targeted=lm.target,
            ))
    return out
