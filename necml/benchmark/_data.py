"""Benchmark data sets (a file with a column-type map, scikit-survival's loaders, SurvSet) and folds files.

A data set becomes a :class:`~necml.dataset.SurvivalData` whose covariates are typed as the
benchmark codes them: a *factor* is categorical with its levels sorted as R's ``factor()`` sorts
them (numerically when every level is a number, else as text) and the first level the
reference (treatment contrasts); a *numeric* column is continuous. Every problem with a file is
a :class:`~necml.exceptions.DataError` naming the file, the column (and line) and the reason.

A folds file (``set, iteration, row_id``; ``row_id`` 1-based, as R numbers rows) is the given
outer resampling of one data set: per iteration a training and a test set of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from necml.dataset import Covariate, SurvivalData
from necml.exceptions import DataError

__all__ = ["Split", "load_file_dataset", "load_sksurv_dataset", "load_survset_dataset", "read_folds", "typed_data"]

#: scikit-survival loaders by name: (function, time column, event column).
SKSURV = {
    "veterans": "load_veterans_lung_cancer",
    "gbsg2": "load_gbsg2",
    "whas500": "load_whas500",
    "aids": "load_aids",
    "flchain": "load_flchain",
    "breast_cancer": "load_breast_cancer",
}


@dataclass(frozen=True, slots=True)
class Split:
    """One iteration of a resampling: positions (0-based) of the training and test rows."""

    iteration: int
    train: np.ndarray
    test: np.ndarray


def _levels(column: pd.Series) -> list[str]:
    values = column.dropna().unique()
    numbers = pd.to_numeric(pd.Series(values), errors="coerce")
    if len(values) and numbers.notna().all():
        order = np.argsort(numbers.to_numpy(), kind="stable")
        return [_text(values[i]) for i in order]
    return sorted(_text(v) for v in values)


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _event(column: pd.Series, source: str, name: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce")
    if column.isna().any() or values.isna().any() or not values.isin([0, 1]).all():
        bad = int(np.flatnonzero(values.isna() | ~values.isin([0, 1]))[0])
        raise DataError(f"{source}: column {name!r}, line {bad + 2}: an event must be 0 or 1, "
                        f"but got {column.iloc[bad]!r}.")
    if values.sum() == 0:
        raise DataError(f"{source}: column {name!r}: no events (every value is 0).")
    return values.to_numpy().astype(bool)


def _time(column: pd.Series, source: str, name: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() | (values < 0) | ~np.isfinite(values.fillna(0.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{source}: column {name!r}, line {i + 2}: a time must be a number >= 0, "
                        f"but got {column.iloc[i]!r}.")
    return values.to_numpy(dtype=float)


def typed_data(
    frame: pd.DataFrame,
    *,
    time: str,
    event: str,
    factors: list[str],
    numeric: list[str] | None = None,
    source: str = "data",
    name: str = "data",
) -> SurvivalData:
    """Type a table's covariates as a benchmark codes them (factor or numeric).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, one row per patient.
    time, event : str
        Follow-up (>= 0) and event (0/1) columns.
    factors : list of str
        Factor columns (categorical; levels sorted as R sorts them, the first the reference).
    numeric : list of str, optional
        Numeric columns; default: every other column.
    source, name : str
        The file (for messages) and the data set's name.

    Returns
    -------
    SurvivalData

    Raises
    ------
    necml.exceptions.DataError
        A missing column, a non-numeric value of a numeric column, a bad time or event.
    """
    if numeric is None:
        numeric = [c for c in frame.columns if c not in {time, event, *factors}]
    missing = [c for c in [time, event, *factors, *numeric] if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: column(s) {', '.join(map(repr, missing))} not found; "
                        f"the file has {', '.join(map(str, frame.columns))}.")
    columns: dict[str, pd.Series] = {}
    types: dict[str, Covariate] = {}
    for c in factors:
        levels = _levels(frame[c])
        text = frame[c].map(lambda v: np.nan if pd.isna(v) else _text(v))
        columns[c] = pd.Categorical(text, categories=levels)
        types[c] = Covariate(type="categorical", reference=levels[0] if levels else None)
    for c in numeric:
        values = pd.to_numeric(frame[c], errors="coerce")
        bad = values.isna() & frame[c].notna()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{source}: column {c!r}, line {i + 2}: a numeric column must hold numbers, "
                            f"but got {frame[c].iloc[i]!r} (declare it a factor?).")
        columns[c] = values.astype(float)
        types[c] = Covariate(type="continuous")
    X = pd.DataFrame(columns).reset_index(drop=True)
    return SurvivalData(X=X, time=_time(frame[time], source, time), event=_event(frame[event], source, event),
                        types=types, endpoint=name, source=source)


def load_file_dataset(
    path: str | Path, *, time: str, event: str, factors: list[str], numeric: list[str] | None = None,
    name: str | None = None,
) -> SurvivalData:
    """A data set from a CSV or Parquet file with its column types (see :func:`typed_data`)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such data file.")
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    return typed_data(frame, time=time, event=event, factors=factors, numeric=numeric, source=str(path),
                      name=name or path.stem)


