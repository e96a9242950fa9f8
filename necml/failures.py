"""Errors necml did not raise itself, said in necml's words: the command line's one error path.

:func:`describe_failure` turns an exception from the operating system (a full disk, a
read-only folder), from memory, from the tracking store's client or from a dependency
(scipy's root-finders, scikit-learn, pydantic) into one message that names the file or the
place and the reason, and the exit status: 2 for what the input or the machine caused, 3 for
an unreachable tracking store, 4 for anything else (a bug: ``NECML_DEBUG=1`` shows the
traceback).
"""

from __future__ import annotations

import errno
import traceback

__all__ = ["EXIT_INTERNAL", "describe_failure"]

EXIT_INTERNAL = 4
_OS_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a path component is not a directory",
    errno.EISDIR: "it is a directory",
    errno.ENOENT: "no such file or directory",
}
_DEPENDENCY_WORDS = (
    ("f(a) and f(b) must have different signs",
     "no solution in the search interval: the stated numbers cannot all hold together"),
    ("Input contains NaN", "the data hold missing or infinite values where none are allowed"),
    ("Input contains infinity", "the data hold infinite values"),
)


def _origin(exc: BaseException) -> str:
    """The innermost module of the traceback, e.g. ``scipy.optimize._zeros_py``."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__module__
    path = frames[-1].filename
    for marker in ("site-packages/", "/necml/"):
        if marker in path:
            tail = path.split(marker, 1)[1].removesuffix(".py").replace("/", ".")
            return tail if marker == "site-packages/" else f"necml.{tail}"
    return path


def _os_message(exc: OSError) -> str:
    reason = _OS_REASONS.get(exc.errno or -1, exc.strerror or str(exc))
    target = exc.filename if exc.filename is not None else "a file"
    if exc.filename2 is not None:
        target = f"{exc.filename} -> {exc.filename2}"
    return f"cannot write or read {target}: {reason}; nothing was replaced (the previous outputs are unchanged)"


def describe_failure(exc: BaseException) -> tuple[str, int]:
    """The message and exit status for an exception necml did not raise on purpose.

    Parameters
    ----------
    exc : BaseException

    Returns
    -------
    (str, int)
        The message (names the file or the place, then the reason) and the exit status.

    Examples
    --------
    >>> describe_failure(OSError(28, "No space left on device", "out/metrics.csv"))[0].split(";")[0]
    'cannot write or read out/metrics.csv: the disk is full'
    """
    import os

    if os.environ.get("NECML_DEBUG"):
        raise exc
    if isinstance(exc, OSError):
        return _os_message(exc), 2
    if isinstance(exc, MemoryError):
        return "not enough memory for this size; use a smaller --n, calibration_n or number of replicates", 2
    from necml.tracking import unreachable_reason

    reason = unreachable_reason(exc)
    if reason is not None:
        return f"could not reach the tracking store ({reason}); check --tracking-uri and that the server runs", 3
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        from necml.config import format_validation_error

        return f"invalid {exc.title} (in {_origin(exc)}):\n{format_validation_error(exc)}", 2
    text = str(exc).strip() or type(exc).__name__
    for raw, words in _DEPENDENCY_WORDS:
        if raw in text:
            return f"{words} (reported by {_origin(exc)}: {text})", 2
    if isinstance(exc, ValueError):
        return f"{text} (reported by {_origin(exc)})", 2
    return (
        f"unexpected {type(exc).__name__} in {_origin(exc)}: {text}. This input is not checked yet; "
        "please report it (NECML_DEBUG=1 shows the traceback)",
        EXIT_INTERNAL,
    )
