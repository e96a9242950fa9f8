"""Log a finished simulation study directory to MLflow as one run (tag ``necml.kind=study``).

Params: the resolved study (flattened); tags: versions, code identity, git state; metrics:
every row of ``performance.csv`` as ``<scenario>.<method>.<estimand>.<measure>`` (and
``.mcse``); artifacts: the study directory except the SQLite replicate store (its rows are in
``replicates.parquet``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

from necml.environment import environment_record
from necml.tracking._client import client, experiment_id
from necml.tracking._log import _flatten, _log_batches
from necml.tracking._settings import TrackingSettings

__all__ = ["STUDY_FILE", "log_study_directory"]

STUDY_FILE = "study.yaml"


def _metric_name(*parts: object) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-/ ]", "_", ".".join(str(p) for p in parts))


def log_study_directory(directory: str | Path, settings: TrackingSettings) -> str:
    """Log a study directory written by ``necml simulate``; returns the run id."""
    from mlflow.entities import Metric

    directory = Path(directory)
    study = yaml.safe_load((directory / STUDY_FILE).read_text(encoding="utf-8"))
    performance = pd.read_csv(directory / "performance.csv")
    env = environment_record()
    mlflow_client = client(settings)
    run = mlflow_client.create_run(
        experiment_id(settings, f"study-{study['name']}"),
        run_name=study["name"],
        tags={
            "necml.kind": "study",
            "necml.study": study["name"],
            "necml.seed": str(study["seed"]),
            "necml.code_sha256": env["code_sha256"],
            "necml.git_commit": env["git"]["commit"],
            "necml.git_dirty": env["git"]["dirty"],
            **{f"necml.version.{k}": v for k, v in env["versions"].items()},
        },
    )
    stamp = int(pd.Timestamp.now().timestamp() * 1000)
    metrics = []
    for row in performance.itertuples():
        name = _metric_name(row.scenario, row.method, row.estimand, row.measure)
        metrics.append(Metric(name, float(row.estimate), stamp, 0))
        metrics.append(Metric(f"{name}.mcse", float(row.mcse), stamp, 0))
    _log_batches(run.info.run_id, settings, metrics, _flatten(study))
    for entry in sorted(directory.iterdir()):
        if entry.is_symlink() or entry.name.startswith(".") or entry.suffix == ".sqlite":
            continue  # never follow a link out of the study directory
        if entry.is_file():
            mlflow_client.log_artifact(run.info.run_id, str(entry))
    mlflow_client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id
