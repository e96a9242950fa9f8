"""Parquet IO for cohorts: atomic writes, with provenance in the file's metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from necml.exceptions import DataError
from necml.files import atomic_write

__all__ = ["METADATA_KEY", "atomic_write", "read_cohort", "read_metadata", "write_cohort"]

#: Key of necml's JSON metadata in the Parquet schema metadata.
METADATA_KEY = b"necml"


def write_cohort(frame: pd.DataFrame, path: str | Path, metadata: dict[str, object]) -> Path:
    """Write a cohort to Parquet with necml's metadata (spec hash, seed, n, version).

    Parameters
    ----------
    frame : pandas.DataFrame
        The cohort.
    path : str or pathlib.Path
        Destination ``.parquet`` file; written atomically.
    metadata : dict
        JSON-serialisable provenance.

    Returns
    -------
    pathlib.Path
        The destination.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps(metadata, sort_keys=True).encode("utf-8")
    table = table.replace_schema_metadata(meta)
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def read_metadata(path: str | Path) -> dict[str, object]:
    """Read necml's metadata from a cohort Parquet file (empty if absent)."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataError(f"{path}: not a readable Parquet file: {exc}") from None
    raw = meta.get(METADATA_KEY)
    return json.loads(raw) if raw else {}


def read_cohort(path: str | Path) -> pd.DataFrame:
    """Read a cohort written by :func:`write_cohort` (dtypes restored)."""
    try:
        return pd.read_parquet(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataError(f"{path}: not a readable Parquet file: {exc}") from None
