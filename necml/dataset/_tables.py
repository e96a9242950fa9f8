"""Reading user tables (CSV or Parquet) and the Veterans' lung cancer data shipped with sksurv."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from necml.dataset._mapping import DAYS_PER_MONTH, Covariate, DataMapping, Endpoint, contract_mapping
from necml.exceptions import DataError

__all__ = [
    "DAYS_PER_MONTH",
    "VETERANS",
    "VETERANS_MAPPING",
    "csv_line",
    "load_table",
    "load_veterans",
    "resolve_data",
    "row_name",
]


def load_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file, with a :class:`DataError` naming the file on failure.

    Parameters
    ----------
    path : str or pathlib.Path
        ``*.csv`` or ``*.parquet``.

    Returns
    -------
    pandas.DataFrame
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if path.stat().st_size > MAX_TABLE_BYTES:
        raise DataError(f"{path}: {path.stat().st_size / 1024**3:.1f} GB is larger than necml reads (4 GB)")
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, encoding="utf-8")
        elif suffix in {".parquet", ".pq"}:
            frame = pd.read_parquet(path)
        else:
            raise DataError(f"{path}: unknown format {suffix!r}; use .csv or .parquet")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: cannot be read ({exc})") from None
    if frame.empty:
        raise DataError(f"{path}: the table has no rows")
    _check_unique_columns(path, frame if suffix != ".csv" else _csv_header(path))
    return frame


def csv_line(path: str | Path, position: int) -> int:
    """The line of a CSV file on which data row ``position`` (0-based) starts; the header is line 1.

    What an editor or a spreadsheet shows: blank lines (which the reader skips) and quoted
    values spanning lines are counted. When the file cannot be read again, ``position + 2``.
    """
    import csv

    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            reader = csv.reader(handle)
            if next(reader, None) is None:
                return position + 2
            start, seen = reader.line_num + 1, -1
            for record in reader:
                if any(field.strip() for field in record):
                    seen += 1
                    if seen == position:
                        return start
                start = reader.line_num + 1
    except (OSError, csv.Error):
        pass
    return position + 2


def row_name(source: str, position: int) -> str:
    """Where data row ``position`` (0-based) is, as the user sees it: ``line N`` of a CSV
    file (header = line 1, so the first patient is line 2), else ``row N`` counted from 1."""
    if source.lower().endswith(".csv"):
        return f"line {csv_line(source, position) if Path(source).is_file() else position + 2}"
    return f"row {position + 1}"


#: The largest table necml reads (about 1 KB per row in memory for a typical cohort).
MAX_TABLE_BYTES = 4 * 1024**3


def _csv_header(path: Path) -> list[str]:
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        return next(csv.reader(handle), [])


def _check_unique_columns(path: Path, columns: object) -> None:
    names = [str(c) for c in (columns.columns if isinstance(columns, pd.DataFrame) else columns)]  # type: ignore[union-attr]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        listed = ", ".join(map(repr, twice))
        raise DataError(f"{path}: duplicate column name(s) {listed}; every column needs its own name")


#: Column mapping of :func:`load_veterans`.
VETERANS_MAPPING = DataMapping(
    endpoints={"os": Endpoint(time="os_months", event="os_event")},
    covariates={
        "treatment": Covariate(type="categorical", reference="standard"),
        "celltype": Covariate(type="categorical", reference="squamous"),
        "karnofsky": Covariate(type="continuous"),
        "months_from_diagnosis": Covariate(type="continuous", log=True),
        "age": Covariate(type="continuous"),
        "prior_therapy": Covariate(type="binary"),
    },
)


def load_veterans() -> pd.DataFrame:
    """The Veterans' Administration lung cancer trial (Kalbfleisch & Prentice), 137 patients.

    Loaded from scikit-survival and renamed to necml's conventions: ``os_months`` (days /
    30.4375), ``os_event``, ``treatment`` (standard/test), ``celltype`` (squamous, smallcell,
    adeno, large), ``karnofsky`` (performance status, 10-99), ``months_from_diagnosis``,
    ``age`` and ``prior_therapy`` (bool).

    Returns
    -------
    pandas.DataFrame

    References
    ----------
    .. [1] Kalbfleisch & Prentice (1980), *The Statistical Analysis of Failure Time Data*.
    """
    from sksurv.datasets import load_veterans_lung_cancer

    X, y = load_veterans_lung_cancer()
    return pd.DataFrame(
        {
            "treatment": X["Treatment"].astype(str).to_numpy(),
            "celltype": X["Celltype"].astype(str).to_numpy(),
            "karnofsky": X["Karnofsky_score"].to_numpy(dtype=float),
            "months_from_diagnosis": X["Months_from_Diagnosis"].to_numpy(dtype=float),
            "age": X["Age_in_years"].to_numpy(dtype=float),
            "prior_therapy": (X["Prior_therapy"].astype(str) == "yes").to_numpy(),
            "os_months": y["Survival_in_days"] / DAYS_PER_MONTH,
            "os_event": np.asarray(y["Status"], dtype=bool),
        }
    )


#: Name under which :func:`resolve_data` finds the built-in Veterans' data.
VETERANS = "veterans"


def resolve_data(
    data: str | Path, mapping: str | Path | None = None
) -> tuple[pd.DataFrame, DataMapping, str]:
    """Load a table and its mapping: ``"veterans"``, a necml cohort, or a mapped user file.

    Parameters
    ----------
    data : str or pathlib.Path
        ``"veterans"``, or a CSV/Parquet path.
    mapping : str or pathlib.Path, optional
        A YAML :class:`DataMapping` (endpoints, covariates, derive). Without one, the file
        must follow necml's column contract.

    Returns
    -------
    (frame, mapping, source)
    """
    from necml.config import load_config

    if str(data) == VETERANS:
        frame, found, source = load_veterans(), VETERANS_MAPPING, "veterans (scikit-survival)"
    else:
        frame, source = load_table(data), str(data)
        found = None
    if mapping is not None:
        return frame, load_config(mapping, DataMapping, what="data mapping"), source
    if found is not None:
        return frame, found, source
    contract = contract_mapping(frame)
    if not contract.endpoints:
        raise DataError(
            f"{source}: no endpoint columns of the cohort contract (pfs_months/pfs_event, "
            "os_months/os_event); pass a data mapping (--mapping) that names them"
        )
    return frame, contract, source
