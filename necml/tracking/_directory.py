"""A run directory as ``necml run`` writes it: ``record.json``, tables, plots, inputs, models."""

from __future__ import annotations

import json
from pathlib import Path

from necml.exceptions import DataError

__all__ = ["RECORD_FILE", "read_record"]

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
