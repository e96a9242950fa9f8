"""Benchmark: generating LCNEC cohorts to Parquet: scaling from n to 10 n, memory, and a numpy anchor.

Printed ratios (absolute seconds vary between machines; read the ratios):

* ``10n / n``: wall time of ``necml generate`` (chunks streamed to Parquet row groups, the next
  chunk drawn while a second thread writes the last) at ``10 n`` over ``n`` patients; target <= 10.
  Each run is a fresh process (so its peak memory is its own), timed from after calibration;
  the figure is the median over ``--pairs`` alternated (n, 10 n) pairs.
* peak memory (resident set) of each run, and its growth per added patient.
* ``necml / baseline``: generation + Parquet at ``n`` over drawing ``n x 20`` standard normals
  and writing them to Parquet, in the same process, median of alternated pairs.
* ``--in-memory`` adds the same scaling figures for ``generate_cohort`` then ``write_cohort``
  (the whole cohort in memory, as before the chunked writer).

Calibration (fitting the mechanism to the spec, once per spec) is timed separately.

Run: ``uv run python benchmarks/bench_generate.py [--n 1000000] [--pairs 3] [--in-memory]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from necml.cohort import _model, fit_cohort_model, generate_cohort, iter_cohort
from necml.dataset import write_cohort, write_cohort_chunks
from necml.spec import load_spec

SPEC = Path(__file__).resolve().parents[1] / "configs" / "cohorts" / "lcnec_stage4_2025.yaml"


def baseline(n: int, path: Path) -> float:
    t0 = time.perf_counter()
    x = np.random.default_rng(0).standard_normal((n, 20))
    pd.DataFrame(x, columns=[f"x{i}" for i in range(20)]).to_parquet(path)
    return time.perf_counter() - t0


def necml_run(spec, n: int, path: Path, *, in_memory: bool = False) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    if in_memory:
        write_cohort(generate_cohort(spec, n, seed=1), path, {"seed": 1, "n": n})
    else:
        write_cohort_chunks(iter_cohort(spec, n, seed=1), path, {"seed": 1, "n": n})
    return time.perf_counter() - t0


def child(n: int, path: Path, in_memory: bool) -> None:  # noqa: FBT001
    """One timed run in this (fresh) process: JSON with seconds and peak RSS."""
    spec = load_spec(SPEC)
    fit_cohort_model(spec)
    seconds = necml_run(spec, n, path, in_memory=in_memory)
    print(json.dumps({"seconds": seconds, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def _spawn(n: int, path: Path, in_memory: bool) -> dict:  # noqa: FBT001
    cmd = [sys.executable, __file__, "--child", str(n), str(path)] + (["--in-memory"] if in_memory else [])
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def scaling(n: int, pairs: int, tmp: Path, *, in_memory: bool) -> None:
    ratios, small, big = [], [], []
    for i in range(pairs):  # alternate which size runs first
        order = (n, 10 * n) if i % 2 == 0 else (10 * n, n)
        found = {size: _spawn(size, tmp / f"s{size}.parquet", in_memory) for size in order}
        small.append(found[n])
        big.append(found[10 * n])
        ratios.append(found[10 * n]["seconds"] / found[n]["seconds"])
    label = "generate_cohort + write_cohort (in memory)" if in_memory else "necml generate (chunks streamed)"
    rss_small = statistics.median(r["maxrss_kib"] for r in small) * 1024
    rss_big = statistics.median(r["maxrss_kib"] for r in big) * 1024
    print(f"{label}:")
    for size, runs, rss in ((n, small, rss_small), (10 * n, big, rss_big)):
        seconds = statistics.median(r["seconds"] for r in runs)
        print(f"  n = {size:>10,}: {seconds:7.2f} s, peak RSS {rss / 2**20:7.0f} MiB")
    print(f"  ratio 10n / n: {statistics.median(ratios):5.2f}x (target <= 10x; median of {pairs} alternated pairs)")
    print(f"  memory growth: {(rss_big - rss_small) / (9 * n):6.1f} bytes per added patient")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--in-memory", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("N", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), Path(args.child[1]), args.in_memory)
        return
    print(f"cores: {len(os.sched_getaffinity(0))} available ({os.cpu_count()} on the machine)")
    spec = load_spec(SPEC)
    _model._CACHE.clear()
    t0 = time.perf_counter()
    fit_cohort_model(spec)
    print(f"calibration (once per spec): {time.perf_counter() - t0:6.2f} s (target < 10 s)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pairs = []
        for i in range(args.pairs):  # alternate which runs first
            if i % 2 == 0:
                ours = necml_run(spec, args.n, root / "c.parquet")
                pairs.append((ours, baseline(args.n, root / "b.parquet")))
            else:
                base = baseline(args.n, root / "b.parquet")
                pairs.append((necml_run(spec, args.n, root / "c.parquet"), base))
        print(f"n = {args.n:,}: necml {statistics.median(p[0] for p in pairs):6.2f} s, baseline numpy 20 normals "
              f"+ parquet {statistics.median(p[1] for p in pairs):6.2f} s, ratio necml / baseline "
              f"{statistics.median(p[0] / p[1] for p in pairs):5.2f}x (target <= 3x)")
        scaling(args.n, args.pairs, root, in_memory=False)
        if args.in_memory:
            scaling(args.n, args.pairs, root, in_memory=True)


if __name__ == "__main__":
    main()
