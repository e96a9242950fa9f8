"""A model term: one variable and its contrast (``ecog >= 2``, ``nlr > 3``, ``age per 10``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Term"]


class Term(BaseModel):
    """A model term built from one variable; at most one contrast key is set.

    ``per``: a continuous effect per ``per`` units; ``level``: that level vs all others;
    ``above``: ``value > above``; ``at_least``: ``value >= at_least``; ``above_uln``:
    ``value >`` the variable's reference ULN. None set: a binary variable's ``True``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    variable: str
    per: float | None = Field(default=None, gt=0.0)
    level: str | None = None
    above: float | None = None
    at_least: float | None = None
    above_uln: bool | None = None

    @model_validator(mode="after")
    def _one_contrast(self) -> Term:
        keys = [k for k in ("per", "level", "above", "at_least", "above_uln")
                if getattr(self, k) is not None]
        if len(keys) > 1:
            raise ValueError(f"a term takes at most one contrast, but got {keys}")
        return self

    @property
    def name(self) -> str:
        """A column-safe name for the term, e.g. ``ecog_ge_2`` or ``ldh_gt_uln``."""
        v = self.variable
        if self.per is not None:
            return v if self.per == 1 else f"{v}_per_{self.per:g}"
        if self.level is not None:
            return f"{v}_{self.level}"
        if self.above is not None:
            return f"{v}_gt_{self.above:g}"
        if self.at_least is not None:
            return f"{v}_ge_{self.at_least:g}"
        if self.above_uln:
            return f"{v}_gt_uln"
        return v
