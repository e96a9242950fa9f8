"""Checks a survival table before any analysis: errors name the file and column.

Errors (:class:`~necml.exceptions.DataError`): missing columns; times that are missing,
non-numeric, negative, infinite or all 0; infinite covariate values; events that are not
0/1/boolean (or, with ``event_values``, a code that is neither an event nor the censoring
code); no events at all; a covariate entirely missing; a categorical covariate with a single
level; a categorical reference level that never occurs. An error about a value names the
row where it is: ``line N`` of a CSV file (the header is line 1), else ``row N`` from 1.

Warnings (returned, and shown by the CLI and written to reports): a follow-up implausible
for the declared time unit (longer than 20 years, or days that end before 60), R's 1/2 event
coding read the other way round, a constant binary or continuous covariate (its Cox term is
NA, as in R), fewer than 10 events per model parameter among the complete cases,
quasi-complete separation of a binary or categorical covariate (a level with no events), and
covariates with more than 20% missing values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from necml.dataset._mapping import (
    DAYS_PER_MONTH,
    Covariate,
    DataMapping,
    Endpoint,
    EventCode,
    code_token,
    code_tokens,
    factor_levels,
    level_labels,
)
from necml.dataset._tables import row_name
from necml.exceptions import DataError

__all__ = [
    "HEAVY_MISSING_SHARE",
    "MAX_PLAUSIBLE_MONTHS",
    "MIN_EVENTS_PER_PARAMETER",
    "MIN_PLAUSIBLE_DAYS",
    "check_survival_data",
    "complete_cases",
    "event_indicator",
    "survival_columns",
]

#: Events-per-parameter rule of thumb (Peduzzi et al. 1995) below which a warning is given.
MIN_EVENTS_PER_PARAMETER = 10
#: Share of missing values above which a covariate is reported as heavily missing.
HEAVY_MISSING_SHARE = 0.20
#: A longest follow-up beyond this many months (20 years) is implausible for a clinical cohort.
MAX_PLAUSIBLE_MONTHS = 240.0
#: Times in days (or weeks) whose longest follow-up is shorter than this are probably months.
MIN_PLAUSIBLE_DAYS = 60.0


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
        Warnings (implausible follow-up, small events per parameter, separation, heavy
        missingness).

    Raises
    ------
    necml.exceptions.DataError
        For any of the errors listed in the module docstring.
    """
    return survival_columns(frame, mapping, endpoint, source=source)[2]


