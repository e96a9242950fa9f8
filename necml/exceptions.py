"""Exceptions raised by necml.

Every error a user can cause derives from :class:`NecmlError`, so the command line can turn it
into one clear message and a non-zero exit without a traceback.
"""

from __future__ import annotations

__all__ = ["CalibrationError", "DataError", "NecmlError", "SpecError"]


class NecmlError(Exception):
    """Base class of every error necml raises on purpose."""


class SpecError(NecmlError, ValueError):
    """A cohort specification is missing, malformed, or states impossible statistics.

    The message names the file, the dotted field path and the reason.
    """


class CalibrationError(NecmlError, RuntimeError):
    """The generator could not be calibrated to a specification's targets."""


class DataError(NecmlError, ValueError):
    """A data set does not satisfy necml's column contract."""
