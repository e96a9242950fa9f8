"""What a paper prints beyond the per-arm blocks, and how a specification reads it.

Four pieces, each a fidelity target or a provenance label, never a generator input of its own:

* :data:`Printed`: a number that a spec may correct from a likely misprint. A plain number
  (``q3: 416``) is used as printed. ``q3: {value: 511, as_printed: 1511, source: "assumed: ..."}``
  uses ``value`` and keeps ``as_printed``: the validated field is a :class:`CorrectedValue`, a
  ``float`` equal to ``value`` (so every consumer, the generator included, reads ``511``) that
  also carries ``as_printed`` and ``source``; it dumps back to the mapping. The source must be
  ``assumed: <why>`` (the used value is not what the paper prints).
* per-level sources of a categorical distribution (:func:`check_level_sources`):
  ``level_sources: {"0": "assumed: ..."}`` labels the named levels; the distribution's
  ``source`` covers every other level.
* :class:`Total`: the Total (all patients) column of a baseline table for one variable
  (``variables.<name>.totals``), with its own source; reported as pooled fidelity rows.
* :class:`UnivariateEffect`: a univariate Cox HR of one term over all patients
  (``outcomes.<endpoint>.univariate``); reported against a univariate Cox fit of the cohort.

This module imports no other spec module but :mod:`._provenance` and :mod:`._term`, so the
distribution and cohort modules can import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

from necml.spec._provenance import Source, is_assumed
from necml.spec._term import Term

if TYPE_CHECKING:
    from necml.spec._cohort_spec import CohortSpec, Variable

__all__ = [
    "CorrectedValue",
    "Correction",
    "PooledShare",
    "Printed",
    "Total",
    "UnivariateEffect",
    "check_level_sources",
    "check_published",
    "check_total",
    "corrections",
    "level_source",
    "variable_levels",
]

_Percent = Annotated[float, Field(ge=0.0, le=100.0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class CorrectedValue(float):
    """A number used in place of what the paper prints: ``float(self)`` is the used value.

    Parameters
    ----------
    value : float
        The value the specification uses (the generator sees only this).
    as_printed : float
        What the paper prints.
    source : str
        Why the printed number is read as ``value`` (an ``assumed: ...`` source).
    """

    __slots__ = ("as_printed", "source")
    as_printed: float
    source: str

    def __new__(cls, value: float, as_printed: float, source: str) -> CorrectedValue:  # noqa: D102
        self = super().__new__(cls, value)
        object.__setattr__(self, "as_printed", float(as_printed))
        object.__setattr__(self, "source", source)
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a CorrectedValue is immutable (cannot set {name!r})")

    def __reduce__(self) -> tuple[type[CorrectedValue], tuple[float, float, str]]:
        return (CorrectedValue, (float(self), self.as_printed, self.source))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CorrectedValue):
            return (float(self) == float(other) and self.as_printed == other.as_printed
                    and self.source == other.source)
        return float.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = float.__hash__

    def __str__(self) -> str:
        return float.__repr__(self)

    def __repr__(self) -> str:
        return f"CorrectedValue({float(self)!r}, as_printed={self.as_printed!r}, source={self.source!r})"

    def to_dict(self) -> dict[str, float | str]:
        """The mapping a specification writes: ``{value, as_printed, source}``."""
        return {"value": float(self), "as_printed": self.as_printed, "source": self.source}


class Correction(_Frozen):
    """The mapping form of a corrected number: ``{value, as_printed, source}``."""

    value: float
    as_printed: float
    source: Source

    @model_validator(mode="after")
    def _a_real_correction(self) -> Correction:
        if self.value == self.as_printed:
            raise ValueError(
                f"`value` must differ from `as_printed` (both {self.value:g}); write the plain number instead"
            )
        if not is_assumed(self.source):
            raise ValueError(
                "the used value is not what the paper prints, so `source` must be "
                f"`assumed: <why the printed number is read so>`, but got {self.source!r}"
            )
        return self


def _parse_printed(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:  # noqa: ANN401
    """A plain number through the float schema; ``{value, as_printed, source}`` to a CorrectedValue."""
    if isinstance(value, CorrectedValue):
        return CorrectedValue(handler(float(value)), value.as_printed, value.source)
    if isinstance(value, Mapping):
        try:
            corr = Correction.model_validate(value)
        except ValidationError as exc:
            why = "; ".join(
                ("`" + ".".join(str(p) for p in err["loc"]) + "`: " if err["loc"] else "")
                + err["msg"].removeprefix("Value error, ")
                for err in exc.errors(include_url=False)
            )
            raise ValueError(
                f"a corrected number is `{{value: <used>, as_printed: <printed>, source: 'assumed: ...'}}`; {why}"
            ) from None
        return CorrectedValue(handler(corr.value), corr.as_printed, corr.source)
    return handler(value)


def _dump_printed(value: float) -> float | dict[str, float | str]:
    return value.to_dict() if isinstance(value, CorrectedValue) else value


#: A number as printed, or a corrected reading ``{value, as_printed, source}`` (see module doc).
Printed = Annotated[
    float,
    WrapValidator(_parse_printed),
    PlainSerializer(_dump_printed, when_used="always"),
]


def corrections(model: BaseModel) -> dict[str, CorrectedValue]:
    """The corrected fields of one model (top level only), by field name."""
    return {name: value for name in type(model).model_fields
            if isinstance(value := getattr(model, name), CorrectedValue)}


def check_level_sources(
    levels: Mapping[str, float], level_sources: Mapping[str, str], missing_percent: float
) -> None:
    """Every per-level source must name a level (or ``not available`` when some are missing).

    Raises
    ------
    ValueError
        Naming the unknown keys and the levels.
    """
    known = set(levels) | ({"not available"} if missing_percent > 0 else set())
    unknown = sorted(set(level_sources) - known)
    if unknown:
        raise ValueError(
            f"level_sources: {unknown} are not levels of this distribution; the levels are {sorted(known)}"
        )


def level_source(dist: Any, level: str) -> str:  # noqa: ANN401 - any distribution block
    """The source of one level: its ``level_sources`` entry, else the distribution's ``source``."""
    return getattr(dist, "level_sources", {}).get(level, dist.source)


