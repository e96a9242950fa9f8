"""Load a cohort specification from YAML, with errors that name file, field and reason."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import ValidationError

from necml.config import format_validation_error as _format
from necml.config import load_config, read_yaml
from necml.exceptions import SpecError
from necml.spec._cohort_spec import CohortSpec

_DIST_TAGS = frozenset(
    {"normal", "quartiles", "median_range", "beta", "zero_inflated", "bernoulli", "categorical"}
)

__all__ = [
    "format_validation_error", "load_config", "load_spec", "read_yaml", "spec_from_dict", "spec_hash",
]


def format_validation_error(error: ValidationError) -> str:
    """A pydantic error of a cohort spec as dotted field paths (distribution tags left out)."""
    return _format(error, drop=_DIST_TAGS)


def spec_from_dict(data: object, *, origin: str = "<dict>") -> CohortSpec:
    """Validate a mapping (parsed YAML) into a :class:`CohortSpec`.

    Parameters
    ----------
    data : object
        The parsed document.
    origin : str, default="<dict>"
        Where it came from, used in error messages.

    Returns
    -------
    CohortSpec
        The validated, frozen specification.

    Raises
    ------
    SpecError
        If the document is not a mapping or fails validation.
    """
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise SpecError(f"{origin}: a cohort spec must be a YAML mapping, got {kind}")
    try:
        return CohortSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{origin}: invalid cohort spec\n{format_validation_error(exc)}") from None


def load_spec(path: str | Path) -> CohortSpec:
    """Load and validate a cohort specification file.

    Parameters
    ----------
    path : str or pathlib.Path
        A YAML file, e.g. ``configs/cohorts/lcnec_stage4_2025.yaml``.

    Returns
    -------
    CohortSpec
        The validated, frozen specification.

    Raises
    ------
    SpecError
        If the file is missing, empty, not YAML, or not a valid specification. The message
        names the file, the dotted field path and the reason.

    Examples
    --------
    >>> spec = load_spec("configs/cohorts/lcnec_stage4_2025.yaml")
    >>> spec.arms["chemo"].n
    17
    """
    return spec_from_dict(read_yaml(path), origin=str(path))


def spec_hash(spec: CohortSpec) -> str:
    """SHA-256 of the specification's canonical JSON form (key order does not matter)."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
