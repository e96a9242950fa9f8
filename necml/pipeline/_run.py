"""Run a pipeline: every step is a function returning values; only ``write_outputs`` writes."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from necml.dataset import (
    DataMapping,
    SurvivalData,
    contract_mapping,
    prepare_survival_data,
    resolve_data,
)
from necml.evaluation import (
    MetricSettings,
    ModelPlan,
    ValidationResult,
    ValidationSettings,
    bootstrap_draws,
    calibration_table,
    metric_table,
    paired_comparisons,
    validate_model,
)
from necml.exceptions import DataError
from necml.models import load_model_config
from necml.pipeline._config import PipelineConfig
from necml.pipeline._plots import plot_comparison
from necml.prognosis import PrognosticResult, prognostic_analysis, write_prognostic
from necml.random import as_seed_sequence, child_seed

__all__ = ["PipelineResult", "load_data", "run_pipeline", "write_outputs"]


@dataclass(slots=True, kw_only=True)
class PipelineResult:
    """What a pipeline computed; nothing has been written yet."""

    config: PipelineConfig
    source: str
    data: SurvivalData
    prognostic: PrognosticResult | None
    validations: dict[str, ValidationResult]
    metrics: pd.DataFrame
    comparisons: pd.DataFrame
    calibration: dict[str, pd.DataFrame]


def _path(value: str, base: Path) -> Path:
    """A config path: as given (from the working directory), else relative to the config file."""
    given = Path(value)
    return given if given.exists() or given.is_absolute() else base / given


def load_data(
    config: PipelineConfig, base: Path, *, data_file: Path | None = None
) -> tuple[pd.DataFrame, DataMapping, str]:
    """The pipeline's table, mapping and source name (``data_file`` overrides the config's data)."""
    from necml.cohort import generate_cohort
    from necml.spec import load_spec

    source = config.data
    mapping = _path(source.mapping, base) if source.mapping else None
    if data_file is not None:
        return resolve_data(data_file, mapping)
    if source.generate is not None:
        spec = load_spec(_path(source.generate.spec, base))
        seed = child_seed(as_seed_sequence(config.seed), "data")
        frame = generate_cohort(spec, source.generate.n, seed=seed)
        return frame, contract_mapping(frame), f"{spec.name} (n={source.generate.n}, generated)"
    return resolve_data(source.dataset or _path(source.file or "", base), mapping)


def _settings(config: PipelineConfig) -> ValidationSettings:
    m, v = config.metrics, config.validation
    metrics = MetricSettings(
        landmarks=tuple(m.landmarks),
        tau=m.tau,
        grid_start=m.grid.start,
        grid_stop=m.grid.stop,
        grid_points=m.grid.points,
    )
    return ValidationSettings(
        scheme=v.scheme,
        folds=v.folds,
        repeats=v.repeats,
        bootstrap=v.bootstrap,
        holdout_fraction=v.holdout_fraction,
        ci_resamples=v.ci_resamples,
        metrics=metrics,
    )


def _plans(config: PipelineConfig, base: Path) -> list[ModelPlan]:
    plans = []
    for entry in config.models:
        model = load_model_config(_path(entry.config, base))
        plans.append(
            ModelPlan(
                name=model.model,
                config=model,
                n_trials=entry.n_trials,
                inner_folds=entry.inner_folds,
            )
        )
    names = [p.name for p in plans]
    if len(set(names)) != len(names):
        raise DataError(f"each model may appear once in a pipeline, got {names}")
    return plans


def run_pipeline(
    config: PipelineConfig, *, base: Path = Path("."), data_file: Path | None = None
) -> PipelineResult:
    """Data -> validation -> prognostic analysis -> tune/fit/evaluate every model -> tables.

    Parameters
    ----------
    config : PipelineConfig
    base : pathlib.Path, default="."
        Directory of the config file (for relative paths that do not exist from the cwd).
    data_file : pathlib.Path, optional
        Analyse this file instead of the config's data.

    Returns
    -------
    PipelineResult
    """
    frame, mapping, source = load_data(config, base, data_file=data_file)
    if config.covariates is not None:
        mapping = mapping.with_expressions(config.covariates)
    plans = _plans(config, base)  # fail on a bad model config before any fitting
    data = prepare_survival_data(frame, mapping, config.endpoint, source=source)
    prognostic = (
        prognostic_analysis(frame, mapping, config.endpoint, by=config.by, source=source)
        if config.prognostic
        else None
    )
    settings = _settings(config)
    root = as_seed_sequence(config.seed)
    validations = {
        p.name: validate_model(p, data, settings, child_seed(root, "model", p.name)) for p in plans
    }
    draws = bootstrap_draws(
        validations,
        data,
        settings.metrics,
        resamples=settings.ci_resamples,
        seed=child_seed(root, "intervals"),
    )
    metrics = metric_table(validations, draws)
    at = config.metrics.calibration_at
    calibration = {}
    for name, result in validations.items():
        column = (
            int(np.flatnonzero(np.isclose(settings.metrics.times, at))[0])
            if at in settings.metrics.times
            else None
        )
        if column is not None:
            predicted = np.nanmean(result.survival[:, :, column], axis=0)
            calibration[name] = calibration_table(
                data.time[result.rows],
                data.event[result.rows],
                predicted,
                at,
                groups=config.metrics.calibration_groups,
            )
    return PipelineResult(
        config=config,
        source=source,
        data=data,
        prognostic=prognostic,
        validations=validations,
        metrics=metrics,
        comparisons=paired_comparisons(draws, metrics),
        calibration=calibration,
    )


def _tables(result: PipelineResult) -> dict[str, pd.DataFrame]:
    per_fold = pd.concat(
        [v.resamples.assign(model=k) for k, v in result.validations.items()], ignore_index=True
    )
    ledger = pd.DataFrame(
        [{"model": k, **row} for k, v in result.validations.items() for row in v.ledger],
        columns=["model", "repeat", "fold", "note"],
    )
    undefined = per_fold[per_fold["note"].astype(str).str.len() > 0][
        ["model", "repeat", "fold", "metric", "note"]
    ]
    params = pd.DataFrame(
        [{"model": k, **p} for k, v in result.validations.items() for p in v.params]
    )
    calibration = (
        pd.concat([t.assign(model=k) for k, t in result.calibration.items()], ignore_index=True)
        if result.calibration
        else pd.DataFrame()
    )
    return {
        "metrics": result.metrics,
        "metrics_resamples": per_fold,
        "comparisons": result.comparisons,
        "ledger": pd.concat([ledger, undefined], ignore_index=True),
        "params": params,
        "calibration": calibration,
    }


def write_outputs(result: PipelineResult, out: str | Path) -> Path:
    """Write every table, plot and the resolved config into ``out/<name>``, all or nothing.

    Everything is written to a temporary sibling directory first, which then replaces
    ``out/<name>``: an error half-way leaves the previous outputs untouched.
    """
    from necml.evaluation import plot_calibration

    final = Path(out) / result.config.name
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        for name, table in _tables(result).items():
            table.to_csv(staging / f"{name}.csv", index=False)
        resolved = result.config.model_dump(mode="json") | {"resolved_source": result.source}
        (staging / "pipeline.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
        plot_comparison(result.metrics, result.validations, staging / "model_comparison.png")
        if result.calibration:
            plot_calibration(
                result.calibration,
                result.config.metrics.calibration_at,
                staging / "calibration.png",
            )
        if result.prognostic is not None:
            write_prognostic(result.prognostic, staging)
        if final.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{final.name}.old.", dir=final.parent))
            os.replace(final, trash / final.name)
            shutil.rmtree(trash)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final
