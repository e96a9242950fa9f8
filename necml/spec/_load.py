"""Load a cohort specification from YAML, with errors that name file, field and reason."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from necml.exceptions import SpecError
from necml.spec._cohort_spec import CohortSpec

M = TypeVar("M", bound=BaseModel)

_DIST_TAGS = frozenset(
    {"normal", "quartiles", "median_range", "beta", "zero_inflated", "bernoulli", "categorical"}
)

__all__ = [
    "format_validation_error", "load_config", "load_spec", "read_yaml", "spec_from_dict", "spec_hash",
]


def format_validation_error(error: ValidationError) -> str:
    """Render a pydantic error as dotted field paths, one block per problem.

    Parameters
    ----------
    error : pydantic.ValidationError
        The error raised while validating a specification.

    Returns
    -------
    str
        Lines such as ``arms.ici.age.sd`` followed by the indented reason.
    """
    lines = []
    for err in error.errors(include_url=False):
        # Drop the discriminator tags pydantic inserts (e.g. `normal`) from the path.
        loc = [
            str(p) for i, p in enumerate(err["loc"])
            if not (p in _DIST_TAGS and i > 0 and err["loc"][i - 1] not in ("variables", "levels"))
        ]
        path = ".".join(loc) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{path}\n    {msg} [type={err['type']}]")
    return "\n".join(lines)


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


def read_yaml(path: str | Path) -> object:
    """Parse a YAML file, with a :class:`SpecError` naming the file when it is missing or bad."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise SpecError(f"{path}: the file is empty")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from None


def load_config(path: str | Path, model: type[M], *, what: str) -> M:
    """Load a YAML file into the pydantic ``model``; errors name the file and dotted fields.

    Parameters
    ----------
    path : str or pathlib.Path
        The YAML file.
    model : type
        A pydantic model class (frozen, ``extra="forbid"``).
    what : str
        What the file is, for messages (e.g. ``"pipeline config"``).

    Returns
    -------
    The validated model.

    Raises
    ------
    SpecError
        If the file is missing, empty, not YAML, not a mapping, or invalid.
    """
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a {what} must be a YAML mapping, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{path}: invalid {what}\n{format_validation_error(exc)}") from None


def spec_hash(spec: CohortSpec) -> str:
    """SHA-256 of the specification's canonical JSON form (key order does not matter)."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