def survival_columns(
    frame: pd.DataFrame, mapping: DataMapping, endpoint: str, *, source: str = "data"
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Validate like :func:`check_survival_data`; return the time in months, the events and the warnings.

    Returns
    -------
    time : numpy.ndarray
        Follow-up in months (converted from the endpoint's ``unit``).
    event : numpy.ndarray
        Event indicator (bool), decoded with the endpoint's ``event_values``.
    warnings : list of str
    """
    columns = mapping.endpoint(endpoint)
    types = mapping.types
    _require_columns(frame, [columns.time, columns.event, *types], source)
    frame = frame.reset_index(drop=True)
    raw = _check_time(frame[columns.time], f"{source}: column {columns.time!r}", source)
    warnings = _unit_warnings(raw, columns)
    event, coding = _decode_events(
        frame[columns.event], f"{source}: column {columns.event!r}", columns.event_values,
        columns.censored_values, source, columns.event,
    )
    warnings += coding
    if not event.any():
        raise DataError(f"{source}: column {columns.event!r} has no events; nothing to analyse")
    for name, covariate in types.items():
        _check_covariate(frame[name], covariate, f"{source}: covariate {name!r}", source)
        warnings.extend(_covariate_warnings(frame[name], covariate, event, name))
    warnings.extend(_events_per_parameter(frame, types, event))
    return raw * columns.months_per_unit, event, warnings


def complete_cases(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """Rows (bool) in which every one of the columns ``names`` is observed."""
    if not names:
        return np.ones(len(frame), dtype=bool)
    return frame[names].notna().all(axis=1).to_numpy()


def _events_per_parameter(frame: pd.DataFrame, types: dict[str, Covariate], event: np.ndarray) -> list[str]:
    """Peduzzi's rule on the patients a multivariate Cox fit uses (complete cases)."""
    complete = complete_cases(frame, list(types))
    used = frame[complete]
    n_parameters = sum(_n_parameters(used[n], c) for n, c in types.items())
    n_events = int(event[complete].sum())
    if not n_parameters or n_events / n_parameters >= MIN_EVENTS_PER_PARAMETER:
        return []
    among = "" if complete.all() else f" among the {int(complete.sum())} patients with every covariate"
    return [
        f"{n_events} events{among} for {n_parameters} parameters: "
        f"{n_events / n_parameters:.1f} events per parameter (< {MIN_EVENTS_PER_PARAMETER}); "
        "multivariate estimates will be unstable and biased away from 0"
    ]


def _require_columns(frame: pd.DataFrame, names: list[str], source: str) -> None:
    missing = [n for n in dict.fromkeys(names) if n not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(map(repr, missing))}; "
            f"the file has {', '.join(map(str, frame.columns))}"
        )


def _shown(value: object) -> str:
    """A value as a message shows it: text quoted, numbers as numbers (``2``, not ``np.int64(2)``)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value) if isinstance(value, str) else str(value)


def _first(mask: pd.Series | np.ndarray) -> int:
    return int(np.flatnonzero(np.asarray(mask, dtype=bool))[0])


def _check_time(column: pd.Series, where: str, source: str = "data") -> np.ndarray:
    column = column.reset_index(drop=True)
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        i = _first(bad)
        raise DataError(f"{where}, {row_name(source, i)}: non-numeric time {_shown(column[i])}")
    if values.isna().any():
        raise DataError(
            f"{where}, {row_name(source, _first(values.isna()))}: missing time "
            f"({int(values.isna().sum())} missing in all); every patient needs a follow-up time"
        )
    if (values < 0).any():
        i = _first(values < 0)
        raise DataError(f"{where}, {row_name(source, i)}: negative time {_shown(values[i])}")
    infinite = np.isinf(values.to_numpy(dtype=float))
    if infinite.any():
        raise DataError(f"{where}, {row_name(source, _first(infinite))}: infinite time; times must be finite")
    if not (values > 0).any():
        raise DataError(f"{where}: every time is 0; there is no follow-up to analyse")
    return values.to_numpy(dtype=float)


def _unit_warnings(raw: np.ndarray, columns: Endpoint) -> list[str]:
    """A longest follow-up that does not fit the declared unit: probably another unit."""
    longest = float(np.max(raw))
    months = longest * columns.months_per_unit
    name, unit = columns.time, columns.unit
    if months > MAX_PLAUSIBLE_MONTHS:
        return [
            f"column {name!r}: the longest follow-up is {longest:g} {unit} ({months / 12:.0f} years), implausible "
            f"for a cohort; if the times are in another unit, say so: `time: {{column: {name}, unit: days}}` "
            "(days, weeks, months or years)"
        ]
    if unit in ("days", "weeks") and months * DAYS_PER_MONTH < MIN_PLAUSIBLE_DAYS:
        return [
            f"column {name!r}: the longest follow-up is {longest:g} {unit} ({months * DAYS_PER_MONTH:.0f} days), "
            f"implausibly short; if the times are months, say so: `time: {{column: {name}, unit: months}}`"
        ]
    return []


def event_indicator(
    column: pd.Series,
    where: str,
    *,
    event_values: tuple[EventCode, ...] | None = None,
    censored_values: tuple[EventCode, ...] | None = None,
    source: str = "data",
    name: str | None = None,
) -> np.ndarray:
    """An event column as a boolean array.

    Without ``event_values``: bool, or numbers/strings 0 and 1. With them: an event is any of
    ``event_values``; another value is censored if it is in ``censored_values`` or, without
    that list, if it is the column's only other value (see :class:`~necml.dataset.Endpoint`).

    Raises
    ------
    necml.exceptions.DataError
        If a value is missing, or cannot be read as an event or a censoring; the message names
        its row (``line N`` of a CSV ``source``).
    """
    return _decode_events(column, where, event_values, censored_values, source, name)[0]


def _decode_events(
    column: pd.Series,
    where: str,
    event_values: tuple[EventCode, ...] | None,
    censored_values: tuple[EventCode, ...] | None,
    source: str,
    name: str | None = None,
) -> tuple[np.ndarray, list[str]]:
    column = column.reset_index(drop=True)
    if column.isna().any():
        raise DataError(
            f"{where}, {row_name(source, _first(column.isna()))}: the event status is missing "
            f"({int(column.isna().sum())} missing in all); every patient needs one"
        )
    if event_values is None:
        return _zero_one_events(column, where, source, name or "NAME"), []
    tokens = _tokens(column)
    events = code_tokens(event_values)
    is_event = tokens.isin(events).to_numpy()
    declared = _listed(event_values)
    if not is_event.any():
        raise DataError(
            f"{where}: no value is an event: event_values [{', '.join(declared)}] never occur; "
            f"the column holds {', '.join(_listed(tuple(pd.unique(column)[:10])))}"
        )
    if censored_values is not None:
        bad = ~is_event & ~tokens.isin(code_tokens(censored_values)).to_numpy()
        if bad.any():
            i = _first(bad)
            raise DataError(
                f"{where}, {row_name(source, i)}: value {_shown(column[i])} is neither an event "
                f"({', '.join(declared)}) nor censored ({', '.join(_listed(censored_values))})"
            )
        return is_event, []
    # the censoring code is the most frequent other value; the next one is the unexpected code
    others = list(tokens[~is_event].value_counts(sort=True).index)
    if len(others) > 1:
        censored = column[_first(tokens == others[0])]
        i = _first(tokens == others[1])
        third = _shown(column[i])
        raise DataError(
            f"{where}, {row_name(source, i)}: value {third} is a third code: event_values [{', '.join(declared)}] "
            f"are events and {_shown(censored)}, the most frequent other value, is censored; without "
            f"`censored_values` no other value may occur. If {third} is censored too, say so: "
            f"`censored_values: [{_shown(censored)}, {third}]`; otherwise correct the file"
        )
    return is_event, _r_coding_warning(where, tokens, events)


def _tokens(column: pd.Series) -> pd.Series:
    tokens = {v: code_token(v) for v in pd.unique(column)}
    return column.map(tokens)


def _listed(values: tuple[object, ...]) -> list[str]:
    return [_shown(v) for v in values]


def _r_coding_warning(where: str, tokens: pd.Series, events: set[str]) -> list[str]:
    if events == {"1"} and set(tokens) == {"1", "2"}:
        return [
            f"{where}: holds 1 and 2, R's coding for censored and event, but event_values [1] makes 1 the event; "
            "check which code means death or progression"
        ]
    return []


def _zero_one_events(column: pd.Series, where: str, source: str, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=bool)
    values = _zero_one(column)
    bad = values.isna()
    if bad.any():
        i = _first(bad)
        codes = set(_tokens(column))
        hint = (
            f"R's 1/2 coding (2 = event)? say so: `event: {{column: {name}, event_values: [2]}}`"
            if codes == {"1", "2"}
            else f"for another coding say which values are events: `event: {{column: {name}, event_values: [...]}}`"
        )
        got = _shown(column[i])
        raise DataError(f"{where}, {row_name(source, i)}: events must be 0/1 or boolean, got {got}; {hint}")
    return values.to_numpy(dtype=float) == 1


_ZERO_ONE = {"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0}


def _zero_one(column: pd.Series) -> pd.Series:
    """0/1 as float, NaN for anything else (including missing)."""
    return column.astype(str).str.strip().str.lower().map(_ZERO_ONE).where(column.notna())


def _check_covariate(column: pd.Series, covariate: Covariate, where: str, source: str = "data") -> None:
    column = column.reset_index(drop=True)
    present = column.notna()
    if not present.any():
        raise DataError(f"{where} is entirely missing")
    if covariate.type == "continuous":
        numeric = pd.to_numeric(column, errors="coerce")
        _check_numeric(column, numeric, where, source)
        if covariate.log and (numeric < 0).any():
            i = _first(numeric < 0)
            raise DataError(f"{where}, {row_name(source, i)}: `log: true` needs values >= 0, got {_shown(numeric[i])}")
    if covariate.type == "binary":
        bad = _zero_one(column).isna() & present
        if bad.any():
            i = _first(bad)
            raise DataError(
                f"{where}, {row_name(source, i)}: binary values must be 0/1 or boolean, got {_shown(column[i])}"
            )
    if covariate.type == "categorical":
        _check_levels(level_labels(column[present]), covariate, where)


def _check_levels(labels: pd.Series, covariate: Covariate, where: str) -> None:
    levels = set(labels)
    if len(levels) < 2:
        raise DataError(f"{where} is constant ({labels.iloc[0]!r}); a factor needs two levels")
    if covariate.reference is not None and covariate.reference not in levels:
        raise DataError(
            f"{where}: reference level {covariate.reference!r} not among {', '.join(factor_levels(levels))}"
        )


def _check_numeric(column: pd.Series, numeric: pd.Series, where: str, source: str) -> None:
    bad = numeric.isna() & column.notna()
    if bad.any():
        i = _first(bad)
        raise DataError(f"{where}, {row_name(source, i)}: continuous but holds {_shown(column[i])}")
    infinite = np.isinf(numeric.to_numpy(dtype=float))
    if infinite.any():
        raise DataError(f"{where}, {row_name(source, _first(infinite))}: infinite value; values must be finite")


def _covariate_warnings(
    column: pd.Series, covariate: Covariate, event: np.ndarray, name: str
) -> list[str]:
    found = []
    observed = column.dropna()
    if covariate.type != "categorical" and level_labels(observed).nunique() == 1:
        # as R's coxph: the term is reported as not estimable (NA, "aliased"), the others are estimated
        found.append(f"covariate {name!r} is constant ({_shown(observed.iloc[0])}); its HR cannot be estimated (NA)")
    share = float(column.isna().mean())
    if share > HEAVY_MISSING_SHARE:
        found.append(
            f"covariate {name!r} is {share:.0%} missing; complete-case analyses drop those rows"
        )
    if covariate.type != "continuous":
        present = column.notna().to_numpy()
        levels = level_labels(column[present]).to_numpy(dtype=str)
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
        return max(level_labels(column.dropna()).nunique() - 1, 1)
    return 1
