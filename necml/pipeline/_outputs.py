"""Write what a pipeline computed, all or nothing, into a self-contained run directory.

``out/<name>/`` holds the tables and plots, the fitted final models (skops, a safe format), the
tuning trials, the inputs it used (``inputs/``: cohort spec, model configs, data mapping), a
``pipeline.yaml`` that re-runs the same invocation from this directory, ``record.json``:
seeds, data digest and schema, versions, code identity and timing, and ``report.html``: every
table and figure with that provenance on one self-contained page. ``necml log DIR`` sends
such a directory to MLflow; ``necml reproduce`` re-runs it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import yaml

from necml.environment import environment_record
from necml.evaluation import sampler_description
from necml.files import check_run_directory, publish_directory, staging_directory
from necml.models import save_model
from necml.pipeline._plots import plot_comparison, plot_tuning_history
from necml.pipeline._run import PipelineResult
from necml.prognosis import write_prognostic
from necml.random import as_seed_sequence
from necml.report import write_html_report
from necml.tracking import RECORD_FILE

__all__ = ["write_outputs"]


def _tables(result: PipelineResult) -> dict[str, pd.DataFrame]:
    per_fold = pd.concat([v.resamples.assign(model=k) for k, v in result.validations.items()], ignore_index=True)
    ledger = pd.DataFrame(
        [{"model": "*", "repeat": -1, "fold": -1, "note": note} for note in result.notes]
        + [{"model": k, **row} for k, v in result.validations.items() for row in v.ledger],
        columns=["model", "repeat", "fold", "note"],
    )
    undefined = per_fold[per_fold["note"].astype(str).str.len() > 0][["model", "repeat", "fold", "metric", "note"]]
    params = pd.DataFrame([{"model": k, **p} for k, v in result.validations.items() for p in v.params])
    calibration = (
        pd.concat([t.assign(model=k) for k, t in result.calibration.items()], ignore_index=True)
        if result.calibration
        else pd.DataFrame()
    )
    trials = [v.trials.assign(model=k) for k, v in result.validations.items() if len(v.trials)]
    return {
        "metrics": result.metrics,
        "metrics_resamples": per_fold,
        "comparisons": result.comparisons,
        "ledger": pd.concat([ledger, undefined], ignore_index=True),
        "params": params,
        "calibration": calibration,
        "calibration_summary": _calibration_summary(result),
        "trials": pd.concat(trials, ignore_index=True) if trials else pd.DataFrame(),
    }


def _calibration_summary(result: PipelineResult) -> pd.DataFrame:
    """Per model at the calibration landmark: slope, intercept, O/E, ICI, E50, E90, Emax (validated)."""
    keys = ["at", "n", "events", "slope", "intercept", "oe", "ici", "e50", "e90", "emax", "note"]
    return pd.DataFrame(
        [{"model": name, **{k: getattr(c, k) for k in keys}} for name, c in result.calibration_curves.items()],
        columns=["model", *keys],
    )


def _input_example(X: pd.DataFrame) -> pd.DataFrame:
    """One typical row (per-column median or mode), not any patient's: safe to publish."""
    row = X.iloc[:1].copy()
    for name in X.columns:
        column = X[name].dropna()
        if column.empty:
            continue
        if pd.api.types.is_numeric_dtype(column) and column.nunique() > 2:
            row[name] = column.quantile(0.5, interpolation="nearest")
        else:
            row[name] = column.mode().iloc[0]
    return row.reset_index(drop=True)


def _save_models(result: PipelineResult, folder: Path) -> dict[str, str]:
    folder.mkdir()
    _input_example(result.data.X).to_csv(folder / "input_example.csv", index=False)
    saved = {}
    for name, validation in result.validations.items():
        if validation.final is not None and validation.final.model is not None:
            save_model(validation.final.model, folder / f"{name}.skops")
            saved[name] = f"models/{name}.skops"
    return saved


def _copy_inputs(result: PipelineResult, folder: Path) -> dict[str, object]:
    """Copy the config's inputs; return the resolved config with paths pointing at them."""
    resolved = result.config.model_dump(mode="json")
    (folder / "models").mkdir(parents=True)
    loaded = result.loaded
    if loaded.spec_path is not None:
        shutil.copyfile(loaded.spec_path, folder / "cohort_spec.yaml")
        resolved["data"]["generate"]["spec"] = "inputs/cohort_spec.yaml"
    if loaded.kind == "file":
        resolved["data"] = {"file": str(Path(loaded.file_path or "").resolve())}
    if loaded.mapping_path is not None:
        shutil.copyfile(loaded.mapping_path, folder / "mapping.yaml")
        resolved["data"]["mapping"] = "inputs/mapping.yaml"
    for entry, (name, path) in zip(resolved["models"], result.model_files.items(), strict=True):
        shutil.copyfile(path, folder / "models" / f"{name}.yaml")
        entry["config"] = f"inputs/models/{name}.yaml"
        entry.pop("model", None)  # `{model: coxph}`: the shipped config, now copied
    return resolved


