"""A study method whose worker process dies the first time it runs (for the retry test)."""

from __future__ import annotations

import os
from pathlib import Path


def crash_once(frame, mechanism, seed):  # noqa: ANN001, ANN201 - the python-method protocol
    marker = Path(os.environ["NECML_TEST_CRASH_MARKER"])
    if not marker.exists():
        marker.write_text("crashed")
        os._exit(1)  # the worker process dies mid-replicate
    return [{"estimand": "n_events", "estimate": float(frame[f"{mechanism.endpoint}_event"].sum())}]
