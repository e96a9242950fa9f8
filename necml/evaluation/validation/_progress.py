"""Progress of a validation: one step per model fit, reported to whoever listens.

The validation schemes call :func:`fit_done` after each fit (a fold, a bootstrap sample, the
held-out split, the final fit on all patients); a caller that wants a progress bar wraps the
validation in :func:`reporting`. Nothing is reported (and nothing costs) without a listener.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["fit_done", "planned_fits", "reporting"]

_LISTENER: ContextVar[Callable[[str], None] | None] = ContextVar("necml_validation_progress", default=None)


def fit_done(what: str) -> None:
    """Report that the fit ``what`` (e.g. ``"repeat 1, fold 3 of 5"``) has finished."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(what)


@contextmanager
def reporting(listener: Callable[[str], None]) -> Iterator[None]:
    """Send every :func:`fit_done` inside the block to ``listener``."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def planned_fits(scheme: str, *, folds: int, repeats: int, bootstrap: int) -> int:
    """The fits one model's validation reports: per resample, plus the final fit on all patients."""
    per_scheme = {"cv": folds * repeats, "bootstrap": bootstrap, "holdout": 1}
    return per_scheme[scheme] + 1