class PooledShare(_Frozen):
    """A Total column's share at or above (``inclusive``) or above a cut-off, in %."""

    cutoff: float
    percent: _Percent
    inclusive: bool = True
    count: StrictInt | None = Field(default=None, ge=0)


class Total(_Frozen):
    """The Total (all patients, every arm) column of a baseline table for one variable.

    Give what the column prints, in the arms' conventions: ``mean``/``sd``/``share_above``
    or ``median``/``q1``/``q3`` for a continuous variable (``share_above`` among patients with
    a value), ``percent`` (and ``count``) for a binary one, ``levels`` for a categorical or
    ordinal one, where a key may join levels with ``+`` for a printed group (``"0+1": 87.1``
    for ECOG 0-1) and levels may be left out; ``missing_percent`` for "not available". Any
    number may be a corrected reading (:data:`Printed`). The totals are fidelity targets only:
    the generator works per arm.
    """

    mean: Printed | None = None
    sd: Printed | None = Field(default=None, gt=0.0)
    median: Printed | None = None
    q1: Printed | None = None
    q3: Printed | None = None
    share_above: PooledShare | None = None
    percent: _Percent | None = None
    count: StrictInt | None = Field(default=None, ge=0)
    levels: dict[str, _Percent] | None = Field(default=None, min_length=1)
    missing_percent: _Percent | None = None
    source: Source

    @model_validator(mode="after")
    def _something_printed(self) -> Total:
        stats = ("mean", "sd", "median", "q1", "q3", "share_above", "percent", "levels", "missing_percent")
        if all(getattr(self, k) is None for k in stats):
            raise ValueError(f"a total needs at least one statistic of {list(stats)}")
        quartiles = [v for v in (self.q1, self.median, self.q3) if v is not None]
        if quartiles != sorted(quartiles):
            raise ValueError(
                f"`q1 <= median <= q3` must hold, but got (q1={self.q1}, median={self.median}, q3={self.q3})"
            )
        if self.count is not None and self.percent is None:
            raise ValueError("`count` needs the `percent` it counts")
        return self


