"""How a table maps onto survival analysis: endpoints, covariate types, derived cut-offs.

A synthetic cohort follows the column contract, so its mapping is implicit
(:func:`contract_mapping`); a user's CSV or Parquet file declares one in the pipeline config.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from necml.exceptions import DataError

__all__ = [
    "CONTRACT_COVARIATES",
    "DAYS_PER_MONTH",
    "MONTHS_PER_UNIT",
    "Covariate",
    "Cutoff",
    "DataMapping",
    "Endpoint",
    "contract_mapping",
    "code_token",
    "code_tokens",
    "derive_columns",
    "factor_levels",
    "level_label",
    "level_labels",
    "parse_covariate_expression",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
_OPS = {">": "gt", ">=": "ge", "<": "lt", "<=": "le"}

#: Average Gregorian month, used to convert days to months.
DAYS_PER_MONTH = 365.25 / 12
TimeUnit = Literal["days", "weeks", "months", "years"]
#: Months per unit of a mapped time column: necml analyses every time in months.
MONTHS_PER_UNIT: dict[str, float] = {
    "days": 1 / DAYS_PER_MONTH,
    "weeks": 7 / DAYS_PER_MONTH,
    "months": 1.0,
    "years": 12.0,
}
#: A value of an event column as YAML gives it: R's 1/2 coding, yes/no, dead/alive.
EventCode = bool | int | float | str


def level_label(value: object) -> str:
    """The text of one categorical level: integral numbers without ``.0`` (``2.0`` -> ``"2"``).

    A column read from CSV is integer without missing values and float with them; both code
    the same levels, and a mapping's ``reference: 1`` names them.

    Examples
    --------
    >>> level_label(2.0), level_label(1), level_label("III"), level_label(1.5)
    ('2', '1', 'III', '1.5')
    """
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


def level_labels(column: pd.Series) -> pd.Series:
    """:func:`level_label` of every value (object dtype); a missing value stays NaN."""
    present = column.notna()
    labels = {v: level_label(v) for v in pd.unique(column[present])}
    return column.map(labels).astype(object).where(present, np.nan)


def factor_levels(labels: object) -> list[str]:
    """Distinct level labels in R's ``factor()`` order: numerically when every one is a number.

    Examples
    --------
    >>> factor_levels(["2", "10", "1"]), factor_levels(["b", "a"])
    (['1', '2', '10'], ['a', 'b'])
    """
    distinct = sorted(set(labels))  # type: ignore[call-overload]
    numbers = pd.to_numeric(pd.Series(distinct, dtype=object), errors="coerce")
    if distinct and numbers.notna().all():
        return [distinct[i] for i in np.argsort(numbers.to_numpy(float), kind="stable")]
    return distinct


def _nested(value: dict[str, Any], where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(value) - set(keys))
    if unknown or "column" not in value:
        raise ValueError(
            f"`{where}` takes {{column: NAME, {', '.join(f'{k}: ...' for k in keys[1:])}}}, "
            f"got keys {sorted(value)}"
        )
    return value


class Endpoint(BaseModel):
    """The time and event columns of one endpoint (e.g. ``pfs``: ``pfs_months``, ``pfs_event``).

    The short form names the columns: ``{time: os_months, event: os_event}`` (times in months,
    events 0/1 or boolean). The long form says the time unit and the event coding::

        os: {time: {column: time, unit: days}, event: {column: status, event_values: [2]}}

    Times are converted once to months (a month is 365.25/12 days, a week 7 days, a year 12
    months). With ``event_values`` an event is any of those values; every other value is
    censored if it is listed in ``censored_values``, or, without that list, if it is the
    column's only other value (a binary column such as R's 1/2, yes/no, dead/alive). A third
    code is an error, never silently censored.
    """

    model_config = _FROZEN
    time: str
    event: str
    unit: TimeUnit = Field(default="months", description="unit of the time column; converted to months")
    event_values: tuple[EventCode, ...] | None = Field(default=None, min_length=1)
    censored_values: tuple[EventCode, ...] | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _long_form(cls, data: Any) -> Any:
        """``time: {column, unit}`` and ``event: {column, event_values, censored_values}``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        time, event = data.get("time"), data.get("event")
        if isinstance(time, dict):
            time = _nested(time, "time", ("column", "unit"))
            if "unit" in data and "unit" in time:
                raise ValueError("give the unit once, inside `time: {column: ..., unit: ...}`")
            data.update(time=time["column"], **({"unit": time["unit"]} if "unit" in time else {}))
        if isinstance(event, dict):
            event = _nested(event, "event", ("column", "event_values", "censored_values"))
            data["event"] = event["column"]
            for key in ("event_values", "censored_values"):
                if key in event:
                    if key in data:
                        raise ValueError(f"give `{key}` once, inside `event: {{column: ..., {key}: ...}}`")
                    value = event[key]
                    data[key] = value if isinstance(value, list | tuple) else [value]
        return data

    @model_validator(mode="after")
    def _codes(self) -> Endpoint:
        if self.censored_values is not None and self.event_values is None:
            raise ValueError("`censored_values` needs `event_values` (which values are events)")
        if self.event_values is not None and self.censored_values is not None:
            both = code_tokens(self.event_values) & code_tokens(self.censored_values)
            if both:
                raise ValueError(f"value(s) {sorted(both)} are both event_values and censored_values")
        return self

    @property
    def months_per_unit(self) -> float:
        """The factor converting this endpoint's times to months."""
        return MONTHS_PER_UNIT[self.unit]


