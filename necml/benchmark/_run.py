"""Run a benchmark: every model on every iteration of every data set's resampling, scored per test set.

Per iteration the model (untuned: its config's defaults plus the benchmark's ``params``) is
fitted on the training rows with preprocessing fitted there only, and scored on the test rows
with :func:`necml.evaluation.compute_metrics` (G from the training rows). Harrell's C is R's
``survival::concordance`` on the test set (what mlr3proba's ``surv.cindex`` computes). The
time-dependent metrics are evaluated at the data set's own time scale: landmarks at the 25%,
50% and 75% quantiles of all observed times (names ``auc_q25`` ...), Uno's C truncated at the
75% quantile (``cindex_uno_q75``), the IBS over 20 times from the 10% to the 75% quantile.
A fit that fails is an undefined row with the reason, never a crashed benchmark.

Outputs in ``OUT/<name>/``: ``results.csv`` (dataset, model, iteration, metric, value, note:
one row per test set and metric), ``summary.csv`` and ``summary.md`` (mean, SD, SE = SD /
sqrt(iterations), min, max over iterations), ``ledger.csv`` (fit warnings and failures),
``cindex.png`` (Harrell's C per iteration, per model and data set), ``benchmark.yaml`` (the
resolved config), and ``study.yaml`` + ``performance.csv`` (mean with its SE, the form
:func:`necml.tracking.log_saved_directory` logs to MLflow).
"""

from __future__ import annotations

import time as clock
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from matplotlib.figure import Figure

from necml.benchmark._config import BenchmarkConfig, DatasetConfig
from necml.benchmark._data import (
    Split,
    load_file_dataset,
    load_sksurv_dataset,
    load_survset_dataset,
    read_folds,
)
from necml.dataset import SurvivalData, atomic_write
from necml.evaluation import MetricSettings, compute_metrics, cv_splits, fit_quietly, resolve_settings
from necml.markdown import markdown_table
from necml.models import make_model, survival_at
from necml.random import child_seed, int_seed

__all__ = ["BenchmarkResult", "PreparedDataset", "prepare_datasets", "run_benchmark", "summarise"]

_FIT_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError)


@dataclass(frozen=True, slots=True)
class PreparedDataset:
    """A loaded data set, its resampling (given or necml's) and its metric settings."""

    name: str
    data: SurvivalData
    splits: list[Split]
    resampling: str
    settings: MetricSettings
    names: dict[str, str]  # necml metric name -> benchmark name (quantile-based)


@dataclass(slots=True, kw_only=True)
class BenchmarkResult:
    """Per-test-set results, their summary, the ledger and the output directory."""

    results: pd.DataFrame
    summary: pd.DataFrame
    ledger: pd.DataFrame
    directory: Path | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _load(d: DatasetConfig) -> SurvivalData:
    if d.file is not None:
        return load_file_dataset(d.file, time=d.time, event=d.event, factors=d.factors, numeric=d.numeric,
                                 name=d.label)
    if d.sksurv is not None:
        return load_sksurv_dataset(d.sksurv)
    return load_survset_dataset(str(d.survset))


def _settings(data: SurvivalData) -> tuple[MetricSettings, dict[str, str]]:
    q = np.quantile(data.time, [0.10, 0.25, 0.50, 0.75])
    landmarks = tuple(float(f"{x:.4g}") for x in q[1:])
    requested = MetricSettings(landmarks=landmarks, tau=landmarks[-1], grid_start=float(f"{q[0]:.4g}"),
                               grid_stop=landmarks[-1], grid_points=20)
    settings, _ = resolve_settings(requested, data.time, data.event)
    names = {"cindex_harrell": "cindex_harrell", f"cindex_uno_tau{settings.tau:g}": "cindex_uno_q75", "ibs": "ibs"}
    for at, label in zip(settings.landmarks, ("q25", "q50", "q75"), strict=True):
        names[f"auc_{at:g}m"], names[f"brier_{at:g}m"] = f"auc_{label}", f"brier_{label}"
    return settings, names


def prepare_datasets(config: BenchmarkConfig) -> list[PreparedDataset]:
    """Load and check every data set and folds file (before anything is written)."""
    prepared = []
    for d in config.datasets:
        data = _load(d)
        if d.folds is not None:
            splits, how = read_folds(d.folds, len(data.time)), f"given: {d.folds}"
        else:
            k, r = config.resampling.folds, config.resampling.repeats
            parts = cv_splits(data, k, r, child_seed(np.random.SeedSequence(config.seed), "split", d.label))
            splits = [Split(i * k + j + 1, tr, te) for i, rep in enumerate(parts) for j, (tr, te) in enumerate(rep)]
            how = f"necml: {r} x stratified {k}-fold CV (seed {config.seed})"
        settings, names = _settings(data)
        prepared.append(PreparedDataset(d.label, data, splits, how, settings, names))
    return prepared


def _score(config: BenchmarkConfig, ds: PreparedDataset, model: str, split: Split) -> tuple[list[dict], list[dict]]:
    where = {"dataset": ds.name, "model": model, "iteration": split.iteration}
    seed = child_seed(np.random.SeedSequence(config.seed), "fit", ds.name, model, split.iteration)
    params = {**_defaults(model), **config.params.get(model, {})}
    est = make_model(model, ds.data.X, ds.data.types, params=params, random_state=int_seed(seed))
    train, test = ds.data.subset(split.train), ds.data.subset(split.test)
    try:
        est, notes = fit_quietly(est, train)
        risk = est.predict(test.X)
        surv = survival_at(est, test.X, ds.settings.times)
    except _FIT_ERRORS as exc:
        note = f"fit failed: {type(exc).__name__}: {exc}"
        rows = [{**where, "metric": v, "value": float("nan"), "note": note} for v in ds.names.values()]
        return rows, [{**where, "note": note}]
    m = compute_metrics(train.time, train.event, test.time, test.event, risk, surv, ds.settings)
    rows = [{**where, "metric": ds.names[k], "value": v, "note": m.notes.get(k, "")} for k, v in m.values.items()]
    return rows, [{**where, "note": n} for n in notes]


