"""Run a pipeline: every step is a function returning values; nothing here writes a file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from necml.dataset import (
    DataMapping,
    SurvivalData,
    contract_mapping,
    data_schema,
    data_sha256,
    prepare_survival_data,
    resolve_data,
)
from necml.evaluation import (
    CalibrationCurve,
    MetricSettings,
    ModelPlan,
    StudyStore,
    ValidationResult,
    ValidationSettings,
    bootstrap_draws,
    calibration_curve,
    calibration_table,
    metric_table,
    nested_cv_intervals,
    paired_comparisons,
    resolve_settings,
    validate_model,
)
from necml.evaluation.validation._progress import planned_fits, reporting
from necml.exceptions import DataError
from necml.fidelity import FidelityReport, build_fidelity_report
from necml.models import load_model_config
from necml.pipeline._config import PipelineConfig, model_config_path
from necml.prognosis import PrognosticResult, prognostic_analysis
from necml.random import as_seed_sequence, child_seed

__all__ = ["LoadedData", "PipelineResult", "load_data", "run_pipeline"]


@dataclass(slots=True, kw_only=True)
class LoadedData:
    """The pipeline's table, how it was mapped, and the files it came from."""

    frame: pd.DataFrame
    mapping: DataMapping
    source: str
    kind: str  # "generate", "file" or "dataset"
    spec_path: Path | None = None
    file_path: Path | None = None
    mapping_path: Path | None = None

    @property
    def sha256(self) -> str:
        return data_sha256(self.frame)


@dataclass(slots=True, kw_only=True)
class PipelineResult:
    """What a pipeline computed; nothing has been written yet."""

    config: PipelineConfig
    source: str
    loaded: LoadedData
    data_sha256: str
    model_files: dict[str, Path]
    store: StudyStore
    data: SurvivalData
    prognostic: PrognosticResult | None
    validations: dict[str, ValidationResult]
    metrics: pd.DataFrame
    comparisons: pd.DataFrame
    calibration: dict[str, pd.DataFrame]
    calibration_curves: dict[str, CalibrationCurve] = field(default_factory=dict)
    fidelity: FidelityReport | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def schema(self) -> dict[str, str]:
        return data_schema(self.loaded.frame)


def _path(value: str, base: Path) -> Path:
    """A config path: as given (from the working directory), else relative to the config file."""
    given = Path(value)
    return given if given.exists() or given.is_absolute() else base / given


def load_data(
    config: PipelineConfig, base: Path, *, data_file: Path | None = None, mapping_file: Path | None = None
) -> LoadedData:
    """The pipeline's table, mapping and source (``data_file`` and ``mapping_file`` override the config's)."""
    from necml.cohort import generate_cohort
    from necml.spec import load_spec

    source = config.data
    mapping = mapping_file or (_path(source.mapping, base) if source.mapping else None)
    if mapping_file is not None and data_file is None and source.file is None and source.dataset is None:
        raise DataError(f"--mapping {mapping_file} maps a user's file: give it with --data FILE")
    if data_file is not None:
        frame, found, name = resolve_data(data_file, mapping)
        return LoadedData(
            frame=frame, mapping=found, source=name, kind="file", file_path=data_file, mapping_path=mapping
        )
    if source.generate is not None:
        spec_path = _path(source.generate.spec, base)
        spec = load_spec(spec_path)
        # the pipeline's seed itself: `necml generate SPEC --n N --seed SEED` gives this cohort
        frame = generate_cohort(spec, source.generate.n, seed=config.seed)
        return LoadedData(
            frame=frame,
            mapping=contract_mapping(frame),
            kind="generate",
            source=f"{spec.name} (n={source.generate.n}, generated)",
            spec_path=spec_path,
        )
    if source.dataset is not None:
        frame, found, name = resolve_data(source.dataset, mapping)
        return LoadedData(frame=frame, mapping=found, source=name, kind="dataset", mapping_path=mapping)
    file_path = _path(source.file or "", base)
    frame, found, name = resolve_data(file_path, mapping)
    return LoadedData(frame=frame, mapping=found, source=name, kind="file", file_path=file_path, mapping_path=mapping)