def check_total(kind: str, levels: list[str] | None, total: Total) -> None:
    """A total must use the statistics of its variable's kind, and name known levels.

    Parameters
    ----------
    kind : str
        The variable's kind (``continuous``, ``binary``, ``categorical``, ``ordinal``).
    levels : list of str or None
        The variable's levels (categorical and ordinal kinds).
    total : Total
        The variable's Total column.

    Raises
    ------
    ValueError
        Naming the statistic that does not fit, or the unknown level.
    """
    allowed = {
        "continuous": {"mean", "sd", "median", "q1", "q3", "share_above", "missing_percent"},
        "binary": {"percent", "count", "missing_percent"},
        "categorical": {"levels", "missing_percent"},
        "ordinal": {"levels", "missing_percent"},
    }[kind]
    given = {k for k in ("mean", "sd", "median", "q1", "q3", "share_above", "percent", "count",
                         "levels", "missing_percent") if getattr(total, k) is not None}
    if given - allowed:
        raise ValueError(f"totals: a {kind} variable's total takes {sorted(allowed)}, "
                         f"not {sorted(given - allowed)}")
    for key in total.levels or {}:
        unknown = [lv for lv in key.split("+") if lv not in (levels or [])]
        if unknown:
            raise ValueError(f"totals.levels.{key}: {unknown} not a level of the variable {levels}; "
                             "join printed groups of levels with `+`, e.g. `0+1`")


class UnivariateEffect(_Frozen):
    """A univariate Cox hazard ratio: one term, all patients of every arm, nothing else.

    A fidelity target only (the generator uses the adjusted ``effects``): the report fits a
    univariate Cox model of the term on the synthetic cohort and compares.
    """

    term: Term
    hr: float = Field(gt=1e-3, le=1e3)
    ci: tuple[float, float] | None = None
    p: float | None = Field(default=None, ge=0.0, le=1.0)
    source: Source
    note: str | None = None

    @model_validator(mode="after")
    def _ci_contains(self) -> UnivariateEffect:
        if self.ci is not None and not (0 < self.ci[0] <= self.hr <= self.ci[1]):
            raise ValueError(
                f"`0 < ci_low <= hr <= ci_high` must hold, but got (ci={self.ci}, hr={self.hr})"
            )
        return self


def variable_levels(var: Variable) -> list[str] | None:
    """The levels of a categorical or ordinal variable (from its first arm), else ``None``."""
    first = next(iter(var.arms.values()))
    levels = getattr(first, "levels", None)
    return list(levels) if levels is not None else None


def check_published(spec: CohortSpec) -> None:
    """Cross-references of the published extras: univariate terms, total counts.

    Raises
    ------
    ValueError
        With the dotted path of the offending field.
    """
    total_n = sum(arm.n for arm in spec.arms.values())
    for ep, ep_spec in spec.outcomes.items():
        for i, eff in enumerate(getattr(ep_spec, "univariate", [])):
            spec._check_term(f"outcomes.{ep}.univariate.{i}.term", eff.term)  # noqa: SLF001
    for name, var in spec.variables.items():
        total = getattr(var, "totals", None)
        if total is None:
            continue
        found = [("count", total.count, total.percent)]
        if total.share_above is not None:
            found.append(("share_above.count", total.share_above.count, total.share_above.percent))
        observed = total_n * (1 - (total.missing_percent or 0.0) / 100)
        for key, count, percent in found:
            if count is None or percent is None:
                continue
            if count > total_n or min(abs(100 * count / d - percent) for d in (total_n, max(observed, 1))) > 1.0:
                raise ValueError(
                    f"variables.{name}.totals.{key}: `count / n` must match `percent` (to 1 point, n = "
                    f"{total_n} over all arms), but got (count={count}, {100 * count / total_n:.1f}% "
                    f"against percent={percent})"
                )
