"""From a validated table to what estimators take: a typed ``X`` and a structured ``y``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from necml.dataset._mapping import Covariate, DataMapping, derive_columns, factor_levels, level_labels
from necml.dataset._validate import complete_cases, survival_columns

__all__ = ["SurvivalData", "design_matrix", "prepare_survival_data", "structured_y"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SurvivalData:
    """One endpoint of a table, ready for analysis.

    Attributes
    ----------
    X : pandas.DataFrame
        Covariates: continuous as float, binary as float 0/1, categorical as
        :class:`pandas.Categorical` with the reference level first; missing values are NaN.
    time, event : numpy.ndarray
        Follow-up time in months and event indicator (bool).
    types : dict
        Covariate name -> :class:`~necml.dataset.Covariate`.
    endpoint, source : str
        What was analysed, and from which file.
    warnings : list of str
        What :func:`~necml.dataset.check_survival_data` reported.
    time_unit : str
        The unit of the file's time column (``"days"``, ...), converted to months in ``time``.
    """

    X: pd.DataFrame
    time: np.ndarray
    event: np.ndarray
    types: dict[str, Covariate]
    endpoint: str
    source: str
    warnings: list[str] = field(default_factory=list)
    time_unit: str = "months"

    @property
    def complete(self) -> np.ndarray:
        """Rows (bool) with every covariate observed: the patients of a multivariate Cox fit."""
        return complete_cases(self.X, list(self.types))

    def missing_counts(self) -> dict[str, int]:
        """Covariate -> patients without a value, for the covariates that miss any (most first)."""
        counts = {name: int(self.X[name].isna().sum()) for name in self.types}
        return dict(sorted(((k, v) for k, v in counts.items() if v), key=lambda kv: -kv[1]))

    def exclusion_note(self) -> str:
        """Who a complete-case fit leaves out and why, e.g. ``"15 of 228 patients excluded for missing
        values (wt.loss 14, ph.ecog 1)"``; empty when nobody is."""
        excluded = int((~self.complete).sum())
        if not excluded:
            return ""
        why = ", ".join(f"{name} {n}" for name, n in self.missing_counts().items())
        return f"{excluded} of {len(self.time)} patients excluded for missing values ({why})"

    @property
    def y(self) -> np.ndarray:
        """The structured ``(event, time)`` array scikit-survival takes."""
        return structured_y(self.time, self.event)

    def subset(self, index: np.ndarray) -> SurvivalData:
        """The rows ``index`` (positions), e.g. a resample or a fold."""
        return SurvivalData(
            X=self.X.iloc[index].reset_index(drop=True),
            time=self.time[index],
            event=self.event[index],
            types=self.types,
            endpoint=self.endpoint,
            source=self.source,
            warnings=self.warnings,
            time_unit=self.time_unit,
        )


def structured_y(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """scikit-survival's structured ``y``: fields ``event`` (bool) and ``time`` (float).

    Arguments follow necml's one order, ``(time, event)`` (``docs/conventions.md``), not
    ``sksurv.util.Surv.from_arrays(event, time)``; an event that is not 0/1 (e.g. times passed
    as events) raises :class:`~necml.exceptions.DataError`.
    """
    from sksurv.util import Surv  # scikit-survival costs 0.5 s to import; generation never needs it

    from necml.dataset._arrays import as_event

    return Surv.from_arrays(
        event=as_event(event),
        time=np.asarray(time, float),
        name_event="event",
        name_time="time",
    )


def prepare_survival_data(
    frame: pd.DataFrame, mapping: DataMapping, endpoint: str, *, source: str = "data"
) -> SurvivalData:
    """Derive cut-offs, validate, and type the covariates of one endpoint.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    mapping : DataMapping
        Endpoints, covariates and cut-offs.
    endpoint : str
        Which endpoint.
    source : str, default="data"
        The file's name for messages.

    Returns
    -------
    SurvivalData

    Raises
    ------
    necml.exceptions.DataError
        If the table fails :func:`~necml.dataset.check_survival_data`.
    """
    frame = derive_columns(frame, mapping, source=source)
    time, event, warnings = survival_columns(frame, mapping, endpoint, source=source)
    types = mapping.types
    X = pd.DataFrame({name: _typed(frame[name], c) for name, c in types.items()})
    return SurvivalData(
        X=X.reset_index(drop=True),
        time=time,
        event=event,
        types=types,
        endpoint=endpoint,
        source=source,
        warnings=warnings,
        time_unit=mapping.endpoint(endpoint).unit,
    )


def _typed(column: pd.Series, covariate: Covariate) -> pd.Series:
    if covariate.type == "categorical":
        values = level_labels(column)  # 1, 1.0 and "1" are the level "1"
        levels = factor_levels(values.dropna())  # R's factor() order: numerically for numbers
        if covariate.reference is not None:
            levels = [covariate.reference, *[v for v in levels if v != covariate.reference]]
        return pd.Series(pd.Categorical(values, categories=levels), index=column.index)
    if covariate.type == "binary" and not pd.api.types.is_numeric_dtype(column.dtype):
        column = column.astype("boolean")
    return pd.to_numeric(
        column.astype("Float64") if pd.api.types.is_bool_dtype(column) else column
    ).astype(float)


def design_matrix(X: pd.DataFrame, types: dict[str, Covariate]) -> pd.DataFrame:
    """Numeric design of complete cases: categorical covariates as treatment-coded dummies.

    A dummy is named ``<covariate>[<level>]`` and contrasts that level with the reference.
    Rows with any missing covariate are dropped (complete-case analysis, as in the papers);
    the index keeps the original row positions.
    """
    parts = []
    for name, covariate in types.items():
        column = X[name]
        if covariate.type == "categorical":
            dummies = pd.get_dummies(column, prefix=name, prefix_sep="[", dtype=float)
            dummies.columns = [f"{c}]" for c in dummies.columns]
            dummies = dummies.iloc[:, 1:].where(column.notna())
            parts.append(dummies)
        else:
            parts.append(column.rename(name).astype(float))
    design = pd.concat(parts, axis=1)
    return design.dropna()