def _settings(config: PipelineConfig, data: SurvivalData) -> tuple[ValidationSettings, list[str]]:
    """The validation settings, with tau and the IBS grid fixed once for this data set."""
    m, v = config.metrics, config.validation
    asked = MetricSettings(
        landmarks=tuple(m.landmarks),
        tau=m.tau,
        grid_start=m.grid.start,
        grid_stop=m.grid.stop,
        grid_points=m.grid.points,
    )
    metrics, notes = resolve_settings(asked, data.time, data.event)
    return ValidationSettings(
        scheme=v.scheme,
        folds=v.folds,
        repeats=v.repeats,
        bootstrap=v.bootstrap,
        holdout_fraction=v.holdout_fraction,
        ci_resamples=v.ci_resamples,
        metrics=metrics,
    ), notes


def _plans(config: PipelineConfig, base: Path, store: StudyStore) -> tuple[list[ModelPlan], dict[str, Path]]:
    plans, files = [], {}
    for entry in config.models:
        path = model_config_path(entry, base)
        model = load_model_config(path)
        plans.append(
            ModelPlan(
                name=model.model,
                config=model,
                n_trials=entry.n_trials,
                inner_folds=entry.inner_folds,
                store=store,
            )
        )
        files[model.model] = path
    names = [p.name for p in plans]
    if len(set(names)) != len(names):
        raise DataError(f"each model may appear once in a pipeline, got {names}")
    return plans, files


def _calibration(
    validations: dict[str, ValidationResult], data: SurvivalData, settings: ValidationSettings, config: PipelineConfig
) -> tuple[dict[str, pd.DataFrame], dict[str, CalibrationCurve]]:
    """Risk-group tables and smoothed curves at the calibration landmark, on validated predictions."""
    at = config.metrics.calibration_at
    hits = np.flatnonzero(np.isclose(settings.metrics.times, at))
    if not hits.size:
        return {}, {}
    tables, curves = {}, {}
    for name, result in validations.items():
        predicted = result.validated_survival[:, int(hits[0])]  # out-of-fold / out-of-bag, never apparent
        time, event = data.time[result.rows], data.event[result.rows]
        tables[name] = calibration_table(time, event, predicted, at, groups=config.metrics.calibration_groups)
        curves[name] = calibration_curve(time, event, predicted, at)
    return tables, curves


def _with_nested(
    metrics: pd.DataFrame,
    plans: list[ModelPlan],
    validations: dict[str, ValidationResult],
    data: SurvivalData,
    settings: ValidationSettings,
    config: PipelineConfig,
    root: np.random.SeedSequence,
    shared: np.random.SeedSequence,
) -> pd.DataFrame:
    """``metrics`` with the nested-CV columns (``refit_*``) of every model."""
    tables = []
    for plan in plans:
        estimates = validations[plan.name].estimates
        table = nested_cv_intervals(
            plan,
            data,
            folds=settings.folds,
            reps=config.validation.nested_reps,
            settings=settings.metrics,
            cv_estimates=dict(zip(estimates["metric"], estimates["value"], strict=True)),
            seed=child_seed(root, "model", plan.name, "nested"),
            split_seed=shared,
        )
        tables.append(table.assign(model=plan.name))
    return metrics.merge(pd.concat(tables, ignore_index=True), on=["model", "metric"], how="left")


def study_prefix(config: PipelineConfig) -> str:
    """Tuning studies of a pipeline are named ``<name>:<seed>:<config digest>/<model>/<resample>``."""
    import hashlib

    digest = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:12]
    return f"{config.name}:{config.seed}:{digest}/"


