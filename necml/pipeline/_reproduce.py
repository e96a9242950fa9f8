"""``necml reproduce RUN_ID``: re-run a recorded invocation and check it metric by metric.

The run's record supplies everything: the resolved config and its inputs (cohort spec, model
configs, data mapping) as logged, the seed, and the data's SHA-256. The code identity (SHA-256
of necml's source) must match unless ``allow_code_change``. Every model of the zoo is
deterministic given its seed (single-threaded fits, seeded splits, samplers and bootstrap
draws), so metrics must match exactly by default; ``rtol`` allows a relative tolerance for a
different platform, whose BLAS may differ in the last bits.

The recorded values are read from the run's ``metrics.csv`` artifact, written with full
float64 precision: MLflow's metric store itself keeps only about 16 significant digits.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from necml.environment import code_sha256, package_versions
from necml.exceptions import ReproductionError
from necml.pipeline._config import load_pipeline
from necml.pipeline._invoke import invoke_pipeline
from necml.tracking import TrackingSettings, download_run, metric_values, read_record

__all__ = ["MetricCheck", "Reproduction", "reproduce_run"]


@dataclass(frozen=True, slots=True)
class MetricCheck:
    """One recorded metric next to its reproduced value."""

    name: str
    recorded: float
    reproduced: float
    match: bool


@dataclass(slots=True, kw_only=True)
class Reproduction:
    """The outcome of a reproduction."""

    run_id: str
    new_run_id: str | None
    directory: Path
    data_match: bool
    checks: list[MetricCheck]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.data_match and bool(self.checks) and all(c.match for c in self.checks)


def _same(a: float, b: float, rtol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= rtol * abs(a)


def _code_notes(record: dict, allow_code_change: bool) -> list[str]:
    env = record["environment"]
    notes = [
        f"{name} {was} -> {now}"
        for name, now in package_versions().items()
        if (was := env["versions"].get(name)) not in (None, now)
    ]
    if env["code_sha256"] != code_sha256():
        message = (
            f"the code differs from the recorded run's (recorded commit {env['git']['commit']}, "
            f"dirty={env['git']['dirty']}, necml {env['versions'].get('necml')})"
        )
        if not allow_code_change:
            raise ReproductionError(message + ": pass --allow-code-change to reproduce anyway")
        notes.append(message)
    return notes


def reproduce_run(
    run_id: str,
    *,
    settings: TrackingSettings,
    out: Path,
    allow_code_change: bool = False,
    rtol: float = 0.0,
    track: bool = True,
) -> Reproduction:
    """Re-run a recorded pipeline invocation and compare every metric with the record.

    Parameters
    ----------
    run_id : str
        The parent run of the invocation.
    settings : TrackingSettings
        The store holding the run (the reproduction is logged there too, tagged
        ``necml.reproduces``, unless ``track`` is False).
    out : pathlib.Path
        Output root for the reproduction's run directory.
    allow_code_change : bool, default=False
        Proceed when necml's code differs from the recorded code.
    rtol : float, default=0.0
        Relative tolerance; 0 asks for identical values.
    track : bool, default=True

    Returns
    -------
    Reproduction

    Raises
    ------
    ReproductionError
        The code differs and ``allow_code_change`` is False.
    """
    with tempfile.TemporaryDirectory(prefix="necml-reproduce-") as tmp:
        inputs = download_run(settings, run_id, tmp)
        record = read_record(inputs)
        table = pd.read_csv(inputs / "metrics.csv", float_precision="round_trip")
        notes = _code_notes(record, allow_code_change)
        config = load_pipeline(inputs / "pipeline.yaml")
        invocation = invoke_pipeline(
            config,
            base=inputs,
            out=out,
            tracking=settings if track else None,
            command=f"necml reproduce {run_id}",
            tags={"necml.reproduces": run_id},
        )
    recorded = metric_values(table, with_model=True)
    reproduced = metric_values(invocation.result.metrics, with_model=True)
    checks = [
        MetricCheck(name, was, reproduced.get(name, float("nan")), _same(was, reproduced.get(name, float("nan")), rtol))
        for name, was in recorded.items()
    ]
    if missing := [name for name in recorded if name not in reproduced]:
        notes.append(f"{len(missing)} recorded metrics were not reproduced: {', '.join(missing[:5])}")
    return Reproduction(
        run_id=run_id,
        new_run_id=invocation.run_id,
        directory=invocation.directory,
        data_match=invocation.result.data_sha256 == record["data"]["sha256"],
        checks=checks,
        notes=notes,
    )
