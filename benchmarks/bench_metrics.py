"""Harrell's C, Uno's C and the integrated Brier score at n = 1e4, 1e5, 1e6 against lifelines and
scikit-survival in the same process; then the quickstart pipeline's wall time.

Run: ``uv run python benchmarks/bench_metrics.py [--max-n 1000000] [--skip-pipeline]``.
scikit-survival's concordance is O(n^2): it is run at 1e4 only.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from lifelines.utils import concordance_index
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
from sksurv.metrics import integrated_brier_score as sksurv_ibs
from sksurv.util import Surv

from necml.evaluation import CensoringKM, harrell_c, integrated_brier_score, uno_c


def _timed(func):  # noqa: ANN001, ANN202
    start = time.perf_counter()
    value = func()
    return value, time.perf_counter() - start


def _data(n: int, rng: np.random.Generator):  # noqa: ANN202
    t = rng.exponential(10, n)
    e = rng.random(n) < 0.7
    risk = rng.normal(size=n) - 0.1 * t
    return t, e, risk


def bench(n: int, rng: np.random.Generator) -> None:
    t, e, risk = _data(n, rng)
    ours, t_ours = _timed(lambda: harrell_c(t, e, risk))
    ref, t_ll = _timed(lambda: concordance_index(t, -risk, e))
    print(f"n={n:>8}  Harrell C  necml {t_ours:7.3f}s  lifelines {t_ll:7.3f}s  ratio {t_ll / t_ours:5.1f}x  "
          f"|diff| {abs(ours - ref):.1e}")
    y = Surv.from_arrays(e, t)
    if n <= 10_000:
        sk, t_sk = _timed(lambda: concordance_index_censored(e, t, risk)[0])
        print(f"{'':10} Harrell C  scikit-survival {t_sk:7.3f}s  ratio {t_sk / t_ours:5.1f}x  "
              f"|diff| {abs(ours - sk):.1e}")
    g = CensoringKM().fit(t, e)
    tau = 20.0
    uno, t_uno = _timed(lambda: uno_c(t, e, risk, censoring_survival=g.survival(t), tau=tau))
    if n <= 10_000:
        sk, t_sk = _timed(lambda: concordance_index_ipcw(y, y, risk, tau=tau)[0])
        print(f"{'':10} Uno C      necml {t_uno:7.3f}s  scikit-survival {t_sk:7.3f}s  ratio {t_sk / t_uno:5.1f}x  "
              f"|diff| {abs(uno - sk):.1e}")
    else:
        print(f"{'':10} Uno C      necml {t_uno:7.3f}s  (scikit-survival O(n^2): skipped)")
    grid = np.linspace(1, 20, 20)
    surv = np.exp(-np.outer(np.exp(0.1 * risk) / 10, grid))
    ibs, t_ibs = _timed(lambda: integrated_brier_score(t, e, surv, grid, g))
    sk, t_sk = _timed(lambda: sksurv_ibs(y, y, surv, grid))
    print(f"{'':10} IBS        necml {t_ibs:7.3f}s  scikit-survival {t_sk:7.3f}s  ratio {t_sk / t_ibs:5.1f}x  "
          f"|diff| {abs(ibs - sk):.1e} (continuous times: no ties, definitions agree)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-n", type=int, default=1_000_000)
    parser.add_argument("--skip-pipeline", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for n in (10_000, 100_000, 1_000_000):
        if n <= args.max_n:
            bench(n, rng)
    if not args.skip_pipeline:
        from necml.pipeline import load_pipeline, run_pipeline

        root = Path(__file__).resolve().parents[1]
        config = load_pipeline(root / "pipelines" / "quickstart.yaml")
        _, seconds = _timed(lambda: run_pipeline(config, base=root))
        print(f"quickstart pipeline (compute, no writing): {seconds:.1f}s")


if __name__ == "__main__":
    main()
