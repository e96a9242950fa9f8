"""How a table maps onto survival analysis: endpoints, covariate types, derived cut-offs.

A synthetic cohort follows the column contract, so its mapping is implicit
(:func:`contract_mapping`); a user's CSV or Parquet file declares one in the pipeline config.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from necml.exceptions import DataError

__all__ = [
    "CONTRACT_COVARIATES",
    "Covariate",
    "Cutoff",
    "DataMapping",
    "Endpoint",
    "contract_mapping",
    "derive_columns",
    "parse_covariate_expression",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
_OPS = {">": "gt", ">=": "ge", "<": "lt", "<=": "le"}


class Endpoint(BaseModel):
    """The time and event columns of one endpoint (e.g. ``pfs``: ``pfs_months``, ``pfs_event``)."""

    model_config = _FROZEN
    time: str
    event: str


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
        return Covariate(type="categorical", reference=str(column.cat.categories[0]))
    if pd.api.types.is_numeric_dtype(column):
        return Covariate(type="continuous")
    levels = sorted(column.dropna().astype(str).unique())
    return Covariate(type="categorical", reference=levels[0] if levels else None)


_EXPRESSION = re.compile(
    r"^\s*(?P<var>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>>=|<=|>|<)\s*(?P<val>\S+)\s*$"
)


def parse_covariate_expression(text: str) -> tuple[str, Cutoff | None]:
    """Parse ``"nlr>3"`` into ``("nlr_gt_3", Cutoff(...))``; a plain name parses to itself.

    Examples
    --------
    >>> parse_covariate_expression("ecog>=2")[0]
    'ecog_ge_2'
    >>> parse_covariate_expression("age")
    ('age', None)
    """
    match = _EXPRESSION.match(text)
    if match is None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text.strip()):
            raise DataError(f"cannot read covariate {text!r}: use a column name or e.g. 'nlr>3'")
        return text.strip(), None
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
