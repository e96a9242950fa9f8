"""Log a saved run directory to MLflow: one parent run, one nested run per model.

Parent run (tag ``necml.kind=pipeline``, named ``<pipeline>-seed<seed>``, a reproduction
``reproduce-<pipeline>-seed<seed>``)
    start and end: the recorded run's own (``record.json``), not the time of logging;
    params: the resolved pipeline config (flattened, e.g. ``validation.folds``), the seed and its
    SeedSequence entropy, the tuning sampler and its settings, storage and study prefix;
    tags: ``necml.data_sha256`` (MLflow's own dataset digest is 8 characters), ``necml.git_commit``,
    ``necml.git_dirty``, ``necml.code_sha256``, ``necml.version.<package>``, ``necml.platform``,
    ``necml.validation``, and MLflow's ``mlflow.user``, ``mlflow.source.name`` (the command line)
    and ``mlflow.source.type``; the dataset through ``mlflow.data`` (name, digest, source, schema; the
    rows themselves are never uploaded); metrics ``<model>.<metric>`` with ``.ci_low`` and
    ``.ci_high``; every file of the directory except ``models/`` as artifacts.
Nested run per model (tag ``necml.kind=model``, named after the model, the run's times)
    params: the final model's parameters; metrics with the documented names (``cindex_harrell``,
    ``cindex_uno_tau24``, ``auc_6m``, ``brier_12m``, ``ibs``, ...), ``.ci_low``/``.ci_high``, and
    the per-resample values as metric history (``step`` = resample index); tag
    ``necml.validation``; artifacts: its tuning trials and history plot; the fitted model in the
    sklearn flavour (skops format, signature and input example, explicit pip requirements and
    necml's code, so loading needs neither inference nor an installed necml). The validated
    metrics are also the logged model's (MLflow 3 ``LoggedModel``), linked to the dataset, for
    MLflow's model comparison.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from necml.tracking._client import client, experiment_id
from necml.tracking._directory import current_user, read_record, record_times
from necml.tracking._settings import TrackingSettings

__all__ = [
    "ERROR_TAG",
    "REPRODUCES_TAG",
    "dataset_input",
    "error_text",
    "log_run_directory",
    "metric_values",
    "model_requirements",
    "parent_tags",
    "run_name",
    "source_tags",
]

#: Tag of a FAILED run: the error that ended it (type and first lines of the message).
ERROR_TAG = "necml.error"
#: Tag of a reproduction (``necml reproduce``): the id of the run it reproduces.
REPRODUCES_TAG = "necml.reproduces"

_MAX_PARAM = 500


def _flatten(tree: object, prefix: str = "") -> dict[str, str]:
    if isinstance(tree, dict):
        out: dict[str, str] = {}
        for key, value in tree.items():
            out |= _flatten(value, f"{prefix}{key}.")
        return out
    if isinstance(tree, list) and tree and all(isinstance(v, dict) for v in tree):
        out = {}
        for i, value in enumerate(tree):
            out |= _flatten(value, f"{prefix}{i}.")
        return out
    return {prefix.rstrip("."): str(tree)[:_MAX_PARAM]}


def error_text(exc: BaseException) -> str:
    """What a FAILED run's :data:`ERROR_TAG` says: ``"ValueError: Found unknown categories ..."``."""
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}"[:5000] if message else type(exc).__name__


def run_name(pipeline: str, seed: object, tags: dict[str, str] | None = None) -> str:
    """A pipeline run's name: ``<pipeline>-seed<seed>``, a reproduction's ``reproduce-<pipeline>-seed<seed>``.

    Examples
    --------
    >>> run_name("quickstart", 20250101)
    'quickstart-seed20250101'
    >>> run_name("quickstart", 20250101, {REPRODUCES_TAG: "0f3a"})
    'reproduce-quickstart-seed20250101'
    """
    stem = f"{pipeline}-seed{seed}"
    return f"reproduce-{stem}" if (tags or {}).get(REPRODUCES_TAG) else stem


def source_tags(command: str, user: str) -> dict[str, str]:
    """MLflow's standard tags of who ran what: the UI's User and Source columns.

    Examples
    --------
    >>> source_tags("necml run p.yaml", "ana")["mlflow.source.name"]
    'necml run p.yaml'
    """
    return {"mlflow.user": user, "mlflow.source.name": (command or "necml")[:5000], "mlflow.source.type": "LOCAL"}


