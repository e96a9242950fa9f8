"""Workers receive the fitted mechanisms: they neither read the spec nor re-calibrate."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from necml.simulation import mechanism_for, resolve_study, run_study, scenarios
from tests.simulation.conftest import EPNEC, small_study


def test_workers_use_the_mechanisms_fitted_in_the_main_process(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    shutil.copy(EPNEC, spec)
    study = resolve_study(small_study(data={**small_study().data.model_dump(), "spec": str(spec)}), tmp_path)
    for scenario in scenarios(study):
        mechanism_for(study.data, scenario)  # fitted here, once
    one = run_study(study, out=tmp_path / "one", workers=1).replicates

    def remove_spec(done: int, total: int) -> None:  # first called before the workers start
        spec.unlink(missing_ok=True)  # a worker that loaded the spec to re-calibrate would fail now

    two = run_study(study, out=tmp_path / "two", workers=2, progress=remove_spec).replicates
    assert not spec.exists()
    order = ["scenario", "replicate", "method", "estimand"]
    pd.testing.assert_frame_equal(
        one.sort_values(order).reset_index(drop=True), two.sort_values(order).reset_index(drop=True)
    )


_KILLED_PARENT = """
import os, signal, sys, time
from necml.files import directory_lock
from necml.simulation._execute import _pool
with directory_lock(sys.argv[1], what="a study"):
    pool = _pool(2, {})
    for future in [pool.submit(time.sleep, 0.2) for _ in range(4)]:
        future.result()  # both workers started, idle on their queue
    print(" ".join(str(pid) for pid in pool._processes), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # the main process dies without shutting the pool down
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_forked_workers_die_with_a_killed_main_process_and_free_the_study_lock(tmp_path: Path) -> None:
    """A killed study must be resumable at once: no orphaned worker may keep its directory locked."""
    import subprocess

    from necml.files import directory_lock

    done = subprocess.run([sys.executable, "-c", _KILLED_PARENT, str(tmp_path)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == -9, done.stderr
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)
    with directory_lock(tmp_path, what="a study"):  # the lock is free: a resume can start
        pass


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "zombie" not in status.read()
    except FileNotFoundError:
        return False


def test_the_heap_is_frozen_only_while_replicates_run_and_a_frozen_heap_is_left_alone() -> None:
    import gc

    from necml.simulation._execute import frozen_heap

    assert gc.get_freeze_count() == 0
    with frozen_heap():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    gc.freeze()  # someone else's choice
    try:
        before = gc.get_freeze_count()
        with frozen_heap():
            pass
        assert gc.get_freeze_count() == before
    finally:
        gc.unfreeze()
