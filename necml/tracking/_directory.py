"""A run directory as ``necml run`` writes it: ``record.json``, tables, plots, inputs, models."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from pathlib import Path

from necml.exceptions import DataError

__all__ = ["RECORD_FILE", "current_user", "read_record", "record_times"]

RECORD_FILE = "record.json"


def read_record(directory: str | Path) -> dict:
    """The ``record.json`` of a run directory (a clear error when it is not one)."""
    path = Path(directory) / RECORD_FILE
    if not path.is_file():
        raise DataError(f"{directory}: not a necml run directory (no {RECORD_FILE})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON: {exc}") from None


def current_user() -> str:
    """The login name of whoever runs necml (``"unknown"`` where the system has none, as in MLflow)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no $USER and no passwd entry (some containers)
        return "unknown"


def _start_ms(record: dict) -> int | None:
    if isinstance(record.get("start_time_ms"), int | float):
        return int(record["start_time_ms"])
    try:  # a record written before ``start_time_ms`` existed: ``started`` in ISO 8601 with its offset
        return int(datetime.fromisoformat(str(record["started"])).timestamp() * 1000)
    except (KeyError, ValueError):
        return None


def record_times(record: dict) -> tuple[int | None, int | None]:
    """When the recorded run started and ended, in milliseconds since the epoch (UTC).

    The start is the record's ``start_time_ms`` (else its ISO ``started``), the end the start
    plus ``duration_s``; either is None when the record does not say.

    Examples
    --------
    >>> record_times({"start_time_ms": 1_700_000_000_000, "duration_s": 62.0})
    (1700000000000, 1700000062000)
    >>> record_times({"started": "2023-11-14T22:13:20+00:00", "duration_s": 1.5})
    (1700000000000, 1700000001500)
    >>> record_times({})
    (None, None)
    """
    start = _start_ms(record)
    duration = record.get("duration_s")
    if start is None or not isinstance(duration, int | float):
        return start, None
    return start, start + round(duration * 1000)
