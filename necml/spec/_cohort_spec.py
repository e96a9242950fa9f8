"""The cohort specification: what a paper prints, per treatment arm, with provenance."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from necml.spec._departures import Departure
from necml.spec._distributions import (
    BernoulliDist,
    CategoricalDist,
    Distribution,
    Percent,
)
from necml.spec._km import KMFigure
from necml.spec._outcome_model import BaselineSpec, DeathShare, Imbalance
from necml.spec._provenance import Source
from necml.spec._published import Total, UnivariateEffect, check_published, check_total, variable_levels
from necml.spec._term import Term

__all__ = [
    "Arm",
    "Departure",
    "CohortSpec",
    "Conflict",
    "Correlation",
    "Dependence",
    "Effect",
    "EndpointSpec",
    "FollowUp",
    "Landmark",
    "MedianTarget",
    "ReferenceRange",
    "ResponseSpec",
    "Term",
    "TreatmentEffect",
    "Variable",
]

CONTRACT_VARIABLES: tuple[str, ...] = ("age", "sex", "ecog", "nlr", "ldh", "tmb", "pdl1_tps")
RESPONSE_LEVELS: tuple[str, ...] = ("CR", "PR", "SD", "PD", "NE")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Arm(_Frozen):
    """A treatment arm: its label, its published size and whether it is the control."""

    label: str
    n: StrictInt = Field(gt=0)
    control: bool = False
    source: Source


class ReferenceRange(_Frozen):
    """A laboratory reference range; ``uln`` defines ``<variable>_gt_uln`` flags."""

    lln: float | None = None
    uln: float
    source: Source


class Variable(_Frozen):
    """One baseline variable: its kind, bounds and per-arm distributions."""

    kind: Literal["continuous", "binary", "categorical", "ordinal"]
    unit: str | None = None
    description: str | None = None
    bounds: tuple[float, float] | None = None
    bounds_source: Source | None = None
    reference_range: ReferenceRange | None = None
    arms: dict[str, Distribution] = Field(min_length=1)
    #: the baseline table's Total column (all arms), a fidelity target; see necml.spec._published
    totals: Total | None = Field(default=None, exclude_if=lambda v: v is None)

    @model_validator(mode="after")
    def _totals_fit(self) -> Variable:
        if self.totals is not None:
            check_total(self.kind, variable_levels(self), self.totals)
        return self

    @model_validator(mode="after")
    def _consistent(self) -> Variable:
        if self.bounds is not None:
            if not self.bounds[0] < self.bounds[1]:
                raise ValueError(f"bounds must be (low, high) with low < high, got {self.bounds}")
            if self.bounds_source is None:
                raise ValueError("bounds need a `bounds_source`")
        for arm, dist in self.arms.items():
            if self.kind == "binary" and not isinstance(dist, BernoulliDist):
                raise ValueError(f"arms.{arm}: a binary variable needs `dist: bernoulli`")
            if self.kind in ("categorical", "ordinal") and not isinstance(dist, CategoricalDist):
                raise ValueError(f"arms.{arm}: a {self.kind} variable needs `dist: categorical`")
            if self.kind == "continuous" and isinstance(dist, BernoulliDist | CategoricalDist):
                raise ValueError(f"arms.{arm}: a continuous variable cannot use `{dist.dist}`")
            if self.kind == "ordinal":
                bad = [lv for lv in dist.levels if not lv.lstrip("-").isdigit()]
                if bad:
                    raise ValueError(f"arms.{arm}: ordinal levels must be integers, got {bad}")
        return self


class Correlation(_Frozen):
    """A rank (Spearman) correlation between two variables' latent scores."""

    between: tuple[str, str]
    rho: float = Field(ge=-1.0, le=1.0)
    source: Source