def parent_tags(record: dict) -> dict[str, str]:
    """Provenance tags of a pipeline run, from its record (who ran it and how, the extra tags it was given)."""
    env = record["environment"]
    return {
        **source_tags(str(record.get("command") or ""), str(record.get("user") or current_user())),
        **{str(k): str(v) for k, v in (record.get("tags") or {}).items()},
        "necml.kind": "pipeline",
        "necml.pipeline": record["pipeline"],
        "necml.seed": str(record["seed"]),
        "necml.data_sha256": record["data"]["sha256"],
        "necml.data_source": record["data"]["source"],
        "necml.validation": record["validation"],
        "necml.code_sha256": env["code_sha256"],
        "necml.git_commit": env["git"]["commit"],
        "necml.git_dirty": env["git"]["dirty"],
        "necml.platform": env["platform"],
        "necml.python": env["python"],
        **{f"necml.version.{k}": v for k, v in env["versions"].items()},
    }


def model_requirements(record: dict) -> list[str]:
    """Pinned requirements to load a logged model (necml itself travels as code)."""
    versions = record["environment"]["versions"]
    needed = ("numpy", "scipy", "pandas", "scikit-learn", "scikit-survival", "xgboost", "pydantic")
    import skops

    pins = [f"{name}=={versions[name]}" for name in needed if versions.get(name, "absent") != "absent"]
    return [*pins, f"skops=={skops.__version__}", "pyyaml"]


def dataset_key(data: dict) -> tuple[str, str]:
    """The dataset's name and digest in MLflow (``mlflow.data``'s digest is 8 characters)."""
    return str(data["source"]), str(data["sha256"])[:8]


def dataset_input(data: dict):  # noqa: ANN201 - mlflow DatasetInput, imported lazily
    """The dataset of a record's ``data`` entry for ``log_inputs``: name, digest, source, schema.

    Parameters
    ----------
    data : dict
        ``kind``, ``source``, ``path``, ``sha256`` and ``schema`` (column -> dtype), as in ``record.json``.
    """
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.types import ColSpec, Schema

    kinds = {"float": "double", "int": "long", "bool": "boolean"}
    columns = [
        ColSpec(next((v for k, v in kinds.items() if dtype.startswith(k)), "string"), name)
        for name, dtype in data["schema"].items()
    ]
    if data["kind"] == "file":
        from mlflow.data.dataset_source_registry import resolve_dataset_source

        with warnings.catch_warnings():  # MLflow registers the local-file source twice and says so
            warnings.filterwarnings("ignore", message=".*can be interpreted in multiple ways", category=UserWarning)
            source = resolve_dataset_source(data["path"])
    else:
        source = CodeDatasetSource(
            {"necml.data_kind": data["kind"], "necml.source": data["source"], "necml.path": data["path"]}
        )
    name, digest = dataset_key(data)
    dataset = MetaDataset(source, name=name, digest=digest, schema=Schema(columns))
    return DatasetInput(dataset._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", "training")])


def metric_values(metrics: pd.DataFrame, *, with_model: bool) -> dict[str, float]:
    """``[<model>.]<metric>[.ci_low|.ci_high]`` -> value, from a ``metrics.csv`` table."""
    found = {}
    for row in metrics.itertuples():
        stem = f"{row.model}.{row.metric}" if with_model else row.metric
        for suffix, value in (("", row.value), (".ci_low", row.ci_low), (".ci_high", row.ci_high)):
            found[f"{stem}{suffix}"] = float(value)
    return found


def _now_ms() -> int:
    return int(pd.Timestamp.now(tz="UTC").timestamp() * 1000)


def _metric_batch(
    values: dict[str, float], stamp: int, *, model_id: str | None = None, dataset: tuple[str, str] | None = None
):  # noqa: ANN202 - list of mlflow Metric
    """Metrics at ``stamp``; with ``model_id`` they are also that logged model's, on ``dataset`` (name, digest)."""
    from mlflow.entities import Metric

    name, digest = dataset if model_id is not None and dataset is not None else (None, None)
    return [
        Metric(key, value, stamp, 0, model_id=model_id, dataset_name=name, dataset_digest=digest)
        for key, value in values.items()
    ]


@dataclass(frozen=True, slots=True)
class _SavedRun:
    """A run directory's record and tables, read once."""

    directory: Path
    record: dict
    metrics: pd.DataFrame
    params: pd.DataFrame
    resamples: pd.DataFrame
    trials: pd.DataFrame

    @classmethod
    def read(cls, directory: Path) -> _SavedRun:
        trials_file = directory / "trials.csv"
        has_trials = trials_file.exists() and trials_file.stat().st_size > 1
        return cls(
            directory=directory,
            record=read_record(directory),
            metrics=pd.read_csv(directory / "metrics.csv"),
            params=pd.read_csv(directory / "params.csv"),
            resamples=pd.read_csv(directory / "metrics_resamples.csv"),
            trials=pd.read_csv(trials_file) if has_trials else pd.DataFrame({"model": []}),
        )

    @property
    def start_ms(self) -> int | None:
        """When the run started (epoch ms, UTC), from its record; None when it does not say."""
        return record_times(self.record)[0]

    @property
    def end_ms(self) -> int | None:
        """When the run's computation ended (epoch ms, UTC): start plus its recorded duration."""
        return record_times(self.record)[1]

    @property
    def stamp(self) -> int:
        """The metrics' timestamp: the end of the run, else now."""
        return self.end_ms if self.end_ms is not None else _now_ms()


def _log_batches(run_id: str, settings: TrackingSettings, metrics: list, params: dict[str, str]) -> None:
    from mlflow.entities import Param

    mlflow_client = client(settings)
    items = [Param(k, v) for k, v in params.items()]
    for start in range(0, max(len(metrics), len(items)), 100):
        mlflow_client.log_batch(run_id, metrics=metrics[start : start + 100], params=items[start : start + 100])


def regular_files(directory: Path, skip: set[str] = frozenset()) -> list[Path]:  # type: ignore[assignment]
    """Every regular file under ``directory``, hidden entries and ``skip`` left out; links are never followed.

    A symbolic link (to a file or a folder, inside or outside) is skipped, so a crafted run
    directory cannot make ``necml log`` upload ``/etc``.
    """
    found = []
    for root, dirs, files in os.walk(directory, followlinks=False):
        top = Path(root) == directory
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and not (top and d in skip) and not os.path.islink(os.path.join(root, d))
        )
        for name in sorted(files):
            path = Path(root) / name
            if name.startswith(".") or (top and name in skip) or path.is_symlink() or not path.is_file():
                continue
            found.append(path)
    return found


