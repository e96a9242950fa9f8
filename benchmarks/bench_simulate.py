"""Simulation throughput: a Cox-only study at n = 56, p = 8 (1000 replicates), with 1 and 2 local
workers, against a bare loop that simulates with necml and fits with lifelines, in the same run.

The study: LCNEC OS, a multivariate Cox model on 8 covariates (age, sex, smoking, ECOG >= 2, bone,
liver and brain metastases, treatment). Printed: replicates per second of ``run_study`` with 1
worker, and with 1 and 2 workers on a longer study (the scaling ratio, median of alternated pairs;
workers are forked from this process on Linux, with the mechanism fitted here in memory;
elsewhere loky workers import necml and receive it), the fixed
cost of starting 2 workers, of the bare lifelines loop (same cohorts, same model), and of the
generation and of the two fits alone, so the per-replicate cost can be split.

The fixed cost of local workers is printed three ways (medians of ``--pairs`` runs): the pool's
start-up alone (2 workers started as ``execute`` starts them, each importing what a worker imports, with the import time
measured inside the worker), the time from ``execute`` to its first delivered result (pool start-up,
the fitted mechanisms sent, one replicate), and the difference between a 4-replicate study on 2
workers and the same in-process. On a busy machine all three include waiting for a core.
For scale (from the issue): R's ``survival::coxph`` simulates and fits 1000 such replicates in
2.2 s on these machines; lifelines takes about 20 s.

The study's replicates are timed as ``run_study`` runs them (``execute``: workers started, the fitted
mechanisms sent, every result delivered to the main process); ``--whole-study`` times all of
``run_study`` (its store, tables and plots too).

Run: ``uv run python benchmarks/bench_simulate.py [--replicates 1000] [--scaling-replicates 4000] [--pairs 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
from lifelines import CoxPHFitter

from necml.prognosis import fit_cox_newton
from necml.random import child_seed
from necml.simulation import (
    ReplicateTask,
    Scenario,
    StudyConfig,
    execute,
    mechanism_for,
    resolve_study,
    run_study,
    scenarios,
)
from necml.simulation._execute import _pool, can_fork

TERMS = ["age", "sex_male", "smoking", "ecog_ge_2", "met_bone", "met_liver", "met_brain", "arm_ici_chemo"]
SPEC = "configs/cohorts/lcnec_stage4_2025.yaml"


def _study(replicates: int) -> StudyConfig:
    return StudyConfig.model_validate({
        "name": "bench_cox", "aims": "benchmark", "seed": 1, "replicates": replicates,
        "data": {"spec": SPEC, "endpoint": "os", "n": [56]},
        "methods": [{"name": "cox", "kind": "cox", "terms": TERMS}],
    })


def _execute_times(replicates: int, workers: int) -> tuple[float, float]:
    """Wall time of ``execute`` over the study's replicates, and the time to its first result."""
    config = resolve_study(_study(replicates), Path("."))
    tasks = [ReplicateTask(config, s, r) for s in scenarios(config) for r in range(replicates)]
    found: list = []
    first: list[float] = []

    def on_results(results: list) -> None:
        if not first:
            first.append(time.perf_counter())
        found.extend(results)

    start = time.perf_counter()
    execute(tasks, workers=workers, on_results=on_results)
    assert len(found) == replicates
    return time.perf_counter() - start, first[0] - start


def _worker_imports(_: object = None) -> tuple[float, float, int]:
    """In a worker: import what a simulation worker imports; the wall and CPU seconds it took, and
    the pid."""
    start, cpu = time.perf_counter(), time.process_time()
    import necml.simulation._execute  # noqa: F401 - the worker's entry point (run_chunk, install_mechanisms)

    return time.perf_counter() - start, time.process_time() - cpu, os.getpid()


def _pool_start(workers: int = 2) -> tuple[float, float, float]:
    """Seconds until every one of ``workers`` fresh workers (the pool ``execute`` starts: forked on
    Linux, loky elsewhere) has imported the worker's modules, and the longest import inside a
    worker (wall and CPU seconds: on a busy machine the wall time includes waiting for a core, the
    CPU time does not; a forked worker has them imported already)."""
    start = time.perf_counter()
    executor = _pool(workers, {})
    seen: dict[int, tuple[float, float]] = {}
    while len(seen) < workers:  # a fast worker may take two tasks: ask until each has answered
        for wall, cpu, pid in executor.map(_worker_imports, range(workers)):
            seen.setdefault(pid, (wall, cpu))
    elapsed = time.perf_counter() - start
    executor.shutdown(wait=True)
    return elapsed, max(w for w, _ in seen.values()), max(c for _, c in seen.values())


