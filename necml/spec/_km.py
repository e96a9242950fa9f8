"""The optional ``km:`` block of a cohort spec: digitised Kaplan-Meier figures, per endpoint and arm.

```yaml
km:
  os:
    chemo:
      points: [[0, 1.0], [2.1, 0.94], [2.1, 0.88], ...]   # digitised (time, survival)
      at_risk: [[0, 17], [6, 12], [12, 7], [18, 3]]       # the numbers-at-risk table
      total_events: 12                                    # when printed
      source: "002 Figure 2B"
      digitiser: "A. Reader"
      tool: "WebPlotDigitizer 4.7"
```

Checked here: times >= 0, survival in [0, 1] (or percentages up to 100), a curve that rises by
more than the digitising tolerance (0.05) is refused, at-risk times increase from 0 and their
counts never grow; the cohort spec checks that the arms exist and that the first count is the
arm's size. The reconstruction (Guyot et al. 2012) is :func:`necml.km.reconstruct_ipd`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from necml.spec._provenance import Source

__all__ = ["KMFigure", "RISE_TOLERANCE"]

#: A rise of a digitised curve up to this is digitising noise (repaired by the reconstruction).
RISE_TOLERANCE = 0.05


class KMFigure(BaseModel):
    """One arm's digitised Kaplan-Meier curve, its numbers at risk and where they come from."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
    points: list[tuple[float, float]] = Field(min_length=2)
    at_risk: list[tuple[float, StrictInt]] = Field(min_length=1)
    total_events: StrictInt | None = Field(default=None, ge=0)
    source: Source
    digitiser: str = Field(min_length=1)
    tool: str = Field(min_length=1)

    @property
    def survival_scale(self) -> float:
        """1 when survival is a proportion, 100 when the figure prints percentages."""
        return 100.0 if max(s for _, s in self.points) > 1 + RISE_TOLERANCE else 1.0

    @model_validator(mode="after")
    def _check(self) -> KMFigure:
        scale = self.survival_scale
        floor, previous = 1.0, -1.0
        for i, (t, s) in enumerate(self.points):
            if t < 0 or not 0 <= s / scale <= 1:
                raise ValueError(f"points[{i}]: a point must have time >= 0 and survival in [0, 1], but got ({t}, {s})")
            if t < previous:
                raise ValueError(f"points[{i}]: times must not decrease, but {t} follows {previous}")
            if s / scale > floor + RISE_TOLERANCE:
                raise ValueError(f"points[{i}]: a Kaplan-Meier curve cannot increase, but it rises to {s} at time {t} "
                                 f"from {floor * scale:g} (more than the digitising tolerance {RISE_TOLERANCE})")
            floor, previous = min(floor, s / scale), t
        if self.at_risk[0][0] != 0:
            raise ValueError(f"at_risk[0]: the table must start at time 0, but got {self.at_risk[0][0]}")
        for i in range(1, len(self.at_risk)):
            (t0, n0), (t1, n1) = self.at_risk[i - 1], self.at_risk[i]
            if t1 <= t0:
                raise ValueError(f"at_risk[{i}]: times must increase, but {t1} follows {t0}")
            if n1 > n0 or n1 < 0:
                raise ValueError(f"at_risk[{i}]: numbers at risk cannot grow, but {n1} at time {t1} "
                                 f"follows {n0} at {t0}")
        if self.total_events is not None and self.total_events > self.at_risk[0][1]:
            raise ValueError(f"total_events: at most the {self.at_risk[0][1]} patients at risk at time 0, "
                             f"but got {self.total_events}")
        return self