_TRUE_WORDS, _FALSE_WORDS = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def code_token(value: object) -> str:
    """How an event value is compared: trimmed lower-case text, numbers without ``.0``.

    ``2``, ``2.0`` and ``"2"`` are one code, and so are ``"Dead"`` and ``"dead"``.
    """
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            number = float(text)
        except ValueError:
            return text
        return level_label(number) if np.isfinite(number) else text
    return level_label(value).lower()


def code_tokens(values: tuple[EventCode, ...]) -> set[str]:
    """The tokens a declared list matches; a YAML boolean (``yes``, ``true``) matches its words and 1/0."""
    found = set()
    for value in values:
        if isinstance(value, bool):
            found.update(_TRUE_WORDS if value else _FALSE_WORDS)
        else:
            found.add(code_token(value))
    return found


class Covariate(BaseModel):
    """A covariate's type; a categorical one names its reference level.

    ``log: true`` models ``log1p`` of a skewed laboratory value in the model zoo. ``per: 10``
    (or ``per: sd``) reports a continuous covariate's Cox HR per 10 units (per standard
    deviation) in the prognostic tables and forest plot.
    """

    model_config = _FROZEN
    type: Literal["continuous", "binary", "categorical"]
    reference: str | None = None
    log: bool = False
    per: float | Literal["sd"] | None = Field(default=None, description="HR per this many units, or per SD")

    @field_validator("reference", mode="before")
    @classmethod
    def _reference_text(cls, value: object) -> object:
        """``reference: 1`` (an integer-coded level, e.g. R's sex 1/2) names the level ``"1"``."""
        return level_label(value) if isinstance(value, bool | int | float) else value

    @model_validator(mode="after")
    def _reference_only_for_categorical(self) -> Covariate:
        if self.reference is not None and self.type != "categorical":
            raise ValueError(f"`reference` applies to categorical covariates, not {self.type}")
        if self.log and self.type != "continuous":
            raise ValueError("`log: true` applies to continuous covariates only")
        if self.per is not None and (self.type != "continuous" or (self.per != "sd" and self.per <= 0)):
            raise ValueError(f"`per` must be > 0 or 'sd', on a continuous covariate, but got {self.per!r} "
                             f"on a {self.type} one")
        return self


class Cutoff(BaseModel):
    """A binary covariate derived from a clinical cut-off, e.g. NLR > 3 or LDH > ULN (245 IU/L)."""

    model_config = _FROZEN
    variable: str
    op: Literal[">", ">=", "<", "<="]
    value: float
    source: str | None = Field(default=None, description="where the cut-off comes from")

    def apply(self, column: pd.Series) -> pd.Series:
        """Evaluate the cut-off; a missing value stays missing."""
        values = pd.to_numeric(column, errors="coerce").astype("Float64")
        compare = {">": values.gt, ">=": values.ge, "<": values.lt, "<=": values.le}[self.op]
        return compare(self.value).astype("boolean")


class DataMapping(BaseModel):
    """Endpoints, covariates (name -> type) and derived cut-offs of a survival table."""

    model_config = _FROZEN
    endpoints: dict[str, Endpoint]
    covariates: dict[str, Covariate]
    derive: dict[str, Cutoff] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _derived_are_binary(self) -> DataMapping:
        for name in self.derive:
            declared = self.covariates.get(name)
            if declared is not None and declared.type != "binary":
                raise ValueError(f"derived covariate {name!r} is binary, declared {declared.type}")
        return self

    @property
    def types(self) -> dict[str, Covariate]:
        """Every covariate with its type: the declared ones, then derived cut-offs (binary)."""
        derived = {n: Covariate(type="binary") for n in self.derive if n not in self.covariates}
        return {**self.covariates, **derived}

    def endpoint(self, name: str) -> Endpoint:
        """The endpoint called ``name``, or a :class:`DataError` listing the known ones."""
        try:
            return self.endpoints[name]
        except KeyError:
            known = ", ".join(sorted(self.endpoints))
            raise DataError(f"unknown endpoint {name!r}; this data has: {known}") from None

    def select(self, names: list[str] | None) -> DataMapping:
        """A mapping restricted to the covariates ``names`` (all when ``None``), in that order."""
        if names is None:
            return self
        types = self.types
        missing = [n for n in names if n not in types]
        if missing:
            known = ", ".join(types)
            raise DataError(f"unknown covariate(s) {', '.join(missing)}; declared: {known}")
        return self.model_copy(
            update={
                "covariates": {n: types[n] for n in names},
                "derive": {n: c for n, c in self.derive.items() if n in names},
            }
        )

    def with_expressions(self, expressions: list[str]) -> DataMapping:
        """Restrict to covariates given as names or cut-off expressions (``"nlr>3"``)."""
        derive = dict(self.derive)
        names = []
        for text in expressions:
            name, cutoff = parse_covariate_expression(text)
            if cutoff is not None:
                derive[name] = cutoff
            names.append(name)
        return self.model_copy(update={"derive": derive}).select(names)