def _log_files(run_id: str, settings: TrackingSettings, directory: Path, skip: set[str]) -> None:
    mlflow_client = client(settings)
    for path in regular_files(directory, skip):
        parent = path.parent.relative_to(directory).as_posix()
        mlflow_client.log_artifact(run_id, str(path), artifact_path=None if parent == "." else parent)


def _child_runs(settings: TrackingSettings, experiment: str, parent: str) -> dict[str, object]:
    runs = client(settings).search_runs(
        [experiment], filter_string=f"tags.mlflow.parentRunId = '{parent}'", max_results=200
    )
    return {r.data.tags.get("necml.model", ""): r for r in runs}


def _resample_history(resamples: pd.DataFrame, stamp: int) -> list:
    from mlflow.entities import Metric

    per_fold = resamples[resamples["fold"] >= 0] if (resamples["fold"] >= 0).any() else resamples
    keys = {k: i for i, k in enumerate(dict.fromkeys(zip(per_fold["repeat"], per_fold["fold"], strict=True)))}
    return [
        Metric(f"{row.metric}.resample", float(row.value), stamp, keys[(row.repeat, row.fold)])
        for row in per_fold.itertuples()
        if isinstance(row.value, float) and not math.isnan(row.value)
    ]


def _log_trial_runs(settings: TrackingSettings, experiment: str, parent: str, trials: pd.DataFrame,
                    saved: _SavedRun) -> None:
    """One nested run per trial of the study on all patients (only when asked: ``--log-trials``)."""
    from mlflow.entities import Metric, Param

    mlflow_client = client(settings)
    final = trials[trials["resample"] == "final"] if "resample" in trials else trials.iloc[:0]
    stamp = saved.stamp
    for row in final.to_dict("records"):
        trial = mlflow_client.create_run(
            experiment,
            start_time=saved.start_ms,
            run_name=f"trial-{int(row['number'])}",
            tags={"mlflow.parentRunId": parent, "necml.kind": "trial", "optuna.state": str(row["state"])},
        )
        params = [Param(k.removeprefix("param_"), str(v)) for k, v in row.items() if k.startswith("param_")]
        value = float(row["value"])
        metrics = [] if math.isnan(value) else [Metric("inner_cindex_harrell", value, stamp, 0)]
        mlflow_client.log_batch(trial.info.run_id, metrics=metrics, params=params)
        mlflow_client.set_terminated(trial.info.run_id, "FINISHED", end_time=saved.end_ms)


