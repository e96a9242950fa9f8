"""Harrell's C, Uno's C and the integrated Brier score against lifelines and scikit-survival, in the
same process; then (optionally) the quickstart pipeline's wall time.

Each figure is the median, over ``--pairs`` alternated pairs (necml first, then the anchor first),
of the per-pair ratio anchor seconds / necml seconds; values are compared too (Harrell's C must
equal lifelines' to the last bit). Data: exponential times (mean 10 months, 70% events) and a
normal risk score correlated with them, either continuous ("untied") or heavily tied as real
data is: times in whole months and risks rounded to one decimal ("heavy ties").
numba's compiled pair count is loaded (or compiled, once per installation) before timing; the
first call's time is printed separately.

Run: ``uv run python benchmarks/bench_metrics.py [--max-n 1000000] [--pairs 5] [--pipeline]``.
scikit-survival's concordance is O(n^2): Harrell's C against it at 1e4 only, Uno's C up to 1e5.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from lifelines.utils import concordance_index
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
from sksurv.metrics import integrated_brier_score as sksurv_ibs
from sksurv.util import Surv

from necml.evaluation import CensoringKM, harrell_c, integrated_brier_score, uno_c


def _timed(func: Callable[[], float]) -> tuple[float, float]:
    start = time.perf_counter()
    value = func()
    return value, time.perf_counter() - start


def paired(ours: Callable[[], float], anchor: Callable[[], float], pairs: int) -> tuple[float, float, float, float]:
    """Median anchor / ours ratio over alternated pairs; medians of each time; the two last values."""
    ratios, t_ours, t_anchor = [], [], []
    for i in range(pairs):
        if i % 2 == 0:
            v_ours, a = _timed(ours)
            v_anchor, b = _timed(anchor)
        else:
            v_anchor, b = _timed(anchor)
            v_ours, a = _timed(ours)
        ratios.append(b / a)
        t_ours.append(a)
        t_anchor.append(b)
    return statistics.median(ratios), statistics.median(t_ours), statistics.median(t_anchor), v_ours - v_anchor


def data(n: int, rng: np.random.Generator, ties: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: FBT001
    t = rng.exponential(10, n)
    e = rng.random(n) < 0.7
    risk = rng.normal(size=n) - 0.1 * t
    if ties:
        return np.ceil(t), e, np.round(risk, 1)
    return t, e, risk


def _harrell_case(t: np.ndarray, e: np.ndarray, risk: np.ndarray, label: str, pairs: int) -> None:
    n = t.size
    ratio, ours, anchor, diff = paired(lambda: harrell_c(t, e, risk), lambda: concordance_index(t, -risk, e), pairs)
    print(f"n={n:>9,} Harrell C {label:>10}: necml {ours:7.3f} s, lifelines {anchor:7.3f} s, "
          f"ratio {ratio:5.1f}x (target >= 10x at 1e6), equal to the last bit: {diff == 0}")
    if n <= 10_000:
        ratio, ours, anchor, diff = paired(
            lambda: harrell_c(t, e, risk), lambda: concordance_index_censored(e, t, risk)[0], pairs
        )
        print(f"{'':12} Harrell C {label:>10}: scikit-survival {anchor:7.3f} s, ratio {ratio:5.1f}x, "
              f"|diff| {abs(diff):.1e}")


def bench_harrell(n: int, rng: np.random.Generator, pairs: int) -> None:
    for ties in (False, True):
        _harrell_case(*data(n, rng, ties), "heavy ties" if ties else "untied", pairs)


def bench_uno_ibs(n: int, rng: np.random.Generator, pairs: int) -> None:
    t, e, risk = data(n, rng, False)
    y = Surv.from_arrays(e, t)
    g = CensoringKM().fit(t, e)
    tau = 20.0
    if n <= 100_000:
        ratio, ours, anchor, diff = paired(
            lambda: uno_c(t, e, risk, censoring_survival=g.survival_left(t), tau=tau),
            lambda: concordance_index_ipcw(y, y, risk, tau=tau)[0], pairs,
        )
        print(f"{'':12} Uno C      untied: necml {ours:7.3f} s, scikit-survival {anchor:7.3f} s, ratio {ratio:5.1f}x, "
              f"|diff| {abs(diff):.1e} (continuous times: the definitions agree)")
    grid = np.linspace(1, 20, 20)
    surv = np.exp(-np.outer(np.exp(0.1 * risk) / 10, grid))
    ratio, ours, anchor, diff = paired(
        lambda: integrated_brier_score(t, e, surv, grid, g), lambda: sksurv_ibs(y, y, surv, grid), pairs
    )
    print(f"{'':12} IBS        untied: necml {ours:7.3f} s, scikit-survival {anchor:7.3f} s, ratio {ratio:5.1f}x, "
          f"|diff| {abs(diff):.1e}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-n", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--pipeline", action="store_true", help="also time the quickstart pipeline")
    args = parser.parse_args()
    print(f"cores: {len(os.sched_getaffinity(0))} available ({os.cpu_count()} on the machine)")
    _, first = _timed(lambda: harrell_c(np.arange(3.0), np.ones(3, bool), np.arange(3.0)))
    print(f"first call (numba: load the cached machine code, or compile it once): {first:.2f} s")
    rng = np.random.default_rng(0)
    for n in (10_000, 100_000, 1_000_000):
        if n <= args.max_n:
            bench_harrell(n, rng, args.pairs if n < 1_000_000 else max(3, args.pairs // 2))
            bench_uno_ibs(n, rng, args.pairs if n < 1_000_000 else max(3, args.pairs // 2))
    if args.pipeline:
        from necml.pipeline import load_pipeline, run_pipeline

        root = Path(__file__).resolve().parents[1]
        config = load_pipeline(root / "pipelines" / "quickstart.yaml")
        _, seconds = _timed(lambda: run_pipeline(config, base=root))
        print(f"quickstart pipeline (compute, no writing): {seconds:.1f}s")


if __name__ == "__main__":
    main()
