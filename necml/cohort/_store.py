"""A disk cache of fitted mechanisms, so a specification is calibrated once per machine.

Calibrating a specification's joint model takes seconds (the OS post-progression solve, an
imbalance); a command that generates from the same specification again loads the pickled
:class:`~necml.cohort.CohortModel` instead. The key is the specification's content hash
(without its name and title) together with a digest of the code that fits it (``necml/cohort``,
``necml/spec``, ``necml/random.py``) and the numpy and scipy versions, so any change to either
refits. A missing, unreadable or stale entry
is refitted, never an error; writes are atomic (temporary file, then rename).

Location: ``$NECML_CACHE_DIR``, else ``$XDG_CACHE_HOME/necml``, else ``~/.cache/necml``;
``NECML_CACHE_DIR=off`` disables it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from necml.cohort._model import CohortModel

__all__ = ["cache_dir", "load_model", "save_model"]


def cache_dir() -> Path | None:
    """Where fitted mechanisms are kept (``None``: disabled)."""
    given = os.environ.get("NECML_CACHE_DIR")
    if given is not None:
        return None if given.strip().lower() in ("", "off", "0", "none") else Path(given) / "mechanisms"
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "necml" / "mechanisms"


@lru_cache(maxsize=1)
def _code_digest() -> str:
    import numpy
    import scipy

    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(f"{numpy.__version__}|{scipy.__version__}".encode())
    files = sorted([*package.joinpath("cohort").rglob("*.py"), *package.joinpath("spec").rglob("*.py"),
                    package / "random.py"])
    for f in files:
        h.update(f.relative_to(package).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _path(key: str) -> Path | None:
    root = cache_dir()
    return None if root is None else root / f"{key[:32]}-{_code_digest()}.pkl"


def load_model(key: str) -> CohortModel | None:
    """The cached mechanism under ``key`` (:func:`necml.cohort._model.mechanism_key`), or ``None``."""
    path = _path(key)
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            model = pickle.load(fh)  # noqa: S301 - our own cache directory
    except Exception:  # noqa: BLE001 - a broken entry is refitted
        return None
    return model if type(model).__name__ == "CohortModel" else None


def save_model(key: str, model: CohortModel) -> None:
    """Store ``model`` under ``key`` (best effort: an unwritable cache is skipped)."""
    path = _path(key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        return