def _log_model_run(
    settings: TrackingSettings, experiment: str, parent: str, name: str, saved: _SavedRun, *, log_trials: bool = False
) -> None:
    mlflow_client = client(settings)
    record = saved.record
    run = mlflow_client.create_run(
        experiment,
        start_time=saved.start_ms,
        run_name=name,
        tags={
            **source_tags(str(record.get("command") or ""), str(record.get("user") or current_user())),
            "mlflow.parentRunId": parent,
            "necml.kind": "model",
            "necml.model": name,
            "necml.validation": record["validation"],
            "necml.pipeline": record["pipeline"],
        },
    )
    run_id = run.info.run_id
    try:
        _fill_model_run(settings, experiment, run_id, name, saved, log_trials=log_trials)
    except BaseException as exc:
        _fail(settings, run_id, exc)
        raise
    mlflow_client.set_terminated(run_id, "FINISHED", end_time=saved.end_ms)


def _fill_model_run(
    settings: TrackingSettings, experiment: str, run_id: str, name: str, saved: _SavedRun, *, log_trials: bool
) -> None:
    """A model run's dataset, parameters, tuning artifacts, the fitted model, then its metrics.

    The metrics come after the model: the validated ones are linked to the logged model (when
    there is one) and the dataset, so that they are both the run's (flat names, for the search
    API) and the model's; the per-resample history stays the run's only (MLflow's ``log_model``
    would otherwise copy its first value, the first fold's, onto the model).
    """
    mlflow_client = client(settings)
    directory, record = saved.directory, saved.record
    params = saved.params
    final = params[(params["model"] == name)].iloc[-1].drop(["model", "repeat", "fold"]).dropna()
    model_params = {f"model.{k}": str(v)[:_MAX_PARAM] for k, v in final.items()}
    _log_batches(run_id, settings, [], model_params)
    mlflow_client.log_inputs(run_id, datasets=[dataset_input(record["data"])])
    plot = directory / f"tuning_{name}.png"
    if plot.exists():
        mlflow_client.log_artifact(run_id, str(plot), artifact_path="tuning")
    trials = saved.trials[saved.trials["model"] == name]
    if len(trials):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "trials.csv"
            trials.dropna(axis=1, how="all").to_csv(path, index=False)
            mlflow_client.log_artifact(run_id, str(path), artifact_path="tuning")
        if log_trials:
            _log_trial_runs(settings, experiment, run_id, trials, saved)
    model_id = _log_model_file(settings, run_id, name, directory, record, params=model_params)
    own = metric_values(saved.metrics[saved.metrics["model"] == name], with_model=False)
    batch = _metric_batch(own, saved.stamp, model_id=model_id, dataset=dataset_key(record["data"]))
    history = _resample_history(saved.resamples[saved.resamples["model"] == name], saved.stamp)
    _log_batches(run_id, settings, batch + history, {})


