"""Provenance strings: every number in a cohort specification says where it comes from."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator

__all__ = ["Source", "is_assumed", "parse_source"]

_PUBLISHED = re.compile(r"^(?P<seed>\d{3})\s+\S.*$")
_ASSUMED = re.compile(r"^assumed:\s*\S.*$")


def _check_source(value: str) -> str:
    value = value.strip()
    if _PUBLISHED.match(value) or _ASSUMED.match(value):
        return value
    raise ValueError(
        "a source must be `NNN <where>` for a published number (seed file number, then table "
        "or page, e.g. `002 Table 2`) or `assumed: <one-line reason>`, "
        f"but got {value!r}"
    )


#: A provenance string: ``"002 Table 2"`` (published) or ``"assumed: reason"``.
Source = Annotated[str, AfterValidator(_check_source)]


def is_assumed(source: str) -> bool:
    """Return whether ``source`` marks an assumed (not published) number."""
    return source.startswith("assumed")


def parse_source(source: str) -> tuple[Literal["published", "assumed"], str]:
    """Split a provenance string into its kind and its detail.

    Parameters
    ----------
    source : str
        A validated provenance string.

    Returns
    -------
    tuple of (str, str)
        ``("published", "002 Table 2")`` or ``("assumed", "reason")``.
    """
    if is_assumed(source):
        return "assumed", source.split(":", 1)[1].strip()
    return "published", source
