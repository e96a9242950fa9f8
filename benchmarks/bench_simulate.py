"""Simulation throughput: a Cox-only study at n = 56, p = 8 (1000 replicates), with 1 and 2 local
workers, against a bare loop that simulates with necml and fits with lifelines, in the same run.

The study: LCNEC OS, a multivariate Cox model on 8 covariates (age, sex, smoking, ECOG >= 2, bone,
liver and brain metastases, treatment). Printed: replicates per second of ``run_study`` with 1
worker, and with 1 and 2 workers on a longer study (the scaling ratio; each worker process
imports necml and calibrates the mechanism once, a few seconds), of the bare lifelines loop (same cohorts, same model),
and of the generation and of the two fits alone, so the per-replicate cost can be split.
For scale (from the issue): R's ``survival::coxph`` simulates and fits 1000 such replicates in
2.2 s on these machines; lifelines takes about 20 s.

Run: ``uv run python benchmarks/bench_simulate.py [--replicates 1000]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from lifelines import CoxPHFitter

from necml.prognosis import fit_cox_newton
from necml.random import child_seed
from necml.simulation import Scenario, StudyConfig, mechanism_for, resolve_study, run_study

TERMS = ["age", "sex_male", "smoking", "ecog_ge_2", "met_bone", "met_liver", "met_brain", "arm_ici_chemo"]
SPEC = "configs/cohorts/lcnec_stage4_2025.yaml"


def _study(replicates: int) -> StudyConfig:
    return StudyConfig.model_validate({
        "name": "bench_cox", "aims": "benchmark", "seed": 1, "replicates": replicates,
        "data": {"spec": SPEC, "endpoint": "os", "n": [56]},
        "methods": [{"name": "cox", "kind": "cox", "terms": TERMS}],
    })


def _timed_study(replicates: int, workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        config = resolve_study(_study(replicates), Path("."))
        start = time.perf_counter()
        run_study(config, out=Path(tmp), workers=workers)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--scaling-replicates", type=int, default=4000,
                        help="replicates of the 1- vs 2-worker runs (enough to amortise worker start-up)")
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

    one = _timed_study(r, 1)
    big = args.scaling_replicates
    one_big = _timed_study(big, 1)
    two_big = _timed_study(big, 2)
    print(f"{r} replicates, n = 56, p = 8")
    print(f"  generate cohorts          {t_generate:6.2f} s  ({r / t_generate:7.0f}/s)")
    print(f"  fit: necml Newton Cox     {t_newton:6.2f} s  ({r / t_newton:7.0f}/s)")
    print(f"  fit: lifelines            {t_lifelines:6.2f} s  ({r / t_lifelines:7.0f}/s)  "
          f"ratio {t_lifelines / t_newton:4.1f}x")
    print(f"  bare loop (simulate + lifelines)  {bare:6.2f} s  ({r / bare:5.0f} replicates/s)")
    print(f"  necml simulate, 1 worker          {one:6.2f} s  ({r / one:5.0f} replicates/s)  "
          f"{bare / one:4.1f}x faster than the bare loop")
    print(f"{big} replicates: necml simulate, 1 worker {one_big:6.2f} s ({big / one_big:5.0f}/s), "
          f"2 workers {two_big:6.2f} s ({big / two_big:5.0f}/s): scaling 1 -> 2 workers {one_big / two_big:4.2f}x")


if __name__ == "__main__":
    main()
