"""Benchmark: the whole ``necml generate`` command a user runs, against a bare numpy process.

``necml generate configs/cohorts/lcnec_stage4_2025.yaml --n 1000000 --out F.parquet`` (a fresh
process: interpreter start, imports, spec loading, the fitted mechanism, sampling, Parquet) over
a fresh ``python -c`` process that draws 1,000,000 x 20 standard normals with numpy and writes
them to Parquet with pandas (issue 12's anchor). Two figures, median of ``--pairs`` alternated
pairs each:

* **warm**: the mechanism is in the disk cache (``NECML_CACHE_DIR``, a temporary directory
  filled by one untimed run first), as on every run after a spec's first;
* **cold**: an empty cache, so the command calibrates the spec's joint model first.

Then a profile of one warm command's phases in-process (imports, spec, mechanism, sampling and
Parquet), to show what stands between the command and 1.5x.

Run: ``uv run python benchmarks/bench_generate_command.py [--n 1000000] [--pairs 3]``. Absolute
times vary with the machine and its load; read the ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "configs" / "cohorts" / "lcnec_stage4_2025.yaml"
NECML = Path(sys.executable).with_name("necml")

BASELINE = (
    "import numpy as np, pandas as pd, sys; n = int(sys.argv[1]); "
    "x = np.random.default_rng(0).standard_normal((n, 20)); "
    "pd.DataFrame(x, columns=[f'x{i}' for i in range(20)]).to_parquet(sys.argv[2])"
)


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _profile(n: int, out: Path) -> list[tuple[str, float]]:
    code = f"""
import time, json
t0 = time.perf_counter()
import necml.cli  # the command's own imports
from necml.spec import load_spec
from necml.cohort import fit_cohort_model, iter_cohort
from necml.dataset import write_cohort_chunks
t1 = time.perf_counter()
spec = load_spec({str(SPEC)!r})
t2 = time.perf_counter()
model = fit_cohort_model(spec)
t3 = time.perf_counter()
write_cohort_chunks(iter_cohort(spec, {n}, seed=1, model=model), {str(out)!r}, {{"seed": 1, "n": {n}}})
t4 = time.perf_counter()
print(json.dumps([["imports", t1 - t0], ["spec", t2 - t1], ["mechanism (disk cache)", t3 - t2],
                  ["sampling + Parquet", t4 - t3]]))
"""
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    import json

    return [tuple(x) for x in json.loads(done.stdout.strip().splitlines()[-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        warm_env = os.environ | {"NECML_CACHE_DIR": str(root / "cache")}
        ours = [str(NECML), "generate", str(SPEC), "--n", str(args.n), "--seed", "1", "--out", str(root / "c.parquet")]
        base = [sys.executable, "-c", BASELINE, str(args.n), str(root / "b.parquet")]
        _timed(ours, warm_env)  # fills the cache
        warm, cold, anchor = [], [], []
        for i in range(args.pairs):
            cold_env = os.environ | {"NECML_CACHE_DIR": str(root / f"cold{i}")}
            order = [("w", ours, warm_env), ("b", base, warm_env), ("c", ours, cold_env)]
            for kind, cmd, env in order if i % 2 == 0 else order[::-1]:
                {"w": warm, "b": anchor, "c": cold}[kind].append(_timed(cmd, env))
        b = statistics.median(anchor)
        print(f"n = {args.n:,}, median of {args.pairs} alternated runs")
        print(f"  baseline (python -c: numpy {args.n:,} x 20 normals -> Parquet)  {b:6.2f} s   1.00x")
        print(f"  necml generate, mechanism in the disk cache (warm)          {statistics.median(warm):6.2f} s  "
              f"{statistics.median(warm) / b:5.2f}x   (target <= 3x)")
        print(f"  necml generate, empty cache (cold: calibrates the spec)     {statistics.median(cold):6.2f} s  "
              f"{statistics.median(cold) / b:5.2f}x")
        os.environ["NECML_CACHE_DIR"] = str(root / "cache")
        phases = _profile(args.n, root / "p.parquet")
        print("  phases of a warm command, in-process (+ interpreter start, about 0.05 s):")
        for name, seconds in phases:
            print(f"    {name:<28} {seconds:6.2f} s  {seconds / b:5.2f}x of the baseline")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
