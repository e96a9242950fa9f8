"""Study specification (``configs/studies/*.yaml``), the ADEMP way.

Aims (free text); Data-generating mechanisms (a cohort spec, an endpoint and a grid of sample
sizes, effect scalings, censoring levels and departures from the analysis model); Estimands
(the spec's true conditional log hazard ratios, named by term, e.g. ``ecog_ge_2``,
``nlr_gt_3``, ``arm_ici_chemo``; and each predictive model's true C-index on a large
independent sample); Methods (Cox analyses and models of the zoo); Performance measures
(computed for every method and estimand, see :mod:`necml.simulation._performance`). The number
of replicates is given, or derived from a target Monte-Carlo SE.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from necml.spec import Departure

__all__ = ["MethodConfig", "Mechanism", "StudyConfig", "TargetMcse", "load_study"]

PositiveTime = Annotated[float, Field(gt=0)]
#: The most replicates per scenario a study may ask for.
MAX_REPLICATES = 1_000_000
_FROZEN = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Mechanism(BaseModel):
    """The data-generating mechanisms: one cohort spec, varied over a grid.

    The grid crosses ``n``, ``effect_scale``, ``censoring`` (``published``, ``none`` or a target
    censored share of the endpoint in (0, 1)) and the departures: ``none`` (the spec as it is)
    and each named entry of ``departures``, a list of departures from the analysis model
    (:mod:`necml.spec._departures`) added to the spec.
    """

    model_config = _FROZEN
    spec: str
    endpoint: Literal["pfs", "os"] = "os"
    n: list[StrictInt] = Field(min_length=1)
    effect_scale: list[float] = Field(default_factory=lambda: [1.0], min_length=1)
    censoring: list[Literal["published", "none"] | float] = Field(
        default_factory=lambda: ["published"], min_length=1, exclude_if=lambda v: v == ["published"]
    )
    departures: dict[str, list[Departure]] = Field(default_factory=dict, exclude_if=lambda v: not v)
    true_c_n: StrictInt = Field(default=20000, ge=1000, description="size of the sample for true C-indices")

    @model_validator(mode="after")
    def _sizes(self) -> Mechanism:
        if any(n < 10 for n in self.n):
            raise ValueError(f"every n must be >= 10, got {self.n}")
        if any(n > 1_000_000 for n in self.n):
            raise ValueError(f"every n must be <= 1000000 (about 4 KB of memory per patient), got {self.n}")
        if any(s < 0 for s in self.effect_scale):
            raise ValueError(f"effect scales must be >= 0, got {self.effect_scale}")
        shares = [c for c in self.censoring if not isinstance(c, str)]
        if any(not 0 < c < 1 for c in shares):
            raise ValueError(f"a censoring level is 'published', 'none' or a share in (0, 1), got {self.censoring}")
        for name, listed in self.departures.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or name == "none":
                raise ValueError(f"departures: {name!r} must be lower-case letters, digits and _, and not 'none'")
            if not listed:
                raise ValueError(f"departures.{name}: list at least one departure")
        return self

    @property
    def departure_names(self) -> list[str]:
        """``none`` and the named departures, in order."""
        return ["none", *self.departures]


class MethodConfig(BaseModel):
    """A method: a Cox analysis, a model of the zoo, or a Python callable.

    ``cox``: one multivariate Cox model on ``terms`` (all the spec's terms and the treatment
    when omitted), ridge-penalised with ``penalizer`` > 0. ``cox_univariate``: one Cox model per
    term. ``model``: a zoo model (``config``), validated by ``folds``-fold CV inside the
    replicate, tuned with ``n_trials``. ``python``: ``callable`` = ``"module:function"`` taking
    ``(frame, mechanism, seed)`` and returning rows (dicts with ``estimand``, ``estimate``, ...).
    ``cox_firth``: the multivariate model fitted by Firth's penalised likelihood (Heinze &
    Schemper 2001; Breslow ties), profile-likelihood CIs (``ci: pl``, or Wald: ``ci: wald``) and
    likelihood-ratio p-values. ``drop_constant`` (``cox``, ``cox_firth``): the analyst's rule for
    a covariate constant in the replicate: drop the term (recorded in the row's ``note``) and fit
    the others; without it the pre-specified model cannot be fitted and the replicate fails with
    reason ``constant column``.
    """

    model_config = _FROZEN
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["cox", "cox_univariate", "cox_firth", "model", "python"]
    terms: list[str] | None = None
    penalizer: float = Field(default=0.0, ge=0)
    drop_constant: bool = Field(default=False, exclude_if=lambda v: not v)
    ci: Literal["pl", "wald"] = Field(default="pl", exclude_if=lambda v: v == "pl")
    config: str | None = None
    n_trials: StrictInt = Field(default=0, ge=0)
    folds: StrictInt = Field(default=5, ge=2)
    callable: str | None = None

    @model_validator(mode="after")
    def _needs(self) -> MethodConfig:
        if self.kind == "model" and not self.config:
            raise ValueError("a 'model' method needs `config` (configs/models/*.yaml)")
        if self.kind == "python" and (not self.callable or ":" not in self.callable):
            raise ValueError("a 'python' method needs `callable: module:function`")
        return self


class TargetMcse(BaseModel):
    """Derive the replicates from a target Monte-Carlo SE of a proportion."""

    model_config = _FROZEN
    measure: Literal["coverage", "power"]
    mcse: float = Field(gt=0, lt=0.5)

    def replicates(self) -> int:
        """Coverage assumes 95% (MCSE = sqrt(0.95 x 0.05 / R)); power the worst case, 50%.

        Examples
        --------
        >>> TargetMcse(measure="coverage", mcse=0.005).replicates()
        1900
        """
        p = 0.95 if self.measure == "coverage" else 0.5
        return math.ceil(round(p * (1 - p) / self.mcse**2, 9))


class StudyConfig(BaseModel):
    """A simulation study (see the module docstring)."""

    model_config = _FROZEN
    # the name becomes the folder out/<name>: one safe path component, never "." or ".."
    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
    aims: str = Field(max_length=100_000)
    seed: StrictInt = Field(default=0, ge=0)
    replicates: StrictInt | None = Field(default=None, ge=2)
    target: TargetMcse | None = None
    alpha: float = Field(default=0.05, gt=0, lt=1)
    data: Mechanism
    estimands: list[str] | None = Field(default=None, description="terms to report; default all")
    methods: list[MethodConfig] = Field(min_length=1)
    landmarks: list[PositiveTime] = Field(default_factory=lambda: [6.0, 12.0])
    tau: float = Field(default=12.0, gt=0)
    reference: str | None = Field(
        default=None, exclude_if=lambda v: v is None, description="method for the relative precision of the others"
    )

    @model_validator(mode="after")
    def _replicates(self) -> StudyConfig:
        if (self.replicates is None) == (self.target is None):
            raise ValueError("give exactly one of `replicates` and `target`")
        names = [m.name for m in self.methods]
        if len(set(names)) != len(names):
            raise ValueError(f"method names must be unique, got {names}")
        if self.reference is not None and self.reference not in names:
            raise ValueError(f"reference: {self.reference!r} is not one of the methods {names}")
        if self.n_replicates > MAX_REPLICATES:
            given = f"target.mcse: {self.target.mcse:g}" if self.target else f"replicates: {self.replicates}"
            raise ValueError(
                f"{given} means {self.n_replicates:.3g} replicates per scenario; at most {MAX_REPLICATES:,} "
                "(about 4 KB of memory and store each)"
            )
        return self

    @property
    def n_replicates(self) -> int:
        return self.replicates if self.replicates is not None else self.target.replicates()  # type: ignore[union-attr]


def load_study(path: str | Path) -> StudyConfig:
    """Load ``configs/studies/<name>.yaml``; errors name the file and the dotted field."""
    from necml.config import load_config

    return load_config(path, StudyConfig, what="study config")