def _timed_study(replicates: int, workers: int, *, compute_only: bool = True) -> float:
    """Wall time of the study's replicates (``execute``, as ``run_study`` calls it: workers started,
    mechanisms sent, every result delivered); ``compute_only=False`` times all of ``run_study``
    (store, tables, plots)."""
    config = resolve_study(_study(replicates), Path("."))
    if compute_only:
        return _execute_times(replicates, workers)[0]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_study(config, out=Path(tmp), workers=workers)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--scaling-replicates", type=int, default=4000,
                        help="replicates of the 1- vs 2-worker runs (enough to amortise worker start-up)")
    parser.add_argument("--pairs", type=int, default=3, help="alternated (1 worker, 2 workers) pairs")
    parser.add_argument("--whole-study", action="store_true",
                        help="time all of run_study (store, tables, plots), not only the replicates")
    args = parser.parse_args()
    r = args.replicates
    mech = mechanism_for(resolve_study(_study(r), Path.cwd()).data, Scenario(56, 1.0))
    root = np.random.SeedSequence(1)

    start = time.perf_counter()
    cohorts = [mech.sample(56, child_seed(root, i)) for i in range(r)]
    t_generate = time.perf_counter() - start
    designs = []
    for frame in cohorts:
        X = mech.design(frame, TERMS)
        t, e = mech.survival(frame)
        keep = X.notna().all(axis=1).to_numpy()
        designs.append((X[keep], t[keep], e[keep]))

    start = time.perf_counter()
    for X, t, e in designs:
        fit_cox_newton(X.to_numpy(float), t, e)
    t_newton = time.perf_counter() - start
    warnings.simplefilter("ignore")  # lifelines warns loudly about separation at n = 56
    start = time.perf_counter()
    for X, t, e in designs:
        try:
            CoxPHFitter().fit(X.assign(T=t, E=e.astype(int)), "T", "E")
        except Exception:  # noqa: BLE001 - a non-converging replicate is part of the workload
            pass
    t_lifelines = time.perf_counter() - start
    bare = t_generate + t_lifelines  # the bare loop: simulate, then lifelines

    timed = partial(_timed_study, compute_only=not args.whole_study)
    one = timed(r, 1)
    print(f"{r} replicates, n = 56, p = 8 (cores: {len(os.sched_getaffinity(0))} available)")
    print(f"  generate cohorts          {t_generate:6.2f} s  ({r / t_generate:7.0f}/s)")
    print(f"  fit: necml Newton Cox     {t_newton:6.2f} s  ({r / t_newton:7.0f}/s)")
    print(f"  fit: lifelines            {t_lifelines:6.2f} s  ({r / t_lifelines:7.0f}/s)  "
          f"ratio {t_lifelines / t_newton:4.1f}x")
    print(f"  bare loop (simulate + lifelines)  {bare:6.2f} s  ({r / bare:5.0f} replicates/s)")
    print(f"  necml simulate, 1 worker          {one:6.2f} s  ({r / one:5.0f} replicates/s)  "
          f"{bare / one:4.1f}x faster than the bare loop")
    # fixed cost of local workers: the pool's start-up alone, the first result of a 2-worker study,
    # and a 2-worker study of 4 replicates against the same in-process
    pools = [_pool_start(2) for _ in range(args.pairs)]
    firsts = [_execute_times(4, 2)[1] for _ in range(args.pairs)]
    few = [(timed(4, 2), timed(4, 1)) for _ in range(args.pairs)]
    fixed = statistics.median(two - inproc for two, inproc in few)
    how = "forked from this process" if can_fork() else "spawned by loky"
    print(f"  fixed cost of 2 local workers ({how}; median of {args.pairs}; target < 2 s):")
    pool, import_wall, import_cpu = (statistics.median(column) for column in zip(*pools, strict=True))
    print(f"    pool start-up (start 2 workers, import the worker's modules)   {pool:5.2f} s "
          f"(imports inside a worker: {import_wall:4.2f} s wall, {import_cpu:4.2f} s CPU)")
    print(f"    first result (pool start-up, fitted mechanism sent, 1 replicate) {statistics.median(firsts):5.2f} s")
    print(f"    4 replicates on 2 workers minus the same in-process              {fixed:5.2f} s")
    big = args.scaling_replicates
    ratios, ones, twos = [], [], []
    for i in range(args.pairs):  # alternated pairs
        if i % 2 == 0:
            a = timed(big, 1)
            b = timed(big, 2)
        else:
            b = timed(big, 2)
            a = timed(big, 1)
        ratios.append(a / b)
        ones.append(a)
        twos.append(b)
    one_big, two_big = statistics.median(ones), statistics.median(twos)
    print(f"{big} replicates: necml simulate, 1 worker {one_big:6.2f} s ({big / one_big:5.0f}/s), "
          f"2 workers {two_big:6.2f} s ({big / two_big:5.0f}/s): scaling 1 -> 2 workers "
          f"{statistics.median(ratios):4.2f}x (target >= 1.8x; median of {args.pairs} alternated pairs)")

if __name__ == "__main__":
    main()