def load_sksurv_dataset(name: str) -> SurvivalData:
    """A data set shipped with scikit-survival (``veterans``, ``gbsg2``, ``whas500``, ``aids``, ...)."""
    import sksurv.datasets as datasets

    if name not in SKSURV:
        raise DataError(f"scikit-survival data set {name!r} unknown; known: {', '.join(SKSURV)}.")
    X, y = getattr(datasets, SKSURV[name])()
    event_name, time_name = y.dtype.names
    frame = X.copy()
    frame["time"], frame["event"] = y[time_name], y[event_name].astype(int)
    factors = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    return typed_data(frame, time="time", event="event", factors=factors, source=f"sksurv:{name}", name=name)


def load_survset_dataset(name: str) -> SurvivalData:
    """A data set of SurvSet (the optional extra ``data``): ``fac_*`` columns factors, ``num_*`` numeric.

    Raises
    ------
    necml.exceptions.DataError
        SurvSet is not installed, the name is unknown, or the data set has time-varying covariates.
    """
    try:
        from SurvSet.data import SurvLoader
    except ImportError:
        raise DataError("SurvSet is not installed: `uv sync --extra data` (or pip install SurvSet).") from None
    loader = SurvLoader()
    known = loader.df_ds
    row = known[known["ds"] == name]
    if row.empty:
        raise DataError(f"SurvSet data set {name!r} unknown; e.g. {', '.join(known['ds'].head(8))}.")
    if bool(row["is_td"].iloc[0]):
        raise DataError(f"SurvSet data set {name!r} has time-varying covariates (start/stop); not supported.")
    frame = loader.load_dataset(name)["df"]
    factors = [c for c in frame.columns if c.startswith("fac_")]
    numeric = [c for c in frame.columns if c.startswith("num_")]
    return typed_data(frame, time="time", event="event", factors=factors, numeric=numeric,
                      source=f"survset:{name}", name=name)


def _folds_columns(frame: pd.DataFrame, source: str) -> None:
    missing = [c for c in ("set", "iteration", "row_id") if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: column(s) {', '.join(map(repr, missing))} not found; a folds file has "
                        f"`set, iteration, row_id`, but this one has {', '.join(map(str, frame.columns))}.")
    bad_set = ~frame["set"].isin(["train", "test"])
    if bad_set.any():
        i = int(np.flatnonzero(bad_set)[0])
        raise DataError(f"{source}: column 'set', line {i + 2}: must be 'train' or 'test', but got "
                        f"{frame['set'].iloc[i]!r}.")
    for c in ("iteration", "row_id"):
        values = pd.to_numeric(frame[c], errors="coerce")
        bad = values.isna() | (values != values.round()) | (values < 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{source}: column {c!r}, line {i + 2}: must be an integer >= 1, but got "
                            f"{frame[c].iloc[i]!r}.")


def read_folds(path: str | Path, n_rows: int) -> list[Split]:
    """Read a folds file (``set, iteration, row_id``) for a data set of ``n_rows`` rows.

    Raises
    ------
    necml.exceptions.DataError
        A missing column; a set other than train/test; a row id that is not an integer in
        ``1..n_rows`` (the file names rows that do not exist); a row twice in one iteration;
        an iteration without a training or a test row.
    """
    source = str(path)
    if not Path(path).is_file():
        raise DataError(f"{source}: no such folds file.")
    frame = pd.read_csv(path)
    _folds_columns(frame, source)
    row = frame["row_id"].astype(int)
    beyond = row > n_rows
    if beyond.any():
        i = int(np.flatnonzero(beyond)[0])
        raise DataError(f"{source}: column 'row_id', line {i + 2}: row {row.iloc[i]} does not exist "
                        f"(the data set has {n_rows} rows).")
    twice = frame.assign(row_id=row).duplicated(["iteration", "row_id"])
    if twice.any():
        i = int(np.flatnonzero(twice)[0])
        raise DataError(f"{source}: line {i + 2}: row {row.iloc[i]} appears twice in iteration "
                        f"{frame['iteration'].iloc[i]} (a row is in the training or the test set, not both).")
    splits = []
    for iteration, part in frame.assign(row_id=row).groupby(frame["iteration"].astype(int), sort=True):
        train = part.loc[part["set"] == "train", "row_id"].to_numpy() - 1
        test = part.loc[part["set"] == "test", "row_id"].to_numpy() - 1
        if not len(train) or not len(test):
            which = "training" if not len(train) else "test"
            raise DataError(f"{source}: column 'set': iteration {iteration} has no {which} rows.")
        splits.append(Split(int(iteration), train, test))
    return splits
