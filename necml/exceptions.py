"""Exceptions raised by necml.

Every error a user can cause derives from :class:`NecmlError`, so the command line can turn it
into one clear message and a non-zero exit without a traceback.
"""

from __future__ import annotations

__all__ = [
    "CalibrationError",
    "DataError",
    "NecmlError",
    "OutputError",
    "ReproductionError",
    "SizeLimitError",
    "SpecError",
    "TrackingError",
    "TrackingUnavailable",
]


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


class OutputError(NecmlError, OSError):
    """An output target is not necml's to write (a file, a device, a folder necml did not write,
    a read-only folder), or is in use by another necml process."""


class SizeLimitError(NecmlError, ValueError):
    """A size (patients, replicates, a file) is larger than necml can handle on this machine."""


class TrackingError(NecmlError, RuntimeError):
    """A tracking request cannot be served: an unknown run id, a run that is not necml's."""


class TrackingUnavailable(NecmlError, RuntimeError):
    """The tracking server could not be reached; the results are safe on disk.

    ``directory`` is the saved run directory, which ``necml log DIR`` sends to MLflow later.
    """

    def __init__(self, message: str, *, directory: str | None = None) -> None:
        super().__init__(message)
        self.directory = directory


class ReproductionError(NecmlError, RuntimeError):
    """A run cannot be reproduced as asked (different code without ``--allow-code-change``)."""
