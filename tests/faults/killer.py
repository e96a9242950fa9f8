"""Run ``necml ARGS`` and ``kill -9`` the process itself at one write phase (for the fault tests).

Usage: ``python -m tests.faults.killer PHASE ARGS...`` with PHASE one of ``staging`` (half-way
through writing the staging folder), ``swap`` (between the two renames that swap the run
directory in) and ``tracking`` (while logging the saved outputs to MLflow).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _patch(phase: str) -> None:
    import necml.pipeline._outputs as outputs
    import necml.tracking._lifecycle as lifecycle

    if phase == "staging":
        def save_models(result, folder: Path):  # noqa: ANN001, ANN202, ARG001 - the patched signature
            folder.mkdir()
            (folder / "half.skops").write_bytes(b"half")
            _die()

        outputs._save_models = save_models
    elif phase == "swap":
        import tempfile

        def publish(staging: Path, final: Path) -> Path:
            trash = Path(tempfile.mkdtemp(prefix=f".{final.name}.necml-old-{os.getpid()}-", dir=final.parent))
            os.replace(final, trash / final.name)
            _die()
            return final

        outputs.publish_directory = publish
    elif phase == "tracking":
        def log(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202, ARG001
            _die()

        lifecycle.log_run_directory = log
    else:
        raise SystemExit(f"unknown phase {phase!r}")


if __name__ == "__main__":
    _patch(sys.argv[1])
    from necml.cli import app

    sys.argv = ["necml", *sys.argv[2:]]
    app()