def _defaults(model: str) -> dict:
    """The untuned parameters of the shipped ``configs/models/<model>.yaml`` where necml ships one, else none."""
    from necml.models import load_model_config
    from necml.models._shipped import SHIPPED_MODELS, shipped_model_config

    return dict(load_model_config(shipped_model_config(model)).untuned) if model in SHIPPED_MODELS else {}


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Mean, SD, SE (SD / sqrt(n)), min and max over iterations, per data set, model and metric."""
    grouped = results.groupby(["dataset", "model", "metric"], sort=False)["value"]
    summary = grouped.agg(mean="mean", sd="std", n="count", min="min", max="max").reset_index()
    summary["se"] = summary["sd"] / np.sqrt(summary["n"].clip(lower=1))
    return summary[["dataset", "model", "metric", "mean", "sd", "se", "n", "min", "max"]]


def _markdown(summary: pd.DataFrame, prepared: list[PreparedDataset]) -> str:
    wide = summary.assign(cell=[f"{m:.4f} ± {s:.4f}" for m, s in zip(summary["mean"], summary["sd"], strict=True)])
    table = wide.pivot_table(index=["dataset", "model"], columns="metric", values="cell", aggfunc="first", sort=False)
    lines = ["# Benchmark results", "", "Mean ± SD over the iterations of each data set's resampling.", ""]
    lines += [f"- `{p.name}`: {len(p.data.time)} patients, {int(p.data.event.sum())} events, "
              f"{len(p.splits)} iterations ({p.resampling})" for p in prepared]
    return "\n".join([*lines, "", markdown_table(table.reset_index()), ""])


def _plot(results: pd.DataFrame, path: Path) -> Path:
    c = results[results["metric"] == "cindex_harrell"]
    datasets = list(dict.fromkeys(c["dataset"]))
    fig = Figure(figsize=(4.0 * len(datasets), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(datasets)))
    for ax, name in zip(axes, datasets, strict=True):
        part = c[c["dataset"] == name]
        models = list(dict.fromkeys(part["model"]))
        values = [part.loc[part["model"] == m, "value"].dropna().to_numpy() for m in models]
        ax.boxplot(values, tick_labels=models)
        ax.plot(range(1, len(models) + 1), [v.mean() if len(v) else np.nan for v in values], "D", color="C3")
        ax.axhline(0.5, color="grey", linestyle="--", linewidth=1)
        ax.set(title=name, ylabel="Harrell's C per test set")
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))


def _csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def _write(directory: Path, config: BenchmarkConfig, result: BenchmarkResult, prepared: list[PreparedDataset]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    _csv(result.results, directory / "results.csv")
    _csv(result.summary, directory / "summary.csv")
    _csv(result.ledger, directory / "ledger.csv")
    atomic_write(directory / "summary.md", lambda tmp: tmp.write_text(_markdown(result.summary, prepared)))
    _plot(result.results, directory / "cindex.png")
    resolved = config.model_dump(mode="json")
    atomic_write(directory / "benchmark.yaml", lambda tmp: tmp.write_text(yaml.safe_dump(resolved, sort_keys=False)))
    study = {"name": config.name, "seed": config.seed, "kind": "benchmark", "benchmark": resolved,
             "resampling": {p.name: p.resampling for p in prepared}}
    atomic_write(directory / "study.yaml", lambda tmp: tmp.write_text(yaml.safe_dump(study, sort_keys=False)))
    s = result.summary
    performance = pd.DataFrame({"scenario": s["dataset"], "method": s["model"], "estimand": s["metric"],
                                "measure": "mean", "estimate": s["mean"], "mcse": s["se"]})
    _csv(performance, directory / "performance.csv")


def run_benchmark(config: BenchmarkConfig, *, out: str | Path | None = None) -> BenchmarkResult:
    """Run ``config``: data sets x models x iterations, scored per test set; write ``out/<name>/``.

    Parameters
    ----------
    config : BenchmarkConfig
        What to run.
    out : str or pathlib.Path, optional
        Output root; nothing is written without it. Every data set and folds file is read and
        checked before the directory is created.

    Returns
    -------
    BenchmarkResult

    Raises
    ------
    necml.exceptions.DataError
        A bad data or folds file (the message names the file, column, line and reason).
    """
    start = clock.perf_counter()
    prepared = prepare_datasets(config)
    rows, ledger = [], []
    for ds in prepared:
        for model in config.models:
            for split in ds.splits:
                r, notes = _score(config, ds, model, split)
                rows += r
                ledger += notes
    results = pd.DataFrame(rows, columns=["dataset", "model", "iteration", "metric", "value", "note"])
    ledger_frame = pd.DataFrame(ledger, columns=["dataset", "model", "iteration", "note"])
    result = BenchmarkResult(results=results, summary=summarise(results), ledger=ledger_frame)
    if out is not None:
        result.directory = Path(out) / config.name
        _write(result.directory, config, result, prepared)
    result.seconds = clock.perf_counter() - start
    return result
