"""Survival arrays as functions receive them: one argument order, and an event that is an event.

Every necml function that takes survival data takes ``(time, event[, risk])`` in that order
(``docs/conventions.md``, "Argument order"). An event indicator is boolean or 0/1; anything else
(a follow-up time passed where the event belongs, R's 1/2 coding) is refused with the reason,
because ``numpy.asarray(x, bool)`` would silently read every non-zero time as an event.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from necml.exceptions import DataError

__all__ = ["as_event"]


def as_event(event: ArrayLike, *, name: str = "event") -> NDArray[np.bool_]:
    """An event indicator as a boolean array, refusing values other than 0/1.

    Parameters
    ----------
    event : array-like
        Boolean, or numbers 0 and 1.
    name : str, default="event"
        The argument's name, for the message.

    Returns
    -------
    numpy.ndarray of bool

    Raises
    ------
    necml.exceptions.DataError
        If a value is neither 0 nor 1 (e.g. the arguments were passed as ``(event, time)``, or
        the events are coded 1/2 as in R's ``lung``).

    Examples
    --------
    >>> as_event([1, 0, 1]).tolist()
    [True, False, True]
    """
    values = np.asarray(event)
    if values.dtype == bool:
        return values
    if values.dtype.kind not in "biuf":
        raise DataError(f"{name} must be boolean or 0/1, not {values.dtype} values")
    bad = (values != 0) & (values != 1)
    if bad.any():
        example = values[bad][:3].tolist()
        raise DataError(
            f"{name} must be boolean or 0/1; found {example} ({int(bad.sum())} such values). necml takes "
            "(time, event[, risk]) in that order; recode other event codes first (a mapping's event_values)"
        )
    return values.astype(bool)
