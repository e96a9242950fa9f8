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
from necml.pipeline._config import PipelineConfig, load_pipeline
from necml.pipeline._invoke import invoke_pipeline
from necml.pipeline._run import load_data
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


def _inside(value: str, root: Path, field: str) -> None:
    path = Path(value)
    if path.is_absolute() or not (root / path).resolve().is_relative_to(root.resolve()):
        raise ReproductionError(
            f"the record's pipeline.yaml, {field}: {value!r} points outside the run's record; refused "
            "(a record names its inputs inside itself, under inputs/)"
        )


def _check_inputs(config: PipelineConfig, inputs: Path, record: dict) -> None:
    """Refuse a crafted record before anything is analysed or logged.

    The cohort spec, mapping and model configs must lie inside the downloaded record; the data
    (a user's file, a generated cohort, a shipped data set) must have the recorded SHA-256.
    """
    if config.data.generate is not None:
        _inside(config.data.generate.spec, inputs, "data.generate.spec")
    if config.data.mapping is not None:
        _inside(config.data.mapping, inputs, "data.mapping")
    for i, model in enumerate(config.models):
        if model.config is not None:  # `model: NAME` is necml's own shipped config
            _inside(model.config, inputs, f"models.{i}.config")
    recorded = str(record.get("data", {}).get("sha256", ""))
    found = load_data(config, inputs).sha256
    if found != recorded:
        where = config.data.file or config.data.dataset or "the generated cohort"
        raise ReproductionError(
            f"the data ({where}) differ from the recorded data: SHA-256 {found[:12]}... against "
            f"{recorded[:12] or 'none'}...; nothing was analysed or logged"
        )


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
        The code differs and ``allow_code_change`` is False; the record names an input outside
        itself; or the data's SHA-256 differs from the record's (checked before any analysis).
    """
    with tempfile.TemporaryDirectory(prefix="necml-reproduce-") as tmp:
        inputs = download_run(settings, run_id, tmp)
        record = read_record(inputs)
        table = pd.read_csv(inputs / "metrics.csv", float_precision="round_trip")
        notes = _code_notes(record, allow_code_change)
        config = load_pipeline(inputs / "pipeline.yaml")
        _check_inputs(config, inputs, record)
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