#: Types of the contract's shared covariates (ECOG enters as a 0-4 score; cut-offs are derived).
CONTRACT_COVARIATES: dict[str, Covariate] = {
    "age": Covariate(type="continuous"),
    "sex": Covariate(type="categorical", reference="female"),
    "ecog": Covariate(type="continuous"),
    "nlr": Covariate(type="continuous", log=True),
    "ldh": Covariate(type="continuous", log=True),
    "tmb": Covariate(type="continuous", log=True),
    "pdl1_tps": Covariate(type="continuous"),
}
_CONTRACT_ENDPOINTS = {
    "pfs": Endpoint(time="pfs_months", event="pfs_event"),
    "os": Endpoint(time="os_months", event="os_event"),
}
_NOT_COVARIATES = {"patient_id", "best_response"}


def contract_mapping(frame: pd.DataFrame) -> DataMapping:
    """The mapping of a cohort that follows necml's column contract.

    Shared covariates get the types in :data:`CONTRACT_COVARIATES`; a cohort's own variables
    are typed from their dtype (boolean -> binary, categorical -> categorical with the first
    level as reference, numeric -> continuous). ``arm`` is a categorical covariate whose
    reference is its first level (the control arm, which the generator puts first).
    """
    endpoint_columns = {c for e in _CONTRACT_ENDPOINTS.values() for c in (e.time, e.event)}
    endpoints = {
        k: e for k, e in _CONTRACT_ENDPOINTS.items() if e.time in frame and e.event in frame
    }
    covariates: dict[str, Covariate] = {}
    for name in frame.columns:
        if name in endpoint_columns or name in _NOT_COVARIATES:
            continue
        covariates[name] = CONTRACT_COVARIATES.get(name) or _covariate_from_dtype(frame[name])
    return DataMapping(endpoints=endpoints, covariates=covariates)


def _covariate_from_dtype(column: pd.Series) -> Covariate:
    if pd.api.types.is_bool_dtype(column):
        return Covariate(type="binary")
    if isinstance(column.dtype, pd.CategoricalDtype):
        return Covariate(type="categorical", reference=level_label(column.cat.categories[0]))
    if pd.api.types.is_numeric_dtype(column):
        return Covariate(type="continuous")
    levels = sorted(column.dropna().astype(str).unique())
    return Covariate(type="categorical", reference=levels[0] if levels else None)


# a column name is any text without the comparison characters: R's `ph.ecog` and `wt.loss`,
# `months_from_diagnosis`, "Age (years)"
_EXPRESSION = re.compile(
    r"^\s*(?P<var>[^<>=\s](?:[^<>=]*[^<>=\s])?)\s*(?P<op>>=|<=|>|<)\s*(?P<val>\S+)\s*$"
)


def parse_covariate_expression(text: str) -> tuple[str, Cutoff | None]:
    """Parse ``"nlr>3"`` into ``("nlr_gt_3", Cutoff(...))``; a plain name parses to itself.

    Names are column names as they are, R's included (``ph.ecog>=2`` -> ``ph.ecog_ge_2``).

    Examples
    --------
    >>> parse_covariate_expression("ecog>=2")[0]
    'ecog_ge_2'
    >>> parse_covariate_expression("age")
    ('age', None)
    >>> parse_covariate_expression("ph.ecog>=2")[0]
    'ph.ecog_ge_2'
    """
    match = _EXPRESSION.match(text)
    if match is None:
        name = text.strip()
        if not name or re.search(r"[<>=]", name):
            raise DataError(f"cannot read covariate {text!r}: use a column name or e.g. 'nlr>3'")
        return name, None
    try:
        value = float(match["val"])
    except ValueError:
        raise DataError(
            f"cannot read covariate {text!r}: {match['val']!r} is not a number"
        ) from None
    shown = f"{value:g}".replace(".", "p").replace("-", "m")
    name = f"{match['var']}_{_OPS[match['op']]}_{shown}"
    return name, Cutoff(variable=match["var"], op=match["op"], value=value)


def derive_columns(
    frame: pd.DataFrame, mapping: DataMapping, *, source: str = "data"
) -> pd.DataFrame:
    """Add the mapping's derived cut-off columns (nullable booleans) to a copy of ``frame``."""
    missing = sorted({c.variable for c in mapping.derive.values()} - set(frame.columns))
    if missing:
        raise DataError(f"{source}: cut-offs need column(s) {', '.join(missing)}, which are absent")
    derived = {name: cut.apply(frame[cut.variable]) for name, cut in mapping.derive.items()}
    out = frame.assign(**derived) if derived else frame.copy()
    return out.reset_index(drop=True) if not np.array_equal(out.index, np.arange(len(out))) else out
