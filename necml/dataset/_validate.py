"""Checks a survival table before any analysis: errors name the file and column.

Errors (:class:`~necml.exceptions.DataError`): missing columns; times that are missing,
non-numeric, negative, infinite or all 0; infinite covariate values; events that are not
0/1/boolean; no events at all; a covariate entirely missing; a categorical covariate with a
single level; a categorical reference level that never occurs.

Warnings (returned, and shown by the CLI and written to reports): a constant binary or
continuous covariate (its Cox term is NA, as in R), fewer than 10 events per model
parameter, quasi-complete separation of a binary or categorical covariate (a level with no
events), and covariates with more than 20% missing values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from necml.dataset._mapping import Covariate, DataMapping
from necml.exceptions import DataError

__all__ = ["HEAVY_MISSING_SHARE", "MIN_EVENTS_PER_PARAMETER", "check_survival_data"]

#: Events-per-parameter rule of thumb (Peduzzi et al. 1995) below which a warning is given.
MIN_EVENTS_PER_PARAMETER = 10
#: Share of missing values above which a covariate is reported as heavily missing.
HEAVY_MISSING_SHARE = 0.20


def check_survival_data(
    frame: pd.DataFrame, mapping: DataMapping, endpoint: str, *, source: str = "data"
) -> list[str]:
    """Validate ``frame`` for one endpoint and the mapping's covariates.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, with derived cut-off columns already added.
    mapping : DataMapping
        Endpoints and covariates.
    endpoint : str
        The endpoint to analyse, e.g. ``"os"``.
    source : str, default="data"
        Name of the file, used in every message.

    Returns
    -------
    list of str
        Warnings (small events per parameter, separation, heavy missingness).

    Raises
    ------
    necml.exceptions.DataError
        For any of the errors listed in the module docstring.
    """
    columns = mapping.endpoint(endpoint)
    types = mapping.types
    _require_columns(frame, [columns.time, columns.event, *types], source)
    time = _check_time(frame[columns.time], f"{source}: column {columns.time!r}")
    event = event_indicator(frame[columns.event], f"{source}: column {columns.event!r}")
    if not event[~np.isnan(time)].any():
        raise DataError(f"{source}: column {columns.event!r} has no events; nothing to analyse")
    warnings = []
    for name, covariate in types.items():
        _check_covariate(frame[name], covariate, f"{source}: covariate {name!r}")
        warnings.extend(_covariate_warnings(frame[name], covariate, event, name))
    n_parameters = sum(_n_parameters(frame[n], c) for n, c in types.items())
    n_events = int(event.sum())
    if n_parameters and n_events / n_parameters < MIN_EVENTS_PER_PARAMETER:
        warnings.append(
            f"{n_events} events for {n_parameters} parameters: "
            f"{n_events / n_parameters:.1f} events per parameter (< {MIN_EVENTS_PER_PARAMETER}); "
            "multivariate estimates will be unstable and biased away from 0"
        )
    return warnings


def _require_columns(frame: pd.DataFrame, names: list[str], source: str) -> None:
    missing = [n for n in dict.fromkeys(names) if n not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(map(repr, missing))}; "
            f"the file has {', '.join(map(str, frame.columns))}"
        )


def _check_time(column: pd.Series, where: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        raise DataError(f"{where}: non-numeric time {column[bad].iloc[0]!r} in row {bad.idxmax()}")
    if values.isna().any():
        raise DataError(
            f"{where}: {int(values.isna().sum())} missing time(s), e.g. row {values.isna().idxmax()}"
        )
    if (values < 0).any():
        raise DataError(f"{where}: negative time {values.min()} in row {values.idxmin()}")
    infinite = np.isinf(values.to_numpy(dtype=float))
    if infinite.any():
        raise DataError(f"{where}: infinite time in row {values.index[infinite.argmax()]}; times must be finite")
    if not (values > 0).any():
        raise DataError(f"{where}: every time is 0; there is no follow-up to analyse")
    return values.to_numpy(dtype=float)


def event_indicator(column: pd.Series, where: str) -> np.ndarray:
    """An event column as a boolean array: accepts bool, or numbers/strings 0 and 1.

    Raises
    ------
    necml.exceptions.DataError
        If a value is missing or is not 0/1/True/False.
    """
    if pd.api.types.is_bool_dtype(column) and not column.isna().any():
        return column.to_numpy(dtype=bool)
    values = _zero_one(column)
    bad = values.isna()
    if bad.any():
        raise DataError(
            f"{where}: events must be 0/1 or boolean, got {column[bad].iloc[0]} in row {bad.idxmax()}"
        )
    return values.to_numpy(dtype=float) == 1


_ZERO_ONE = {"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0}


def _zero_one(column: pd.Series) -> pd.Series:
    """0/1 as float, NaN for anything else (including missing)."""
    return column.astype(str).str.strip().str.lower().map(_ZERO_ONE).where(column.notna())


def _check_covariate(column: pd.Series, covariate: Covariate, where: str) -> None:
    observed = column.dropna()
    if observed.empty:
        raise DataError(f"{where} is entirely missing")
    if covariate.type == "continuous":
        numeric = pd.to_numeric(observed, errors="coerce")
        _check_numeric(observed, numeric, where)
        if covariate.log and (numeric < 0).any():
            raise DataError(f"{where}: `log: true` needs values >= 0, got {numeric.min()}")
    if covariate.type == "binary":
        numeric = _zero_one(observed)
        if numeric.isna().any():
            raise DataError(
                f"{where}: binary values must be 0/1 or boolean, got {observed[numeric.isna()].iloc[0]!r}"
            )
    if covariate.type == "categorical" and observed.astype(str).nunique() < 2:
        raise DataError(f"{where} is constant ({observed.iloc[0]!r}); a factor needs two levels")
    if covariate.type == "categorical" and covariate.reference is not None:
        if covariate.reference not in set(observed.astype(str)):
            levels = ", ".join(sorted(set(observed.astype(str))))
            raise DataError(f"{where}: reference level {covariate.reference!r} not among {levels}")


def _check_numeric(observed: pd.Series, numeric: pd.Series, where: str) -> None:
    if numeric.isna().any():
        raise DataError(f"{where}: continuous but holds {observed[numeric.isna()].iloc[0]!r}")
    infinite = np.isinf(numeric.to_numpy(dtype=float))
    if infinite.any():
        raise DataError(f"{where}: infinite value in row {numeric.index[infinite.argmax()]}; values must be finite")


def _covariate_warnings(
    column: pd.Series, covariate: Covariate, event: np.ndarray, name: str
) -> list[str]:
    found = []
    observed = column.dropna()
    if covariate.type != "categorical" and observed.astype(str).nunique() == 1:
        # as R's coxph: the term is reported as not estimable (NA, "aliased"), the others are estimated
        found.append(f"covariate {name!r} is constant ({observed.iloc[0]!r}); its HR cannot be estimated (NA)")
    share = float(column.isna().mean())
    if share > HEAVY_MISSING_SHARE:
        found.append(
            f"covariate {name!r} is {share:.0%} missing; complete-case analyses drop those rows"
        )
    if covariate.type != "continuous":
        present = column.notna().to_numpy()
        levels = column[present].astype(str).to_numpy()
        for level in np.unique(levels):
            in_level = event[present][levels == level]
            if in_level.size and not in_level.any():
                found.append(
                    f"covariate {name!r}: level {level!r} has no events ({in_level.size} patients); "
                    "quasi-complete separation: its Cox HR diverges (use the Firth fit)"
                )
    return found


def _n_parameters(column: pd.Series, covariate: Covariate) -> int:
    if covariate.type == "categorical":
        return max(column.dropna().astype(str).nunique() - 1, 1)
    return 1