class Dependence(_Frozen):
    """Covariate dependence: a Gaussian copula with the listed rank correlations."""

    method: Literal["gaussian_copula"] = "gaussian_copula"
    rank_correlations: list[Correlation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct_pairs(self) -> Dependence:
        seen: dict[frozenset[str], int] = {}
        for i, corr in enumerate(self.rank_correlations):
            a, b = corr.between
            if a == b:
                raise ValueError(
                    f"rank_correlations.{i}.between: a variable cannot be correlated with itself, got [{a}, {b}]"
                )
            pair = frozenset(corr.between)
            if pair in seen:
                raise ValueError(
                    f"rank_correlations.{i}.between: the pair [{a}, {b}] is already given in "
                    f"rank_correlations.{seen[pair]}; give each pair once"
                )
            seen[pair] = i
        return self


#: The largest (and 1 / the smallest) hazard ratio a spec may state; 1e300 or inf is a typo.
MAX_HR = 1000.0
#: The largest calibration sample (about 2 KB of memory per patient).
MAX_CALIBRATION_N = 2_000_000


class _Ratio(_Frozen):
    hr: float = Field(gt=1 / MAX_HR, le=MAX_HR)
    ci: tuple[float, float] | None = None
    p: float | None = Field(default=None, ge=0.0, le=1.0)
    source: Source
    note: str | None = None

    @model_validator(mode="after")
    def _ci_contains(self) -> _Ratio:
        if self.ci is not None and not (0 < self.ci[0] <= self.hr <= self.ci[1]):
            raise ValueError(
                f"`0 < ci_low <= hr <= ci_high` must hold, but got (ci={self.ci}, hr={self.hr})"
            )
        return self


class Effect(_Ratio):
    """A conditional (adjusted) hazard ratio of a prognostic factor, from a multivariate Cox."""

    term: Term


class UnadjustedRatio(_Ratio):
    """A treatment hazard ratio from an arm-only Cox model or a Kaplan-Meier comparison."""


class TreatmentEffect(_Ratio):
    """The adjusted hazard ratio of each experimental arm against the control arm.

    ``unadjusted`` is the arm-only HR the paper prints beside it, if any; the generator meets
    it through the spec's ``imbalance``.
    """

    unadjusted: UnadjustedRatio | None = None


class Landmark(_Frozen):
    """A survival rate at a landmark time, e.g. 1-year OS 54.5%."""

    time: float = Field(gt=0.0)
    percent: Percent
    source: Source
    target: bool = Field(
        default=True, description="calibrate to it (false: only checked, e.g. a conflicting printed value)"
    )


class MedianTarget(_Frozen):
    """An arm's published median survival with its 95% CI, and its landmark rates."""

    median: float = Field(gt=0.0)
    ci: tuple[float, float] | None = None
    ci_kind: Literal["ci95", "range"] = "ci95"
    source: Source
    landmarks: list[Landmark] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ci_contains(self) -> MedianTarget:
        if self.ci is not None and not (self.ci[0] <= self.median <= self.ci[1]):
            raise ValueError(
                "`ci_low <= median <= ci_high` must hold, but got "
                f"(ci={self.ci}, median={self.median})"
            )
        return self


class EndpointSpec(_Frozen):
    """One endpoint (PFS or OS): medians per arm, treatment HR and prognostic HRs."""

    arms: dict[str, MedianTarget] = Field(min_length=1)
    treatment: dict[str, TreatmentEffect] = Field(default_factory=dict)
    effects: list[Effect] = Field(default_factory=list)
    #: univariate Cox HRs (one term, all patients): fidelity targets only; see necml.spec._published
    univariate: list[UnivariateEffect] = Field(default_factory=list, exclude_if=lambda v: not v)
    shape_bounds: tuple[float, float] = (0.5, 3.0)
    shape_bounds_source: Source = (
        "assumed: Weibull shapes outside 0.5-3 are implausible for advanced-cancer survival"
    )
    baseline: BaselineSpec = Field(default_factory=BaselineSpec)
    deaths_without_progression: DeathShare | None = Field(
        default=None, description="PFS only: share of PFS events that are deaths without progression"
    )


class FollowUp(_Frozen):
    """Accrual window, data cut-off and median follow-up, for censoring."""

    accrual_start: dt.date
    accrual_end: dt.date
    cutoff: dt.date
    source: Source
    #: the cut-off's own source where it differs from ``source`` (e.g. an assumed cut-off)
    cutoff_source: Source | None = Field(default=None, exclude_if=lambda v: v is None)
    median_follow_up: float | None = Field(default=None, gt=0.0)
    median_follow_up_source: Source | None = None
    dropout: Literal["none", "calibrate"] | float = "none"
    dropout_source: Source | None = None
    time_scale: float = Field(
        default=1.0, gt=0.0, exclude_if=lambda v: v == 1.0,
        description="multiplies every censoring time (> 1: longer follow-up than published); for scenarios",
    )
    uncensored: bool = Field(
        default=False, exclude_if=lambda v: not v, description="no censoring at all; for scenarios"
    )

    @model_validator(mode="after")
    def _ordered(self) -> FollowUp:
        if not self.accrual_start < self.accrual_end <= self.cutoff:
            raise ValueError(
                "`accrual_start < accrual_end <= cutoff` must hold, but got "
                f"({self.accrual_start}, {self.accrual_end}, {self.cutoff})"
            )
        if self.dropout == "calibrate" and self.median_follow_up is None:
            raise ValueError("`dropout: calibrate` needs `median_follow_up`")
        if isinstance(self.dropout, float) and self.dropout < 0:
            raise ValueError(f"a dropout hazard must be >= 0, got {self.dropout}")
        return self


class ResponseSpec(_Frozen):
    """Best-overall-response shares per arm, and how response tracks PFS."""

    arms: dict[str, CategoricalDist]
    pfs_correlation: float = Field(default=0.5, ge=0.0, le=1.0)
    pfs_correlation_source: Source = (
        "assumed: responders progress later; no paper reports the association"
    )

    @model_validator(mode="after")
    def _known_levels(self) -> ResponseSpec:
        for arm, dist in self.arms.items():
            unknown = set(dist.levels) - set(RESPONSE_LEVELS)
            if unknown:
                raise ValueError(f"arms.{arm}: response levels must be {RESPONSE_LEVELS}")
        return self


class Conflict(_Frozen):
    """A contradiction inside a paper, recorded rather than silently resolved."""

    field: str
    description: str
    values: list[str] = Field(min_length=2)
    resolution: str


class CohortSpec(_Frozen):
    """A validated cohort specification.

    Load one with :func:`necml.spec.load_spec`. All numbers carry provenance.
    """

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str = Field(max_length=2000)
    seed_file: str
    time_unit: Literal["months"] = "months"
    arms: dict[str, Arm] = Field(min_length=1)
    variables: dict[str, Variable]
    dependence: Dependence = Field(default_factory=Dependence)
    outcomes: dict[Literal["pfs", "os"], EndpointSpec]
    follow_up: FollowUp
    response: ResponseSpec | None = None
    conflicts: list[Conflict] = Field(default_factory=list, max_length=10_000)
    calibration_seed: StrictInt = Field(default=20250101, ge=0)
    calibration_n: StrictInt = Field(
        default=40000, ge=1000, le=MAX_CALIBRATION_N,
        description="calibration sample size; about 2 KB of memory per patient",
    )
    departures: list[Departure] = Field(default_factory=list, exclude_if=lambda v: not v)
    imbalance: Imbalance | None = Field(default=None, exclude_if=lambda v: v is None)
    #: digitised Kaplan-Meier figures (endpoint -> arm -> figure); see necml.spec._km
    km: dict[Literal["pfs", "os"], dict[str, KMFigure]] = Field(default_factory=dict, exclude_if=lambda v: not v)

    @model_validator(mode="after")
    def _km_arms(self) -> CohortSpec:
        for ep, figures in self.km.items():
            for arm, fig in figures.items():
                if arm not in self.arms:
                    raise ValueError(f"km.{ep}.{arm}: unknown arm; the arms are {sorted(self.arms)}")
                if fig.at_risk[0][1] != self.arms[arm].n:
                    raise ValueError(f"km.{ep}.{arm}.at_risk[0]: `at risk at time 0 == arms.{arm}.n` must hold, "
                                     f"but got ({fig.at_risk[0][1]}, {self.arms[arm].n})")
        return self

    @model_validator(mode="after")
    def _published_extras(self) -> CohortSpec:
        check_published(self)
        return self

    @model_validator(mode="after")
    def _cross_references(self) -> CohortSpec:  # noqa: C901 - one flat list of checks
        arms = set(self.arms)
        controls = [a for a, arm in self.arms.items() if arm.control]
        if len(controls) != 1:
            raise ValueError(f"exactly one arm must be `control: true`, got {controls}")
        missing = [v for v in CONTRACT_VARIABLES if v not in self.variables]
        if missing:
            raise ValueError(f"variables: the column contract needs {missing}")
        for name, var in self.variables.items():
            if set(var.arms) != arms:
                raise ValueError(f"variables.{name}.arms must name every arm {sorted(arms)}")
        for corr in self.dependence.rank_correlations:
            for v in corr.between:
                if v not in self.variables:
                    raise ValueError(f"dependence: unknown variable {v!r}")
        if set(self.outcomes) != {"pfs", "os"}:
            raise ValueError("outcomes must give both `pfs` and `os`")
        for ep, spec in self.outcomes.items():
            if set(spec.arms) != arms:
                raise ValueError(f"outcomes.{ep}.arms must name every arm {sorted(arms)}")
            if set(spec.treatment) - (arms - set(controls)):
                raise ValueError(f"outcomes.{ep}.treatment must name experimental arms only")
            for i, eff in enumerate(spec.effects):
                self._check_term(f"outcomes.{ep}.effects.{i}.term", eff.term)
        if self.response is not None and set(self.response.arms) != arms:
            raise ValueError(f"response.arms must name every arm {sorted(arms)}")
        for arm in self.arms:
            pfs, os_ = self.outcomes["pfs"].arms[arm].median, self.outcomes["os"].arms[arm].median
            if pfs > os_:
                raise ValueError(
                    f"outcomes.pfs.arms.{arm}.median: `median PFS <= median OS` must hold (PFS ends at death "
                    f"at the latest), but got (pfs={pfs}, os={os_})"
                )
        self._check_counts()
        self._check_departures(arms - set(controls))
        self._check_outcome_model(arms - set(controls))
        return self

    def _check_outcome_model(self, experimental: set[str]) -> None:
        if self.outcomes["os"].deaths_without_progression is not None:
            raise ValueError(
                "outcomes.os.deaths_without_progression: give it under outcomes.pfs (a share of PFS events)"
            )
        if self.imbalance is None:
            return
        if self.imbalance.arm not in experimental:
            raise ValueError(f"imbalance.arm: {self.imbalance.arm!r} is not an experimental arm {sorted(experimental)}")
        for v in self.imbalance.variables:
            if v not in self.variables:
                raise ValueError(f"imbalance.variables: unknown variable {v!r}")
        if self.imbalance.shifts is not None:
            if set(self.imbalance.shifts) != set(self.imbalance.variables):
                raise ValueError("imbalance.shifts: give one shift per variable of imbalance.variables")
        elif not any(t.unadjusted is not None for ep in self.outcomes.values() for t in ep.treatment.values()):
            raise ValueError(
                "imbalance: needs an `unadjusted` treatment HR to size it (outcomes.*.treatment.*.unadjusted)"
            )

    def _check_counts(self) -> None:
        """A printed count must match its percentage of the arm (or of its non-missing patients)."""
        for name, var in self.variables.items():
            for arm, dist in var.arms.items():
                n = self.arms[arm].n
                found = [(f"variables.{name}.arms.{arm}", getattr(dist, "count", None), getattr(dist, "percent", 0.0))]
                share = getattr(dist, "share_above", None)
                if share is not None:
                    found.append((f"variables.{name}.arms.{arm}.share_above", share.count, share.percent))
                for path, count, percent in found:
                    if count is None:
                        continue
                    observed = n * (1 - dist.missing_percent / 100)
                    if count > n or min(abs(100 * count / d - percent) for d in (n, max(observed, 1))) > 1.0:
                        raise ValueError(
                            f"{path}.count: `count / n` must match `percent` (to 1 point), but got "
                            f"(count={count}, n={n}, {100 * count / n:.1f}% against percent={percent})"
                        )

    def _check_departures(self, experimental: set[str]) -> None:
        delayed: list[str] = []
        for i, dep in enumerate(self.departures):
            path = f"departures.{i}"
            if dep.kind == "nonlinear":
                var = self.variables.get(dep.variable)
                if var is None or var.kind != "continuous":
                    raise ValueError(f"{path}.variable: {dep.variable!r} is not a continuous variable of the spec")
                if dep.log and var.bounds is not None and var.bounds[0] < 0:
                    raise ValueError(f"{path}.log: {dep.variable!r} can be negative; set `log: false`")
                continue
            if dep.arm not in experimental:
                raise ValueError(f"{path}.arm: {dep.arm!r} is not an experimental arm {sorted(experimental)}")
            if dep.kind == "interaction":
                self._check_term(f"{path}.term", dep.term)
            elif dep.arm in delayed:
                raise ValueError(f"{path}: arm {dep.arm!r} has more than one delayed effect")
            else:
                delayed.append(dep.arm)

    def _check_term(self, path: str, term: Term) -> None:
        var = self.variables.get(term.variable)
        if var is None:
            raise ValueError(f"{path}: unknown variable {term.variable!r}")
        if term.above_uln and var.reference_range is None:
            raise ValueError(f"{path}: `above_uln` needs variables.{term.variable}.reference_range")
        no_contrast = all(
            getattr(term, k) is None for k in ("per", "level", "above", "at_least", "above_uln")
        )
        if no_contrast and var.kind != "binary":
            raise ValueError(f"{path}: a {var.kind} variable needs a contrast (per/level/...)")
        if term.level is not None and var.kind not in ("categorical", "ordinal"):
            raise ValueError(f"{path}: `level` applies to categorical variables only")

    @property
    def control_arm(self) -> str:
        """Name of the control arm."""
        return next(a for a, arm in self.arms.items() if arm.control)

    @property
    def arm_names(self) -> list[str]:
        """Arm names, control first."""
        return [self.control_arm] + [a for a in self.arms if a != self.control_arm]
