"""The cost of tracking: the quickstart pipeline with tracking off and on, in the same process.

Both invocations compute the same thing (same config and seed; the metrics are checked equal);
the tracked one also creates its MLflow run, logs params, tags, the dataset, every metric, the
run directory's artifacts and six nested model runs with their skops models, into a fresh
local SQLite store. Printed: wall time of each, the difference, and the ratio on/off, plus the
time of ``log_run_directory`` alone on the saved outputs (what ``necml log DIR`` costs).

Run: ``uv run python benchmarks/bench_tracking.py [--pipeline pipelines/quickstart.yaml]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from necml.pipeline import invoke_pipeline, load_pipeline
from necml.tracking import TrackingSettings, log_run_directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", type=Path, default=Path("pipelines/quickstart.yaml"))
    args = parser.parse_args()
    config = load_pipeline(args.pipeline)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = TrackingSettings.resolve(f"sqlite:///{root / 'mlflow.db'}")
        start = time.perf_counter()
        off = invoke_pipeline(config, base=args.pipeline.parent, out=root / "off")
        t_off = time.perf_counter() - start
        start = time.perf_counter()
        on = invoke_pipeline(config, base=args.pipeline.parent, out=root / "on", tracking=settings)
        t_on = time.perf_counter() - start
        pd.testing.assert_frame_equal(off.result.metrics, on.result.metrics)
        start = time.perf_counter()
        log_run_directory(on.directory, settings)
        t_log = time.perf_counter() - start
    print(f"{config.name}: tracking off {t_off:6.1f} s, on {t_on:6.1f} s (first use of a new store), "
          f"overhead {t_on - t_off:5.1f} s, ratio on/off {t_on / t_off:4.2f}x")
    print(f"logging the saved run directory again (warm store, as 'necml log DIR'): {t_log:5.1f} s")


if __name__ == "__main__":
    main()