def _fail(settings: TrackingSettings, run_id: str, exc: BaseException) -> None:
    """Mark a run FAILED with the error as its tag, when the error is not the store's.

    A store that cannot be reached is not asked again here (each request may wait for its
    timeouts): :class:`~necml.tracking.PipelineRun` makes the one attempt to mark the run.
    """
    from necml.tracking._client import unreachable_errors

    if isinstance(exc, unreachable_errors()):
        return
    try:
        mlflow_client = client(settings)
        mlflow_client.set_tag(run_id, ERROR_TAG, error_text(exc))
        mlflow_client.set_terminated(run_id, "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
    except unreachable_errors():
        pass


def input_example(directory: Path, record: dict) -> pd.DataFrame:
    """The saved input example with the design's dtypes; categorical levels read as text, as in training
    (an integer-coded level such as R's sex 1/2 would otherwise come back as the number 1)."""
    dtypes = {c: t for c, t in record["data"].get("design_dtypes", {}).items()}
    text = [c for c, t in dtypes.items() if t in ("category", "object", "string")]
    example = pd.read_csv(directory / "models" / "input_example.csv", dtype=dict.fromkeys(text, str))
    return example.astype({c: t for c, t in dtypes.items() if c in example})


def _log_model_file(
    settings: TrackingSettings, run_id: str, name: str, directory: Path, record: dict, *,
    params: dict[str, str] | None = None,
) -> str | None:
    """Log the fitted model ``name`` in the sklearn flavour; returns its MLflow 3 model id (None: no model file)."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from necml.models import SKOPS_TRUSTED_TYPES, load_model

    model_file = directory / "models" / f"{name}.skops"
    if not model_file.exists():
        return None
    model = load_model(model_file)
    example = input_example(directory, record)
    mlflow.set_tracking_uri(settings.uri)
    with mlflow.start_run(run_id=run_id), warnings.catch_warnings():
        # MLflow inspects sklearn's untyped ``predict`` and warns that it cannot validate Any
        warnings.filterwarnings("ignore", message=".*type hint is inferred as AnyType", category=UserWarning)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="skops",
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
            signature=infer_signature(example, model.predict(example)),
            input_example=example,
            pip_requirements=model_requirements(record),
            code_paths=[str(Path(__file__).resolve().parents[1])],
            params=params or None,
            tags={"necml.model": name, "necml.pipeline": record["pipeline"]},
        )
    return info.model_id


def log_run_directory(
    directory: str | Path, settings: TrackingSettings, *, run_id: str | None = None, log_trials: bool = False
) -> str:
    """Log a run directory written by ``necml run`` to MLflow and mark the run FINISHED.

    The run's start and end are the recorded run's own (``record.json``: its start and
    ``duration_s``), so a directory logged hours later still shows when it ran and for how long.

    Parameters
    ----------
    directory : str or pathlib.Path
        The run directory (``out/<pipeline>``).
    settings : TrackingSettings
        The store.
    run_id : str, optional
        A run started for this invocation (``RUNNING``, or ``FAILED`` after a lost connection):
        it is completed instead of creating a new one; model runs already finished are kept.
    log_trials : bool, default=False
        Also log each trial of the tuning on all patients as a run nested in its model's run
        (by default trials are summarised: a table and a history plot).

    Returns
    -------
    str
        The parent run's id.
    """
    saved = _SavedRun.read(Path(directory))
    directory, record = saved.directory, saved.record
    mlflow_client = client(settings)
    experiment = experiment_id(settings, record["pipeline"])
    tags = parent_tags(record)
    if run_id is None:
        name = run_name(record["pipeline"], record["seed"], tags)
        run = mlflow_client.create_run(experiment, start_time=saved.start_ms, run_name=name, tags=tags)
    else:
        run = mlflow_client.get_run(run_id)
        experiment = run.info.experiment_id
        for key, value in tags.items():
            mlflow_client.set_tag(run_id, key, value)
    run_id = run.info.run_id
    try:
        _fill_parent_run(settings, experiment, run_id, saved, log_trials=log_trials)
    except BaseException as exc:
        _fail(settings, run_id, exc)
        raise
    end = saved.end_ms if saved.end_ms is None else max(saved.end_ms, run.info.start_time)
    mlflow_client.set_terminated(run_id, "FINISHED", end_time=end)
    return run_id


def _fill_parent_run(settings: TrackingSettings, experiment: str, run_id: str, saved: _SavedRun, *,
                     log_trials: bool) -> None:
    """The parent run's params, metrics, dataset, artifacts and one finished run per model.

    A model run left unfinished by an earlier attempt (``RUNNING`` or ``FAILED``) is deleted
    and logged afresh, so each model appears once.
    """
    mlflow_client = client(settings)
    directory, record = saved.directory, saved.record
    resolved = yaml.safe_load((directory / "pipeline.yaml").read_text(encoding="utf-8"))
    tuning = {f"tuning.{k}": str(v)[:_MAX_PARAM] for k, v in record["tuning"].items() if k != "studies"}
    params = {**_flatten(resolved), "seed_entropy": record["seed_entropy"], **tuning}
    batch = _metric_batch(metric_values(saved.metrics, with_model=True), saved.stamp)
    existing = mlflow_client.get_run(run_id).data.params
    _log_batches(run_id, settings, batch, {k: v for k, v in params.items() if k not in existing})
    mlflow_client.log_inputs(run_id, datasets=[dataset_input(record["data"])])
    _log_files(run_id, settings, directory, skip={"models"})
    done = _child_runs(settings, experiment, run_id)
    for name in dict.fromkeys(saved.metrics["model"]):
        previous = done.get(name)
        if previous is not None and previous.info.status == "FINISHED":
            continue
        if previous is not None:
            mlflow_client.delete_run(previous.info.run_id)
        _log_model_run(settings, experiment, run_id, name, saved, log_trials=log_trials)
