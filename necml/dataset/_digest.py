"""A table's identity: SHA-256 of a canonical serialisation, and its schema."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

__all__ = ["data_schema", "data_sha256"]


def data_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 of a table, independent of file format and library versions.

    Definition: for each column in order, its name and dtype (UTF-8, NUL-terminated), then its
    values: numeric and boolean columns as little-endian float64 bytes (missing = NaN), every
    other column as the UTF-8 text of each value, NUL-separated (missing = the empty string
    after a ``\\x01`` marker). The index is ignored.

    Examples
    --------
    >>> a = pd.DataFrame({"t": [1.0, 2.5], "e": [1, 0]})
    >>> data_sha256(a) == data_sha256(a.copy()), data_sha256(a) == data_sha256(a.iloc[::-1])
    (True, False)
    """
    digest = hashlib.sha256()
    for name in frame.columns:
        column = frame[name]
        digest.update(f"{name}\0{column.dtype}\0".encode())
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            values = column.to_numpy(dtype="float64", na_value=np.nan)
            digest.update(values.astype("<f8").tobytes())
        else:
            text = ["\x01" if pd.isna(v) else str(v) for v in column.tolist()]
            digest.update("\0".join(text).encode())
    return digest.hexdigest()


def data_schema(frame: pd.DataFrame) -> dict[str, str]:
    """Column name -> pandas dtype name, in column order."""
    return {str(name): str(dtype) for name, dtype in frame.dtypes.items()}