def _record(result: PipelineResult, models: dict[str, str], extra: dict[str, object]) -> dict:
    seed = as_seed_sequence(result.config.seed)
    final_trials = {k: sorted(set(v.trials["study"])) for k, v in result.validations.items() if len(v.trials)}
    return {
        "necml_record": 1,
        "pipeline": result.config.name,
        "seed": result.config.seed,
        "seed_entropy": str(seed.entropy),
        "seed_derivation": "data: necml generate SPEC --n N --seed SEED (the seed itself); numpy "
        "SeedSequence(seed), children by necml.random.child_seed(root, 'model', <name> | 'resamples' | "
        "'intervals')",
        "data": {
            "kind": result.loaded.kind,
            "source": result.source,
            "path": str(result.loaded.file_path or result.loaded.spec_path or ""),
            "sha256": result.data_sha256,
            "rows": len(result.loaded.frame),
            "schema": result.schema,
            "design_dtypes": {str(k): str(v) for k, v in result.data.X.dtypes.items()},
            "analysed": {
                "endpoint": result.config.endpoint,
                "patients": len(result.data.time),
                "events": int(result.data.event.sum()),
                "covariates": list(result.data.X.columns),
            },
        },
        "validation": result.config.validation.scheme,
        "tuning": {
            "storage": result.store.location or "memory",
            "study_prefix": result.store.prefix,
            "studies": final_trials,
            **sampler_description(),
        },
        "models": models,
        "environment": environment_record(),
        **extra,
    }


def _write_all(result: PipelineResult, staging: Path, extra: dict[str, object]) -> None:
    from necml.evaluation import plot_calibration
    from necml.fidelity import write_report

    for name, table in _tables(result).items():
        table.to_csv(staging / f"{name}.csv", index=False)
    resolved = _copy_inputs(result, staging / "inputs")
    (staging / "pipeline.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
    plot_comparison(result.metrics, result.validations, staging / "model_comparison.png")
    if result.calibration:
        plot_calibration(
            result.calibration, result.config.metrics.calibration_at, staging / "calibration.png",
            curves=result.calibration_curves,
        )
    for name, validation in result.validations.items():
        final = validation.trials[validation.trials.get("resample", pd.Series()) == "final"]
        if len(final):
            plot_tuning_history(final, f"{name}: tuning on all patients", staging / f"tuning_{name}.png")
    if result.prognostic is not None:
        write_prognostic(result.prognostic, staging)
    if result.fidelity is not None:
        write_report(result.fidelity, staging / "fidelity")
    models = _save_models(result, staging / "models")
    record = _record(result, models, extra)
    (staging / RECORD_FILE).write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    shown = {k: v for k, v in record.items() if k != "data"} | {
        "data": {k: v for k, v in record["data"].items() if k not in ("schema", "design_dtypes")}}
    write_html_report(staging, title=f"Pipeline {result.config.name}", provenance=shown)


def write_outputs(result: PipelineResult, out: str | Path, *, record: dict[str, object] | None = None) -> Path:
    """Write every table, plot, model and input into ``out/<name>``, all or nothing.

    Everything is written to a staging sibling directory first, which then replaces
    ``out/<name>``: an error half-way leaves the previous outputs untouched. ``out/<name>`` is
    replaced only when it is a run directory necml wrote (it holds ``record.json``) or empty.

    Parameters
    ----------
    result : PipelineResult
    out : str or pathlib.Path
        Output root.
    record : dict, optional
        Extra entries for ``record.json`` (timing, command line, tracking run id).

    Returns
    -------
    pathlib.Path
        The run directory ``out/<name>``.
    """
    final = check_run_directory(Path(out) / result.config.name, marker=RECORD_FILE)
    staging = staging_directory(final.parent, final.name)
    try:
        _write_all(result, staging, record or {})
        check_run_directory(final, marker=RECORD_FILE)  # again: it may have appeared meanwhile
        publish_directory(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final