def _validate_all(
    plans: list[ModelPlan],
    data: SurvivalData,
    settings: ValidationSettings,
    root: np.random.SeedSequence,
    shared: np.random.SeedSequence,
    progress: Callable[[str, int, int], None] | None,
) -> dict[str, ValidationResult]:
    """Validate every model, reporting each fit to ``progress``."""
    per_model = planned_fits(settings.scheme, folds=settings.folds, repeats=settings.repeats,
                             bootstrap=settings.bootstrap)
    total, done = per_model * len(plans), 0
    validations = {}
    for k, plan in enumerate(plans, start=1):

        def step(what: str, k: int = k, name: str = plan.name) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(f"model {k} of {len(plans)}: {name}, {what}", min(done, total), total)

        with reporting(step):
            validations[plan.name] = validate_model(
                plan, data, settings, child_seed(root, "model", plan.name), resample_seed=shared
            )
    return validations


def run_pipeline(
    config: PipelineConfig,
    *,
    base: Path = Path("."),
    data_file: Path | None = None,
    mapping_file: Path | None = None,
    tuning_storage: str | None = None,
    resume: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> PipelineResult:
    """Data -> validation -> prognostic analysis -> tune/fit/evaluate every model -> tables.

    Parameters
    ----------
    config : PipelineConfig
    base : pathlib.Path, default="."
        Directory of the config file (for relative paths that do not exist from the cwd).
    data_file : pathlib.Path, optional
        Analyse this file instead of the config's data.
    mapping_file : pathlib.Path, optional
        The data mapping of ``data_file`` (instead of the config's ``data.mapping``).
    tuning_storage : str, optional
        Optuna journal file or RDB URL for the tuning studies (default: in memory).
    resume : bool, default=False
        Continue the studies found in ``tuning_storage`` instead of refusing them.
    progress : callable, optional
        Called as ``progress(description, done, total)`` after every model fit of the
        validation (``"model 2 of 6: coxnet, repeat 1 of 3, fold 4 of 5"``); ``total`` counts
        every model's fits, so a caller can show an ETA.

    Returns
    -------
    PipelineResult
    """
    loaded = load_data(config, base, data_file=data_file, mapping_file=mapping_file)
    frame, mapping, source = loaded.frame, loaded.mapping, loaded.source
    if config.covariates is not None:
        mapping = mapping.with_expressions(config.covariates)
    store = StudyStore(location=tuning_storage, prefix=study_prefix(config), resume=resume)
    plans, model_files = _plans(config, base, store)  # fail on a bad model config before any fitting
    data = prepare_survival_data(frame, mapping, config.endpoint, source=source)
    prognostic = (
        prognostic_analysis(frame, mapping, config.endpoint, by=config.by, source=source) if config.prognostic else None
    )
    fidelity = None
    if loaded.spec_path is not None:
        from necml.spec import load_spec

        spec = load_spec(loaded.spec_path)
        fidelity = build_fidelity_report(spec, n=len(frame), seed=config.seed, frame=frame)
    settings, notes = _settings(config, data)
    root = as_seed_sequence(config.seed)
    shared = child_seed(root, "resamples")  # one set of splits / bootstrap samples for every model
    validations = _validate_all(plans, data, settings, root, shared, progress)
    draws = bootstrap_draws(
        validations,
        data,
        settings.metrics,
        resamples=settings.ci_resamples,
        seed=child_seed(root, "intervals"),
    )
    metrics = metric_table(validations, draws)
    if config.validation.intervals == "nested":
        metrics = _with_nested(metrics, plans, validations, data, settings, config, root, shared)
    calibration, curves = _calibration(validations, data, settings, config)
    return PipelineResult(
        config=config,
        source=source,
        loaded=loaded,
        data_sha256=loaded.sha256,
        model_files=model_files,
        store=store,
        data=data,
        prognostic=prognostic,
        validations=validations,
        metrics=metrics,
        comparisons=paired_comparisons(draws, metrics),
        calibration=calibration,
        calibration_curves=curves,
        fidelity=fidelity,
        notes=notes,
    )
