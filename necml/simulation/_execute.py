"""Run replicates in-process, on local worker processes (loky) or on a Dask cluster.

Workers compute and return results; only the main process persists them (and talks to
MLflow). A task whose worker dies (a crashed or killed process) is re-run once; a second
death, or any other exception, stops the study with the finished replicates kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import as_completed

from necml.exceptions import NecmlError
from necml.simulation._replicate import ReplicateResult, ReplicateTask, run_replicate

__all__ = ["SimulationError", "execute"]

OnResult = Callable[[ReplicateResult], None]


class SimulationError(NecmlError, RuntimeError):
    """A replicate could not be computed (its worker died twice)."""


def _label(task: ReplicateTask) -> str:
    return f"{task.scenario.key} replicate {task.replicate}"


def _local(tasks: list[ReplicateTask], workers: int, on_result: OnResult) -> None:
    from joblib.externals.loky import get_reusable_executor
    from joblib.externals.loky.process_executor import BrokenProcessPool

    pending, attempt = tasks, 0
    while pending:
        # fresh workers for each study (they see the current environment and code)
        executor = get_reusable_executor(max_workers=workers, reuse=False, kill_workers=True)
        futures = {executor.submit(run_replicate, task): task for task in pending}
        crashed = []
        for future in as_completed(futures):
            try:
                result = future.result()
            except BrokenProcessPool:
                crashed.append(futures[future])
                continue
            on_result(result)
        executor.shutdown(wait=True)
        if crashed and attempt >= 1:
            raise SimulationError(f"a worker died twice running {', '.join(map(_label, crashed[:3]))}")
        pending, attempt = crashed, attempt + 1


def _dask(tasks: list[ReplicateTask], scheduler: str, on_result: OnResult) -> None:
    from distributed import Client
    from distributed import as_completed as dask_completed
    from distributed.scheduler import KilledWorker

    with Client(scheduler) as client:
        pending, attempt = tasks, 0
        while pending:
            futures = {client.submit(run_replicate, task, pure=False): task for task in pending}
            crashed = []
            for future in dask_completed(list(futures)):
                try:
                    result = future.result()
                except (KilledWorker, OSError):
                    crashed.append(futures[future])
                    continue
                on_result(result)
            if crashed and attempt >= 1:
                raise SimulationError(f"a worker died twice running {', '.join(map(_label, crashed[:3]))}")
            pending, attempt = crashed, attempt + 1


def execute(
    tasks: Iterable[ReplicateTask], *, workers: int = 1, scheduler: str | None = None, on_result: OnResult
) -> None:
    """Compute ``tasks``, calling ``on_result`` in this process as each finishes (any order).

    Parameters
    ----------
    tasks : iterable of ReplicateTask
    workers : int, default=1
        Local worker processes; 1 computes in this process.
    scheduler : str, optional
        A ``dask.distributed`` scheduler address (``tcp://host:8786``); overrides ``workers``.
    on_result : callable
        Receives each :class:`ReplicateResult`.
    """
    tasks = list(tasks)
    if scheduler:
        _dask(tasks, scheduler, on_result)
    elif workers > 1:
        _local(tasks, workers, on_result)
    else:
        for task in tasks:
            on_result(run_replicate(task))
