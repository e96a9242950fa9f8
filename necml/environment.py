"""Where a result was computed: package versions, code identity, platform.

Recorded with every pipeline run so a run can be re-run and checked (``necml reproduce``).
The code identity is the SHA-256 of necml's own source files (sorted by path), which is
exact even for an uncommitted tree or an installed wheel; the git commit and whether the tree
had uncommitted changes are recorded next to it when necml runs from a checkout.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

__all__ = ["PACKAGES", "code_sha256", "environment_record", "git_state", "package_versions"]

#: Distributions whose versions are recorded with a run.
PACKAGES = (
    "necml",
    "numpy",
    "scipy",
    "pandas",
    "scikit-learn",
    "scikit-survival",
    "xgboost",
    "lifelines",
    "optuna",
    "mlflow",
    "pyarrow",
    "pydantic",
)

_PACKAGE_DIR = Path(__file__).resolve().parent


#: Other distributions of the same import package, tried in order (Linux installs the CPU build).
ALTERNATIVES = {"xgboost": ("xgboost-cpu",)}


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed version of each distribution (``"absent"`` when not installed).

    A package installed under another distribution name (``xgboost-cpu`` for ``xgboost``) is
    recorded under the package's own name: the two builds run the same code on the CPU.
    """
    found = {}
    for name in names:
        found[name] = "absent"
        for candidate in (name, *ALTERNATIVES.get(name, ())):
            try:
                found[name] = metadata.version(candidate)
                break
            except metadata.PackageNotFoundError:
                continue
    return found


@lru_cache(maxsize=1)
def code_sha256() -> str:
    """SHA-256 over necml's ``*.py`` files: each relative path, a NUL, its bytes, a NUL."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=_PACKAGE_DIR, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state() -> dict[str, str]:
    """``commit`` and ``dirty`` ("true"/"false") of the checkout necml runs from, else "unknown"."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": "unknown", "dirty": "unknown"}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": "unknown" if status is None else str(bool(status)).lower()}


def environment_record() -> dict[str, object]:
    """Versions, code identity and platform, JSON-ready."""
    return {
        "versions": package_versions(),
        "code_sha256": code_sha256(),
        "git": git_state(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
