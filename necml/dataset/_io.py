"""Parquet IO for cohorts: atomic writes, with provenance in the file's metadata."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from necml.exceptions import DataError

__all__ = ["METADATA_KEY", "atomic_write", "read_cohort", "read_metadata", "write_cohort"]

#: Key of necml's JSON metadata in the Parquet schema metadata.
METADATA_KEY = b"necml"


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write a file atomically: ``write`` fills a temporary sibling, then it is renamed.

    A failure leaves no partial file at ``path``.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination.
    write : callable
        Called with the temporary path to write to.

    Returns
    -------
    pathlib.Path
        The destination.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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
