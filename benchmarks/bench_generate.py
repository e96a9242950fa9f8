"""Benchmark: generating 1,000,000 LCNEC patients against a bare numpy baseline.

The baseline, run in the same process: draw 1,000,000 x 20 standard normals and write them to
Parquet. The ratio (necml / baseline) is what to read; absolute seconds vary between machines.
Calibration (fitting the mechanism to the spec, done once per spec) is timed separately.

Run: ``uv run python benchmarks/bench_generate.py [--n 1000000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from necml.cohort import _model, fit_cohort_model, generate_cohort
from necml.dataset import write_cohort
from necml.spec import load_spec

SPEC = Path(__file__).resolve().parents[1] / "configs" / "cohorts" / "lcnec_stage4_2025.yaml"


def baseline(n: int, path: Path) -> float:
    t0 = time.perf_counter()
    x = np.random.default_rng(0).standard_normal((n, 20))
    pd.DataFrame(x, columns=[f"x{i}" for i in range(20)]).to_parquet(path)
    return time.perf_counter() - t0


def necml_run(spec, n: int, path: Path) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    write_cohort(generate_cohort(spec, n, seed=1), path, {"seed": 1, "n": n})
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    spec = load_spec(SPEC)
    _model._CACHE.clear()
    t0 = time.perf_counter()
    fit_cohort_model(spec)
    calibration = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        base = min(baseline(args.n, Path(tmp) / "b.parquet") for _ in range(args.repeat))
        gen = min(necml_run(spec, args.n, Path(tmp) / "c.parquet") for _ in range(args.repeat))
    print(f"n = {args.n:,}, best of {args.repeat}")
    print(f"calibration (once per spec):        {calibration:6.2f} s   (target < 10 s)")
    print(f"baseline numpy 20 normals + parquet: {base:6.2f} s")
    print(f"necml generate + parquet:            {gen:6.2f} s")
    print(f"ratio necml / baseline:              {gen / base:6.2f}x  (target <= 3x)")


if __name__ == "__main__":
    main()
